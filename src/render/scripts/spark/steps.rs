//! Transform steps: one block of statements per step of a frame.
//!
//! In: a step, and the columns of its frame before and after it (from
//! validation). Out: the statements. Joins are in `join`.

use super::*;

impl Builder<'_> {
    pub(super) fn temp_name(&mut self, what: &str, cols: &[Column]) -> String {
        loop {
            let name = if self.temp == 0 {
                format!("_pipec_{what}")
            } else {
                format!("_pipec_{what}_{}", self.temp)
            };
            self.temp += 1;
            if find(cols, &name).is_none() {
                return name;
            }
        }
    }

    /// The statements of step `i` of `frame`.
    pub(super) fn step(&mut self, frame: &str, i: usize, step: &Step) -> Block {
        let var = self.var(frame);
        let frames = self.frames;
        let cols = frames.frame(frame).before(i);
        let after = frames.frame(frame).after(i);
        match step {
            Step::Select(list) => {
                let e = call(
                    format!("{var}.select"),
                    list.iter().map(|c| col(c)).collect(),
                );
                block(
                    &["Keep only these columns, in this order."],
                    assign(&var, &e),
                )
            }
            Step::Drop(list) => {
                let e = call(format!("{var}.drop"), list.iter().map(|c| col(c)).collect());
                block(&["Drop columns."], assign(&var, &e))
            }
            Step::Rename(Rename::Map(map)) => {
                let e = call(
                    format!("{var}.withColumnsRenamed"),
                    vec![Expr::Dict(
                        map.iter()
                            .map(|(a, b)| (s(a.clone()), s(b.clone())))
                            .collect(),
                    )],
                );
                block(&["Rename columns."], assign(&var, &e))
            }
            Step::Rename(Rename::Rule(rule)) => {
                let word = match rule {
                    RenameRule::SnakeCase => "snake_case",
                    RenameRule::LowerCase => "lower_case",
                };
                // Validation applied the rule; the renames are the names that changed.
                let renames: Vec<(Expr, Expr)> = cols
                    .iter()
                    .zip(after)
                    .filter(|(a, b)| a.name != b.name)
                    .map(|(a, b)| (s(a.name.clone()), s(b.name.clone())))
                    .collect();
                if renames.is_empty() {
                    return block(
                        &[&format!("Rename every column to {word}: all already are.")],
                        String::from("pass"),
                    );
                }
                let e = call(
                    format!("{var}.withColumnsRenamed"),
                    vec![Expr::Dict(renames)],
                );
                block(
                    &[&format!("Rename every column to {word}.")],
                    assign(&var, &e),
                )
            }
            Step::Cast(map) => self.cast(frame, &var, map),
            Step::Filter(cond) => {
                let e = call(format!("{var}.filter"), vec![s(cond.clone())]);
                block(
                    &["Keep the rows for which the condition (Spark SQL) holds."],
                    assign(&var, &e),
                )
            }
            Step::Derive(map) => {
                let mut lines = Vec::new();
                for (name, d) in map {
                    let e = call(
                        format!("{var}.withColumn"),
                        vec![
                            s(name.clone()),
                            call("F.expr", vec![s(d.expr().to_string())]),
                        ],
                    );
                    lines.push(assign(&var, &e));
                    if let Some(t) = d.ty() {
                        let e = call(
                            format!("{var}.withColumn"),
                            vec![
                                s(name.clone()),
                                method(col(name), "cast", vec![s(spark_type(t))]),
                            ],
                        );
                        lines.push(assign(&var, &e));
                    }
                }
                block(
                    &["Add or replace columns computed by Spark SQL expressions."],
                    lines.join("\n"),
                )
            }
            Step::FillNull(map) => {
                let e = call(
                    format!("{var}.fillna"),
                    vec![Expr::Dict(
                        map.iter()
                            .map(|(c, v)| (s(quoted(c)), json_literal(v)))
                            .collect(),
                    )],
                );
                block(&["Replace nulls."], assign(&var, &e))
            }
            Step::Dedupe(d) => {
                if d.keys.is_empty() {
                    return block(
                        &["Drop duplicate rows."],
                        assign(&var, &call(format!("{var}.dropDuplicates"), vec![])),
                    );
                }
                self.uses.window = true;
                let tmp = self.temp_name("row", cols);
                let lines = [
                    self.window_code(&d.keys, &d.order_by),
                    assign(
                        &var,
                        &call(
                            format!("{var}.withColumn"),
                            vec![
                                s(tmp.clone()),
                                method(call("F.row_number", vec![]), "over", vec![code("window")]),
                            ],
                        ),
                    ),
                    assign(
                        &var,
                        &method(
                            call(format!("{var}.filter"), vec![s(format!("{tmp} = 1"))]),
                            "drop",
                            vec![s(tmp.clone())],
                        ),
                    ),
                ];
                block(
                    &["Keep one row per key: the first by the given order."],
                    lines.join("\n"),
                )
            }
            Step::Join(j) => self.join(&var, cols, j),
            Step::Aggregate(a) => {
                let group = call(
                    format!("{var}.groupBy"),
                    a.group_by.iter().map(|g| col(g)).collect(),
                );
                let aggs: Vec<Expr> = a
                    .aggregates
                    .iter()
                    .filter_map(|(name, c)| {
                        let f = function_call(&Call::parse(c.call())?, c.filter())?;
                        Some(method(f, "alias", vec![s(name.clone())]))
                    })
                    .collect();
                let lines = [
                    assign("grouped", &group),
                    assign(&var, &call("grouped.agg", aggs)),
                ];
                block(&["Group and aggregate."], lines.join("\n"))
            }
            Step::Union(u) => {
                let mut lines = Vec::new();
                for w in &u.with {
                    let mut args = vec![code(self.var(w))];
                    if u.allow_missing {
                        args.push(kw("allowMissingColumns", code("True")));
                    }
                    lines.push(assign(&var, &call(format!("{var}.unionByName"), args)));
                }
                block(
                    &[if u.allow_missing {
                        "Append rows, matching columns by name; missing ones become null."
                    } else {
                        "Append rows, matching columns by name."
                    }],
                    lines.join("\n"),
                )
            }
            Step::Explode(e) => {
                let f = if e.keep_empty {
                    "F.explode_outer"
                } else {
                    "F.explode"
                };
                let values = match &e.separator {
                    Some(sep) => call("F.split", vec![col(&e.column), s(regex_literal(sep))]),
                    None => col(&e.column),
                };
                let out = e.alias.clone().unwrap_or_else(|| e.column.clone());
                let mut lines = vec![assign(
                    &var,
                    &call(
                        format!("{var}.withColumn"),
                        vec![s(out.clone()), call(f, vec![values])],
                    ),
                )];
                let renamed = !same_name(&out, &e.column);
                if renamed {
                    lines.push(assign(
                        &var,
                        &call(format!("{var}.drop"), vec![col(&e.column)]),
                    ));
                }
                let what = match &e.separator {
                    Some(_) => {
                        "Split the column on the separator (taken literally) into one row per value."
                    }
                    None => "One row per element of the array column.",
                };
                block(&[what], lines.join("\n"))
            }
            Step::Window(w) => {
                self.uses.window = true;
                let mut lines = vec![self.window_code(&w.partition_by, &w.order_by)];
                for (name, wc) in &w.columns {
                    if let Some(f) = Call::parse(wc.call()).and_then(|c| function_call(&c, None)) {
                        // A column's own frame, else the window's, for aggregate functions.
                        let over = match wc.frame().or(w.frame.as_ref()) {
                            Some(fr) if crate::validate::takes_frame(wc.call()) => {
                                framed("window", fr)
                            }
                            _ => code("window"),
                        };
                        let e = call(
                            format!("{var}.withColumn"),
                            vec![s(name.clone()), method(f, "over", vec![over])],
                        );
                        lines.push(assign(&var, &e));
                    }
                }
                block(&["Window functions."], lines.join("\n"))
            }
            Step::Repartition(r) => {
                let mut args = Vec::new();
                if let Some(n) = r.count {
                    args.push(code(n.to_string()));
                }
                args.extend(r.columns.iter().map(|c| col(c)));
                block(
                    &["Redistribute the rows."],
                    assign(&var, &call(format!("{var}.repartition"), args)),
                )
            }
            Step::Sql(q) => {
                let mut lines = vec![format!("{var}.createOrReplaceTempView(\"this\")")];
                let lower = q.query.to_lowercase();
                for (fname, fvar) in &self.vars {
                    if fname == frame || fname == "this" {
                        continue;
                    }
                    if lower.contains(&fname.to_lowercase()) {
                        lines.push(
                            call(
                                format!("{fvar}.createOrReplaceTempView"),
                                vec![s(quoted(fname))],
                            )
                            .fmt(0, 0, 0),
                        );
                    }
                }
                lines.push(assign(&var, &call("spark.sql", vec![s(q.query.clone())])));
                // The query's result is held to the columns validation knows:
                // exactly these, in this order, of these types.
                let held = if after.iter().all(|c| c.ty.is_some()) {
                    let types = after
                        .iter()
                        .map(|c| {
                            let ty = c.ty.as_deref().unwrap_or_default();
                            (s(c.name.clone()), s(spark_type(ty)))
                        })
                        .collect();
                    call("conform", vec![code(var.clone()), Expr::Dict(types)])
                } else {
                    call(
                        format!("{var}.select"),
                        after.iter().map(|c| col(&c.name)).collect(),
                    )
                };
                lines.push(assign(&var, &held));
                block(
                    &[
                        "A Spark SQL query; the current frame is the view `this`. Its result keeps the declared columns, in their order and types.",
                    ],
                    lines.join("\n"),
                )
            }
        }
    }

    /// `window = Window.partitionBy(...).orderBy(...)`, split into two
    /// statements when it does not fit one line.
    pub(super) fn window_code(&self, partition_by: &[String], order_by: &[String]) -> String {
        let parts: Vec<Expr> = partition_by.iter().map(|c| col(c)).collect();
        let orders: Vec<Expr> = order_by.iter().map(|o| order_expr(o)).collect();
        let base = if parts.is_empty() {
            None
        } else {
            Some(call("Window.partitionBy", parts.clone()))
        };
        match (base, orders.is_empty()) {
            (Some(b), true) => assign("window", &b),
            (None, _) => assign("window", &call("Window.orderBy", orders)),
            (Some(b), false) => {
                let chained = method(b.clone(), "orderBy", orders.clone());
                let flat = format!("window = {}", chained.flat());
                if py::width(&flat) <= py::WIDTH {
                    flat
                } else {
                    [
                        assign("window", &b),
                        assign("window", &call("window.orderBy", orders)),
                    ]
                    .join("\n")
                }
            }
        }
    }
}
