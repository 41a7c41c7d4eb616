//! Tables: schemas, formats, locations and quality rules.
//!
//! In: the `schemas` section. Out: diagnostics for Hive types, CSV options,
//! partition keys, overlapping locations and DQDL rules.

use super::*;

/// A table's resolved location, for overlap checks: (zone, prefix with a trailing `/`).
pub(super) fn table_location(name: &str, t: &TableSchema) -> Option<(String, String)> {
    let zone = t.zone.clone()?;
    let mut path = t.path.clone().unwrap_or_else(|| name.to_string());
    if !path.ends_with('/') {
        path.push('/');
    }
    Some((zone, path))
}

pub(super) fn check_tables(cx: &mut Ctx) {
    let p = cx.p;
    if p.schemas.is_empty() {
        cx.empty_section(
            "schemas",
            SemanticError::Missing {
                what: "a pipeline needs at least one table schema".into(),
                hint: None,
            },
        );
    }
    let mut locations: Vec<(String, String, &String)> = Vec::new();
    for (name, t) in &p.schemas {
        let base = ptr(&["schemas", name]);
        match (&t.zone, &t.connection) {
            (Some(_), Some(_)) => cx.at_key(
                &push_pointer(&base, "connection"),
                SemanticError::Conflict {
                    what: format!("table `{name}` has both `zone` and `connection`"),
                    reason: "a table lives either in a zone (S3) or in a JDBC database",
                },
            ),
            (None, None) => cx.at_key(
                &base,
                SemanticError::Missing {
                    what: format!("table `{name}` needs a `zone` (S3) or a `connection` (JDBC)"),
                    hint: None,
                },
            ),
            _ => {}
        }
        if let Some(z) = &t.zone {
            if !p.zones.contains_key(z) {
                cx.unknown(
                    &push_pointer(&base, "zone"),
                    "zone",
                    z,
                    p.zones.keys().cloned(),
                );
            }
            if let Some(path) = &t.path
                && let Err(reason) = rules::s3_prefix(path)
            {
                cx.at_value(
                    &push_pointer(&base, "path"),
                    SemanticError::BadValue {
                        what: "path",
                        value: path.clone(),
                        reason,
                    },
                );
            }
            if t.jdbc_table.is_some() {
                cx.at_key(
                    &push_pointer(&base, "jdbc_table"),
                    SemanticError::Conflict {
                        what: "`jdbc_table` is for JDBC tables".into(),
                        reason: "this table is in a zone; remove `jdbc_table`",
                    },
                );
            }
            if let Some(loc) = table_location(name, t) {
                locations.push((loc.0, loc.1, name));
            }
        }
        if let Some(c) = &t.connection {
            if !p.connections.contains_key(c) {
                cx.unknown(
                    &push_pointer(&base, "connection"),
                    "connection",
                    c,
                    p.connections.keys().cloned(),
                );
            }
            match &t.jdbc_table {
                None => cx.at_key(
                    &base,
                    SemanticError::Missing {
                        what: format!(
                            "JDBC table `{name}` needs `jdbc_table`, its name in the database"
                        ),
                        hint: Some("for example `jdbc_table: public.respondents`"),
                    },
                ),
                Some(j) => {
                    let ok = !j.is_empty()
                        && j.split('.').count() <= 3
                        && j.split('.').all(|part| {
                            !part.is_empty()
                                && part
                                    .chars()
                                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
                        });
                    if !ok {
                        cx.at_value(
                            &push_pointer(&base, "jdbc_table"),
                            SemanticError::BadValue {
                                what: "JDBC table",
                                value: j.clone(),
                                reason:
                                    "use `table` or `schema.table` with letters, digits and `_`"
                                        .into(),
                            },
                        );
                    }
                }
            }
            for (key, set) in [
                ("path", t.path.is_some()),
                ("format", t.format.is_some()),
                ("csv", t.csv.is_some()),
                ("partition_keys", !t.partition_keys.is_empty()),
            ] {
                if set {
                    cx.at_key(
                        &push_pointer(&base, key),
                        SemanticError::Conflict {
                            what: format!("`{key}` is for zone tables"),
                            reason: "this table is in a JDBC database",
                        },
                    );
                }
            }
        }
        if t.csv.is_some() && t.format != Some(Format::Csv) {
            cx.at_key(
                &push_pointer(&base, "csv"),
                SemanticError::Conflict {
                    what: "`csv` options need `format: csv`".into(),
                    reason: "they describe how a CSV file is read",
                },
            );
        }
        if let Some(csv) = &t.csv
            && csv.preset == Some(CsvPreset::Rfc4180)
        {
            let cp = ptr(&["schemas", name, "csv"]);
            if csv.escape != CsvOptions::default().escape {
                cx.at_key(
                    &push_pointer(&cp, "escape"),
                    SemanticError::Conflict {
                        what: "`escape` does not go with `preset: rfc4180`".into(),
                        reason: "RFC 4180 escapes a quote by doubling it; remove `escape`",
                    },
                );
            }
            if !csv.quoted {
                cx.at_key(
                    &push_pointer(&cp, "quoted"),
                    SemanticError::Conflict {
                        what: "`quoted: false` does not go with `preset: rfc4180`".into(),
                        reason: "the preset describes how quoted values escape their quotes; remove one of them",
                    },
                );
            }
        }
        if let Some(csv) = &t.csv {
            for (key, v) in [
                ("delimiter", &csv.delimiter),
                ("quote", &csv.quote),
                ("escape", &csv.escape),
            ] {
                if v.chars().count() != 1 {
                    cx.at_value(
                        &ptr(&["schemas", name, "csv", key]),
                        SemanticError::BadValue {
                            what: key,
                            value: v.clone(),
                            reason: "it must be exactly one character".into(),
                        },
                    );
                }
            }
        }
        if t.columns.is_empty() {
            cx.at_value(
                &push_pointer(&base, "columns"),
                SemanticError::Missing {
                    what: format!("table `{name}` declares no columns"),
                    hint: None,
                },
            );
        }
        let mut seen: HashMap<String, &String> = HashMap::new();
        for (col, c) in &t.columns {
            let cp = ptr(&["schemas", name, "columns", col]);
            if let Err(reason) = rules::column_name(col) {
                cx.at_key(
                    &cp,
                    SemanticError::BadName {
                        what: "column",
                        name: col.clone(),
                        reason,
                    },
                );
            }
            if let Some(other) = seen.get(&col.to_lowercase()) {
                cx.at_key(&cp, SemanticError::ColumnClash { column: col.clone(), reason: format!("clashes with `{other}`: Glue and Spark compare column names without case"), hint: None });
            } else {
                seen.insert(col.to_lowercase(), col);
            }
            if let Err(reason) = rules::hive_type(c.ty()) {
                let tp = match c {
                    Column::Type(_) => cp.clone(),
                    Column::Full(_) => push_pointer(&cp, "type"),
                };
                cx.at_value(
                    &tp,
                    SemanticError::BadValue {
                        what: "type",
                        value: c.ty().to_string(),
                        reason,
                    },
                );
            }
        }
        let mut pk_seen = Vec::new();
        for (i, k) in t.partition_keys.iter().enumerate() {
            let kp = ptr(&["schemas", name, "partition_keys", &i.to_string()]);
            match t.columns.get(k) {
                None => cx.at_value(
                    &kp,
                    SemanticError::UnknownTableColumn {
                        column: k.clone(),
                        table: name.clone(),
                        candidates: t.columns.keys().cloned().collect(),
                    },
                ),
                Some(c) if !rules::is_primitive(c.ty()) => cx.at_value(
                    &kp,
                    SemanticError::BadValue {
                        what: "partition key",
                        value: k.clone(),
                        reason: format!("partition keys need a primitive type, not `{}`", c.ty()),
                    },
                ),
                _ => {}
            }
            if pk_seen.contains(&k) {
                cx.at_value(
                    &kp,
                    SemanticError::Duplicate {
                        what: "partition key",
                        name: k.clone(),
                    },
                );
            }
            pk_seen.push(k);
        }
        // Distinct keys that are columns; a doubled or unknown key is reported above.
        let keys = pk_seen
            .iter()
            .filter(|k| t.columns.contains_key(k.as_str()))
            .collect::<std::collections::HashSet<_>>()
            .len();
        if keys > 0 && keys == t.columns.len() {
            cx.at_value(
                &push_pointer(&base, "partition_keys"),
                SemanticError::Conflict {
                    what: "every column is a partition key".into(),
                    reason: "a table needs at least one column that is not a partition key",
                },
            );
        }
        if let Some(q) = &t.quality {
            if q.rules.is_empty() {
                cx.at_value(
                    &ptr(&["schemas", name, "quality", "rules"]),
                    SemanticError::Missing {
                        what: "`quality` needs at least one rule".into(),
                        hint: None,
                    },
                );
            }
            for (i, rule) in q.rules.iter().enumerate() {
                let rp = ptr(&["schemas", name, "quality", "rules", &i.to_string()]);
                if rules::dqdl_several_rules(rule) {
                    cx.at_value(&rp, SemanticError::SeveralRules { rule: rule.clone() });
                    continue;
                }
                match rules::dqdl_rule(rule) {
                    Err(reason) => cx.at_value(
                        &rp,
                        SemanticError::BadValue {
                            what: "DQDL rule",
                            value: rule.clone(),
                            reason,
                        },
                    ),
                    Ok(cols) => {
                        for col in cols {
                            if !t.columns.keys().any(|c| c.eq_ignore_ascii_case(&col)) {
                                cx.at_value(
                                    &rp,
                                    SemanticError::UnknownTableColumn {
                                        column: col,
                                        table: name.clone(),
                                        candidates: t.columns.keys().cloned().collect(),
                                    },
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    // Two tables whose prefixes nest would write into each other, and the
    // IAM grant on one prefix would reach the other's objects.
    let pairs: Vec<(&str, &str)> = locations
        .iter()
        .map(|(z, p, _)| (z.as_str(), p.as_str()))
        .collect();
    for (i, j) in rules::nested_locations(&pairs) {
        let (za, pa, a) = &locations[i];
        let (_, pb, b) = &locations[j];
        cx.at_value(
            &ptr(&["schemas", a, "path"]),
            SemanticError::SharedLocation {
                table: (*a).clone(),
                other: (*b).clone(),
                location: format!("zone `{za}` prefix `{}`", pa.min(pb)),
            },
        );
    }
}
