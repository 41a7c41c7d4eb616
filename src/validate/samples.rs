//! Sample files of tables (`samples:`), the input of a first local run.
//!
//! In: each table's `samples` and the pipeline file's folder. Out: diagnostics
//! for a sample on a JDBC table, a path outside the pipeline's folder, a path
//! that is not a regular file, and a CSV sample whose first record does not
//! fit the table's columns. Only the start of a CSV sample is read, here and
//! once, so rendering stays pure; Parquet, JSON and ORC samples are not read.
//! Samples are never rendered or deployed, so they are not in the manifest.

use super::*;
use std::io::Read;

/// How much of a CSV sample is read to find its first record.
const HEAD_BYTES: u64 = 1 << 20;

pub(super) fn check(cx: &mut Ctx, base_dir: &Path) {
    let p = cx.p;
    for (name, t) in &p.schemas {
        if t.samples.is_empty() {
            continue;
        }
        // A local run reads a JDBC table from its stand-in, which a stage
        // writes; no example reads a JDBC table, and a sample there would
        // have no declared format.
        if t.zone.is_none() {
            cx.at_key(
                &ptr(&["schemas", name, "samples"]),
                SemanticError::SampleOnJdbcTable {
                    table: name.clone(),
                },
            );
            continue;
        }
        for (i, sample) in t.samples.iter().enumerate() {
            let sp = ptr(&["schemas", name, "samples", &i.to_string()]);
            if let Err(reason) = relative_path(sample) {
                cx.at_value(
                    &sp,
                    SemanticError::SamplePath {
                        path: sample.clone(),
                        reason,
                    },
                );
                continue;
            }
            if let Err(reason) = regular_file(base_dir, sample) {
                cx.at_value(
                    &sp,
                    SemanticError::SampleFile {
                        path: sample.clone(),
                        reason,
                    },
                );
                continue;
            }
            if t.format != Some(Format::Csv) {
                continue;
            }
            let csv = t.csv.clone().unwrap_or_default();
            let record = match first_record(&base_dir.join(sample), &csv) {
                Ok(r) => r,
                Err(reason) => {
                    cx.at_value(
                        &sp,
                        SemanticError::SampleFile {
                            path: sample.clone(),
                            reason,
                        },
                    );
                    continue;
                }
            };
            let declared: Vec<String> = t.columns.keys().cloned().collect();
            if csv.header {
                if record != declared {
                    cx.at_value(
                        &sp,
                        SemanticError::SampleHeader {
                            table: name.clone(),
                            path: sample.clone(),
                            expected: declared,
                            found: record,
                        },
                    );
                }
            } else if record.len() != declared.len() {
                cx.at_value(
                    &sp,
                    SemanticError::SampleColumnCount {
                        table: name.clone(),
                        path: sample.clone(),
                        expected: declared.len(),
                        found: record.len(),
                    },
                );
            }
        }
    }
}

/// A sample path must be relative and stay below the pipeline file's folder.
fn relative_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("give a file path relative to the pipeline file".into());
    }
    if Path::new(path).is_absolute() || path.starts_with(['/', '\\']) {
        return Err("give a path relative to the pipeline file, not an absolute one".into());
    }
    if path.split(['/', '\\']).any(|c| c == "..") {
        return Err("`..` would leave the pipeline's folder; keep samples below it".into());
    }
    Ok(())
}

/// The sample and every folder on its way from `base_dir` must exist and be
/// no symlink, so that a sample cannot point outside the repository.
fn regular_file(base_dir: &Path, path: &str) -> Result<(), String> {
    let mut at = base_dir.to_path_buf();
    let parts: Vec<&str> = path
        .split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(m) => m,
            Err(_) => {
                return Err(format!(
                    "no such file next to the pipeline ({})",
                    at.display()
                ));
            }
        };
        let last = i + 1 == parts.len();
        if meta.file_type().is_symlink() {
            return Err(format!("{} is a symbolic link", at.display()));
        }
        if last && !meta.is_file() {
            return Err(format!("{} is not a regular file", at.display()));
        }
        if !last && !meta.is_dir() {
            return Err(format!("{} is not a folder", at.display()));
        }
    }
    if parts.is_empty() {
        return Err("the path names no file".into());
    }
    Ok(())
}

/// The fields of a CSV file's first record, read as Spark reads it: fields
/// split at the delimiter outside quotes, quotes removed, the escape (or, under
/// RFC 4180, a doubled quote) taken literally inside quotes.
fn first_record(path: &Path, csv: &CsvOptions) -> Result<Vec<String>, String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(HEAD_BYTES).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        // A character cut at the read limit is not an encoding error.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(e) => {
            return Err(format!(
                "{} is not UTF-8 text (byte {})",
                path.display(),
                e.valid_up_to()
            ));
        }
    };
    if text.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    let one = |s: &str| s.chars().next().unwrap_or('\0');
    let (delim, quote) = (one(&csv.delimiter), one(&csv.quote));
    let escape = one(csv.spark_escape());
    Ok(split_record(text, delim, quote, escape))
}

/// Splits the first record of `text` into its fields.
fn split_record(text: &str, delim: char, quote: char, escape: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == escape && escape != quote && chars.peek().is_some() {
                field.extend(chars.next());
            } else if c == quote && chars.peek() == Some(&quote) {
                chars.next();
                field.push(quote);
            } else if c == quote {
                quoted = false;
            } else {
                field.push(c);
            }
        } else if c == quote && field.is_empty() {
            quoted = true;
        } else if c == delim {
            fields.push(std::mem::take(&mut field));
        } else if c == '\n' || c == '\r' {
            break;
        } else {
            field.push(c);
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_records_split_as_spark_reads_them() {
        let cases: &[(&str, char, &[&str])] = &[
            ("a,b,c\n1,2,3\n", '\\', &["a", "b", "c"]),
            ("a,b\r\n1,2", '\\', &["a", "b"]),
            ("\"a,b\",c", '\\', &["a,b", "c"]),
            ("\"say \\\"hi\\\"\",x", '\\', &["say \"hi\"", "x"]),
            ("\"say \"\"hi\"\"\",x", '"', &["say \"hi\"", "x"]),
            ("\"two\nlines\",x\ny", '"', &["two\nlines", "x"]),
            ("a,,c", '\\', &["a", "", "c"]),
            ("only", '\\', &["only"]),
            ("a,b,", '\\', &["a", "b", ""]),
        ];
        for (text, escape, want) in cases {
            assert_eq!(split_record(text, ',', '"', *escape), *want, "{text:?}");
        }
    }

    #[test]
    fn a_valid_pipeline_resolves_its_samples_against_its_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
        let text = std::fs::read(dir.join("etl.yaml")).expect("etl example");
        let loaded = crate::load_bytes("etl.yaml", &text, &dir);
        let v = loaded.pipeline.expect("the etl example is valid");
        assert_eq!(
            v.samples("orders_raw"),
            vec![dir.join("samples/etl/online_retail.csv")]
        );
        assert!(v.samples("orders_clean").is_empty());
        assert!(v.samples("no_such_table").is_empty());
    }

    #[test]
    fn sample_paths_stay_below_the_pipeline() {
        for ok in ["samples/etl/a.csv", "./a.csv", "a.csv"] {
            assert!(relative_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "\\x",
            "../a.csv",
            "samples/../../a.csv",
            "a\\..\\b",
        ] {
            assert!(relative_path(bad).is_err(), "{bad}");
        }
    }
}
