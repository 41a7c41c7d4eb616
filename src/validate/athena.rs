//! Athena's view of the catalog tables pipec declares for CSV files.
//!
//! In: the pipeline's zone tables. Out: warnings at each column of a quoted
//! CSV table whose declared type Athena would misread (the catalog declares
//! it string), and errors where two CSV columns get one Athena-safe name.

use super::{Ctx, SemanticError, ptr};
use crate::model::Format;
use crate::names;
use std::collections::HashMap;

/// Checks every CSV zone table.
pub(super) fn check(cx: &mut Ctx) {
    let p = cx.p;
    for (table, t) in &p.schemas {
        if t.zone.is_none() || t.format != Some(Format::Csv) {
            continue;
        }
        let quoted = t.csv.as_ref().is_none_or(|c| c.quoted);
        let mut seen: HashMap<String, &String> = HashMap::new();
        for (col, c) in &t.columns {
            let at = ptr(&["schemas", table, "columns", col]);
            if !t.partition_keys.contains(col) {
                let safe = names::athena_column(col);
                if let Some(other) = seen.get(&safe) {
                    // Same name without case is reported by the table checks already.
                    if other.to_lowercase() != col.to_lowercase() {
                        cx.at_key(
                            &at,
                            SemanticError::AthenaColumnClash {
                                column: col.clone(),
                                other: (*other).clone(),
                                catalog: safe.clone(),
                            },
                        );
                    }
                } else {
                    seen.insert(safe, col);
                }
            }
            if !quoted || t.partition_keys.contains(col) {
                continue;
            }
            let ty = c.ty().to_ascii_lowercase();
            // OpenCSVSerde: https://docs.aws.amazon.com/athena/latest/ug/csv-serde.html
            let reason = match ty.as_str() {
                "string" => continue,
                "timestamp" | "date" => {
                    "OpenCSVSerde reads TIMESTAMP and DATE only in UNIX numeric form"
                }
                "tinyint" | "smallint" | "int" | "bigint" | "float" | "double" | "boolean" => {
                    "OpenCSVSerde fails on empty values in numeric columns"
                }
                _ if ty.starts_with("decimal") => {
                    "OpenCSVSerde fails on empty values in numeric columns"
                }
                _ => "OpenCSVSerde reads only strings and plain numbers",
            };
            cx.at_key(
                &at,
                SemanticError::AthenaReadsString {
                    table: table.clone(),
                    column: col.clone(),
                    ty: c.ty().to_string(),
                    reason,
                },
            );
        }
    }
}
