//! Iceberg tables and merges: partition transforms, table properties, key
//! columns, the format version against the writing stages' Glue versions,
//! and `mode: merge` outputs.
//!
//! In: the `schemas` with `format: iceberg`, the stages' outputs and the
//! frames they write. Out: diagnostics located at the transform, property,
//! key or merge setting at fault.

use super::*;
use crate::names::same_name;

/// Table properties a pipeline may set, each with a check of its value.
/// Others (location, metadata paths, the catalog's own) are pipec's.
/// https://iceberg.apache.org/docs/latest/configuration/#table-properties
const PROPERTIES: &[(&str, &[&str])] = &[
    ("format-version", &["1", "2", "3"]),
    ("write.distribution-mode", &["none", "hash", "range"]),
    ("write.merge.mode", &["copy-on-write", "merge-on-read"]),
    ("write.update.mode", &["copy-on-write", "merge-on-read"]),
    ("write.delete.mode", &["copy-on-write", "merge-on-read"]),
    (
        "write.parquet.compression-codec",
        &["zstd", "snappy", "gzip", "lz4", "uncompressed"],
    ),
    ("write.target-file-size-bytes", &[]),
    ("history.expire.max-snapshot-age-ms", &[]),
    ("history.expire.min-snapshots-to-keep", &[]),
];

/// The format version pipec creates tables with unless told.
pub const DEFAULT_FORMAT_VERSION: &str = "2";

fn is_iceberg(t: &TableSchema) -> bool {
    t.format == Some(Format::Iceberg)
}

/// The declared type of a table column, lowercased without spaces.
fn column_type<'a>(t: &'a TableSchema, name: &str) -> Option<(&'a str, String)> {
    t.columns
        .iter()
        .find(|(c, _)| same_name(c, name))
        .map(|(c, col)| (c.as_str(), col.ty().to_ascii_lowercase().replace(' ', "")))
}

/// Why `transform` does not apply to a column of type `ty`, if it does not
/// (Iceberg's spec, "Partition Transforms": https://iceberg.apache.org/spec/#partition-transforms).
fn transform_refuses(transform: &Transform, ty: &str) -> Option<&'static str> {
    let base = ty.split('(').next().unwrap_or(ty);
    let temporal = matches!(base, "date" | "timestamp" | "timestamp_ntz");
    let integer = matches!(base, "int" | "integer" | "bigint" | "smallint" | "tinyint");
    let ok = match transform {
        Transform::Identity(_) => {
            !matches!(base, "array<" | "map<" | "struct<")
                && !ty.starts_with("array<")
                && !ty.starts_with("map<")
                && !ty.starts_with("struct<")
        }
        Transform::Years(_) | Transform::Months(_) | Transform::Days(_) => temporal,
        Transform::Hours(_) => matches!(base, "timestamp" | "timestamp_ntz"),
        Transform::Bucket(..) => {
            integer
                || temporal
                || matches!(base, "decimal" | "string" | "binary" | "varchar" | "char")
        }
        Transform::Truncate(..) => {
            integer || matches!(base, "decimal" | "string" | "binary" | "varchar" | "char")
        }
    };
    if ok {
        return None;
    }
    Some(match transform {
        Transform::Identity(_) => "identity partitions need a primitive column",
        Transform::Years(_) | Transform::Months(_) | Transform::Days(_) => {
            "it applies to date and timestamp columns"
        }
        Transform::Hours(_) => "it applies to timestamp columns",
        Transform::Bucket(..) => {
            "bucket applies to integer, decimal, date, timestamp, string and binary columns"
        }
        Transform::Truncate(..) => {
            "truncate applies to integer, decimal, string and binary columns"
        }
    })
}

