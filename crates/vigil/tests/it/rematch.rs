//! Re-matching stored inventories after a database import (issue 12, SPEC 5.5), on SQLite and
//! PostgreSQL: an advisory published after the image was scanned shows up in the deployed
//! view and `explain` without a rescan, the change is recorded (`vigil db rematches`), an
//! unchanged import re-matches nothing, and withdrawing the advisory resolves the finding.

use serde_json::{Value, json};

use crate::common::*;
use crate::platform::{Env, prepared};

/// An OSV record (made here) affecting every version of `package` in Debian 12, critical.
pub fn advisory(id: &str, package: &str) -> Value {
    json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2026-12-01T00:00:00Z",
        "summary": "published after the image was scanned",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{
            "package": {"ecosystem": "Debian:12", "name": package},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
        }],
    })
}

/// Imports `records` as the source `late` (replacing what it held); returns stderr.
pub fn import(env: &Env, records: &[Value]) -> String {
    let dir = env.vigil.home.path().join("late");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for r in records {
        let file = dir.join(format!("{}.json", r["id"].as_str().unwrap()));
        std::fs::write(file, serde_json::to_vec(r).unwrap()).unwrap();
    }
    let out = env.run(&["db", "import", "--source", "late", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stderr)
}

fn critical(env: &Env) -> u64 {
    let rows = env.json(&["deployed", "--app", "web"], 0);
    rows[0]["summary"]["critical"].as_u64().unwrap()
}

#[test]
fn a_late_advisory_reaches_stored_images_without_a_rescan() {
    let Some(p) = prepared() else { return };
    for env in p.copies("rematch") {
        env.ok(
            &[
                "deploy", "record", "--app", "web", "--env", "prod", &p.digest,
            ],
            0,
        );
        let before = critical(&env);
        let report = env.json(&["explain", "--app", "web", "--env", "prod", &p.digest], 0);
        let scan_before = report["scan_id"].as_i64().unwrap();
        // A source package of the image with a binary package in the inventory.
        let pkg = env.json(&["inventory", &p.image], 0)["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["ecosystem"] == "deb" && p["name"] == "libexpat1")
            .cloned()
            .expect("libexpat1 in the app image");
        let source = pkg["source_name"].as_str().unwrap_or("expat").to_owned();

        let said = import(&env, &[advisory("VIGIL-LATE-1", &source)]);
        assert!(
            said.contains("re-matched 1 stored image(s) without pulling them: 1 new finding(s)"),
            "[{}] {said}",
            env.backend
        );
        assert_eq!(critical(&env), before + 1, "[{}]", env.backend);
        let ex = env.json(&["explain", "--app", "web", "--env", "prod", &p.digest], 0);
        assert_ne!(ex["scan_id"].as_i64().unwrap(), scan_before, "a new scan");
        assert!(
            ex["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["id"] == "VIGIL-LATE-1" && f["package"] == "deb/libexpat1"),
            "{ex}"
        );
        let recorded = env.json(&["db", "rematches"], 0);
        assert_eq!(recorded.as_array().unwrap().len(), 1, "{recorded}");
        let r = &recorded[0];
        assert_eq!(r["digest"], p.digest.as_str());
        assert_eq!(r["previous_scan_id"], scan_before);
        let version = pkg["version"].as_str().unwrap();
        assert_eq!(
            r["new"],
            json!([format!("VIGIL-LATE-1 deb/libexpat1@{version}")])
        );
        assert_eq!(r["resolved"], json!([]));

        // The same content again: the database version is unchanged, nothing re-matched.
        let said = import(&env, &[advisory("VIGIL-LATE-1", &source)]);
        assert!(!said.contains("re-matched"), "{said}");
        assert_eq!(
            env.json(&["db", "rematches"], 0).as_array().unwrap().len(),
            1
        );

        // The advisory moves to a package the image lacks: the finding is resolved.
        let said = import(&env, &[advisory("VIGIL-LATE-1", "no-such-package")]);
        assert!(said.contains("1 resolved"), "{said}");
        assert_eq!(critical(&env), before);
        let recorded = env.json(&["db", "rematches", "--digest", &p.digest], 0);
        assert_eq!(
            recorded[0]["resolved"],
            json!([format!("VIGIL-LATE-1 deb/libexpat1@{version}")])
        );

        // Retention: a third re-match prunes the report of the first (a re-match scan two
        // later ones superseded); the image's own scan and the last two keep theirs.
        let said = import(&env, &[advisory("VIGIL-LATE-1", &source)]);
        assert!(said.contains("1 new finding(s)"), "{said}");
        let recorded = env.json(&["db", "rematches", "--digest", &p.digest], 0);
        assert_eq!(recorded.as_array().unwrap().len(), 3);
        let first_rematch = recorded[2]["scan_id"].as_i64().unwrap();
        let kept = [
            scan_before,
            recorded[1]["scan_id"].as_i64().unwrap(),
            recorded[0]["scan_id"].as_i64().unwrap(),
        ];
        let server = crate::serve::Server::start_bare(&env, &[]);
        let admin = crate::serve::token(&env, "admin", "retention", None);
        let report = |id: i64| {
            crate::serve::call(
                &server.base,
                "GET",
                &format!("/api/v1/scans/{id}/report"),
                Some(&admin),
                crate::serve::Payload::None,
            )
        };
        let pruned = report(first_rematch);
        assert_eq!(pruned.status, 409, "[{}] {:?}", env.backend, pruned.body);
        assert!(pruned.body["error"].as_str().unwrap().contains("pruned"));
        for id in kept {
            assert_eq!(report(id).status, 200, "scan {id} keeps its report");
        }
        assert_eq!(critical(&env), before + 1, "the latest scan is read");
    }
}
