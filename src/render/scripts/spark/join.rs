//! Joins: key renames, prefixes for clashing right-side columns and the
//! join condition.
//!
//! In: a `join` step and the columns of both frames (from validation). Out:
//! its statements. The right side's names come from
//! `validate::frames::join_right_names`, the rule validation used, so the
//! script renames exactly the columns validation renamed. A condition on
//! keys that are not named alike names each side's column through an alias
//! of its frame, so Spark can never resolve both sides to one frame.

use super::*;
use crate::validate::frames::join_right_names;

/// The aliases of the two sides in a join condition.
const LEFT: &str = "pipec_left";
const RIGHT: &str = "pipec_right";

/// `F.col("alias.`name`")`: a column of one side of a join.
fn side_col(alias: &str, name: &str) -> Expr {
    call(
        "F.col",
        vec![s(format!("{alias}.`{}`", name.replace('`', "``")))],
    )
}

impl Builder<'_> {
    pub(super) fn join(&mut self, var: &str, cols: &[Column], j: &Join) -> Block {
        let right_var = self.var(&j.with);
        let right_cols = self.frames.frame(&j.with).end();
        let names = join_right_names(cols, right_cols, j);
        let how = match j.kind {
            JoinKind::Inner => "inner",
            JoinKind::Left => "left",
            JoinKind::Right => "right",
            JoinKind::Full => "full",
            JoinKind::Semi => "left_semi",
            JoinKind::Anti => "left_anti",
        };
        let semi = matches!(j.kind, JoinKind::Semi | JoinKind::Anti);
        let all_same = j.on.iter().all(|k| matches!(k, JoinKey::Same(_)));
        // A right-side column by the name `on` gives it (after `rename`).
        let right_of = |key: &str| {
            names
                .iter()
                .find(|n| n.renamed == key)
                .or_else(|| names.iter().find(|n| same_name(&n.renamed, key)))
                .expect("validation found every join key")
        };
        let mut lines = Vec::new();
        let mut comments = vec![format!("Join {} ({how} join).", py::comment_text(&j.with))];
        let mut right = right_var.clone();
        // (left column, right column) of the condition, when not a join USING names.
        let mut pairs: Vec<(String, String)> = Vec::new();
        // (key named alike, its temporary name on the right).
        let mut temps: Vec<(String, String)> = Vec::new();

        if semi {
            if !all_same {
                // Only the right side's keys matter: take them under names that cannot clash.
                let mut selected = Vec::new();
                for k in &j.on {
                    let (l, r) = match k {
                        JoinKey::Same(n) => (n.as_str(), n.as_str()),
                        JoinKey::Pair(p) => (p.left.as_str(), p.right.as_str()),
                    };
                    let tmp = self.temp_name("key", cols);
                    selected.push(method(
                        col(&right_of(r).from),
                        "alias",
                        vec![s(tmp.clone())],
                    ));
                    pairs.push((l.to_string(), tmp));
                }
                lines.push(assign(
                    "right",
                    &call(format!("{right_var}.select"), selected),
                ));
                right = "right".into();
                comments
                    .push("The right side's keys are renamed so that they cannot clash.".into());
            }
        } else {
            for k in &j.on {
                match k {
                    JoinKey::Same(n) if !all_same => {
                        let tmp = self.temp_name("key", cols);
                        temps.push((n.clone(), tmp.clone()));
                        pairs.push((n.clone(), tmp));
                    }
                    JoinKey::Same(_) => {}
                    JoinKey::Pair(p) => {
                        pairs.push((p.left.clone(), right_of(&p.right).name.clone()))
                    }
                }
            }
            // Renames, prefixes and temporary key names, in one rename.
            let renames: Vec<(Expr, Expr)> = names
                .iter()
                .filter_map(|n| {
                    let to = temps
                        .iter()
                        .find(|(k, _)| same_name(k, &n.renamed))
                        .map_or(&n.name, |(_, tmp)| tmp);
                    (*to != n.from).then(|| (s(n.from.clone()), s(to.clone())))
                })
                .collect();
            if !renames.is_empty() {
                lines.push(assign(
                    "right",
                    &call(
                        format!("{right_var}.withColumnsRenamed"),
                        vec![Expr::Dict(renames)],
                    ),
                ));
                right = "right".into();
            }
            if let Some(prefix) = &j.prefix {
                comments.push(format!(
                    "Right-side columns whose names clash get the prefix {}.",
                    py::comment_text(&py::literal(prefix))
                ));
            }
        }
        let qualified = !all_same && !semi;
        let mut right_expr = code(right.clone());
        if qualified {
            right_expr = method(right_expr, "alias", vec![s(RIGHT)]);
            comments.push("Each side of the condition is named through its frame's alias.".into());
        }
        if j.broadcast {
            comments.push("The right side is small: it is broadcast.".into());
            right_expr = call("F.broadcast", vec![right_expr]);
        }
        let on = if all_same {
            Expr::List(
                crate::validate::frames::same_keys(j)
                    .into_iter()
                    .map(|k| s(k.to_string()))
                    .collect(),
            )
        } else {
            Expr::List(
                pairs
                    .iter()
                    .map(|(l, r)| {
                        let (l, r) = if qualified {
                            (side_col(LEFT, l), side_col(RIGHT, r))
                        } else {
                            (col(l), col(r))
                        };
                        Expr::Binary(Box::new(l), "==", Box::new(r))
                    })
                    .collect(),
            )
        };
        let left_expr = if qualified {
            format!("{var}.alias({}).join", py::literal(LEFT))
        } else {
            format!("{var}.join")
        };
        lines.push(assign(
            var,
            &call(left_expr, vec![right_expr, kw("on", on), kw("how", s(how))]),
        ));
        // Keys named alike appear once, as in a join USING them.
        for (k, tmp) in &temps {
            match j.kind {
                JoinKind::Right => lines.push(assign(
                    var,
                    &call(format!("{var}.withColumn"), vec![s(k.clone()), col(tmp)]),
                )),
                JoinKind::Full => lines.push(assign(
                    var,
                    &call(
                        format!("{var}.withColumn"),
                        vec![s(k.clone()), call("F.coalesce", vec![col(k), col(tmp)])],
                    ),
                )),
                _ => {}
            }
            lines.push(assign(var, &call(format!("{var}.drop"), vec![col(tmp)])));
        }
        Block {
            comments: comments
                .iter()
                .flat_map(|c| py::comment_lines(c, 0))
                .collect(),
            code: lines.join("\n"),
        }
    }
}