/// The checks of the `schemas` section's Iceberg tables and options.
pub(super) fn check_tables(cx: &mut Ctx) {
    let p = cx.p;
    for (name, t) in &p.schemas {
        let base = ptr(&["schemas", name]);
        if let Some(opts) = &t.iceberg {
            if !is_iceberg(t) {
                cx.at_key(
                    &push_pointer(&base, "iceberg"),
                    SemanticError::Conflict {
                        what: "`iceberg` options need `format: iceberg`".into(),
                        reason: "they describe an Iceberg table",
                    },
                );
                continue;
            }
            check_options(cx, name, t, opts);
        }
        if !is_iceberg(t) {
            continue;
        }
        if t.connection.is_some() || t.zone.is_none() {
            cx.at_value(
                &push_pointer(&base, "format"),
                SemanticError::Conflict {
                    what: "an Iceberg table needs a `zone`".into(),
                    reason: "its data and metadata live under the table's zone prefix",
                },
            );
        }
        if !t.partition_keys.is_empty() {
            cx.at_key(
                &push_pointer(&base, "partition_keys"),
                SemanticError::Conflict {
                    what: "`partition_keys` are for file tables".into(),
                    reason: "an Iceberg table partitions by `iceberg.partition` transforms (a column name is an identity partition)",
                },
            );
        }
        check_format_version(cx, name, t);
    }
    for (cname, c) in &p.crawlers {
        for (i, tname) in c.tables.iter().enumerate() {
            if p.schemas.get(tname).is_some_and(is_iceberg) {
                cx.at_value(
                    &ptr(&["crawlers", cname, "tables", &i.to_string()]),
                    SemanticError::Conflict {
                        what: format!("table `{tname}` is an Iceberg table"),
                        reason: "its job commits every write through the Glue catalog, so no crawler is needed, and a crawler would rewrite its catalog entry",
                    },
                );
            }
        }
    }
}

fn check_options(cx: &mut Ctx, name: &str, t: &TableSchema, opts: &IcebergOptions) {
    let mut seen: Vec<String> = Vec::new();
    for (i, text) in opts.partition.iter().enumerate() {
        let pp = ptr(&["schemas", name, "iceberg", "partition", &i.to_string()]);
        let Some(tr) = Transform::parse(text) else {
            cx.at_value(
                &pp,
                SemanticError::IcebergTransform {
                    transform: text.clone(),
                    reason: if text.contains('(') != text.contains(')') {
                        "its parentheses do not pair: in a `[...]` list a comma splits the transform, so quote it or write it on its own `- ` line".into()
                    } else {
                        "not a transform pipec knows".into()
                    },
                },
            );
            continue;
        };
        match column_type(t, tr.column()) {
            None => cx.at_value(
                &pp,
                SemanticError::UnknownTableColumn {
                    column: tr.column().to_string(),
                    table: name.to_string(),
                    candidates: t.columns.keys().cloned().collect(),
                },
            ),
            Some((col, ty)) => {
                if let Some(reason) = transform_refuses(&tr, &ty) {
                    cx.at_value(
                        &pp,
                        SemanticError::IcebergTransform {
                            transform: text.clone(),
                            reason: format!("column `{col}` is {ty}, and {reason}"),
                        },
                    );
                }
                let key = format!("{}:{}", tr.name(), col.to_lowercase());
                if seen.contains(&key) {
                    cx.at_value(
                        &pp,
                        SemanticError::Duplicate {
                            what: "partition transform",
                            name: text.clone(),
                        },
                    );
                }
                seen.push(key);
            }
        }
    }
    for (key, value) in &opts.properties {
        let kp = ptr(&["schemas", name, "iceberg", "properties", key]);
        match PROPERTIES.iter().find(|(k, _)| k == key) {
            None => cx.at_key(
                &kp,
                SemanticError::IcebergProperty {
                    key: key.clone(),
                    reason: "not one pipec lets a pipeline set".into(),
                },
            ),
            Some((_, values)) if !values.is_empty() && !values.contains(&value.as_str()) => cx
                .at_value(
                    &kp,
                    SemanticError::IcebergProperty {
                        key: key.clone(),
                        reason: format!("`{value}` is not one of {}", values.join(", ")),
                    },
                ),
            Some((_, values)) if values.is_empty() && value.parse::<u64>().is_err() => cx.at_value(
                &kp,
                SemanticError::IcebergProperty {
                    key: key.clone(),
                    reason: format!("`{value}` is not a whole number"),
                },
            ),
            _ => {}
        }
    }
    for (i, k) in opts.keys.iter().enumerate() {
        let kp = ptr(&["schemas", name, "iceberg", "keys", &i.to_string()]);
        match column_type(t, k) {
            None => cx.at_value(
                &kp,
                SemanticError::UnknownTableColumn {
                    column: k.clone(),
                    table: name.to_string(),
                    candidates: t.columns.keys().cloned().collect(),
                },
            ),
            Some((_, ty)) if !rules::is_primitive(&ty) => cx.at_value(
                &kp,
                SemanticError::BadValue {
                    what: "key column",
                    value: k.clone(),
                    reason: format!("a key column needs a primitive type, and this one is {ty}"),
                },
            ),
            _ => {}
        }
    }
    let m = &opts.maintenance;
    for (on, days, key) in [
        (
            m.snapshot_retention,
            m.snapshot_retention_days,
            "snapshot_retention_days",
        ),
        (
            m.orphan_file_deletion,
            m.orphan_file_retention_days,
            "orphan_file_retention_days",
        ),
    ] {
        if on && days == 0 {
            cx.at_value(
                &ptr(&["schemas", name, "iceberg", "maintenance", key]),
                SemanticError::BadValue {
                    what: "retention days",
                    value: "0".into(),
                    reason: "keep at least 1 day, or turn the optimizer off".into(),
                },
            );
        }
    }
}

