//! Column tracking: the columns of every frame of a stage at every step.
//!
//! In: a Spark stage with generated code. Out: diagnostics for columns that a
//! step uses but that do not exist at that point (after renames, derives,
//! joins and aggregates), for names that would clash, and for writes that
//! lack columns of the target table; and, when the stage has no error, its
//! `StageFrames` (the columns and types of every frame after every step),
//! which the renderer writes the script from.
//!
//! Column names compare without case, as Spark and Glue do. A frame's
//! columns are always known: `filter`, `derive` and `sql` text is checked by
//! `sql_steps` against the columns at that step, and a `sql` step's columns
//! are derived from its query (and compared with `columns:` when declared).
//! A step whose result pipec cannot know is an error, not a frame of
//! unknown columns.

use super::frames::{
    Column, FrameColumns, StageFrames, find_column as find, join_right_names, same_name,
};
use super::{Ctx, SemanticError, casts, ptr, rules, sql_steps};
use crate::model::*;
use crate::names;
use crate::yaml::push_pointer;
use indexmap::IndexMap;

mod calls;
mod join;
mod sql;

use sql::input_file_column;

pub use calls::takes_frame;

type Col = Column;

/// An error was reported that leaves a frame's columns undefined; checks
/// that depend on them stop rather than report follow-on errors.
#[derive(Debug, Clone, Copy)]
struct Reported;

/// A frame's columns, or the mark that an error already made them undefined.
type Cols = Result<Vec<Col>, Reported>;

fn names_of(cols: &[Col]) -> Vec<String> {
    cols.iter().map(|c| c.name.clone()).collect()
}

struct Stepper<'c, 'a> {
    cx: &'c mut Ctx<'a>,
    frames: IndexMap<String, Cols>,
    /// The columns of every frame that had no error, for the renderer.
    record: StageFrames,
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

    /// Runs a frame's steps from `start`; records the frame's columns after
    /// every step when none of them failed.
    fn run(&mut self, frame: &str, start: Cols, steps: &[Step], base: &str) -> Cols {
        let mut cols = start.clone();
        let mut after = Vec::with_capacity(steps.len());
        for (j, step) in steps.iter().enumerate() {
            let sp = ptr(&[&j.to_string(), step.name()]);
            let sp = format!("{base}{sp}");
            cols = match cols {
                Ok(c) => self.step(frame, c, step, &sp),
                Err(Reported) => {
                    // Columns undefined by an earlier error: still check references to frames.
                    self.frames_used(step, &sp);
                    Err(Reported)
                }
            };
            if let Ok(c) = &cols {
                after.push(c.clone());
            }
        }
        if let (Ok(start), Ok(_)) = (start, &cols) {
            self.record.frames.insert(
                frame.to_string(),
                FrameColumns {
                    start,
                    steps: after,
                },
            );
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
                Ok(out)
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
                Ok(cols)
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
                Ok(cols)
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
                        if same_name(&cols[i].name, &cols[k].name) {
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
                Ok(cols)
            }
            Step::Cast(map) => {
                for (c, spec) in map {
                    let p = at(&[c]);
                    if !self.need(&cols, frame, c, &p) {
                        continue;
                    }
                    let k = find(&cols, c);
                    let from = k.and_then(|k| cols[k].ty.clone());
                    if casts::check(self.cx, &p, c, spec, from.as_deref())
                        && let Some(k) = k
                    {
                        cols[k].ty = Some(spec.ty().to_string());
                    }
                }
                Ok(cols)
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
                Ok(cols)
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
                Ok(cols)
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
                Ok(cols)
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
                Ok(cols)
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
                    let ty = self.aggregate_call(&cols, frame, call, &p);
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
                Ok(out)
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
                    let Ok(other) = other else { continue };
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
                        self.cx.at_value(
                            &p,
                            SemanticError::UnionMismatch {
                                frame: frame.to_string(),
                                other: w.clone(),
                                lacks: missing,
                                extra: names_of(&extra),
                            },
                        );
                    }
                    for c in &cols {
                        if let Some(k) = find(&other, &c.name)
                            && let (Some(mine), Some(theirs)) = (&c.ty, &other[k].ty)
                            && !mine.eq_ignore_ascii_case(theirs)
                        {
                            self.cx.at_value(
                                &p,
                                SemanticError::ColumnClash {
                                    column: c.name.clone(),
                                    reason: format!(
                                        "is `{mine}` in `{frame}` and `{theirs}` in `{w}`, so the union's type would be Spark's choice, unknown to pipec"
                                    ),
                                    hint: Some("`cast` it to one type on both sides first".into()),
                                },
                            );
                        }
                    }
                    if u.allow_missing {
                        cols.extend(extra);
                    }
                }
                Ok(cols)
            }
            Step::Explode(e) => {
                if !self.need(&cols, frame, &e.column, &at(&["column"])) {
                    return Ok(cols);
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
                                    reason:
                                        "rows are split at it, so it needs at least one character"
                                            .into(),
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
                Ok(cols)
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
                if let Some(f) = &w.frame {
                    self.window_frame(&cols, frame, w, f, &at(&["frame"]));
                }
                for (name, call) in &w.columns {
                    let p = at(&["columns", name]);
                    let ty = self.window_call(&cols, frame, w, call, &p);
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
                Ok(cols)
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
                Ok(cols)
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
                self.sql_columns(frame, &cols, s, sp)
            }
        }
    }

