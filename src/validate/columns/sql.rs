//! `sql` steps and input file columns: the columns a query returns
//! (derived by the SQL checker, held to `columns:` when declared), and the
//! column an input adds with the name of the file each row comes from.

use super::*;

impl Stepper<'_, '_> {
    /// The columns a `sql` step returns: the declared ones, checked.
    ///
    /// A query's own columns are not derived yet: until the SQL checker
    /// (`query_columns`) does that, a query without `columns` is an error,
    /// because every later step and the script need its columns.
    /// The columns after a `sql` step: derived from the query, and held to
    /// `columns:` when the step declares them.
    pub(super) fn sql_columns(&mut self, frame: &str, cols: &[Col], s: &Sql, sp: &str) -> Cols {
        let declared = s.columns.as_ref().map(|d| self.declared_columns(d, sp));
        if s.query.trim().is_empty() {
            return declared.ok_or(Reported);
        }
        // `this` is the frame so far; earlier frames by their names.
        let lower = s.query.to_lowercase();
        let mut frames = vec![crate::sql::Frame {
            name: "this",
            columns: cols,
        }];
        for (name, known) in &self.frames {
            if name == frame || name == "this" {
                continue;
            }
            match known {
                Ok(c) => frames.push(crate::sql::Frame { name, columns: c }),
                // A frame whose error was reported: nothing to derive from.
                Err(Reported) if lower.contains(&name.to_lowercase()) => {
                    return declared.ok_or(Reported);
                }
                Err(Reported) => {}
            }
        }
        sql_steps::query(self.cx, sp, &s.query, &frames, declared).ok_or(Reported)
    }

    /// A `sql` step's declared `columns:`, each name and type checked.
    fn declared_columns(&mut self, declared: &IndexMap<String, String>, sp: &str) -> Vec<Col> {
        let mut out: Vec<Col> = Vec::new();
        for (n, t) in declared {
            let p = format!("{sp}{}", ptr(&["columns", n]));
            if let Err(reason) = rules::hive_type(t) {
                self.cx.at_value(
                    &p,
                    SemanticError::BadValue {
                        what: "type",
                        value: t.clone(),
                        reason,
                    },
                );
            }
            if let Err(reason) = rules::column_name(n) {
                self.cx.at_key(
                    &p,
                    SemanticError::BadName {
                        what: "column",
                        name: n.clone(),
                        reason,
                    },
                );
            }
            if find(&out, n).is_some() {
                self.cx.at_key(
                    &p,
                    SemanticError::ColumnClash {
                        column: n.clone(),
                        reason: "would exist twice in the declared columns".into(),
                        hint: None,
                    },
                );
            }
            out.push(Col {
                name: n.clone(),
                ty: Some(t.clone()),
            });
        }
        out
    }
}

/// An input's `input_file_column`: a valid new column name, on a table read
/// from files.
pub(super) fn input_file_column(
    cx: &mut Ctx,
    p: &Pipeline,
    table: &str,
    name: &str,
    cols: Option<&mut Vec<Col>>,
    at: &str,
) {
    if let Err(reason) = rules::column_name(name) {
        cx.at_value(
            at,
            SemanticError::BadName {
                what: "column",
                name: name.to_string(),
                reason,
            },
        );
    }
    if p.schemas.get(table).is_some_and(|t| t.connection.is_some()) {
        cx.at_value(
            at,
            SemanticError::Conflict {
                what: format!("table `{table}` is read over JDBC, not from files"),
                reason: "`input_file_column` names the file each row comes from; remove it",
            },
        );
        return;
    }
    let Some(cols) = cols else { return };
    if find(cols, name).is_some() {
        cx.at_value(
            at,
            SemanticError::ColumnClash {
                column: name.to_string(),
                reason: format!("is already a column of table `{table}`"),
                hint: Some("choose another name for the file column".into()),
            },
        );
        return;
    }
    cols.push(Col {
        name: name.to_string(),
        ty: Some("string".into()),
    });
}
