//! Joins: the columns of a `join` step's result.
//!
//! In: the left frame's columns and a `join` step. Out: diagnostics for keys
//! and clashing names, and the result's columns, named by the rule the
//! renderer shares (`frames::join_right_names`).

use super::*;

impl Stepper<'_, '_> {
    pub(super) fn join(&mut self, frame: &str, left: Vec<Col>, j: &Join, sp: &str) -> Cols {
        let at = |parts: &[&str]| format!("{sp}{}", ptr(parts));
        let right = self.frame(&j.with, &at(&["with"])).ok_or(Reported)??;
        for old in j.rename.keys() {
            self.need(&right, &j.with, old, &at(&["rename", old]));
        }
        let names = join_right_names(&left, &right, j);
        // The right side as `on` sees it: after `rename`, before `prefix`.
        let renamed: Vec<Col> = right
            .iter()
            .zip(&names)
            .map(|(c, n)| Col {
                name: n.renamed.clone(),
                ty: c.ty.clone(),
            })
            .collect();
        if j.on.is_empty() {
            self.cx.at_value(
                &at(&["on"]),
                SemanticError::Missing {
                    what: "a join needs at least one key in `on`".into(),
                    hint: None,
                },
            );
        }
        let mut keys_ok = true;
        for (i, key) in j.on.iter().enumerate() {
            let p = at(&["on", &i.to_string()]);
            match key {
                JoinKey::Same(k) => {
                    keys_ok &= self.need(&left, frame, k, &p);
                    keys_ok &= self.need(&renamed, &j.with, k, &p);
                }
                JoinKey::Pair(pair) => {
                    keys_ok &= self.need(&left, frame, &pair.left, &push_pointer(&p, "left"));
                    keys_ok &=
                        self.need(&renamed, &j.with, &pair.right, &push_pointer(&p, "right"));
                }
            }
        }
        if !keys_ok {
            return Err(Reported);
        }
        if matches!(j.kind, JoinKind::Semi | JoinKind::Anti) {
            return Ok(left);
        }
        let same = crate::validate::frames::same_keys(j);
        let all_same = same.len() == j.on.len();
        let mut out = left;
        if all_same {
            // A join USING names puts its keys first, in the order of `on`.
            let mut keys = Vec::new();
            for k in &same {
                if let Some(i) = find(&out, k) {
                    keys.push(out.remove(i));
                }
            }
            keys.append(&mut out);
            out = keys;
        }
        let mut clashing = Vec::new();
        for (c, n) in right.into_iter().zip(names) {
            if same.iter().any(|k| same_name(k, &n.renamed)) {
                continue;
            }
            if find(&out, &n.name).is_some() {
                if j.prefix.is_some() {
                    self.cx.at_value(
                        &at(&["prefix"]),
                        SemanticError::ColumnClash {
                            column: n.name.clone(),
                            reason: "still clashes after adding the prefix".into(),
                            hint: Some("choose another prefix, or `rename` it".into()),
                        },
                    );
                } else {
                    clashing.push(n.name.clone());
                }
            }
            out.push(Col {
                name: n.name,
                ty: c.ty,
            });
        }
        if !clashing.is_empty() {
            self.cx.at_value(sp, SemanticError::ColumnClash {
                column: clashing.join("`, `"),
                reason: format!("is on both sides of the join with `{}`", j.with),
                hint: Some(format!("set `prefix: {}_` to prefix the right side's clashing columns, or `rename` them", j.with)),
            });
        }
        Ok(out)
    }
}
