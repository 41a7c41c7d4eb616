//! Spark SQL in steps: `filter` conditions, `derive` expressions and `sql`
//! queries, checked against the frame's columns at that step.
//!
//! In: the SQL text, its JSON pointer, and the columns (or frames) in scope.
//! Out: diagnostics located inside the YAML string (through `Ctx::at_sql`),
//! the type of a derived column, and the columns a `sql` step returns:
//! derived from the query, or declared under `columns:` and compared with
//! what the query returns.

use super::{Ctx, SemanticError};
use crate::sql::{self, Column, Frame};
use crate::yaml::push_pointer;

/// Checks a `filter` condition.
pub(super) fn filter(cx: &mut Ctx, pointer: &str, text: &str, scope: &[Column]) {
    match sql::check_expr(text, scope) {
        Ok(info) => {
            if info.is_aggregate {
                cx.at_value(
                    pointer,
                    SemanticError::AggregateInRowStep {
                        place: "this filter".into(),
                    },
                );
            }
            if let Some(ty) = info.ty
                && ty != "boolean"
            {
                cx.at_value(pointer, SemanticError::FilterNotBoolean { ty });
            }
        }
        Err(errors) => {
            for e in &errors {
                cx.at_sql(pointer, text, "this filter", e);
            }
        }
    }
}

/// Checks a derived column's expression; returns its type where known.
pub(super) fn derive(
    cx: &mut Ctx,
    pointer: &str,
    column: &str,
    text: &str,
    scope: &[Column],
) -> Option<String> {
    let place = format!("derived column `{column}`");
    match sql::check_expr(text, scope) {
        Ok(info) => {
            if info.is_aggregate {
                cx.at_value(
                    pointer,
                    SemanticError::AggregateInRowStep {
                        place: format!("the expression of `{column}`"),
                    },
                );
            }
            info.ty
        }
        Err(errors) => {
            for e in &errors {
                cx.at_sql(pointer, text, &place, e);
            }
            None
        }
    }
}

/// The columns after a `sql` step. `step` points at the step's mapping.
/// `declared` are the step's `columns:`, if any (already type-checked).
/// Without them, an error that stops derivation leaves the columns unknown.
pub(super) fn query(
    cx: &mut Ctx,
    step: &str,
    text: &str,
    frames: &[Frame],
    declared: Option<Vec<Column>>,
) -> Option<Vec<Column>> {
    let qp = push_pointer(step, "query");
    let derived = match sql::query_columns(text, frames) {
        Ok(cols) => Some(cols),
        Err(errors) => {
            for e in &errors {
                if declared.is_some() && e.needs_columns {
                    continue;
                }
                cx.at_sql(&qp, text, "this query", e);
            }
            None
        }
    };
    match (declared, derived) {
        (Some(declared), Some(derived)) => {
            let differences = differences(&declared, &derived);
            if !differences.is_empty() {
                cx.at_value(
                    &push_pointer(step, "columns"),
                    SemanticError::SqlColumnsDiffer { differences },
                );
            }
            Some(declared)
        }
        (Some(declared), None) => Some(declared),
        (None, derived) => derived,
    }
}

/// What differs between declared and derived columns, in words.
fn differences(declared: &[Column], derived: &[Column]) -> Vec<String> {
    let mut out = Vec::new();
    let find = super::frames::find_column;
    let missing: Vec<String> = derived
        .iter()
        .filter(|c| find(declared, &c.name).is_none())
        .map(|c| format!("`{}`", c.name))
        .collect();
    if !missing.is_empty() {
        out.push(format!("the query also returns {}", missing.join(", ")));
    }
    let extra: Vec<String> = declared
        .iter()
        .filter(|c| find(derived, &c.name).is_none())
        .map(|c| format!("`{}`", c.name))
        .collect();
    if !extra.is_empty() {
        out.push(format!("the query does not return {}", extra.join(", ")));
    }
    for d in declared {
        if let Some(k) = find(derived, &d.name)
            && let (Some(a), Some(b)) = (&d.ty, &derived[k].ty)
            && a != b
        {
            out.push(format!("`{}` is `{b}`, not `{a}`", d.name));
        }
    }
    out
}
