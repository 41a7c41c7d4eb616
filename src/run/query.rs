//! `pipec query --local`: Athena-style SQL over the local catalog.
//!
//! In: the local catalog (`catalog::Catalog`), one SQL text and a Python
//! with duckdb. Out: the result's columns and rows, and that result printed
//! as an aligned table, CSV or JSON lines. `templates/local/query.py` makes
//! each catalog table a DuckDB view (by name and by `database.table`) read
//! as Athena reads it; this module only runs it and prints.

use super::catalog::Catalog;
use super::crawl::{run_tool, write_tool};
use super::layout::LocalLayout;
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The query script, embedded so that the binary needs no install step.
pub const QUERY_PY: &str = include_str!("../../templates/local/query.py");

/// The environment variable naming the Python that local queries and
/// crawlers run with (it needs pyarrow and duckdb).
pub const PYTHON_ENV: &str = "PIPEC_PYTHON";

/// A query's result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub types: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    error: Option<String>,
    #[serde(flatten)]
    result: Option<QueryResult>,
}

/// Why a query gave no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// DuckDB refused the SQL (an unknown table or column, a syntax error).
    Sql(String),
    /// The tool could not run (no Python, no duckdb, an unreadable catalog).
    Setup(String),
}

/// How a result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Text,
    Csv,
    Json,
}

