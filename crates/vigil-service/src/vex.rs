//! VEX at read time (issue 12, SPEC 5.6): the stored VEX documents (global, or for one
//! application) decide which findings are suppressed whenever findings are read for a
//! decision or a view — the gate, `explain`, the deployed view, notifications, `vigil
//! scan` — so an imported statement applies to every stored scan at once, without a
//! rescan or a re-match. Precedence between statements: see `vigil_sbom::vex`.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
pub use vigil_sbom::vex::MAX_VEX_SIZE;
use vigil_sbom::vex::{FindingTarget, Product, VexDocument, VexStatement};
use vigil_scan::VexNote;
use vigil_store::Database;

use crate::Error;

/// One document's statements and where they apply.
#[derive(Debug, Clone)]
struct Loaded {
    /// The stored document's id (none for a file given to `vigil scan --vex`).
    id: Option<i64>,
    application: Option<String>,
    /// The document's own id, else its file name.
    label: String,
    format: &'static str,
    statements: Vec<VexStatement>,
}

/// Every VEX document in force.
#[derive(Debug, Clone, Default)]
pub struct VexSet {
    docs: Vec<Loaded>,
}

/// A statement that suppresses nothing it could: its products match no finding.
///
/// JSON: `{"document_id": null | n, "document", "statement", "vulnerability", "status",
/// "products": [purl, digest or identifier], "scope"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnusedStatement {
    pub document_id: Option<i64>,
    pub document: String,
    pub statement: usize,
    pub vulnerability: String,
    pub status: String,
    pub products: Vec<String>,
    pub scope: String,
}

/// (document index, statement index) in a [`VexSet`].
pub type StatementKey = (usize, usize);

impl VexSet {
    /// The stored documents.
    pub async fn load(db: &dyn Database) -> Result<Self, Error> {
        let mut set = VexSet::default();
        for v in db.vex_documents().await? {
            let statements: Vec<VexStatement> =
                serde_json::from_str(&v.doc.statements).map_err(|e| Error::BadStoredVex {
                    id: v.id,
                    problem: e.to_string(),
                })?;
            set.docs.push(Loaded {
                id: Some(v.id),
                application: v.doc.application,
                label: v.doc.document_id.unwrap_or(v.doc.name),
                format: if v.doc.format == "cyclonedx" {
                    "cyclonedx"
                } else {
                    "openvex"
                },
                statements,
            });
        }
        Ok(set)
    }

    /// Adds a document read from a file (global), after the stored ones.
    pub fn add_file(&mut self, name: &str, doc: VexDocument) {
        self.docs.push(Loaded {
            id: None,
            application: None,
            label: doc.id.unwrap_or_else(|| name.to_owned()),
            format: doc.format.as_str(),
            statements: doc.statements,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.docs.iter().all(|d| d.statements.is_empty())
    }

    fn in_scope<'a>(
        &'a self,
        application: Option<&'a str>,
    ) -> impl Iterator<Item = (usize, &'a Loaded)> + 'a {
        self.docs.iter().enumerate().filter(move |(_, d)| {
            d.application.is_none() || d.application.as_deref() == application
        })
    }

    /// The statement that decides about a finding, if any covers it: the latest by
    /// timestamp, then the one imported last.
    pub fn decide(
        &self,
        application: Option<&str>,
        target: &FindingTarget<'_>,
    ) -> Option<StatementKey> {
        let mut best: Option<(StatementKey, Option<&str>)> = None;
        for (di, d) in self.in_scope(application) {
            for (si, s) in d.statements.iter().enumerate() {
                if !s.covers(target) {
                    continue;
                }
                let ts = s.timestamp.as_deref();
                // RFC 3339 in UTC compares as text; a statement without a time is oldest.
                if best.is_none_or(|(_, b)| ts >= b) {
                    best = Some(((di, si), ts));
                }
            }
        }
        best.map(|(k, _)| k)
    }

    /// The note for a statement that suppresses, `None` for one that does not.
    pub fn note(&self, (di, si): StatementKey) -> Option<VexNote> {
        let d = &self.docs[di];
        let s = &d.statements[si];
        s.status.suppresses().then(|| VexNote {
            document: d.label.clone(),
            format: d.format.to_owned(),
            statement: s.index,
            vulnerability: s.vulnerability.clone(),
            status: s.status.as_str().to_owned(),
            justification: s.justification.clone(),
            detail: s.detail.clone(),
            scope: scope(d),
        })
    }

    /// [`VexSet::decide`] then [`VexSet::note`]; records the deciding statement in `used`.
    pub fn suppression(
        &self,
        application: Option<&str>,
        target: &FindingTarget<'_>,
        used: &mut HashSet<StatementKey>,
    ) -> Option<VexNote> {
        let key = self.decide(application, target)?;
        used.insert(key);
        self.note(key)
    }

    /// The suppressing statements in scope for `application` that decided nothing (not in
    /// `used`).
    pub fn unused(
        &self,
        application: Option<&str>,
        used: &HashSet<StatementKey>,
    ) -> Vec<UnusedStatement> {
        let mut out = Vec::new();
        for (di, d) in self.in_scope(application) {
            for (si, s) in d.statements.iter().enumerate() {
                if s.status.suppresses() && !used.contains(&(di, si)) {
                    out.push(UnusedStatement {
                        document_id: d.id,
                        document: d.label.clone(),
                        statement: s.index,
                        vulnerability: s.vulnerability.clone(),
                        status: s.status.as_str().to_owned(),
                        products: s.products.iter().map(product_label).collect(),
                        scope: scope(d),
                    });
                }
            }
        }
        out
    }
}

fn scope(d: &Loaded) -> String {
    match &d.application {
        None => "global".to_owned(),
        Some(a) => format!("app:{a}"),
    }
}

fn product_label(p: &Product) -> String {
    match p {
        Product::Package(p) => p.purl.clone(),
        Product::Image {
            digest,
            subcomponents,
        } if subcomponents.is_empty() => digest.clone(),
        Product::Image {
            digest,
            subcomponents,
        } => {
            let subs: Vec<&str> = subcomponents.iter().map(|s| s.purl.as_str()).collect();
            format!("{digest} [{}]", subs.join(", "))
        }
        Product::Unsupported { id } => id.clone(),
    }
}

/// The finding target of a scan report finding in image `digest`.
pub fn target_of<'a>(
    digest: Option<&'a str>,
    ids: &'a [&'a str],
    package: &'a vigil_matcher::FindingPackage,
) -> FindingTarget<'a> {
    FindingTarget {
        digest,
        ids,
        ecosystem: &package.ecosystem,
        name: &package.name,
        version: &package.version,
        source_name: package.source_name.as_deref(),
        source_version: package.source_version.as_deref(),
    }
}

