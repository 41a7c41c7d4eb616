//! Iceberg tables in a stage's script: the table's spec (schema, partition
//! transforms, properties, database and zone) as a constant, reads through
//! the catalog, and writes by `write_iceberg` (append, overwrite or merge).
//!
//! In: a table schema with `format: iceberg` and the outputs that write it.
//! Out: the statements; the runtime (`templates/iceberg.py.j2`) creates and
//! evolves the table and runs the write.

use super::*;
use crate::validate::iceberg::{format_version, merge_keys};

impl Builder<'_> {
    pub(super) fn iceberg_const(table: &str) -> String {
        format!("{}_ICEBERG", table.to_ascii_uppercase())
    }

    /// `TABLE_ICEBERG = {...}`: everything the runtime needs to create the table.
    pub(super) fn iceberg_spec(&mut self, name: &str, t: &TableSchema) -> Block {
        self.uses.iceberg = true;
        let opts = t.iceberg.clone().unwrap_or_default();
        let partition = opts
            .partition
            .iter()
            .filter_map(|p| Transform::parse(p))
            .map(|tr| {
                let base = match &tr {
                    Transform::Bucket(..) => "bucket".to_string(),
                    Transform::Truncate(..) => "truncate".to_string(),
                    other => other.name(),
                };
                let column = t
                    .columns
                    .keys()
                    .find(|c| same_name(c, tr.column()))
                    .cloned()
                    .unwrap_or_else(|| tr.column().to_string());
                Expr::List(vec![
                    s(base),
                    s(column),
                    match tr.width() {
                        Some(n) => code(n.to_string()),
                        None => code("None"),
                    },
                ])
            })
            .collect();
        let mut properties = vec![(s("format-version"), s(format_version(t).to_string()))];
        for (k, v) in &opts.properties {
            if k != "format-version" {
                properties.push((s(k.clone()), s(v.clone())));
            }
        }
        let p = self.v.pipeline();
        let dict = Expr::Dict(vec![
            (s("table"), s(name.to_string())),
            (s("database"), s(names::glue_database(&p.pipeline))),
            (s("zone"), s(t.zone.clone().unwrap_or_default())),
            (s("columns"), code(Self::columns_const(name))),
            (s("partition"), Expr::List(partition)),
            (s("properties"), Expr::Dict(properties)),
            (s("maintenance"), maintenance(&opts.maintenance)),
        ]);
        let cname = Self::iceberg_const(name);
        block(
            &[&format!(
                "Iceberg table {name}: the job creates it on its first run and adds declared columns it lacks."
            )],
            format!("{cname} = {}", dict.fmt(0, usize::MAX / 2, 0)),
        )
    }

    pub(super) fn read_iceberg(&self, name: &str) -> (String, Expr) {
        let load = call(
            "read_iceberg",
            vec![code("spark"), code(Self::iceberg_const(name))],
        );
        (
            format!("{name}: Iceberg table, its current snapshot through the catalog."),
            call("observed", vec![load, s(name.to_string()), s("rows_read")]),
        )
    }

    /// The prepared frame of a merge output: deduplicated by key, with the
    /// delete flag, in the table's columns.
    pub(super) fn merge_source(&self, o: &Output, from: &str) -> (Expr, Vec<String>) {
        let t = self.table(&o.table);
        let keys = merge_keys(o, t);
        let m = o.merge.clone().unwrap_or_default();
        let mut args = vec![
            code(from.to_string()),
            code(Self::columns_const(&o.table)),
            Expr::List(keys.iter().map(|k| s(k.clone())).collect()),
        ];
        let mut comments = vec![format!(
            "# {}: one row per key ({}), in the table's columns and types.",
            o.table,
            py::comment_text(&keys.join(", "))
        )];
        match m.duplicates.latest_by() {
            Some(by) => {
                args.push(kw("latest_by", s(by.to_string())));
                comments.extend(py::comment_lines(
                    &format!(
                        "Of rows with one key, the greatest {} wins.",
                        py::comment_text(by)
                    ),
                    0,
                ));
            }
            None => comments.push("# Several rows with one key stop the stage.".into()),
        }
        if let Some(d) = &m.delete_when {
            args.push(kw("delete_when", s(d.clone())));
            comments.push("# Rows `delete_when` picks delete their key's row.".into());
        }
        (call("merge_source", args), comments)
    }

    pub(super) fn write_iceberg(&self, o: &Output, var: &str) -> Block {
        let t = self.table(&o.table);
        let (mode, text) = match o.mode {
            WriteMode::Append => ("append", "append".to_string()),
            WriteMode::Merge => ("merge", format!("merge on {}", merge_keys(o, t).join(", "))),
            _ if t.iceberg.as_ref().is_some_and(|i| !i.partition.is_empty()) => (
                "overwrite",
                "overwrite (only the partitions written are replaced)".to_string(),
            ),
            _ => ("overwrite", "overwrite".to_string()),
        };
        let mut args = vec![
            code("spark"),
            code(var.to_string()),
            code(Self::iceberg_const(&o.table)),
            code(format!(
                "args[{}]",
                py::literal(&names::output_arg(&o.table))
            )),
            kw("mode", s(mode)),
        ];
        if t.iceberg.as_ref().is_none_or(|i| i.maintenance.any()) {
            args.push(kw(
                "optimizer_role",
                code(format!(
                    "args[{}]",
                    py::literal(crate::validate::iceberg::OPTIMIZER_ROLE_ARG)
                )),
            ));
        }
        if o.mode == WriteMode::Merge {
            args.push(kw(
                "keys",
                Expr::List(merge_keys(o, t).iter().map(|k| s(k.clone())).collect()),
            ));
        }
        let comment = format!("{}: Iceberg table through the catalog, {text}.", o.table);
        let e = call("write_iceberg", args);
        let count = match o.mode {
            WriteMode::Merge => assign(
                var,
                &call(
                    "observed_merge",
                    vec![code(var.to_string()), s(o.table.clone())],
                ),
            ),
            _ => counted(var, &o.table),
        };
        Block {
            comments: py::comment_lines(&comment, 0),
            code: format!("{count}\n{}", e.fmt(0, 0, 0)),
        }
    }
}

/// The table optimizers' settings, as the runtime passes them to Glue.
fn maintenance(m: &Maintenance) -> Expr {
    let flag = |b: bool| code(if b { "True" } else { "False" });
    Expr::Dict(vec![
        (s("compaction"), flag(m.compaction)),
        (s("snapshot_retention"), flag(m.snapshot_retention)),
        (
            s("snapshot_retention_days"),
            code(m.snapshot_retention_days.to_string()),
        ),
        (
            s("snapshots_to_keep"),
            code(m.snapshots_to_keep.to_string()),
        ),
        (s("orphan_file_deletion"), flag(m.orphan_file_deletion)),
        (
            s("orphan_file_retention_days"),
            code(m.orphan_file_retention_days.to_string()),
        ),
    ])
}
