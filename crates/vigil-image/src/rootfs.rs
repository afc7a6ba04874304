//! Walking an unpacked root filesystem (`dir:`). Symlinks are reported, never followed
//! (an image's `/etc/os-release -> ../usr/lib/os-release` must not resolve against the
//! host); `proc`, `sys` and `dev` at the top are skipped; only regular files are opened.

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use crate::error::ErrorKind;
use crate::walk::{Limits, PATH_MAX, Sink};

pub(crate) fn walk(root: &Path, limits: Limits, sink: &mut dyn Sink) -> Result<(), ErrorKind> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |source| ErrorKind::Io { path: p, source }
    };
    // depth-first with an explicit stack: deep trees cannot overflow ours
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .map_err(io(&dir))?
            .collect::<Result<_, _>>()
            .map_err(io(&dir))?;
        entries.sort_by_key(|e| e.file_name());
        // reversed so that popping visits in name order
        for e in entries.into_iter().rev() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if path.len() > PATH_MAX {
                return Err(ErrorKind::PathTooLong {
                    digest: "rootfs".into(),
                    prefix: path.chars().take(64).collect(),
                    len: path.len(),
                    max: PATH_MAX,
                });
            }
            if rel.is_empty() && matches!(name.as_str(), "proc" | "sys" | "dev") {
                continue;
            }
            let full = e.path();
            let meta = fs::symlink_metadata(&full).map_err(io(&full))?;
            let ft = meta.file_type();
            if ft.is_dir() {
                stack.push((full, path));
            } else if ft.is_symlink() {
                let target = fs::read_link(&full).map_err(io(&full))?;
                sink.symlink(&path, &target.to_string_lossy());
            } else if ft.is_file() {
                if !sink.wants(&path, meta.len()) {
                    let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
                    if mode & 0o111 != 0 && sink.wants_executable(&path, mode, meta.len()) {
                        let f = File::open(&full).map_err(io(&full))?;
                        if !f.metadata().map_err(io(&full))?.is_file() {
                            continue;
                        }
                        let mut data = f.take(limits.max_file_bytes);
                        sink.executable(&path, meta.len(), &mut data)
                            .map_err(|source| ErrorKind::Sink { path, source })?;
                    }
                    continue;
                }
                if meta.len() > limits.max_file_bytes {
                    return Err(ErrorKind::FileTooLarge {
                        path,
                        layer: "rootfs".into(),
                        size: meta.len(),
                        limit: limits.max_file_bytes,
                    });
                }
                let f = File::open(&full).map_err(io(&full))?;
                // swapped for something else between lstat and open (a FIFO would block)
                if !f.metadata().map_err(io(&full))?.is_file() {
                    continue;
                }
                let mut data = f.take(limits.max_file_bytes);
                sink.file(&path, &mut data)
                    .map_err(|source| ErrorKind::Sink { path, source })?;
            }
            // devices, sockets, FIFOs: skipped
        }
    }
    Ok(())
}
