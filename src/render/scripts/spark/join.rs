//! Joins: key renames, prefixes for clashing right-side columns and the
//! join condition.
//!
//! In: a `join` step and the columns of both frames. Out: its statements.

use super::*;

impl Builder<'_> {
    pub(super) fn join(
        &mut self,
        frame: &str,
        var: &str,
        cols: Option<Vec<String>>,
        j: &Join,
    ) -> Block {
        let right_var = self.var(&j.with);
        let right_cols = self.cols.get(&j.with).cloned().flatten();
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
        let same_keys: Vec<String> =
            j.on.iter()
                .filter_map(|k| match k {
                    JoinKey::Same(n) => Some(n.clone()),
                    JoinKey::Pair(_) => None,
                })
                .collect();
        let mut lines = Vec::new();
        let mut comments = vec![format!("Join {} ({how} join).", py::comment_text(&j.with))];
        let mut right = right_var.clone();
        let mut renamed_right = right_cols.clone();
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut temps: Vec<(String, String)> = Vec::new(); // (same key, temp name on the right)

        if semi {
            if all_same {
                // Nothing to rename: the result keeps the left side's columns only.
            } else {
                // Only the right side's keys matter: take them under names that cannot clash.
                let mut selected = Vec::new();
                for k in &j.on {
                    let (l, r) = match k {
                        JoinKey::Same(n) => (n.clone(), n.clone()),
                        JoinKey::Pair(p) => (p.left.clone(), p.right.clone()),
                    };
                    let tmp = self.temp_name("key", cols.as_ref());
                    selected.push(method(col(&r), "alias", vec![s(tmp.clone())]));
                    pairs.push((l, tmp));
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
            // Renames on the right, then the prefix on clashing columns.
            let mut renames: Vec<(String, String)> = j
                .rename
                .iter()
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect();
            if let Some(rc) = renamed_right.as_mut() {
                for (old, new) in &j.rename {
                    if let Some(k) = find(rc, old) {
                        rc[k] = new.clone();
                    }
                }
            }
            let mut runtime_prefix = false;
            if let Some(prefix) = &j.prefix {
                match (&cols, &mut renamed_right) {
                    (Some(left), Some(rc)) => {
                        for c in rc.iter_mut() {
                            if same_keys.iter().any(|k| k.eq_ignore_ascii_case(c)) {
                                continue;
                            }
                            if find(left, c).is_some() {
                                let new = format!("{prefix}{c}");
                                // A column renamed above is renamed once more.
                                if let Some(r) = renames.iter_mut().find(|(_, n)| n == c) {
                                    r.1 = new.clone();
                                } else {
                                    renames.push((c.clone(), new.clone()));
                                }
                                *c = new;
                            }
                        }
                    }
                    _ => runtime_prefix = true,
                }
            }
            if !renames.is_empty() {
                lines.push(assign(
                    "right",
                    &call(
                        format!("{right_var}.withColumnsRenamed"),
                        vec![Expr::Dict(
                            renames
                                .iter()
                                .map(|(a, b)| (s(a.clone()), s(b.clone())))
                                .collect(),
                        )],
                    ),
                ));
                right = "right".into();
            }
            if runtime_prefix && let Some(prefix) = &j.prefix {
                self.uses.prefix = true;
                lines.push(assign(
                    "right",
                    &call(
                        "prefix_clashing",
                        vec![
                            code(right.clone()),
                            code(var.to_string()),
                            s(prefix.clone()),
                            kw(
                                "keys",
                                Expr::List(same_keys.iter().map(|k| s(k.clone())).collect()),
                            ),
                        ],
                    ),
                ));
                right = "right".into();
                renamed_right = None;
            }
            if let Some(prefix) = &j.prefix {
                comments.push(format!(
                    "Right-side columns whose names clash get the prefix {}.",
                    py::comment_text(&py::literal(prefix))
                ));
            }
            if !all_same {
                for k in &j.on {
                    match k {
                        JoinKey::Same(n) => {
                            let tmp = self.temp_name("key", cols.as_ref());
                            temps.push((n.clone(), tmp.clone()));
                            pairs.push((n.clone(), tmp));
                        }
                        JoinKey::Pair(p) => {
                            // The right key under its name after renames and prefix.
                            let mut r = p.right.clone();
                            if let Some((_, new)) =
                                j.rename.iter().find(|(o, _)| o.eq_ignore_ascii_case(&r))
                            {
                                r = new.clone();
                            }
                            if let (Some(prefix), Some(left)) = (&j.prefix, &cols)
                                && find(left, &r).is_some()
                            {
                                r = format!("{prefix}{r}");
                            }
                            pairs.push((p.left.clone(), r));
                        }
                    }
                }
                if !temps.is_empty() {
                    lines.push(assign(
                        "right",
                        &call(
                            format!("{right}.withColumnsRenamed"),
                            vec![Expr::Dict(
                                temps
                                    .iter()
                                    .map(|(a, b)| (s(a.clone()), s(b.clone())))
                                    .collect(),
                            )],
                        ),
                    ));
                    right = "right".into();
                }
            }
        }
        let right_expr = if j.broadcast {
            comments.push("The right side is small: it is broadcast.".into());
            call("F.broadcast", vec![code(right.clone())])
        } else {
            code(right.clone())
        };
        let on = if all_same {
            Expr::List(same_keys.iter().map(|k| s(k.clone())).collect())
        } else {
            let conds: Vec<Expr> = pairs
                .iter()
                .map(|(l, r)| Expr::Binary(Box::new(col(l)), "==", Box::new(col(r))))
                .collect();
            Expr::List(conds)
        };
        lines.push(assign(
            var,
            &call(
                format!("{var}.join"),
                vec![right_expr, kw("on", on), kw("how", s(how))],
            ),
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
        let out = if semi {
            cols
        } else {
            match (cols, renamed_right) {
                (Some(mut l), Some(r)) => {
                    for c in r {
                        if same_keys.iter().any(|k| k.eq_ignore_ascii_case(&c)) {
                            continue;
                        }
                        l.push(c);
                    }
                    Some(l)
                }
                _ => None,
            }
        };
        self.cols.insert(frame.to_string(), out);
        Block {
            comments: comments
                .iter()
                .flat_map(|c| py::comment_lines(c, 0))
                .collect(),
            code: lines.join("\n"),
        }
    }
}
