//! Progress bars on stderr, only when stderr is a terminal (SPEC 9.1).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A layer-reading progress bar; invisible when stderr is not a terminal.
pub struct LayerBar {
    bar: ProgressBar,
}

impl LayerBar {
    pub fn new() -> Self {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        LayerBar { bar }
    }
}

impl vigil_scan::Progress for LayerBar {
    fn layer_start(&self, index: usize, count: usize, digest: &str, size: u64) {
        let short = digest
            .split_once(':')
            .map_or(digest, |(_, h)| &h[..h.len().min(12)]);
        self.bar.set_style(
            ProgressStyle::with_template("{prefix} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        self.bar
            .set_prefix(format!("layer {}/{} {short}", index + 1, count));
        self.bar.set_length(size);
        self.bar.set_position(0);
    }

    fn bytes(&self, read: u64) {
        self.bar.set_position(read);
    }

    fn layer_done(&self, _cached: bool) {
        self.bar.set_position(self.bar.length().unwrap_or(0));
    }
}

impl Drop for LayerBar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