/// The Python to run local tools with: `--python`, else `$PIPEC_PYTHON`,
/// else `python3` on the PATH.
pub fn python(given: Option<&Path>) -> PathBuf {
    given
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(PYTHON_ENV).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// Runs one SQL text over the catalog.
pub fn run(
    catalog: &Catalog,
    sql: &str,
    layout: &LocalLayout,
    python: &Path,
) -> Result<QueryResult, QueryError> {
    let script = write_tool(layout, "query.py", QUERY_PY).map_err(QueryError::Setup)?;
    let request = json!({"catalog": catalog, "sql": sql}).to_string();
    let out = run_tool(python, &script, &request).map_err(QueryError::Setup)?;
    let answer: Answer = serde_json::from_str(&out)
        .map_err(|e| QueryError::Setup(format!("query.py answered badly: {e}")))?;
    match (answer.error, answer.result) {
        (Some(e), _) => Err(QueryError::Sql(e)),
        (None, Some(r)) => Ok(r),
        (None, None) => Err(QueryError::Setup("query.py gave no result".into())),
    }
}

/// A value as text: strings bare, NULL as empty for CSV and `NULL` for the
/// table, nested values as JSON.
fn cell(v: &Value, null: &str) -> String {
    match v {
        Value::Null => null.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One CSV field, quoted when it must be (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Whether a column's values are numbers, aligned right in the table.
fn numeric(ty: &str) -> bool {
    let t = ty.to_ascii_uppercase();
    [
        "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL",
        "UBIGINT", "UINTEGER",
    ]
    .iter()
    .any(|n| t.starts_with(n))
}

/// The result as printed.
pub fn render(r: &QueryResult, format: OutFormat) -> String {
    match format {
        OutFormat::Csv => {
            let mut out = String::new();
            let head: Vec<String> = r.columns.iter().map(|c| csv_field(c)).collect();
            out.push_str(&head.join(","));
            out.push('\n');
            for row in &r.rows {
                let line: Vec<String> = row.iter().map(|v| csv_field(&cell(v, ""))).collect();
                out.push_str(&line.join(","));
                out.push('\n');
            }
            out
        }
        OutFormat::Json => {
            let mut out = String::new();
            for row in &r.rows {
                let obj: serde_json::Map<String, Value> =
                    r.columns.iter().cloned().zip(row.iter().cloned()).collect();
                out.push_str(&Value::Object(obj).to_string());
                out.push('\n');
            }
            out
        }
        OutFormat::Text => {
            let cells: Vec<Vec<String>> = r
                .rows
                .iter()
                .map(|row| row.iter().map(|v| cell(v, "NULL")).collect())
                .collect();
            let widths: Vec<usize> = (0..r.columns.len())
                .map(|i| {
                    cells
                        .iter()
                        .filter_map(|row| row.get(i))
                        .chain(std::iter::once(&r.columns[i]))
                        .map(|s| s.chars().count())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let right: Vec<bool> = (0..r.columns.len())
                .map(|i| r.types.get(i).is_some_and(|t| numeric(t)))
                .collect();
            let line = |row: &[String]| -> String {
                let parts: Vec<String> = row
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let w = widths.get(i).copied().unwrap_or(0);
                        if right.get(i).copied().unwrap_or(false) {
                            format!("{s:>w$}")
                        } else {
                            format!("{s:<w$}")
                        }
                    })
                    .collect();
                parts.join(" | ").trim_end().to_string()
            };
            let mut out = line(&r.columns);
            out.push('\n');
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("-+-"));
            out.push('\n');
            for row in &cells {
                out.push_str(&line(row));
                out.push('\n');
            }
            let n = r.rows.len();
            out.push_str(&format!("({n} row{})\n", if n == 1 { "" } else { "s" }));
            out
        }
    }
}

/// The pipeline file a command acts on when no FILE is given: the `source`
/// of `<generated>/<pipeline>/manifest.yaml`, as `deploy` finds the
/// committed output. With several pipelines there, `pipeline` picks one.
pub fn resolve_source(generated: &Path, pipeline: Option<&str>) -> Result<PathBuf, String> {
    // A pipeline with environments counts once (its file is the same).
    let built = crate::build::built_pipelines(generated)
        .map_err(|e| format!("cannot read {}: {e}", generated.display()))?;
    let names: Vec<String> = built.iter().map(|(n, _)| n.clone()).collect();
    let dirs: Vec<PathBuf> = built.iter().map(|(_, d)| d.clone()).collect();
    let dir = match pipeline {
        Some(p) => built
            .iter()
            .find(|(n, _)| n == p)
            .map(|(_, d)| d)
            .ok_or_else(|| {
                format!(
                    "{} holds no pipeline `{p}` (it holds: {})",
                    generated.display(),
                    names.join(", ")
                )
            })?,
        None => match dirs.as_slice() {
            [one] => one,
            [] => return Err(format!("{} holds no built pipeline", generated.display())),
            _ => {
                return Err(format!(
                    "{} holds {} pipelines ({}); name one with --pipeline NAME or give FILE",
                    generated.display(),
                    dirs.len(),
                    names.join(", ")
                ));
            }
        },
    };
    let manifest = dir.join("manifest.yaml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let source = text
        .lines()
        .find_map(|l| l.strip_prefix("source:"))
        .map(|s| s.trim().trim_matches('"').to_string())
        .ok_or_else(|| format!("{} names no source file", manifest.display()))?;
    Ok(dir.join(source))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result() -> QueryResult {
        QueryResult {
            columns: vec!["country".into(), "n".into()],
            types: vec!["VARCHAR".into(), "BIGINT".into()],
            rows: vec![
                vec![json!("France"), json!(12)],
                vec![json!("a, \"b\""), Value::Null],
            ],
        }
    }

    #[test]
    fn text_aligns_numbers_right_and_counts_rows() {
        assert_eq!(
            render(&result(), OutFormat::Text),
            "country |    n\n--------+-----\nFrance  |   12\na, \"b\"  | NULL\n(2 rows)\n"
        );
    }

    #[test]
    fn csv_quotes_what_it_must_and_leaves_null_empty() {
        assert_eq!(
            render(&result(), OutFormat::Csv),
            "country,n\nFrance,12\n\"a, \"\"b\"\"\",\n"
        );
    }

    #[test]
    fn json_is_one_object_per_row() {
        assert_eq!(
            render(&result(), OutFormat::Json),
            "{\"country\":\"France\",\"n\":12}\n{\"country\":\"a, \\\"b\\\"\",\"n\":null}\n"
        );
    }
}
