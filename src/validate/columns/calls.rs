//! Aggregate and window calls: the function, its arguments, `by`, `filter`
//! and window frames.
//!
//! In: one entry of `aggregates` or of a window's `columns`, and the columns
//! of the frame at that step. Out: diagnostics, and the type of the column
//! the call makes, when known.

use super::*;

/// Ranking and offset functions: Spark gives them their own frame.
const RANKING: [&str; 8] = [
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
];

/// Whether a window call is an aggregate function, which a frame applies to.
pub fn takes_frame(call: &str) -> bool {
    Call::parse(call).is_some_and(|c| !RANKING.contains(&c.function.as_str()))
}

impl Stepper<'_, '_> {
    /// One entry of `aggregates`: the call and its `filter`.
    pub(super) fn aggregate_call(
        &mut self,
        cols: &[Col],
        frame: &str,
        a: &AggregateCall,
        p: &str,
    ) -> Option<String> {
        let cp = match a {
            AggregateCall::Call(_) => p.to_string(),
            AggregateCall::Filtered(_) => push_pointer(p, "call"),
        };
        if let Some(f) = a.filter() {
            // A1: crate::sql::check_expr will resolve the condition's columns here.
            if f.trim().is_empty() {
                self.cx.at_value(
                    &push_pointer(p, "filter"),
                    SemanticError::Missing {
                        what: "`filter` needs a condition".into(),
                        hint: Some("for example `filter: \"dep_delay > 0\"`"),
                    },
                );
            }
        }
        self.call_type(cols, frame, a.call(), &cp, false, false)
    }

    /// One entry of a window's `columns`: the call and its own `frame`.
    pub(super) fn window_call(
        &mut self,
        cols: &[Col],
        frame: &str,
        w: &Window,
        call: &WindowCall,
        p: &str,
    ) -> Option<String> {
        let cp = match call {
            WindowCall::Call(_) => p.to_string(),
            WindowCall::Framed(_) => push_pointer(p, "call"),
        };
        let ty = self.call_type(cols, frame, call.call(), &cp, true, !w.order_by.is_empty());
        if let Some(f) = call.frame() {
            let fp = push_pointer(p, "frame");
            if ty.is_some() && !takes_frame(call.call()) {
                self.cx.at_value(
                    &fp,
                    SemanticError::Conflict {
                        what: "a ranking or offset function takes no frame".into(),
                        reason: "Spark fixes its rows; frames apply to aggregate functions such as `sum` or `avg`",
                    },
                );
            } else {
                self.window_frame(cols, frame, w, f, &fp);
            }
        }
        ty
    }

    /// A window frame: one of `rows` and `range`, bounds in order, and the
    /// `order_by` the frame is measured along.
    pub(super) fn window_frame(
        &mut self,
        cols: &[Col],
        frame: &str,
        w: &Window,
        f: &WindowFrame,
        p: &str,
    ) {
        let (kind, bounds) = match (&f.rows, &f.range) {
            (Some(b), None) => ("rows", b),
            (None, Some(b)) => ("range", b),
            _ => {
                self.cx.at_value(
                    p,
                    SemanticError::Conflict {
                        what: "a frame is `rows: [start, end]` or `range: [start, end]`".into(),
                        reason: "set exactly one of them",
                    },
                );
                return;
            }
        };
        let bp = push_pointer(p, kind);
        let [start, end] = *bounds;
        let whole = start == FrameBound::Unbounded(Unbounded::Unbounded)
            && end == FrameBound::Unbounded(Unbounded::Unbounded);
        if let (FrameBound::Offset(a), FrameBound::Offset(b)) = (start, end)
            && a > b
        {
            self.cx.at_value(
                &bp,
                SemanticError::BadValue {
                    what: "frame",
                    value: format!("[{a}, {b}]"),
                    reason: "the start comes after the end; write the earlier offset first, for example `[-6, 0]`".into(),
                },
            );
            return;
        }
        if whole {
            return;
        }
        if w.order_by.is_empty() {
            self.cx.at_value(
                &bp,
                SemanticError::Missing {
                    what: format!("a `{kind}` frame is measured along the window's order, and this window has no `order_by`"),
                    hint: Some("add `order_by`, or use `[unbounded, unbounded]` for the whole partition"),
                },
            );
            return;
        }
        let value_bound = |b: FrameBound| matches!(b, FrameBound::Offset(n) if n != 0);
        if kind == "range" && (value_bound(start) || value_bound(end)) {
            if w.order_by.len() != 1 {
                self.cx.at_value(
                    &bp,
                    SemanticError::Conflict {
                        what: "a `range` frame with offsets measures distance along one column"
                            .into(),
                        reason: "give the window exactly one `order_by` column, or use `rows`",
                    },
                );
                return;
            }
            let key = OrderKey::parse(&w.order_by[0]);
            if let Some(k) = find(cols, &key.column)
                && let Some(t) = &cols[k].ty
                && !rules::is_numeric(t)
            {
                self.cx.at_value(
                    &bp,
                    SemanticError::BadValue {
                        what: "frame",
                        value: kind.to_string(),
                        reason: format!(
                            "a `range` with offsets needs a numeric order, and `{}` is `{t}` in frame `{frame}`; derive a number first, for example `datediff(day, DATE'2000-01-01')`",
                            key.column
                        ),
                    },
                );
            }
        }
    }

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
        const AGG: [&str; 15] = [
            "count",
            "count_if",
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
        if let Some(by) = &c.by {
            let problem = if window {
                Some("a window orders `first` and `last` by its `order_by`; remove `by`")
            } else if !matches!(f, "first" | "last") {
                Some("only `first(col) by key` and `last(col) by key` take `by`")
            } else if by.nulls_first.is_some() {
                Some(
                    "rows whose key is null are skipped, so `nulls first` / `nulls last` has no effect; remove it",
                )
            } else {
                None
            };
            if let Some(reason) = problem {
                self.cx.at_value(
                    p,
                    SemanticError::BadValue {
                        what: "call",
                        value: call.to_string(),
                        reason: reason.into(),
                    },
                );
                return None;
            }
            if !self.need(cols, frame, &by.column, p) {
                return None;
            }
        } else if matches!(f, "first" | "last") && !(window && ordered) {
            self.cx.at_value(
                p,
                SemanticError::Nondeterministic {
                    what: format!("`{f}(...)` without an order"),
                    hint: if window {
                        "give the window an `order_by`, or use min/max"
                    } else {
                        "say which row is first or last: `last(col) by order_key`, or use min/max"
                    },
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
                "count_if" => "count_if(condition), for example `count_if(amount > 0)`".to_string(),
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
            ("count_if", Some(cond)) => {
                // A1: crate::sql::check_expr will resolve the condition's columns here.
                if cond.trim().is_empty() {
                    self.cx.at_value(
                        p,
                        SemanticError::Missing {
                            what: "`count_if` needs a condition".into(),
                            hint: Some("for example `count_if(dep_delay > 15)`"),
                        },
                    );
                }
                None
            }
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
            "count" | "count_if" | "count_distinct" | "approx_count_distinct" => {
                Some("bigint".into())
            }
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
