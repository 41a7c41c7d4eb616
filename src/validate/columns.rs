//! Column tracking: the columns of every frame of a stage at every step.
//!
//! In: a Spark stage with generated code. Out: diagnostics for columns that a
//! step uses but that do not exist at that point (after renames, derives,
//! joins and aggregates), for names that would clash, and for writes that
//! lack columns of the target table.
//!
//! Column names compare without case, as Spark and Glue do. `filter`,
//! `derive` and `sql` text is checked by `sql_steps` against the columns at
//! that step; a `sql` step's columns are derived from its query (or taken
//! from `columns:`). Only when neither is possible are the frame's columns
//! unknown, and checks on that frame stop there rather than guess.

use super::{Ctx, SemanticError, ptr, rules, sql_steps};
use crate::model::*;
use crate::names;
use crate::yaml::push_pointer;
use indexmap::IndexMap;

/// A column: its name and Hive type, when known (the SQL checker's type).
use crate::sql::Column as Col;

/// A frame's columns, or `None` when they cannot be known statically.
type Cols = Option<Vec<Col>>;

fn find(cols: &[Col], name: &str) -> Option<usize> {
    cols.iter()
        .position(|c| c.name == name)
        .or_else(|| cols.iter().position(|c| c.name.eq_ignore_ascii_case(name)))
}

fn names_of(cols: &[Col]) -> Vec<String> {
    cols.iter().map(|c| c.name.clone()).collect()
}

struct Stepper<'c, 'a> {
    cx: &'c mut Ctx<'a>,
    frames: IndexMap<String, Cols>,
}

impl Stepper<'_, '_> {
    /// Reports a missing column; returns whether it exists.
    fn need(&mut self, cols: &[Col], frame: &str, column: &str, pointer: &str) -> bool {
        if find(cols, column).is_some() {
            return true;
        }
        self.cx.at_value(
            pointer,
            SemanticError::UnknownColumn {
                column: column.to_string(),
                frame: frame.to_string(),
                candidates: names_of(cols),
            },
        );
        false
    }

    fn frame(&mut self, name: &str, pointer: &str) -> Option<Cols> {
        match self.frames.get(name) {
            Some(c) => Some(c.clone()),
            None => {
                let candidates: Vec<String> = self.frames.keys().cloned().collect();
                self.cx.at_value(
                    pointer,
                    SemanticError::Unknown {
                        what: "frame",
                        name: name.to_string(),
                        candidates,
                    },
                );
                None
            }
        }
    }

    fn run(&mut self, frame: &str, mut cols: Cols, steps: &[Step], base: &str) -> Cols {
        for (j, step) in steps.iter().enumerate() {
            let sp = ptr(&[&j.to_string(), step.name()]);
            let sp = format!("{base}{sp}");
            cols = match cols {
                Some(c) => self.step(frame, c, step, &sp),
                None => {
                    // Unknown columns: still check references to frames.
                    self.frames_used(step, &sp);
                    None
                }
            };
        }
        cols
    }

    fn frames_used(&mut self, step: &Step, sp: &str) {
        match step {
            Step::Join(j) => {
                self.frame(&j.with, &push_pointer(sp, "with"));
            }
            Step::Union(u) => {
                for (i, w) in u.with.iter().enumerate() {
                    self.frame(w, &format!("{sp}{}", ptr(&["with", &i.to_string()])));
                }
            }
            _ => {}
        }
    }

