//! Local crawlers: what a Glue crawler over catalog tables does, on the
//! local zone directories.
//!
//! In: a validated pipeline, a crawler's name, the local layout and a
//! Python with pyarrow. Out: a `CrawlReport` (partitions found and drift per
//! table), and the local catalog updated: new partitions always, the crawled
//! schema only with `on_schema_change: update-table` (Glue's
//! UPDATE_IN_DATABASE; `log` is LOG and keeps the declared schema:
//! https://docs.aws.amazon.com/glue/latest/webapi/API_SchemaChangePolicy.html).
//! `templates/local/crawl.py` lists the files and infers the schemas; this
//! module decides what counts as drift.

use super::catalog::{self, CatalogColumn, CatalogTable};
use super::layout::LocalLayout;
use super::status::{CrawlReport, CrawledTable, Drift};
use crate::model::{Format, SchemaChange, TableSchema};
use crate::names;
use crate::render::stacks::table_format;
use crate::validate::ValidPipeline;
use serde::Deserialize;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The crawler script, embedded so that the binary needs no install step.
pub const CRAWL_PY: &str = include_str!("../../templates/local/crawl.py");

/// What `crawl.py` found for one table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Found {
    pub name: String,
    pub files: u64,
    /// Data columns, name and Hive type, in file order.
    pub columns: Vec<(String, String)>,
    pub partition_keys: Vec<String>,
    pub partitions: Vec<String>,
    /// Why the table could not be crawled (none when it was).
    pub error: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    tables: Vec<Found>,
}

/// Writes a helper script under the layout's folder (`.pipec/...`), where
/// the Python that runs it can read it, and returns its path.
pub fn write_tool(layout: &LocalLayout, name: &str, text: &str) -> Result<PathBuf, String> {
    let dir = layout.dir().join("tools");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(name);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(path)
}

/// Runs a helper script with a JSON request on stdin and returns its stdout.
/// A failure shows the last lines of its stderr (the Python error).
pub fn run_tool(python: &Path, script: &Path, request: &str) -> Result<String, String> {
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(request.as_bytes())
            .map_err(|e| format!("cannot write to {}: {e}", python.display()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{} did not finish: {e}", python.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "{} failed ({}): {}",
            script.display(),
            out.status,
            tail.join("\n")
        ));
    }
    String::from_utf8(out.stdout)
        .map_err(|e| format!("{} printed non-UTF-8: {e}", script.display()))
}

/// The request entry of one table for `crawl.py`.
fn request_table(name: &str, t: &TableSchema, location: &Path) -> serde_json::Value {
    let format = table_format(t);
    let csv = (format == Format::Csv).then(|| t.csv.clone().unwrap_or_default());
    json!({
        "name": name,
        "location": location.to_string_lossy(),
        "format": catalog::format_word(format),
        "csv": csv.map(|c| json!({
            "delimiter": c.delimiter,
            "quote": c.quote,
            "escape": c.escape,
            "header": c.header,
            "null_value": c.null_value,
            "preset": c.preset.map(|_| "rfc4180"),
        })),
        "partition_keys": t.partition_keys,
    })
}

/// Runs `crawl.py` over the given tables and returns what it found, in the
/// order asked.
pub fn infer(
    tables: &[(&str, &TableSchema, PathBuf)],
    layout: &LocalLayout,
    python: &Path,
) -> Result<Vec<Found>, String> {
    let script = write_tool(layout, "crawl.py", CRAWL_PY)?;
    let request = json!({
        "tables": tables.iter().map(|(n, t, l)| request_table(n, t, l)).collect::<Vec<_>>()
    });
    let out = run_tool(python, &script, &request.to_string())?;
    let answer: Answer =
        serde_json::from_str(&out).map_err(|e| format!("crawl.py answered badly: {e}"))?;
    Ok(answer.tables)
}

/// Types as Glue means them: lower case, no spaces, `integer` as `int`.
pub fn same_type(a: &str, b: &str) -> bool {
    fn norm(t: &str) -> String {
        let t: String = t
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        match t.as_str() {
            "integer" => "int".into(),
            "long" => "bigint".into(),
            "short" => "smallint".into(),
            "byte" => "tinyint".into(),
            _ => t,
        }
    }
    norm(a) == norm(b)
}

/// Whether a crawled type differs from the declared one in a way Glue would
/// report and a reader would notice. CSV is text: a column declared `string`
/// reads every value, so Glue's classifier seeing `bigint` in it is not
/// drift (raw CSV tables are declared as strings on purpose and cast by a
/// stage). A typed CSV column that now crawls as `string` is drift: some
/// value no longer parses.
fn type_drift(format: Format, declared: &str, found: &str) -> bool {
    if same_type(declared, found) {
        return false;
    }
    if format == Format::Csv && same_type(declared, "string") {
        return false;
    }
    if format == Format::Csv && same_type(declared, "double") && same_type(found, "bigint") {
        return false;
    }
    true
}

