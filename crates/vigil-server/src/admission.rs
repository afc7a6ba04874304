//! The Kubernetes validating admission webhook (issue 12, SPEC 7.6): `POST
//! /admission/validate[?cluster=C]` takes an AdmissionReview v1 and answers one.
//!
//! The object's namespace names the environment (the environment whose `namespace` it is, in
//! the cluster of `?cluster=` or `admission.cluster` when several clusters use the same
//! namespace), a label (`admission.label`, default `app.kubernetes.io/name`) names the
//! application, and every image of every container, init container and ephemeral container
//! goes through the deployment gate. Pods, Deployments, ReplicaSets, StatefulSets,
//! DaemonSets, Jobs and CronJobs are understood; other kinds are allowed with a warning.
//! Images must be registry references (a tag is resolved to its digest through the
//! registry); a Pod cannot make the server open a local path.
//!
//! When vigil cannot decide (an unknown namespace or application, a registry that does not
//! answer, scanning not installed) the failure policy decides: `fail` (closed, the default)
//! denies, `ignore` (open) allows; either way the response's warnings say so.

use std::time::SystemTime;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use vigil_service::GateRequest;

use crate::AppState;
use crate::api::Query;
use crate::integrations;

/// How the webhook maps objects and what it does when it cannot decide.
#[derive(Debug, Clone)]
pub struct AdmissionOptions {
    /// The label that names the application.
    pub label: String,
    /// Allow (true) or deny (false) what cannot be checked.
    pub fail_open: bool,
    /// The cluster this webhook serves, when `?cluster=` does not say.
    pub cluster: Option<String>,
}

impl Default for AdmissionOptions {
    fn default() -> Self {
        Self {
            label: "app.kubernetes.io/name".into(),
            fail_open: false,
            cluster: None,
        }
    }
}

impl AdmissionOptions {
    fn policy(&self) -> &'static str {
        if self.fail_open {
            "ignore (fail open)"
        } else {
            "fail (fail closed)"
        }
    }
}

/// A container of a workload: which list it is in, its name, its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub list: &'static str,
    pub name: String,
    pub image: String,
}

/// What the webhook reads of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub namespace: Option<String>,
    pub labels: serde_json::Map<String, Value>,
    pub containers: Vec<Container>,
}

/// The pod template of an object of a known kind, with the labels that name its application
/// (the template's, else the object's). `None` for a kind that runs no containers.
pub fn workload(kind: &str, object: &Value) -> Option<Workload> {
    let (pod_meta, spec) = match kind {
        "Pod" => (&object["metadata"], &object["spec"]),
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicationController" => {
            let t = &object["spec"]["template"];
            (&t["metadata"], &t["spec"])
        }
        "CronJob" => {
            let t = &object["spec"]["jobTemplate"]["spec"]["template"];
            (&t["metadata"], &t["spec"])
        }
        _ => return None,
    };
    let mut labels = object["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if let Some(own) = pod_meta["labels"].as_object() {
        labels.extend(own.clone());
    }
    let mut containers = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec[list].as_array().into_iter().flatten() {
            containers.push(Container {
                list,
                name: c["name"].as_str().unwrap_or("").to_owned(),
                image: c["image"].as_str().unwrap_or("").to_owned(),
            });
        }
    }
    Some(Workload {
        namespace: object["metadata"]["namespace"].as_str().map(str::to_owned),
        labels,
        containers,
    })
}

/// The answer before it is wrapped in an AdmissionReview.
#[derive(Debug, Default)]
struct Verdict {
    allowed: bool,
    message: Option<String>,
    warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct ClusterQuery {
    pub cluster: Option<String>,
}

fn bad_request(why: String) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": why }))).into_response()
}