    fn step(&mut self, frame: &str, mut cols: Vec<Col>, step: &Step, sp: &str) -> Cols {
        let at = |parts: &[&str]| format!("{sp}{}", ptr(parts));
        match step {
            Step::Select(list) => {
                let mut out = Vec::new();
                for (i, c) in list.iter().enumerate() {
                    let p = at(&[&i.to_string()]);
                    if let Some(k) = find(&cols, c) {
                        if find(&out, c).is_some() {
                            self.cx.at_value(
                                &p,
                                SemanticError::Duplicate {
                                    what: "selected column",
                                    name: c.clone(),
                                },
                            );
                        } else {
                            out.push(cols[k].clone());
                        }
                    } else {
                        self.need(&cols, frame, c, &p);
                    }
                }
                Some(out)
            }
            Step::Drop(list) => {
                for (i, c) in list.iter().enumerate() {
                    if self.need(&cols, frame, c, &at(&[&i.to_string()]))
                        && let Some(k) = find(&cols, c)
                    {
                        cols.remove(k);
                    }
                }
                if cols.is_empty() {
                    self.cx.at_value(
                        sp,
                        SemanticError::Conflict {
                            what: "this step drops every column".into(),
                            reason: "a frame needs at least one column",
                        },
                    );
                }
                Some(cols)
            }
            Step::Rename(Rename::Map(map)) => {
                for (old, new) in map {
                    let p = at(&[old]);
                    if !self.need(&cols, frame, old, &p) {
                        continue;
                    }
                    if let Err(reason) = rules::column_name(new) {
                        self.cx.at_value(
                            &p,
                            SemanticError::BadName {
                                what: "column",
                                name: new.clone(),
                                reason,
                            },
                        );
                    }
                    if let Some(k) = find(&cols, old) {
                        cols[k].name = new.clone();
                    }
                }
                self.clashes(&cols, sp, "after this rename");
                Some(cols)
            }
            Step::Rename(Rename::Rule(rule)) => {
                let before = cols.clone();
                for c in &mut cols {
                    c.name = match rule {
                        RenameRule::SnakeCase => names::snake_case(&c.name),
                        RenameRule::LowerCase => c.name.to_lowercase(),
                    };
                }
                for i in 0..cols.len() {
                    for k in 0..i {
                        if cols[i].name.eq_ignore_ascii_case(&cols[k].name) {
                            self.cx.at_value(
                                sp,
                                SemanticError::ColumnClash {
                                    column: before[i].name.clone(),
                                    reason: format!(
                                        "and `{}` would both be renamed to `{}`",
                                        before[k].name, cols[i].name
                                    ),
                                    hint: Some(
                                        "rename one of them explicitly before this step".into(),
                                    ),
                                },
                            );
                        }
                    }
                }
                Some(cols)
            }
            Step::Cast(map) => {
                for (c, ty) in map {
                    let p = at(&[c]);
                    if !self.need(&cols, frame, c, &p) {
                        continue;
                    }
                    match rules::hive_type(ty) {
                        Err(reason) => self.cx.at_value(
                            &p,
                            SemanticError::BadValue {
                                what: "type",
                                value: ty.clone(),
                                reason,
                            },
                        ),
                        Ok(()) => {
                            if let Some(k) = find(&cols, c) {
                                cols[k].ty = Some(ty.clone());
                            }
                        }
                    }
                }
                Some(cols)
            }
            Step::Filter(expr) => {
                if expr.trim().is_empty() {
                    self.cx.at_value(
                        sp,
                        SemanticError::Missing {
                            what: "`filter` needs a condition".into(),
                            hint: Some("for example `filter: \"amount > 0\"`"),
                        },
                    );
                } else {
                    sql_steps::filter(self.cx, sp, expr, &cols);
                }
                Some(cols)
            }
            Step::Derive(map) => {
                for (c, d) in map {
                    let p = at(&[c]);
                    let mut derived = None;
                    if d.expr().trim().is_empty() {
                        self.cx.at_value(
                            &p,
                            SemanticError::Missing {
                                what: format!("derived column `{c}` needs an expression"),
                                hint: None,
                            },
                        );
                    } else {
                        let ep = match d {
                            Derived::Expr(_) => p.clone(),
                            Derived::Typed(_) => push_pointer(&p, "expr"),
                        };
                        derived = sql_steps::derive(self.cx, &ep, c, d.expr(), &cols);
                    }
                    if let Err(reason) = rules::column_name(c) {
                        self.cx.at_key(
                            &p,
                            SemanticError::BadName {
                                what: "column",
                                name: c.clone(),
                                reason,
                            },
                        );
                    }
                    let mut ty = d.ty().map(str::to_string);
                    if let Some(t) = &ty
                        && let Err(reason) = rules::hive_type(t)
                    {
                        self.cx.at_value(
                            &push_pointer(&p, "type"),
                            SemanticError::BadValue {
                                what: "type",
                                value: t.clone(),
                                reason,
                            },
                        );
                        ty = None;
                    }
                    // A declared type is a cast of the expression's result.
                    let ty = if d.ty().is_some() { ty } else { derived };
                    match find(&cols, c) {
                        Some(k) => cols[k].ty = ty,
                        None => cols.push(Col {
                            name: c.clone(),
                            ty,
                        }),
                    }
                }
                Some(cols)
            }
            Step::FillNull(map) => {
                for (c, v) in map {
                    let p = at(&[c]);
                    if !self.need(&cols, frame, c, &p) {
                        continue;
                    }
                    let ty = find(&cols, c).and_then(|k| cols[k].ty.clone());
                    let problem = match (v, ty.as_deref()) {
                        (
                            serde_json::Value::Null
                            | serde_json::Value::Array(_)
                            | serde_json::Value::Object(_),
                            _,
                        ) => Some("the value must be a string, number or boolean".to_string()),
                        (_, None) => None,
                        (serde_json::Value::Number(_), Some(t)) if rules::is_numeric(t) => None,
                        (serde_json::Value::String(_), Some(t))
                            if t == "string"
                                || t.starts_with("varchar")
                                || t.starts_with("char") =>
                        {
                            None
                        }
                        (serde_json::Value::Bool(_), Some("boolean")) => None,
                        (_, Some(t))
                            if !(rules::is_numeric(t)
                                || t == "string"
                                || t.starts_with("varchar")
                                || t.starts_with("char")
                                || t == "boolean") =>
                        {
                            Some(format!(
                                "Spark fills nulls only in numeric, string and boolean columns, and `{c}` is `{t}`; use `derive` with coalesce()"
                            ))
                        }
                        (_, Some(t)) => Some(format!(
                            "`{c}` is `{t}`, and Spark silently skips a fill value of another type"
                        )),
                    };
                    if let Some(reason) = problem {
                        self.cx.at_value(
                            &p,
                            SemanticError::BadValue {
                                what: "fill value",
                                value: v.to_string(),
                                reason,
                            },
                        );
                    }
                }
                Some(cols)
            }
            Step::Dedupe(d) => {
                for (i, k) in d.keys.iter().enumerate() {
                    self.need(&cols, frame, k, &at(&["keys", &i.to_string()]));
                }
                for (i, o) in d.order_by.iter().enumerate() {
                    let key = OrderKey::parse(o);
                    self.need(
                        &cols,
                        frame,
                        &key.column,
                        &at(&["order_by", &i.to_string()]),
                    );
                }
                if !d.keys.is_empty() && d.order_by.is_empty() {
                    self.cx.at_value(sp, SemanticError::Missing {
                        what: "deduplicating by `keys` keeps an arbitrary row of each group".into(),
                        hint: Some("add `order_by` to say which row is kept, for example `order_by: [updated_at desc]`"),
                    });
                }
                if d.keys.is_empty() && !d.order_by.is_empty() {
                    self.cx.at_value(&at(&["order_by"]), SemanticError::Conflict { what: "`order_by` picks a row among rows with equal `keys`".into(), reason: "whole-row deduplication has no choice to make; add `keys` or remove `order_by`" });
                }
                Some(cols)
            }
            Step::Join(j) => self.join(frame, cols, j, sp),
            Step::Aggregate(a) => {
                let mut out = Vec::new();
                for (i, g) in a.group_by.iter().enumerate() {
                    let p = at(&["group_by", &i.to_string()]);
                    if self.need(&cols, frame, g, &p)
                        && let Some(k) = find(&cols, g)
                    {
                        out.push(cols[k].clone());
                    }
                }
                if a.aggregates.is_empty() {
                    self.cx.at_value(
                        &at(&["aggregates"]),
                        SemanticError::Missing {
                            what: "`aggregates` needs at least one aggregate".into(),
                            hint: Some("for example `aggregates: {flights: count(*)}`"),
                        },
                    );
                }
                for (name, call) in &a.aggregates {
                    let p = at(&["aggregates", name]);
                    let ty = self.call_type(&cols, frame, call, &p, false, false);
                    if find(&out, name).is_some() {
                        self.cx.at_key(
                            &p,
                            SemanticError::ColumnClash {
                                column: name.clone(),
                                reason: "is already a grouping column or aggregate".into(),
                                hint: None,
                            },
                        );
                    }
                    out.push(Col {
                        name: name.clone(),
                        ty,
                    });
                }
                Some(out)
            }
            Step::Union(u) => {
                if u.with.is_empty() {
                    self.cx.at_value(
                        &at(&["with"]),
                        SemanticError::Missing {
                            what: "`union` needs at least one frame in `with`".into(),
                            hint: None,
                        },
                    );
                }
                for (i, w) in u.with.iter().enumerate() {
                    let p = at(&["with", &i.to_string()]);
                    let Some(other) = self.frame(w, &p) else {
                        continue;
                    };
                    let Some(other) = other else { continue };
                    let missing: Vec<String> = cols
                        .iter()
                        .filter(|c| find(&other, &c.name).is_none())
                        .map(|c| c.name.clone())
                        .collect();
                    let extra: Vec<Col> = other
                        .iter()
                        .filter(|c| find(&cols, &c.name).is_none())
                        .cloned()
                        .collect();
                    if !u.allow_missing && (!missing.is_empty() || !extra.is_empty()) {
                        let mut parts = Vec::new();
                        if !missing.is_empty() {
                            parts.push(format!("`{w}` lacks {}", missing.join(", ")));
                        }
                        if !extra.is_empty() {
                            parts.push(format!(
                                "`{w}` has {} that `{frame}` lacks",
                                names_of(&extra).join(", ")
                            ));
                        }
                        self.cx.at_value(
                            &p,
                            SemanticError::ColumnClash {
                                column: parts.join("; "),
                                reason: "makes the union by name fail".into(),
                                hint: Some(
                                    "set `allow_missing: true` to fill missing columns with nulls"
                                        .into(),
                                ),
                            },
                        );
                    }
                    if u.allow_missing {
                        cols.extend(extra);
                    }
                }
                Some(cols)
            }
            Step::Explode(e) => {
                if !self.need(&cols, frame, &e.column, &at(&["column"])) {
                    return Some(cols);
                }
                let k = find(&cols, &e.column).unwrap_or(0);
                let ty = cols[k].ty.clone();
                let is_array = ty.as_deref().map(|t| t.starts_with("array"));
                let elem = match (&e.separator, is_array) {
                    (Some(sep), Some(true)) => {
                        let _ = sep;
                        self.cx.at_value(
                            &at(&["separator"]),
                            SemanticError::Conflict {
                                what: format!("column `{}` is already an array", e.column),
                                reason: "remove `separator`",
                            },
                        );
                        None
                    }
                    (Some(sep), _) => {
                        if sep.is_empty() {
                            self.cx.at_value(
                                &at(&["separator"]),
                                SemanticError::BadValue {
                                    what: "separator",
                                    value: String::new(),
                                    reason: "it must not be empty".into(),
                                },
                            );
                        }
                        Some("string".to_string())
                    }
                    (None, Some(false)) => {
                        self.cx.at_value(&at(&["column"]), SemanticError::Missing { what: format!("column `{}` is `{}`, not an array", e.column, ty.clone().unwrap_or_default()), hint: Some("give the `separator` that splits it, for example `separator: \";\"`") });
                        None
                    }
                    (None, _) => ty
                        .as_deref()
                        .and_then(|t| t.strip_prefix("array<"))
                        .and_then(|t| t.strip_suffix('>'))
                        .map(str::to_string),
                };
                let new_name = e.alias.clone().unwrap_or_else(|| cols[k].name.clone());
                if let Some(other) = find(&cols, &new_name)
                    && other != k
                {
                    self.cx.at_value(
                        &at(&["as"]),
                        SemanticError::ColumnClash {
                            column: new_name.clone(),
                            reason: "already exists in this frame".into(),
                            hint: None,
                        },
                    );
                }
                cols[k] = Col {
                    name: new_name,
                    ty: elem,
                };
                Some(cols)
            }
            Step::Window(w) => {
                for (i, c) in w.partition_by.iter().enumerate() {
                    self.need(&cols, frame, c, &at(&["partition_by", &i.to_string()]));
                }
                for (i, o) in w.order_by.iter().enumerate() {
                    self.need(
                        &cols,
                        frame,
                        &OrderKey::parse(o).column,
                        &at(&["order_by", &i.to_string()]),
                    );
                }
                if w.columns.is_empty() {
                    self.cx.at_value(
                        &at(&["columns"]),
                        SemanticError::Missing {
                            what: "`window` needs at least one column".into(),
                            hint: Some("for example `columns: {rn: row_number()}`"),
                        },
                    );
                }
                let mut added = Vec::new();
                for (name, call) in &w.columns {
                    let p = at(&["columns", name]);
                    let ty = self.call_type(&cols, frame, call, &p, true, !w.order_by.is_empty());
                    if find(&cols, name).is_some() || find(&added, name).is_some() {
                        self.cx.at_key(
                            &p,
                            SemanticError::ColumnClash {
                                column: name.clone(),
                                reason: "already exists in this frame".into(),
                                hint: Some("choose another name, or drop the column first".into()),
                            },
                        );
                    }
                    added.push(Col {
                        name: name.clone(),
                        ty,
                    });
                }
                cols.extend(added);
                Some(cols)
            }
            Step::Repartition(r) => {
                for (i, c) in r.columns.iter().enumerate() {
                    self.need(&cols, frame, c, &at(&["columns", &i.to_string()]));
                }
                if r.columns.is_empty() && r.count.is_none() {
                    self.cx.at_value(
                        sp,
                        SemanticError::Missing {
                            what: "`repartition` needs `columns`, `count` or both".into(),
                            hint: None,
                        },
                    );
                }
                if r.count == Some(0) {
                    self.cx.at_value(
                        &at(&["count"]),
                        SemanticError::BadValue {
                            what: "count",
                            value: "0".into(),
                            reason: "at least 1 partition".into(),
                        },
                    );
                }
                Some(cols)
            }
            Step::Sql(s) => {
                if s.query.trim().is_empty() {
                    self.cx.at_value(
                        &at(&["query"]),
                        SemanticError::Missing {
                            what: "`sql` needs a query".into(),
                            hint: None,
                        },
                    );
                }
                let declared = s.columns.as_ref().map(|declared| {
                    declared
                        .iter()
                        .map(|(n, t)| {
                            if let Err(reason) = rules::hive_type(t) {
                                self.cx.at_value(
                                    &at(&["columns", n]),
                                    SemanticError::BadValue {
                                        what: "type",
                                        value: t.clone(),
                                        reason,
                                    },
                                );
                            }
                            Col {
                                name: n.clone(),
                                ty: Some(t.clone()),
                            }
                        })
                        .collect()
                });
                if s.query.trim().is_empty() {
                    return declared;
                }
                // `this` is the frame so far; earlier frames by their names.
                let lower = s.query.to_lowercase();
                let mut frames = vec![crate::sql::Frame {
                    name: "this",
                    columns: &cols,
                }];
                for (name, known) in &self.frames {
                    if name == frame || name == "this" {
                        continue;
                    }
                    match known {
                        Some(c) => frames.push(crate::sql::Frame { name, columns: c }),
                        // A frame of unknown columns: nothing to derive from.
                        None if lower.contains(&name.to_lowercase()) => return declared,
                        None => {}
                    }
                }
                sql_steps::query(self.cx, sp, &s.query, &frames, declared)
            }
        }
    }

