//! VEX (issue 12, SPEC 5.6), on SQLite, PostgreSQL and through `vigil serve`: an OpenVEX
//! statement for the app image's critical npm finding, imported for application `web`,
//! suppresses it there (gate, explain, deployed) and nowhere else; a statement whose
//! product matches nothing is reported unused; a later CycloneDX `exploitable` statement
//! revokes the suppression until it is removed; `vigil scan --vex` shows the suppressed
//! finding with its statement in JSON, table, SARIF and CycloneDX. The documents are made
//! here from the real scan's findings.

use serde_json::{Value, json};

use crate::common::*;
use crate::platform::{Env, prepared, set_global};

const DOC_ID: &str = "https://example.com/vex/web-1";

/// The critical findings of the app image (its npm minimist finding among them).
fn criticals(env: &Env, digest: &str) -> Vec<Value> {
    let ex = env.json(&["explain", "--app", "web", "--env", "prod", digest], 0);
    ex["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "critical")
        .cloned()
        .collect()
}

fn openvex(digest: &str, minimist_version: &str) -> Value {
    json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": DOC_ID,
        "author": "security@example.com",
        "timestamp": "2026-12-01T00:00:00Z",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "CVE-2021-44906"},
                "products": [{
                    "@id": format!("pkg:oci/app@{}", digest.replace(':', "%3A")),
                    "subcomponents": [{"@id": format!("pkg:npm/minimist@{minimist_version}")}]
                }],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
                "impact_statement": "minimist only parses the build's own arguments"
            },
            {
                "vulnerability": {"name": "CVE-2099-0001"},
                "products": [{"@id": "pkg:npm/left-pad@1.3.0"}],
                "status": "not_affected",
                "justification": "component_not_present"
            }
        ]
    })
}

fn cyclonedx_exploitable() -> Value {
    json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "serialNumber": "urn:uuid:0b6b5c8e-8a55-4a3e-9d55-0d2f1d0c7e11",
        "metadata": {"timestamp": "2026-12-05T00:00:00Z"},
        "components": [{"bom-ref": "mm", "type": "library", "name": "minimist", "purl": "pkg:npm/minimist"}],
        "vulnerabilities": [{
            "id": "CVE-2021-44906",
            "analysis": {"state": "exploitable", "detail": "reachable after all"},
            "affects": [{"ref": "mm"}]
        }]
    })
}

