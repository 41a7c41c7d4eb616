//! Aggregate and window calls: `sum(amount)`, `row_number()`, ...
//!
//! In: a call as written in `aggregate` or `window`, and the frame's columns.
//! Out: diagnostics for unknown functions, arity and argument types, and the
//! result's Hive type as Spark 3.5 computes it.

use super::*;

impl Stepper<'_, '_> {
    /// Checks an aggregate or window call and returns its result type.
    pub(super) fn call_type(
        &mut self,
        cols: &[Col],
        frame: &str,
        call: &str,
        p: &str,
        window: bool,
        ordered: bool,
    ) -> Option<String> {
        let Some(c) = Call::parse(call) else {
            self.cx.at_value(
                p,
                SemanticError::BadValue {
                    what: "call",
                    value: call.to_string(),
                    reason: "write `function(column)`, for example `sum(amount)` or `count(*)`"
                        .into(),
                },
            );
            return None;
        };
        const AGG: [&str; 14] = [
            "count",
            "count_distinct",
            "approx_count_distinct",
            "sum",
            "avg",
            "mean",
            "min",
            "max",
            "first",
            "last",
            "stddev",
            "variance",
            "collect_list",
            "collect_set",
        ];
        const RANK: [&str; 7] = [
            "row_number",
            "rank",
            "dense_rank",
            "percent_rank",
            "cume_dist",
            "ntile",
            "lag",
        ];
        let f = c.function.as_str();
        let known: Vec<&str> = if window {
            AGG.iter()
                .chain(RANK.iter())
                .chain(["lead"].iter())
                .copied()
                .collect()
        } else {
            AGG.to_vec()
        };
        if !known.contains(&f) {
            let hint = crate::suggest::nearest(f, known.iter().copied())
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            self.cx.at_value(
                p,
                SemanticError::BadValue {
                    what: "function",
                    value: f.to_string(),
                    reason: format!("pipec knows {}{hint}", known.join(", ")),
                },
            );
            return None;
        }
        if matches!(f, "first" | "last") && !(window && ordered) {
            self.cx.at_value(
                p,
                SemanticError::Nondeterministic {
                    what: format!("`{f}(...)` without an ordered window"),
                    hint: "use min/max, or a window with `order_by`",
                },
            );
        }
        let needs_order = matches!(
            f,
            "row_number"
                | "rank"
                | "dense_rank"
                | "percent_rank"
                | "cume_dist"
                | "ntile"
                | "lag"
                | "lead"
        );
        if needs_order && !ordered {
            self.cx.at_value(
                p,
                SemanticError::Missing {
                    what: format!("`{f}` needs the window's `order_by`"),
                    hint: Some("add `order_by` to the window"),
                },
            );
        }
        let arity_ok = match f {
            "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" => {
                c.args.is_empty()
            }
            "ntile" => c.args.len() == 1 && c.args[0].parse::<u32>().is_ok_and(|n| n > 0),
            "lag" | "lead" => {
                (1..=3).contains(&c.args.len())
                    && c.args.get(1).is_none_or(|a| a.parse::<i32>().is_ok())
            }
            _ => c.args.len() == 1,
        };
        if !arity_ok {
            let form = match f {
                "ntile" => "ntile(n) with a whole number n".to_string(),
                "lag" | "lead" => format!("{f}(column[, offset[, default]])"),
                "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" => {
                    format!("{f}()")
                }
                _ => format!("{f}(column)"),
            };
            self.cx.at_value(
                p,
                SemanticError::BadValue {
                    what: "call",
                    value: call.to_string(),
                    reason: format!("write {form}"),
                },
            );
            return None;
        }
        let col_ty = match (f, c.args.first()) {
            ("ntile", _) | (_, None) => None,
            ("count", Some(a)) if a == "*" => None,
            (_, Some(a)) => {
                if !self.need(cols, frame, a, p) {
                    return None;
                }
                find(cols, a).and_then(|k| cols[k].ty.clone())
            }
        };
        if matches!(f, "sum" | "avg" | "mean" | "stddev" | "variance")
            && let Some(t) = &col_ty
            && !rules::is_numeric(t)
        {
            self.cx.at_value(
                p,
                SemanticError::BadValue {
                    what: "call",
                    value: call.to_string(),
                    reason: format!("`{f}` needs a numeric column, and `{}` is `{t}`", c.args[0]),
                },
            );
        }
        match f {
            "count" | "count_distinct" | "approx_count_distinct" => Some("bigint".into()),
            "stddev" | "variance" | "percent_rank" | "cume_dist" => Some("double".into()),
            "row_number" | "rank" | "dense_rank" | "ntile" => Some("int".into()),
            "sum" => col_ty.map(|t| match decimal_of(&t) {
                // Spark widens a decimal sum by 10 digits.
                Some((p, s)) => format!("decimal({},{s})", (p + 10).min(38)),
                None if matches!(t.as_str(), "float" | "double") => "double".into(),
                None => "bigint".into(),
            }),
            "avg" | "mean" => Some(match col_ty.as_deref().and_then(decimal_of) {
                // Spark's average of a decimal keeps 4 more digits, and 4 more after the point.
                Some((p, s)) => format!("decimal({},{})", (p + 4).min(38), (s + 4).min(38)),
                None => "double".into(),
            }),
            "collect_list" | "collect_set" => col_ty.map(|t| format!("array<{t}>")),
            _ => col_ty,
        }
    }
}

/// The precision and scale of a decimal type (`decimal` alone is Spark's
/// `decimal(10,0)`).
fn decimal_of(ty: &str) -> Option<(u32, u32)> {
    let t = ty.trim().to_ascii_lowercase();
    let rest = t.strip_prefix("decimal")?.trim();
    if rest.is_empty() {
        return Some((10, 0));
    }
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    let (p, s) = inner.split_once(',').unwrap_or((inner, "0"));
    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
}