    fn clashes(&mut self, cols: &[Col], sp: &str, when: &str) {
        for i in 0..cols.len() {
            for k in 0..i {
                if same_name(&cols[i].name, &cols[k].name) {
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
}

/// Tracks the columns of every frame of a Spark stage and checks its outputs.
/// Returns the stage's frames when no step of it failed.
pub(super) fn check_stage(cx: &mut Ctx, stage: &str, s: &Stage) -> StageFrames {
    let p = cx.p;
    let mut st = Stepper {
        cx,
        frames: IndexMap::new(),
        record: StageFrames::default(),
    };
    for (i, input) in s.inputs.iter().enumerate() {
        // An unknown table was reported by the stage checks.
        let mut cols: Cols = p.schemas.get(input.table()).map_or(Err(Reported), |t| {
            Ok(t.columns
                .iter()
                .map(|(n, c)| Col {
                    name: n.clone(),
                    ty: Some(c.ty().to_string()),
                })
                .collect())
        });
        if let Some(name) = input.input_file_column() {
            let fp = ptr(&[
                "stages",
                stage,
                "inputs",
                &i.to_string(),
                "input_file_column",
            ]);
            input_file_column(st.cx, p, input.table(), name, cols.as_mut().ok(), &fp);
        }
        if let Ok(c) = &cols {
            st.record.frames.insert(
                input.frame().to_string(),
                FrameColumns {
                    start: c.clone(),
                    steps: Vec::new(),
                },
            );
        }
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
        let cols = match st.frame(&f.from, &push_pointer(&fp, "from")) {
            Some(start) => st.run(fname, start, &f.steps, &push_pointer(&fp, "steps")),
            None => Err(Reported),
        };
        st.frames.insert(fname.clone(), cols);
    }
    let main_used = !s.steps.is_empty()
        || s.outputs
            .iter()
            .any(|o| o.from.as_deref().is_none_or(|f| f == "main"));
    if main_used && let Some(first) = s.inputs.first() {
        let start = st
            .frames
            .get(first.frame())
            .cloned()
            .unwrap_or(Err(Reported));
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
        let (Ok(cols), Some(table)) = (cols, p.schemas.get(&o.table)) else {
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
        // A merge reads its `latest_by` and `delete_when` columns, so they are not left unused.
        let merge_uses = |name: &str| super::iceberg::merge_reads(o, name);
        let extra: Vec<String> = cols
            .iter()
            .filter(|c| !table.columns.keys().any(|t| same_name(t, &c.name)))
            .filter(|c| !merge_uses(&c.name))
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
    st.record
}