/// The table's format version: declared, or pipec's default.
pub fn format_version(t: &TableSchema) -> &str {
    t.iceberg
        .as_ref()
        .and_then(|o| o.properties.get("format-version"))
        .map(String::as_str)
        .unwrap_or(DEFAULT_FORMAT_VERSION)
}

fn check_format_version(cx: &mut Ctx, name: &str, t: &TableSchema) {
    let version = format_version(t);
    if version != "3" {
        return;
    }
    let p = cx.p;
    for (sname, s) in &p.stages {
        if !s.outputs.iter().any(|o| o.table == name) {
            continue;
        }
        let glue_version = settings::settings(p, s).glue_version;
        if crate::glue::at_least(&glue_version, crate::glue::ICEBERG_V3_SINCE) {
            continue;
        }
        cx.at_value(
            &ptr(&["schemas", name, "iceberg", "properties", "format-version"]),
            SemanticError::IcebergFormatVersion {
                version: version.to_string(),
                stage: sname.clone(),
                glue_version: glue_version.clone(),
                iceberg: crate::glue::iceberg_version(&glue_version).unwrap_or("older"),
            },
        );
    }
}

/// The key columns a merge output matches on: its own `on`, else the table's keys.
pub fn merge_keys<'a>(o: &'a Output, t: &'a TableSchema) -> &'a [String] {
    match &o.merge {
        Some(m) if !m.on.is_empty() => &m.on,
        _ => t.iceberg.as_ref().map(|i| i.keys.as_slice()).unwrap_or(&[]),
    }
}