/// `POST /admission/validate`: an AdmissionReview v1 in, one out.
pub async fn validate(
    State(s): State<AppState>,
    Query(q): Query<ClusterQuery>,
    body: axum::body::Bytes,
) -> Response {
    let review: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(format!("the body is not JSON: {e}")),
    };
    let request = &review["request"];
    let Some(uid) = request["uid"].as_str() else {
        return bad_request(
            "not an AdmissionReview: request.uid is missing (send admission.k8s.io/v1 AdmissionReview)"
                .into(),
        );
    };
    let started = std::time::Instant::now();
    let verdict = match decide(&s, q.cluster.as_deref(), request).await {
        Ok(v) => v,
        Err(why) => {
            tracing::warn!(%why, uid, "admission could not decide");
            let policy = s.admission.policy();
            Verdict {
                allowed: s.admission.fail_open,
                message: (!s.admission.fail_open)
                    .then(|| format!("vigil could not check this object: {why}")),
                warnings: vec![format!(
                    "vigil could not check this object ({why}); failure policy {policy}: {}",
                    if s.admission.fail_open {
                        "allowed"
                    } else {
                        "denied"
                    }
                )],
            }
        }
    };
    tracing::info!(
        uid,
        allowed = verdict.allowed,
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "admission review"
    );
    let mut response = json!({ "uid": uid, "allowed": verdict.allowed });
    if let Some(m) = verdict.message {
        response["status"] = json!({ "code": 403, "reason": "Forbidden", "message": m });
    }
    if !verdict.warnings.is_empty() {
        response["warnings"] = json!(verdict.warnings);
    }
    axum::Json(json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": response,
    }))
    .into_response()
}

async fn decide(s: &AppState, cluster: Option<&str>, request: &Value) -> Result<Verdict, String> {
    let object = &request["object"];
    // Deleting or connecting runs nothing new.
    if matches!(request["operation"].as_str(), Some("DELETE" | "CONNECT")) || object.is_null() {
        return Ok(Verdict {
            allowed: true,
            ..Verdict::default()
        });
    }
    let kind = request["kind"]["kind"]
        .as_str()
        .or(object["kind"].as_str())
        .unwrap_or("");
    let Some(w) = workload(kind, object) else {
        return Ok(Verdict {
            allowed: true,
            message: None,
            warnings: vec![format!(
                "vigil checks Pods and workloads with a pod template; {kind:?} is not one: allowed"
            )],
        });
    };
    let namespace = request["namespace"]
        .as_str()
        .map(str::to_owned)
        .or(w.namespace.clone())
        .ok_or("the object has no namespace")?;
    let label = &s.admission.label;
    let application = w
        .labels
        .get(label)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the object has no label {label:?} naming its application"))?;
    let cluster = cluster.or(s.admission.cluster.as_deref());
    let envs: Vec<_> =
        s.db.environments()
            .await
            .map_err(|e| format!("the platform store: {e}"))?
            .into_iter()
            .filter(|e| e.namespace == namespace && cluster.is_none_or(|c| e.cluster == c))
            .collect();
    let environment = match envs.as_slice() {
        [one] => one.name.clone(),
        [] => {
            return Err(format!(
                "no environment has namespace {namespace:?}{}",
                cluster.map_or(String::new(), |c| format!(" in cluster {c:?}"))
            ));
        }
        many => {
            let names: Vec<String> = many
                .iter()
                .map(|e| format!("{} (cluster {})", e.name, e.cluster))
                .collect();
            return Err(format!(
                "namespace {namespace:?} is the namespace of {}: name the cluster with ?cluster= in the webhook's URL or admission.cluster",
                names.join(", ")
            ));
        }
    };
    integrations::require(s, integrations::SCANNING)
        .await
        .map_err(|e| e.to_string())?;
    let who = format!(
        "admission:{}",
        request["userInfo"]["username"]
            .as_str()
            .unwrap_or("unknown")
    );
    let mut denied = Vec::new();
    let mut checked = std::collections::HashSet::new();
    for c in &w.containers {
        if c.image.is_empty() {
            return Err(format!("{} {:?} has no image", c.list, c.name));
        }
        match c.image.parse::<vigil_image::Reference>() {
            Ok(vigil_image::Reference::Registry { .. }) => {}
            _ => {
                return Err(format!(
                    "image {:?} of {} {:?} is not a registry reference",
                    c.image, c.list, c.name
                ));
            }
        }
        if !checked.insert(c.image.clone()) {
            continue;
        }
        let report = vigil_service::gate_cached(
            &*s.db,
            &s.gate_cache,
            &GateRequest {
                application,
                environment: &environment,
                image: &c.image,
                rollback: false,
                who: &who,
            },
            &s.opts,
            SystemTime::now(),
        )
        .await
        .map_err(|e| format!("image {}: {e}", c.image))?;
        let report = serde_json::to_value(&report).map_err(|e| e.to_string())?;
        if report["decision"] == "block" {
            denied.push(blocked_message(&c.image, &report));
        }
    }
    if denied.is_empty() {
        Ok(Verdict {
            allowed: true,
            ..Verdict::default()
        })
    } else {
        Ok(Verdict {
            allowed: false,
            message: Some(format!(
                "vigil: {application} in {environment}: {}",
                denied.join("; ")
            )),
            warnings: Vec::new(),
        })
    }
}