    fn clashes(&mut self, cols: &[Col], sp: &str, when: &str) {
        for i in 0..cols.len() {
            for k in 0..i {
                if cols[i].name.eq_ignore_ascii_case(&cols[k].name) {
                    self.cx.at_value(
                        sp,
                        SemanticError::ColumnClash {
                            column: cols[i].name.clone(),
                            reason: format!("would exist twice {when}"),
                            hint: None,
                        },
                    );
                }
            }
        }
    }

    fn join(&mut self, frame: &str, left: Vec<Col>, j: &Join, sp: &str) -> Cols {
        let at = |parts: &[&str]| format!("{sp}{}", ptr(parts));
        let right = self.frame(&j.with, &at(&["with"]))?;
        let mut right = right?;
        for (old, new) in &j.rename {
            let p = at(&["rename", old]);
            if self.need(&right, &j.with, old, &p)
                && let Some(k) = find(&right, old)
            {
                right[k].name = new.clone();
            }
        }
        if j.on.is_empty() {
            self.cx.at_value(
                &at(&["on"]),
                SemanticError::Missing {
                    what: "a join needs at least one key in `on`".into(),
                    hint: None,
                },
            );
        }
        let mut same_keys = Vec::new();
        for (i, key) in j.on.iter().enumerate() {
            let p = at(&["on", &i.to_string()]);
            match key {
                JoinKey::Same(k) => {
                    let l = self.need(&left, frame, k, &p);
                    let r = self.need(&right, &j.with, k, &p);
                    if l && r {
                        same_keys.push(k.clone());
                    }
                }
                JoinKey::Pair(pair) => {
                    self.need(&left, frame, &pair.left, &push_pointer(&p, "left"));
                    self.need(&right, &j.with, &pair.right, &push_pointer(&p, "right"));
                }
            }
        }
        if matches!(j.kind, JoinKind::Semi | JoinKind::Anti) {
            return Some(left);
        }
        let mut out = left;
        let mut clashing = Vec::new();
        for c in right {
            if same_keys.iter().any(|k| k.eq_ignore_ascii_case(&c.name)) {
                continue;
            }
            if find(&out, &c.name).is_some() {
                match &j.prefix {
                    Some(prefix) => {
                        let renamed = format!("{prefix}{}", c.name);
                        if find(&out, &renamed).is_some() {
                            self.cx.at_value(
                                &at(&["prefix"]),
                                SemanticError::ColumnClash {
                                    column: renamed.clone(),
                                    reason: "still clashes after adding the prefix".into(),
                                    hint: Some("choose another prefix, or `rename` it".into()),
                                },
                            );
                        }
                        out.push(Col {
                            name: renamed,
                            ty: c.ty,
                        });
                    }
                    None => {
                        clashing.push(c.name.clone());
                        out.push(c);
                    }
                }
            } else {
                out.push(c);
            }
        }
        if !clashing.is_empty() {
            self.cx.at_value(sp, SemanticError::ColumnClash {
                column: clashing.join("`, `"),
                reason: format!("is on both sides of the join with `{}`", j.with),
                hint: Some(format!("set `prefix: {}_` to prefix the right side's clashing columns, or `rename` them", j.with)),
            });
        }
        Some(out)
    }

