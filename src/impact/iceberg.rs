//! Iceberg tables that jobs create and evolve, compared between two
//! templates.
//!
//! In: the `Metadata.pipec:iceberg` block of an `AWS::Glue::Job` (the
//! declared location, format version, columns and partition spec of each
//! Iceberg table the job writes), old and new. Out: the same `TableChange`s
//! a Glue table gets, so the deploy gate and `review` grade them alike. The
//! stack does not declare Iceberg tables (the job creates them), so this
//! block is the only place a deploy can see their schema change.

use super::tables::{self, TableChange};
use serde_json::{Value, json};

/// The changes of every Iceberg table both versions declare, by table
/// name. A table only one side declares is not a schema change: the job
/// starts or stops writing it, and the data stays.
pub fn compare(old: &Value, new: &Value) -> Vec<TableChange> {
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, o) in old {
        let Some(n) = new.get(name) else { continue };
        out.extend(tables::compare(&as_table(o), &as_table(n)));
        let version = |v: &Value| {
            v.get("format_version")
                .and_then(|f| {
                    f.as_str()
                        .map(str::to_string)
                        .or(f.as_u64().map(|n| n.to_string()))
                })
                .unwrap_or_default()
        };
        let (vo, vn) = (version(o), version(n));
        // Iceberg cannot lower a table's format version.
        if vn < vo {
            out.push(TableChange::FormatChanged {
                property: "format-version".into(),
                from: vo,
                to: vn,
            });
        }
    }
    out
}

/// The declaration in the shape of a Glue `TableInput`: columns in order,
/// the partition spec as partition keys (`column` typed by its transform),
/// and the location.
fn as_table(v: &Value) -> Value {
    let columns: Vec<Value> = v
        .get("columns")
        .and_then(Value::as_object)
        .map(|c| {
            c.iter()
                .map(|(name, ty)| json!({"Name": name, "Type": ty}))
                .collect()
        })
        .unwrap_or_default();
    let partition: Vec<Value> = v
        .get("partition")
        .and_then(Value::as_array)
        .map(|p| {
            p.iter()
                .map(|f| json!({"Name": f.get("column"), "Type": f.get("transform")}))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "TableInput": {
            "StorageDescriptor": {
                "Columns": columns,
                "Location": v.get("location").cloned().unwrap_or(Value::Null),
            },
            "PartitionKeys": partition,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(cols: Value, partition: Value, version: &str) -> Value {
        json!({"orders": {"location": "s3://b/orders/", "format_version": version,
            "columns": cols, "partition": partition, "modes": ["merge"]}})
    }

    #[test]
    fn breaking_and_compatible_iceberg_changes_are_graded_like_glue_tables() {
        let base = decl(
            json!({"id": "bigint", "amount": "decimal(10,2)", "day": "date"}),
            json!([{"transform": "identity", "column": "day"}]),
            "2",
        );
        let same = compare(&base, &base);
        assert!(same.is_empty(), "{same:?}");
        let added = decl(
            json!({"id": "bigint", "amount": "decimal(10,2)", "day": "date", "note": "string"}),
            json!([{"transform": "identity", "column": "day"}]),
            "2",
        );
        let c = compare(&base, &added);
        assert!(
            c.iter().all(|c| c.grade() == tables::Grade::Compatible),
            "{c:?}"
        );
        assert!(!c.is_empty());
        let dropped = decl(
            json!({"id": "bigint", "day": "date"}),
            json!([{"transform": "identity", "column": "day"}]),
            "2",
        );
        let c = compare(&base, &dropped);
        assert!(
            c.iter().any(|c| c.grade() == tables::Grade::Breaking),
            "{c:?}"
        );
        let respec = decl(
            json!({"id": "bigint", "amount": "decimal(10,2)", "day": "date"}),
            json!([{"transform": "bucket[8]", "column": "id"}]),
            "2",
        );
        let c = compare(&base, &respec);
        assert!(
            c.iter()
                .any(|c| matches!(c, TableChange::PartitionKeysChanged { .. })),
            "{c:?}"
        );
        let lowered = decl(
            json!({"id": "bigint", "amount": "decimal(10,2)", "day": "date"}),
            json!([{"transform": "identity", "column": "day"}]),
            "1",
        );
        let c = compare(&base, &lowered);
        assert!(
            c.iter()
                .any(|c| matches!(c, TableChange::FormatChanged { .. })),
            "{c:?}"
        );
    }
}