/// The checks of one output's mode and `merge` block that need only the
/// table; `op` points at the output.
pub(super) fn check_output(cx: &mut Ctx, op: &str, o: &Output, t: &TableSchema) {
    let iceberg = is_iceberg(t);
    if o.mode == WriteMode::Merge && !iceberg {
        cx.at_value(
            &push_pointer(op, "mode"),
            SemanticError::MergeNotIceberg {
                table: o.table.clone(),
            },
        );
        return;
    }
    if o.merge.is_some() && o.mode != WriteMode::Merge {
        cx.at_key(
            &push_pointer(op, "merge"),
            SemanticError::Conflict {
                what: "`merge` options need `mode: merge`".into(),
                reason: "they say how a merge matches rows",
            },
        );
    }
    if !iceberg {
        return;
    }
    if o.mode == WriteMode::Error {
        cx.at_value(
            &push_pointer(op, "mode"),
            SemanticError::Conflict {
                what: "`mode: error` does not apply to an Iceberg table".into(),
                reason: "the job creates the table on its first run; use `append`, `overwrite` or `merge`",
            },
        );
    }
    if o.compression.is_some() {
        cx.at_key(
            &push_pointer(op, "compression"),
            SemanticError::Conflict {
                what: "`compression` does not apply to an Iceberg table".into(),
                reason: "set the table property `write.parquet.compression-codec` instead",
            },
        );
    }
    if o.mode != WriteMode::Merge {
        return;
    }
    let keys = merge_keys(o, t);
    if keys.is_empty() {
        cx.at_value(
            &push_pointer(op, "mode"),
            SemanticError::MergeWithoutKeys {
                table: o.table.clone(),
            },
        );
    }
    if let Some(m) = &o.merge {
        for (i, k) in m.on.iter().enumerate() {
            if column_type(t, k).is_none() {
                cx.at_value(
                    &push_pointer(
                        &push_pointer(&push_pointer(op, "merge"), "on"),
                        &i.to_string(),
                    ),
                    SemanticError::UnknownTableColumn {
                        column: k.clone(),
                        table: o.table.clone(),
                        candidates: t.columns.keys().cloned().collect(),
                    },
                );
            }
        }
    }
}

/// The checks of a merge's `latest_by` and `delete_when` against the columns
/// of the frame it writes (before the table's columns are selected).
pub(super) fn check_merge_frame(cx: &mut Ctx, op: &str, o: &Output, scope: &[crate::sql::Column]) {
    let Some(m) = &o.merge else {
        return;
    };
    if o.mode != WriteMode::Merge {
        return;
    }
    let mp = push_pointer(op, "merge");
    let frame = o.from.clone().unwrap_or_else(|| "main".into());
    if let Some(by) = m.duplicates.latest_by()
        && frames::find_column(scope, by).is_none()
    {
        cx.at_value(
            &push_pointer(&push_pointer(&mp, "duplicates"), "latest_by"),
            SemanticError::UnknownColumn {
                column: by.to_string(),
                frame: frame.clone(),
                candidates: scope.iter().map(|c| c.name.clone()).collect(),
            },
        );
    }
    if let Some(text) = &m.delete_when {
        let dp = push_pointer(&mp, "delete_when");
        match crate::sql::check_expr(text, scope) {
            Ok(info) => {
                if info.is_aggregate {
                    cx.at_value(
                        &dp,
                        SemanticError::AggregateInRowStep {
                            place: "`delete_when`".into(),
                        },
                    );
                }
                if let Some(ty) = info.ty
                    && ty != "boolean"
                {
                    cx.at_value(&dp, SemanticError::FilterNotBoolean { ty });
                }
            }
            Err(errors) => {
                for e in &errors {
                    cx.at_sql(&dp, text, "`delete_when`", e);
                }
            }
        }
    }
}

/// Whether a merge output reads frame column `name` (its `latest_by`, or a
/// word of its `delete_when`), so a column the table lacks is still used.
pub(super) fn merge_reads(o: &Output, name: &str) -> bool {
    let Some(m) = o.merge.as_ref().filter(|_| o.mode == WriteMode::Merge) else {
        return false;
    };
    m.duplicates.latest_by().is_some_and(|b| same_name(b, name))
        || m.delete_when.as_deref().is_some_and(|d| {
            d.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|w| same_name(w, name))
        })
}

/// The job argument that carries the table optimizers' role ARN.
pub const OPTIMIZER_ROLE_ARG: &str = "pipec_optimizer_role";

/// Whether a stage writes an Iceberg table with a table optimizer on, so
/// its job sets up the optimizers and needs their role.
pub fn maintains(p: &Pipeline, s: &Stage) -> bool {
    s.outputs.iter().any(|o| {
        p.schemas.get(&o.table).is_some_and(|t| {
            is_iceberg(t) && t.iceberg.as_ref().is_none_or(|i| i.maintenance.any())
        })
    })
}