    /// Checks an aggregate or window call and returns its result type.
    fn call_type(
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
            "avg" | "mean" | "stddev" | "variance" | "percent_rank" | "cume_dist" => {
                Some("double".into())
            }
            "row_number" | "rank" | "dense_rank" | "ntile" => Some("int".into()),
            "sum" => col_ty.map(|t| {
                if t.starts_with("decimal") {
                    t
                } else if matches!(t.as_str(), "float" | "double") {
                    "double".into()
                } else {
                    "bigint".into()
                }
            }),
            "collect_list" | "collect_set" => col_ty.map(|t| format!("array<{t}>")),
            _ => col_ty,
        }
    }
}

/// Tracks the columns of every frame of a Spark stage and checks its outputs.
pub(super) fn check_stage(cx: &mut Ctx, stage: &str, s: &Stage) {
    let p = cx.p;
    let mut st = Stepper {
        cx,
        frames: IndexMap::new(),
    };
    for input in &s.inputs {
        let cols = p.schemas.get(input.table()).map(|t| {
            t.columns
                .iter()
                .map(|(n, c)| Col {
                    name: n.clone(),
                    ty: Some(c.ty().to_string()),
                })
                .collect()
        });
        st.frames.insert(input.frame().to_string(), cols);
    }
    for (fname, f) in &s.frames {
        let fp = ptr(&["stages", stage, "frames", fname]);
        if fname == "main" {
            st.cx.at_key(
                &fp,
                SemanticError::Conflict {
                    what: "`main` is the frame that `steps` builds".into(),
                    reason: "give this frame another name",
                },
            );
            continue;
        }
        if st.frames.contains_key(fname) {
            st.cx.at_key(
                &fp,
                SemanticError::Duplicate {
                    what: "frame",
                    name: fname.clone(),
                },
            );
            continue;
        }
        if let Err(reason) = super::rules::frame_name(fname) {
            st.cx.at_key(
                &fp,
                SemanticError::BadName {
                    what: "frame",
                    name: fname.clone(),
                    reason,
                },
            );
        }
        let start = st.frame(&f.from, &push_pointer(&fp, "from")).flatten();
        let known = st.frames.get(&f.from).is_some();
        let cols = if known {
            st.run(fname, start, &f.steps, &push_pointer(&fp, "steps"))
        } else {
            None
        };
        st.frames.insert(fname.clone(), cols);
    }
    let main_used = !s.steps.is_empty()
        || s.outputs
            .iter()
            .any(|o| o.from.as_deref().is_none_or(|f| f == "main"));
    if main_used && let Some(first) = s.inputs.first() {
        let start = st.frames.get(first.frame()).cloned().flatten();
        let cols = st.run("main", start, &s.steps, &ptr(&["stages", stage, "steps"]));
        st.frames.insert("main".to_string(), cols);
    }
    for (i, o) in s.outputs.iter().enumerate() {
        let op = ptr(&["stages", stage, "outputs", &i.to_string()]);
        let from = o.from.as_deref().unwrap_or("main");
        let Some(cols) = st.frames.get(from).cloned() else {
            if o.from.is_some() {
                let candidates: Vec<String> = st.frames.keys().cloned().collect();
                st.cx.at_value(
                    &push_pointer(&op, "from"),
                    SemanticError::Unknown {
                        what: "frame",
                        name: from.to_string(),
                        candidates,
                    },
                );
            }
            continue;
        };
        let (Some(cols), Some(table)) = (cols, p.schemas.get(&o.table)) else {
            continue;
        };
        let missing: Vec<String> = table
            .columns
            .keys()
            .filter(|c| find(&cols, c).is_none())
            .cloned()
            .collect();
        if !missing.is_empty() {
            st.cx.at_value(
                &op,
                SemanticError::MissingColumns {
                    table: o.table.clone(),
                    frame: from.to_string(),
                    columns: missing,
                },
            );
        }
        let extra: Vec<String> = cols
            .iter()
            .filter(|c| {
                !table
                    .columns
                    .keys()
                    .any(|t| t.eq_ignore_ascii_case(&c.name))
            })
            .map(|c| c.name.clone())
            .collect();
        if !extra.is_empty() {
            st.cx.at_value(
                &op,
                SemanticError::ExtraColumns {
                    table: o.table.clone(),
                    frame: from.to_string(),
                    columns: extra,
                },
            );
        }
    }
}
