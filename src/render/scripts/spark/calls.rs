//! Aggregate and window calls as PySpark: the function, `by` (`min_by` /
//! `max_by`), `filter` (`F.when` around the arguments) and window frames.
//!
//! In: a parsed `Call`, its filter or frame. Out: the PySpark expression.

use super::*;

/// A literal argument of `lag`/`lead`/`ntile` as Python: numbers, quoted
/// strings, booleans and null; anything else is passed as text.
pub(super) fn arg_literal(a: &str) -> Expr {
    let t = a.trim();
    if t.parse::<i64>().is_ok() || (t.parse::<f64>().is_ok() && t.chars().any(|c| c == '.')) {
        let n: String = t.chars().filter(|c| *c != '+').collect();
        if n.chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '.')
        {
            return code(n);
        }
    }
    match t.to_ascii_lowercase().as_str() {
        "true" => return code("True"),
        "false" => return code("False"),
        "null" => return code("None"),
        _ => {}
    }
    if t.len() >= 2
        && ((t.starts_with('\'') && t.ends_with('\'')) || (t.starts_with('"') && t.ends_with('"')))
    {
        return s(&t[1..t.len() - 1]);
    }
    s(t)
}

/// The PySpark expression of an aggregate or window call, with `filter`
/// (only the rows for which it holds: other rows give null, which every
/// aggregate skips) applied to its arguments. Only names from this fixed
/// table reach the script.
pub(super) fn function_call(c: &Call, filter: Option<&str>) -> Option<Expr> {
    let only = |e: Expr| match filter {
        Some(f) => call("F.when", vec![call("F.expr", vec![s(f)]), e]),
        None => e,
    };
    if let Some(by) = &c.by {
        // `first(x) by k` is x at the least k, `last(x) by k` at the greatest.
        let least = (c.function == "first") != by.descending;
        let f = if least { "F.min_by" } else { "F.max_by" };
        return Some(call(
            f,
            vec![only(col(c.args.first()?)), only(col(&by.column))],
        ));
    }
    let f: &'static str = match c.function.as_str() {
        "count" => "F.count",
        "count_if" => {
            let when = call(
                "F.when",
                vec![
                    call("F.expr", vec![s(c.args.first()?.clone())]),
                    call("F.lit", vec![code("1")]),
                ],
            );
            return Some(call("F.count", vec![only(when)]));
        }
        "count_distinct" => "F.count_distinct",
        "approx_count_distinct" => "F.approx_count_distinct",
        "sum" => "F.sum",
        "avg" | "mean" => "F.avg",
        "min" => "F.min",
        "max" => "F.max",
        "first" => "F.first",
        "last" => "F.last",
        "stddev" => "F.stddev",
        "variance" => "F.variance",
        "collect_list" => "F.collect_list",
        "collect_set" => "F.collect_set",
        "row_number" => "F.row_number",
        "rank" => "F.rank",
        "dense_rank" => "F.dense_rank",
        "percent_rank" => "F.percent_rank",
        "cume_dist" => "F.cume_dist",
        "ntile" => "F.ntile",
        "lag" => "F.lag",
        "lead" => "F.lead",
        _ => return None,
    };
    let args = match c.function.as_str() {
        "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" => vec![],
        "ntile" => vec![arg_literal(c.args.first()?)],
        "lag" | "lead" => {
            let mut a = vec![col(c.args.first()?)];
            a.extend(c.args.iter().skip(1).map(|x| arg_literal(x)));
            a
        }
        "count" if c.args.first().map(String::as_str) == Some("*") => {
            vec![only(call("F.lit", vec![code("1")]))]
        }
        _ => vec![only(col(c.args.first()?))],
    };
    Some(call(f, args))
}

/// A frame bound as PySpark: `Window.unboundedPreceding`, `Window.currentRow`, `-6`.
fn bound(b: FrameBound, start: bool) -> Expr {
    match b {
        FrameBound::Unbounded(_) if start => code("Window.unboundedPreceding"),
        FrameBound::Unbounded(_) => code("Window.unboundedFollowing"),
        FrameBound::Offset(0) => code("Window.currentRow"),
        FrameBound::Offset(n) => code(n.to_string()),
    }
}

/// `window.rowsBetween(start, end)` or `window.rangeBetween(start, end)`.
pub(super) fn framed(window: &str, f: &WindowFrame) -> Expr {
    let (m, [a, b]) = match (&f.rows, &f.range) {
        (Some(r), _) => ("rowsBetween", *r),
        (None, Some(r)) => ("rangeBetween", *r),
        // Validation requires one of them.
        (None, None) => return code(window.to_string()),
    };
    method(
        code(window.to_string()),
        m,
        vec![bound(a, true), bound(b, false)],
    )
}