/// `image X (sha256:...) is blocked: CVE-1 (critical, npm/minimist, fix 0.2.4), ...`
fn blocked_message(image: &str, report: &Value) -> String {
    let digest = report["digest"].as_str().unwrap_or("");
    let findings: Vec<String> = report["blocking"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let fix = f["fixed_version"]
                .as_str()
                .map_or(String::new(), |v| format!(", fix {v}"));
            format!(
                "{} ({}, {}{fix})",
                f["id"].as_str().unwrap_or(""),
                f["severity"].as_str().unwrap_or(""),
                f["package"].as_str().unwrap_or("")
            )
        })
        .collect();
    if findings.is_empty() {
        let why = report["incomplete_reasons"]
            .as_array()
            .and_then(|r| r.first())
            .and_then(Value::as_str)
            .unwrap_or("no complete scan");
        format!("image {image} ({digest}) is blocked: {why}")
    } else {
        format!(
            "image {image} ({digest}) is blocked by {}",
            findings.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_pod_template_of_each_kind() {
        let pod_spec = json!({
            "initContainers": [{"name": "init", "image": "r/a:1"}],
            "containers": [{"name": "main", "image": "r/b@sha256:00"}],
            "ephemeralContainers": [{"name": "debug", "image": "r/c:2"}],
        });
        let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": pod_spec});
        let cases = [
            (
                "Pod",
                json!({"metadata": {"namespace": "ns", "labels": {"app": "web"}}, "spec": pod_spec}),
            ),
            (
                "Deployment",
                json!({"metadata": {"namespace": "ns"}, "spec": {"template": template}}),
            ),
            (
                "StatefulSet",
                json!({"metadata": {"namespace": "ns"}, "spec": {"template": template}}),
            ),
            (
                "DaemonSet",
                json!({"metadata": {"namespace": "ns"}, "spec": {"template": template}}),
            ),
            (
                "Job",
                json!({"metadata": {"namespace": "ns"}, "spec": {"template": template}}),
            ),
            (
                "CronJob",
                json!({"metadata": {"namespace": "ns"}, "spec": {"jobTemplate": {"spec": {"template": template}}}}),
            ),
        ];
        for (kind, object) in cases {
            let w = workload(kind, &object).unwrap();
            assert_eq!(w.namespace.as_deref(), Some("ns"), "{kind}");
            assert_eq!(w.labels["app"], "web", "{kind}");
            let images: Vec<&str> = w.containers.iter().map(|c| c.image.as_str()).collect();
            assert_eq!(images, ["r/a:1", "r/b@sha256:00", "r/c:2"], "{kind}");
            assert_eq!(w.containers[0].list, "initContainers");
        }
        assert!(workload("ConfigMap", &json!({})).is_none());
    }
}