/// What importing a VEX document did.
///
/// JSON (`vigil vex import --format json`, `POST /api/v1/vex`): `{"id", "name", "format",
/// "document_id", "scope", "statements", "suppressing" (statements with status
/// not_affected or fixed), "unused": [UnusedStatement: suppressing statements that cover no
/// finding of any image's latest scan]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VexImport {
    pub id: i64,
    pub name: String,
    pub format: String,
    pub document_id: Option<String>,
    pub scope: String,
    pub statements: usize,
    pub suppressing: usize,
    pub unused: Vec<UnusedStatement>,
}

/// A stored VEX document as listed (`vigil vex list`, `GET /api/v1/vex`): [`VexImport`]'s
/// fields plus `imported_at` (RFC 3339) and `imported_by`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VexListing {
    #[serde(flatten)]
    pub summary: VexImport,
    pub imported_at: String,
    pub imported_by: String,
}

/// Reads `bytes` as an OpenVEX or CycloneDX VEX document named `name` and stores it for
/// `application` (global when `None`), then says which statements cover nothing stored.
pub async fn import_vex(
    db: &dyn Database,
    bytes: &[u8],
    name: &str,
    application: Option<&str>,
    who: &str,
    now: std::time::SystemTime,
) -> Result<VexImport, Error> {
    let doc = vigil_sbom::vex::read(bytes, name).map_err(|e| Error::BadVex(e.to_string()))?;
    let statements =
        serde_json::to_string(&doc.statements).map_err(|e| Error::BadVex(e.to_string()))?;
    let digest = {
        use sha2::Digest;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
    };
    let stored = db
        .add_vex(
            &vigil_store::platform::NewVex {
                application: application.map(str::to_owned),
                name: name.to_owned(),
                format: doc.format.as_str().to_owned(),
                document_id: doc.id.clone(),
                author: doc.author.clone(),
                digest,
                imported_by: who.to_owned(),
                statements,
            },
            now,
        )
        .await?;
    let mut listed = list_vex(db).await?;
    listed
        .drain(..)
        .find(|l| l.summary.id == stored.id)
        .map(|l| l.summary)
        .ok_or_else(|| Error::BadVex(format!("{name}: stored, then not found")))
}

/// Every stored VEX document with its statements' use over the latest scan of every image.
pub async fn list_vex(db: &dyn Database) -> Result<Vec<VexListing>, Error> {
    let stored = db.vex_documents().await?;
    let set = VexSet::load(db).await?;
    // Which statements cover a finding of some image's latest completed scan (any scope:
    // a statement is in use when some image has what it talks about).
    let mut covering: HashSet<StatementKey> = HashSet::new();
    if !set.is_empty() {
        for head in db.latest_completed_scans().await? {
            let Some(done) = db.scan_report(head.id).await? else {
                continue;
            };
            let report = crate::stored::Stored::read(&done)?;
            for f in &report.findings {
                f.with_target(&head.digest, |target| {
                    for (di, d) in set.docs.iter().enumerate() {
                        for (si, s) in d.statements.iter().enumerate() {
                            if s.covers(target) {
                                covering.insert((di, si));
                            }
                        }
                    }
                });
            }
        }
    }
    let mut out = Vec::with_capacity(stored.len());
    for (di, v) in stored.iter().enumerate() {
        let d = &set.docs[di];
        let unused = set
            .unused(d.application.as_deref(), &covering)
            .into_iter()
            .filter(|u| u.document_id == Some(v.id))
            .collect();
        out.push(VexListing {
            summary: VexImport {
                id: v.id,
                name: v.doc.name.clone(),
                format: v.doc.format.clone(),
                document_id: v.doc.document_id.clone(),
                scope: scope(d),
                statements: d.statements.len(),
                suppressing: d
                    .statements
                    .iter()
                    .filter(|s| s.status.suppresses())
                    .count(),
                unused,
            },
            imported_at: vigil_policy::time::format(v.imported_at),
            imported_by: v.doc.imported_by.clone(),
        });
    }
    Ok(out)
}