/// How the crawled schema differs from the declaration: data columns by
/// name (case-insensitive, as the catalog lower-cases; CSV by its Athena-safe
/// name, or by position when the file has no header), then partition keys
/// by name.
pub fn drift(t: &TableSchema, found: &Found) -> Vec<Drift> {
    let format = table_format(t);
    let csv = (format == Format::Csv).then(|| t.csv.clone().unwrap_or_default());
    let declared: Vec<(String, &str)> = t
        .columns
        .iter()
        .filter(|(c, _)| !t.partition_keys.contains(c))
        .map(|(c, col)| (c.clone(), col.ty()))
        .collect();
    // A crawler lower-cases a CSV header (`InvoiceNo` -> `invoiceno`), while
    // the catalog stack registers the Athena-safe name (`invoice_no`): either
    // is the declared column.
    let same = |found: &str, declared: &str| -> bool {
        found.to_lowercase() == declared.to_lowercase()
            || (csv.is_some() && names::athena_column(found) == names::athena_column(declared))
    };
    let mut out = Vec::new();
    if found.files == 0 {
        return out;
    }
    let by_position = csv.as_ref().is_some_and(|c| !c.header);
    if by_position {
        for (i, (name, ty)) in declared.iter().enumerate() {
            match found.columns.get(i) {
                None => out.push(Drift::Vanished {
                    column: name.clone(),
                    declared: ty.to_string(),
                }),
                Some((_, f)) if type_drift(format, ty, f) => out.push(Drift::ChangedType {
                    column: name.clone(),
                    declared: ty.to_string(),
                    found: f.clone(),
                }),
                Some(_) => {}
            }
        }
        for (n, f) in found.columns.iter().skip(declared.len()) {
            out.push(Drift::Appeared {
                column: n.clone(),
                found: f.clone(),
            });
        }
    } else {
        for (name, ty) in &declared {
            match found.columns.iter().find(|(n, _)| same(n, name)) {
                None => out.push(Drift::Vanished {
                    column: name.clone(),
                    declared: ty.to_string(),
                }),
                Some((_, f)) if type_drift(format, ty, f) => out.push(Drift::ChangedType {
                    column: name.clone(),
                    declared: ty.to_string(),
                    found: f.clone(),
                }),
                Some(_) => {}
            }
        }
        for (n, f) in &found.columns {
            if !declared.iter().any(|(d, _)| same(n, d)) {
                out.push(Drift::Appeared {
                    column: n.clone(),
                    found: f.clone(),
                });
            }
        }
    }
    // Partition keys have no type in the folder names; Glue gives new ones
    // `string`.
    for k in &t.partition_keys {
        if !found
            .partition_keys
            .iter()
            .any(|f| f.eq_ignore_ascii_case(k))
        {
            let ty = t.columns.get(k).map(|c| c.ty()).unwrap_or("string");
            out.push(Drift::Vanished {
                column: k.clone(),
                declared: format!("{ty} (partition key)"),
            });
        }
    }
    for f in &found.partition_keys {
        if !t.partition_keys.iter().any(|k| f.eq_ignore_ascii_case(k)) {
            out.push(Drift::Appeared {
                column: f.clone(),
                found: "string (partition key)".into(),
            });
        }
    }
    out
}

/// One line per difference, for the run's summary.
pub fn drift_line(d: &Drift) -> String {
    match d {
        Drift::Appeared { column, found } => format!("column `{column}` appeared ({found})"),
        Drift::Vanished { column, declared } => {
            format!("column `{column}` vanished (declared {declared})")
        }
        Drift::ChangedType {
            column,
            declared,
            found,
        } => format!("column `{column}` changed type: declared {declared}, found {found}"),
    }
}

/// The catalog table after a crawl: partitions found are added (none is
/// removed: DeleteBehavior LOG), and with `update-table` the crawled
/// columns and any new partition keys replace the declared ones.
fn apply(
    entry: &mut CatalogTable,
    t: &TableSchema,
    found: &Found,
    policy: SchemaChange,
    crawler: &str,
) {
    let mut parts: std::collections::BTreeSet<String> = entry.partitions.iter().cloned().collect();
    parts.extend(found.partitions.iter().cloned());
    entry.partitions = parts.into_iter().collect();
    if policy == SchemaChange::UpdateTable && found.files > 0 {
        let csv = table_format(t) == Format::Csv;
        entry.columns = found
            .columns
            .iter()
            .map(|(n, ty)| CatalogColumn {
                name: if csv {
                    names::athena_column(n)
                } else {
                    n.clone()
                },
                ty: ty.clone(),
            })
            .collect();
        for k in &found.partition_keys {
            if !entry
                .partition_keys
                .iter()
                .any(|p| p.name.eq_ignore_ascii_case(k))
            {
                entry.partition_keys.push(CatalogColumn {
                    name: k.clone(),
                    ty: "string".into(),
                });
            }
        }
    }
    entry.crawled_by = Some(crawler.to_string());
}

/// Runs one crawler of the pipeline locally: crawls each of its tables,
/// reports partitions and drift, and writes the local catalog.
pub fn crawl(
    pipeline: &ValidPipeline,
    crawler: &str,
    layout: &LocalLayout,
    python: &Path,
) -> Result<CrawlReport, String> {
    let p = pipeline.pipeline();
    let c = p
        .crawlers
        .get(crawler)
        .ok_or_else(|| format!("pipeline `{}` has no crawler `{crawler}`", p.pipeline))?;
    let mut tables = Vec::new();
    for name in &c.tables {
        let t = p
            .schemas
            .get(name)
            .ok_or_else(|| format!("crawler `{crawler}` names unknown table `{name}`"))?;
        let location = layout
            .table(name, t)
            .ok_or_else(|| format!("table `{name}` of crawler `{crawler}` has no zone"))?;
        tables.push((name.as_str(), t, location));
    }
    let found = infer(&tables, layout, python)?;
    let mut cat = catalog::open(p, layout)?;
    let mut report = CrawlReport::default();
    for ((name, t, _), f) in tables.iter().zip(&found) {
        if let Some(e) = &f.error {
            return Err(format!("crawler `{crawler}`, table `{name}`: {e}"));
        }
        if let Some(entry) = cat.tables.get_mut(*name) {
            apply(entry, t, f, c.on_schema_change, crawler);
        }
        report.tables.push(CrawledTable {
            table: name.to_string(),
            partitions: f.partitions.clone(),
            drift: drift(t, f),
        });
    }
    catalog::write(&layout.catalog(), &cat)?;
    Ok(report)
}