fn write(env: &Env, name: &str, doc: &Value) -> String {
    let path = env.vigil.home.path().join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

fn gate(env: &Env, digest: &str, app: &str, code: i32) -> Value {
    env.json(&["gate", "--app", app, "--env", "prod", digest], code)
}

#[test]
fn vex_statements_suppress_findings_per_application_and_are_named() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("vex") {
        let tag = env.backend;
        env.ok(&["app", "add", "billing"], 0);
        env.ok(
            &[
                "deploy", "record", "--app", "web", "--env", "prod", &p.digest,
            ],
            0,
        );
        set_global(&env, "critical", "block");
        let crit = criticals(&env, &p.digest);
        let minimist: Vec<&Value> = crit
            .iter()
            .filter(|f| f["id"] == "CVE-2021-44906" && f["package"] == "npm/minimist")
            .collect();
        assert!(
            !minimist.is_empty(),
            "[{tag}] the app image's minimist finding: {crit:?}"
        );
        let version = minimist[0]["version"].as_str().unwrap().to_owned();
        let before = gate(&env, &p.digest, "web", 3);
        let blocked_ids = |g: &Value| -> Vec<String> {
            g["blocking"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert!(blocked_ids(&before).contains(&"CVE-2021-44906".to_owned()));
        let deployed_before = env.json(&["deployed", "--app", "web"], 0)[0].clone();

        // Import for `web`: one statement in use, one unused.
        let file = write(&env, "web.openvex.json", &openvex(&p.digest, &version));
        let said = env.ok(&["vex", "import", "--app", "web", &file], 0);
        assert!(
            said.contains("2 statement(s), 2 suppressing"),
            "[{tag}] {said}"
        );
        assert!(
            said.contains("1 statement(s) cover no finding of any scanned image"),
            "{said}"
        );
        assert!(
            said.contains("CVE-2099-0001 not_affected: pkg:npm/left-pad@1.3.0"),
            "{said}"
        );
        let again = env.fails(&["vex", "import", "--app", "web", &file]);
        assert!(
            again.contains("already exists"),
            "the same document twice: {again}"
        );

        // The gate no longer counts it for web...
        let code = if crit.len() == minimist.len() { 0 } else { 3 };
        let after = gate(&env, &p.digest, "web", code);
        assert!(
            !blocked_ids(&after).contains(&"CVE-2021-44906".to_owned()),
            "[{tag}] {after}"
        );
        assert_eq!(after["suppressed"], minimist.len());
        // ...but does for billing: the statement is web's.
        let said = env.run(&["gate", "--app", "web", "--env", "prod", &p.digest]);
        assert!(
            text(&said.stdout).contains(&format!(
                "{} finding(s) suppressed by VEX statements",
                minimist.len()
            )),
            "{}",
            text(&said.stdout)
        );
        let other = gate(&env, &p.digest, "billing", 3);
        assert!(blocked_ids(&other).contains(&"CVE-2021-44906".to_owned()));
        assert_eq!(other["suppressed"], 0);

        // explain names the statement and the unused one.
        let ex = env.json(
            &["explain", "--app", "web", "--env", "prod", &p.digest],
            code,
        );
        let f = ex["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "CVE-2021-44906" && f["package"] == "npm/minimist")
            .unwrap();
        assert_eq!(f["verdict"], "suppressed", "{f}");
        assert_eq!(f["vex"]["document"], DOC_ID);
        assert_eq!(f["vex"]["statement"], 0);
        assert_eq!(f["vex"]["status"], "not_affected");
        assert_eq!(
            f["vex"]["justification"],
            "vulnerable_code_not_in_execute_path"
        );
        assert_eq!(f["vex"]["scope"], "app:web");
        assert!(
            f["explanation"]
                .as_str()
                .unwrap()
                .contains("VEX not_affected"),
            "{f}"
        );
        let unused: Vec<&str> = ex["unused_vex"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["vulnerability"].as_str().unwrap())
            .collect();
        assert_eq!(unused, ["CVE-2099-0001"]);
        let table = env.ok(
            &["explain", "--app", "web", "--env", "prod", &p.digest],
            code,
        );
        assert!(table.contains("suppressed"), "{table}");

        // The deployed view counts it apart.
        let row = env.json(&["deployed", "--app", "web"], 0)[0].clone();
        assert_eq!(row["suppressed"], minimist.len());
        assert_eq!(
            row["summary"]["critical"].as_u64().unwrap(),
            deployed_before["summary"]["critical"].as_u64().unwrap() - minimist.len() as u64
        );

        // A later global CycloneDX statement says exploitable: the suppression is revoked.
        let cdx = write(&env, "exploitable.cdx.json", &cyclonedx_exploitable());
        env.ok(&["vex", "import", &cdx], 0);
        let revoked = gate(&env, &p.digest, "web", 3);
        assert!(
            blocked_ids(&revoked).contains(&"CVE-2021-44906".to_owned()),
            "[{tag}] {revoked}"
        );
        let listed = env.json(&["vex", "list"], 0);
        assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
        let cdx_id = listed[1]["id"].as_i64().unwrap();
        assert_eq!(listed[1]["format"], "cyclonedx");
        assert_eq!(listed[1]["scope"], "global");
        env.ok(&["vex", "remove", &cdx_id.to_string()], 0);
        let restored = gate(&env, &p.digest, "web", code);
        assert!(!blocked_ids(&restored).contains(&"CVE-2021-44906".to_owned()));

        // Bad documents are refused with the file named.
        let bad = write(
            &env,
            "bad.json",
            &json!({"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "CVE-1"}, "status": "perhaps"}]}),
        );
        let err = env.fails(&["vex", "import", &bad]);
        assert!(
            err.contains("bad.json: statement 0: status \"perhaps\""),
            "[{tag}] {err}"
        );

        if let Some(remote) = &env.remote {
            // The dashboard's scan page shows the verdict with the statement, and the
            // statement that covers nothing here.
            let scan_id = ex["scan_id"].as_i64().unwrap();
            let html = crate::serve::ui_page(
                &remote.server.base,
                &format!("/ui/scans/{scan_id}?application=web&environment=prod"),
                &remote.token,
            );
            assert!(html.contains("verdict-suppressed"), "the verdict column");
            assert!(
                html.contains("VEX not_affected (vulnerable_code_not_in_execute_path) by https://example.com/vex/web-1 #0, app:web"),
                "the statement"
            );
            assert!(
                html.contains("minimist only parses the build"),
                "its detail"
            );
            assert!(html.contains("id=\"vex-unused\"") && html.contains("CVE-2099-0001"));
            continue;
        }
        // `vigil scan --vex`: the file applies (the store's web statement does not: no app).
        let other_vex = write(&env, "scan.openvex.json", &{
            let mut d = openvex(&p.digest, &version);
            d["@id"] = json!("https://example.com/vex/scan");
            d
        });
        let report = env.json(&["scan", &p.image, "--vex", &other_vex], 0);
        let suppressed = report["suppressed"].as_array().unwrap();
        assert_eq!(
            suppressed.len(),
            minimist.len(),
            "{:?}",
            report["suppressed"]
        );
        assert_eq!(suppressed[0]["id"], "CVE-2021-44906");
        assert_eq!(
            suppressed[0]["vex"]["document"],
            "https://example.com/vex/scan"
        );
        assert!(
            !report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["id"] == "CVE-2021-44906" && f["package"]["name"] == "minimist"),
            "not among the findings"
        );
        let plain = env.json(&["scan", &p.image], 0);
        assert_eq!(
            plain["summary"]["critical"].as_u64().unwrap()
                - report["summary"]["critical"].as_u64().unwrap(),
            minimist.len() as u64
        );
        let out = env.run(&["scan", &p.image, "--vex", &other_vex]);
        assert!(
            text(&out.stderr)
                .contains("statement #1 (CVE-2099-0001 not_affected) covers no finding"),
            "{}",
            text(&out.stderr)
        );
        let table = text(&out.stdout);
        assert!(table.contains("Suppressed by VEX"), "{table}");
        assert!(table.contains("VEX not_affected (vulnerable_code_not_in_execute_path) by https://example.com/vex/scan #0, global"), "{table}");
        let doc = |format: &str| -> Value {
            let out = env.ok(
                &["scan", &p.image, "--format", format, "--vex", &other_vex],
                0,
            );
            serde_json::from_str(&out).unwrap()
        };
        let sarif = doc("sarif");
        let dismissed: Vec<&Value> = sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r.get("suppressions").is_some())
            .collect();
        assert_eq!(dismissed.len(), minimist.len());
        assert_eq!(dismissed[0]["ruleId"], "CVE-2021-44906");
        assert_eq!(dismissed[0]["suppressions"][0]["kind"], "external");
        let cdx = doc("cyclonedx");
        let analysed: Vec<&Value> = cdx["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["analysis"]["state"] == "not_affected")
            .collect();
        assert_eq!(analysed.len(), minimist.len());
        assert_eq!(
            analysed[0]["analysis"]["justification"],
            "code_not_reachable"
        );
    }
}
