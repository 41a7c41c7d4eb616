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
        out.extend(
            tables::compare(&as_table(o), &as_table(n))
                .into_iter()
                .map(iceberg_promotion),
        );
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

/// A widening Hive reads but Iceberg cannot make in place is breaking:
/// Iceberg promotes only int to bigint, float to double and a decimal's
/// precision at the same scale
/// (https://iceberg.apache.org/spec/#schema-evolution), and the job refuses
/// any other type change before it writes (templates/iceberg.py.j2).
fn iceberg_promotion(change: TableChange) -> TableChange {
    match change {
        TableChange::ColumnWidened { name, from, to } if !tables::iceberg_promotes(&from, &to) => {
            TableChange::ColumnNarrowed { name, from, to }
        }
        other => other,
    }
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

    #[test]
    fn only_the_promotions_iceberg_makes_in_place_are_compatible() {
        let table = |ty: &str| decl(json!({"id": "bigint", "v": ty}), json!([]), "2");
        let grade = |from: &str, to: &str| {
            let c = compare(&table(from), &table(to));
            assert_eq!(c.len(), 1, "{from} -> {to}: {c:?}");
            c[0].grade()
        };
        use tables::Grade::{Breaking, Compatible};
        // Iceberg's promotions.
        assert_eq!(grade("int", "bigint"), Compatible);
        assert_eq!(grade("float", "double"), Compatible);
        assert_eq!(grade("decimal(10,2)", "decimal(12,2)"), Compatible);
        // Hive reads these as wider, Iceberg cannot change them in place.
        assert_eq!(grade("decimal(10,2)", "decimal(12,3)"), Breaking);
        assert_eq!(grade("int", "decimal(12,0)"), Breaking);
        assert_eq!(grade("varchar(10)", "varchar(20)"), Breaking);
        assert_eq!(grade("bigint", "int"), Breaking);
    }
}
