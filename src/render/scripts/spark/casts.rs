//! The `cast` step: conversions, and the count of values they lose.
//!
//! In: a cast step and its stage's default `cast_on_invalid`. Out: the
//! statements that build every cast column once (`casts`), count the values
//! that were not null and become null (`check_casts`, one aggregation over
//! the frame for the whole step) and then replace the columns.
//!
//! Cost: the count is one extra pass over the frame as it stands before the
//! cast; the frame is not persisted, so its upstream is read again when the
//! outputs are written. Persisting would keep the whole frame in executor
//! memory and disk until the write, which costs more than a second scan of
//! the inputs for the tables pipec reads. Casts with `on_invalid: null` are
//! not counted, and a step of only such casts makes no pass at all.

use super::*;

/// The Python expression that converts one column.
fn conversion(column: &str, spec: &CastSpec) -> Expr {
    let ty = spec.ty();
    let mut value = col(column);
    if let Some(fmt) = spec.format() {
        let f = if ty.trim().eq_ignore_ascii_case("date") {
            "F.to_date"
        } else {
            "F.to_timestamp"
        };
        return call(f, vec![value, s(fmt)]);
    }
    if let Some(clean) = spec.clean() {
        if clean.trim {
            value = call("F.trim", vec![value]);
        }
        if let Some(t) = &clean.thousands {
            value = call("F.regexp_replace", vec![value, s(regex_literal(t)), s("")]);
        }
        if let Some(d) = &clean.decimal {
            value = call("F.regexp_replace", vec![value, s(regex_literal(d)), s(".")]);
        }
    }
    method(value, "cast", vec![s(spark_type(ty))])
}

impl Builder<'_> {
    pub(super) fn cast(
        &mut self,
        frame: &str,
        var: &str,
        map: &IndexMap<String, CastSpec>,
    ) -> Block {
        let default = crate::validate::settings(self.v.pipeline(), self.stage).cast_on_invalid;
        if map.values().any(|c| c.format().is_some()) {
            self.uses.datetime_format = true;
        }
        let casts = Expr::Dict(
            map.iter()
                .map(|(c, spec)| (s(c.clone()), conversion(c, spec)))
                .collect(),
        );
        let casts_code = if map.len() > 1 {
            format!("casts = {}", casts.fmt(0, usize::MAX / 2, 0))
        } else {
            assign("casts", &casts)
        };
        let checked: Vec<(Expr, Expr)> = map
            .iter()
            .filter_map(|(c, spec)| {
                let policy = spec.on_invalid().unwrap_or(default);
                (policy != OnInvalid::Null).then(|| (s(c.clone()), s(policy.as_str())))
            })
            .collect();
        let mut lines = vec![casts_code];
        let mut comments = vec!["Cast columns."];
        if !checked.is_empty() {
            self.uses.casts = true;
            comments.push(
                "Values that were not null and do not convert are counted first, in one pass: `warn` reports them, `fail` stops the stage before anything is written.",
            );
            lines.push(
                call(
                    "check_casts",
                    vec![
                        code("PIPELINE"),
                        code("STAGE"),
                        code(var.to_string()),
                        s(frame),
                        code("casts"),
                        Expr::Dict(checked),
                    ],
                )
                .fmt(0, 0, 0),
            );
        } else {
            comments.push("Values that do not convert become null, silently (`on_invalid: null`).");
        }
        lines.push(assign(
            var,
            &call(format!("{var}.withColumns"), vec![code("casts")]),
        ));
        block(&comments, lines.join("\n"))
    }
}
