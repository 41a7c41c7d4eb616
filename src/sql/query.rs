//! The columns a Spark SQL query returns.
//!
//! In: a parsed query and the frames it may read (`this` and the frames
//! defined before the step). Out: the result's columns with their types, or
//! a `SqlError` for each place pipec cannot follow: an unknown frame, an
//! unnamed computed column ("give this expression a name with AS"), PIVOT,
//! table functions, catalog tables. FROM and JOIN (with aliases, USING and
//! semi/anti joins), `*` and `t.*`, lateral views, GROUP BY, set operations
//! (the first branch names the columns), CTEs and subqueries are followed.

use super::error::Problem;
use super::resolve::{Checker, Rel, Scope, find};
use super::types;
use super::{Column, functions};
use sqlparser::ast::{
    Expr, GroupByExpr, JoinConstraint, JoinOperator, NamedWindowExpr, ObjectName, OrderByKind,
    Query, Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Spanned, TableAlias,
    TableFactor, TableWithJoins, WildcardAdditionalOptions,
};

impl Checker<'_> {
    /// The columns of a query, or `None` after reporting why they cannot be known.
    pub fn query(&mut self, q: &Query) -> Option<Vec<Column>> {
        let ctes = self.ctes.len();
        let mut ok = true;
        if let Some(with) = &q.with {
            if with.recursive {
                self.report(
                    Problem::NotSpark {
                        what: "WITH RECURSIVE".into(),
                        instead: "Spark 3.5 has no recursive queries",
                    },
                    with.with_token.0.span,
                );
            }
            for cte in &with.cte_tables {
                match self.query(&cte.query) {
                    Some(cols) => {
                        let cols = self.renamed(cols, &cte.alias);
                        self.ctes.push((cte.alias.name.value.clone(), cols));
                    }
                    None => ok = false,
                }
            }
        }
        let out = if ok { self.set_expr(&q.body) } else { None };
        if let (Some(order), Some(cols)) = (&q.order_by, &out)
            && let OrderByKind::Expressions(list) = &order.kind
        {
            // ORDER BY sees the result's names (and, for one SELECT, its input).
            let rels = match q.body.as_ref() {
                SetExpr::Select(s) => self.input_rels(s).unwrap_or_default(),
                _ => Vec::new(),
            };
            self.scopes.push(Scope {
                rels,
                outputs: cols.clone(),
            });
            for o in list {
                self.expr(&o.expr);
            }
            self.scopes.pop();
        }
        if let Some(f) = &q.fetch {
            self.report(
                Problem::NotSpark {
                    what: "FETCH".into(),
                    instead: "write LIMIT n",
                },
                f.quantity
                    .as_ref()
                    .map(|e| e.span())
                    .unwrap_or(q.body.span()),
            );
        }
        self.ctes.truncate(ctes);
        out
    }

    fn set_expr(&mut self, body: &SetExpr) -> Option<Vec<Column>> {
        match body {
            SetExpr::Select(s) => self.select(s),
            SetExpr::Query(q) => self.query(q),
            SetExpr::SetOperation { left, right, .. } => {
                let l = self.set_expr(left);
                let r = self.set_expr(right);
                let (mut l, r) = (l?, r?);
                if l.len() != r.len() {
                    self.report(
                        Problem::SetWidth {
                            left: l.len(),
                            right: r.len(),
                        },
                        body.span(),
                    );
                    return None;
                }
                for (a, b) in l.iter_mut().zip(r) {
                    a.ty = match (a.ty.take(), b.ty) {
                        (Some(x), Some(y)) => types::wider(&x, &y),
                        _ => None,
                    };
                }
                Some(l)
            }
            SetExpr::Values(v) => {
                self.scopes.push(Scope::default());
                let mut cols: Vec<Column> = Vec::new();
                for (r, row) in v.rows.iter().enumerate() {
                    for (i, x) in row.iter().enumerate() {
                        let t = self.expr(x);
                        if r == 0 {
                            cols.push(Column {
                                name: format!("col{}", i + 1),
                                ty: t.filter(|t| t != "void"),
                            });
                        }
                    }
                }
                self.scopes.pop();
                Some(cols)
            }
            other => {
                self.report(
                    Problem::NotSpark {
                        what: "this statement".into(),
                        instead: "a `sql` step takes one SELECT query",
                    },
                    other.span(),
                );
                None
            }
        }
    }

    /// The relations of a SELECT's FROM and lateral views, without reporting
    /// anything (used again for ORDER BY).
    fn input_rels(&mut self, s: &Select) -> Option<Vec<Rel>> {
        let errors = self.errors.len();
        let rels = self.relations(s);
        self.errors.truncate(errors);
        rels
    }

    fn relations(&mut self, s: &Select) -> Option<Vec<Rel>> {
        let mut rels: Vec<Rel> = Vec::new();
        let mut ok = true;
        for twj in &s.from {
            ok &= self.table_with_joins(twj, &mut rels);
        }
        for lv in &s.lateral_views {
            self.scopes.push(Scope {
                rels: rels.clone(),
                outputs: Vec::new(),
            });
            let ty = self.expr(&lv.lateral_view);
            self.scopes.pop();
            let name = lv.lateral_view_name.to_string();
            match self.generated(&lv.lateral_view, ty, &lv.lateral_col_alias) {
                Some(columns) => rels.push(Rel {
                    name: Some(name),
                    columns,
                    hidden: false,
                }),
                None => ok = false,
            }
        }
        ok.then_some(rels)
    }

    /// The columns a generator (`explode`, `posexplode`, `inline`) adds under `aliases`.
    fn generated(
        &mut self,
        call: &Expr,
        ty: Option<String>,
        aliases: &[sqlparser::ast::Ident],
    ) -> Option<Vec<Column>> {
        let Expr::Function(f) = call else {
            self.report(
                Problem::CannotDerive {
                    what: "this lateral view".into(),
                },
                call.span(),
            );
            return None;
        };
        let name = f.name.to_string().to_ascii_lowercase();
        let arg = first_arg(call).map(|a| {
            let errors = self.errors.len();
            let t = self.expr(a);
            self.errors.truncate(errors);
            t
        });
        let arg = arg.flatten();
        let types: Option<Vec<Option<String>>> = match name.as_str() {
            "explode" | "explode_outer" => match arg.as_deref() {
                Some(t) if types::map_parts(t).is_some() => {
                    let (k, v) = types::map_parts(t).unwrap_or_default();
                    Some(vec![Some(k.into()), Some(v.into())])
                }
                _ => Some(vec![ty]),
            },
            "posexplode" | "posexplode_outer" => match arg.as_deref() {
                Some(t) if types::map_parts(t).is_some() => {
                    let (k, v) = types::map_parts(t).unwrap_or_default();
                    Some(vec![Some("int".into()), Some(k.into()), Some(v.into())])
                }
                Some(t) => Some(vec![
                    Some("int".into()),
                    types::element(t).map(str::to_string),
                ]),
                None => Some(vec![Some("int".into()), None]),
            },
            _ => None,
        };
        let Some(types) = types else {
            self.report(
                Problem::CannotDerive {
                    what: format!("the generator `{name}`"),
                },
                call.span(),
            );
            return None;
        };
        if aliases.len() != types.len() {
            self.report(Problem::NeedsName, call.span());
            return None;
        }
        Some(
            aliases
                .iter()
                .zip(types)
                .map(|(a, ty)| Column {
                    name: a.value.clone(),
                    ty,
                })
                .collect(),
        )
    }

    /// Adds the relations of one FROM item and its joins; false when one is unknown.
    fn table_with_joins(&mut self, twj: &TableWithJoins, rels: &mut Vec<Rel>) -> bool {
        let mut ok = self.factor(&twj.relation, rels);
        for j in &twj.joins {
            let before = rels.len();
            if !self.factor(&j.relation, rels) {
                ok = false;
                continue;
            }
            use JoinOperator as J;
            let (constraint, semi) = match &j.join_operator {
                J::Join(c)
                | J::Inner(c)
                | J::Left(c)
                | J::LeftOuter(c)
                | J::Right(c)
                | J::RightOuter(c)
                | J::FullOuter(c)
                | J::CrossJoin(c) => (c, false),
                J::Semi(c) | J::LeftSemi(c) | J::Anti(c) | J::LeftAnti(c) => (c, true),
                other => {
                    self.report(
                        Problem::NotSpark {
                            what: format!("this join ({other:?})")
                                .split('(')
                                .next()
                                .unwrap_or("this join")
                                .to_string(),
                            instead: "use [INNER|LEFT|RIGHT|FULL|CROSS|LEFT SEMI|LEFT ANTI] JOIN",
                        },
                        j.relation.span(),
                    );
                    ok = false;
                    continue;
                }
            };
            match constraint {
                JoinConstraint::On(cond) => {
                    self.scopes.push(Scope {
                        rels: rels.clone(),
                        outputs: Vec::new(),
                    });
                    self.expr(cond);
                    self.scopes.pop();
                }
                JoinConstraint::Using(names) => {
                    self.using(names, rels, before);
                }
                JoinConstraint::Natural => {
                    let left: Vec<String> = rels[..before]
                        .iter()
                        .flat_map(|r| r.columns.iter().map(|c| c.name.clone()))
                        .collect();
                    let right: Vec<String> = rels[before..]
                        .iter()
                        .flat_map(|r| r.columns.iter().map(|c| c.name.clone()))
                        .filter(|n| left.iter().any(|l| crate::names::same_name(l, n)))
                        .collect();
                    self.drop_right(&right, rels, before);
                }
                JoinConstraint::None | JoinConstraint::UsingAlias(..) => {}
            }
            if semi {
                for r in &mut rels[before..] {
                    r.hidden = true;
                }
            }
        }
        ok
    }

    /// `JOIN ... USING (k)`: the keys must be on both sides and appear once.
    fn using(&mut self, names: &[ObjectName], rels: &mut [Rel], before: usize) {
        let mut keys = Vec::new();
        for n in names {
            let key = n.to_string().trim_matches('`').to_string();
            let left = rels[..before]
                .iter()
                .any(|r| find(&r.columns, &key).is_some());
            let right = rels[before..]
                .iter()
                .any(|r| find(&r.columns, &key).is_some());
            if !(left && right) {
                let side = if left {
                    &rels[before..]
                } else {
                    &rels[..before]
                };
                let candidates = side
                    .iter()
                    .flat_map(|r| r.columns.iter().map(|c| c.name.clone()))
                    .collect();
                self.report(
                    Problem::UnknownColumn {
                        name: key.clone(),
                        candidates,
                    },
                    n.span(),
                );
            }
            keys.push(key);
        }
        self.drop_right(&keys, rels, before);
    }

    /// USING and NATURAL keys appear once, from the left side.
    fn drop_right(&mut self, keys: &[String], rels: &mut [Rel], before: usize) {
        for r in &mut rels[before..] {
            r.columns
                .retain(|c| !keys.iter().any(|k| crate::names::same_name(k, &c.name)));
        }
    }

    /// Adds the relation of one table factor; false when it cannot be known.
    fn factor(&mut self, t: &TableFactor, rels: &mut Vec<Rel>) -> bool {
        match t {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                if args.is_some() {
                    self.report(
                        Problem::CannotDerive {
                            what: format!("the table function `{name}`"),
                        },
                        t.span(),
                    );
                    return false;
                }
                if name.0.len() != 1 {
                    self.report(
                        Problem::Unsupported {
                            what: format!("the catalog table `{name}`"),
                            instead: "read the table as an input of the stage and use its frame",
                        },
                        name.span(),
                    );
                    return false;
                }
                let table = name.0[0].to_string();
                let table = table.trim_matches('`');
                let cols = self
                    .ctes
                    .iter()
                    .rev()
                    .find(|(n, _)| n.eq_ignore_ascii_case(table))
                    .map(|(_, c)| c.clone())
                    .or_else(|| {
                        self.frames
                            .iter()
                            .find(|f| f.name.eq_ignore_ascii_case(table))
                            .map(|f| f.columns.to_vec())
                    });
                let Some(cols) = cols else {
                    let candidates = self
                        .ctes
                        .iter()
                        .map(|(n, _)| n.clone())
                        .chain(self.frames.iter().map(|f| f.name.to_string()))
                        .collect();
                    self.report(
                        Problem::UnknownRelation {
                            name: table.to_string(),
                            candidates,
                        },
                        name.span(),
                    );
                    return false;
                };
                let (rel_name, cols) = match alias {
                    Some(a) => (a.name.value.clone(), self.renamed(cols, a)),
                    None => (table.to_string(), cols),
                };
                rels.push(Rel {
                    name: Some(rel_name),
                    columns: cols,
                    hidden: false,
                });
                true
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                // A subquery in FROM does not see the enclosing query.
                let scopes = std::mem::take(&mut self.scopes);
                let aggregate = std::mem::replace(&mut self.aggregate, false);
                let cols = self.query(subquery);
                self.scopes = scopes;
                self.aggregate = aggregate;
                let Some(cols) = cols else { return false };
                let (name, cols) = match alias {
                    Some(a) => (Some(a.name.value.clone()), self.renamed(cols, a)),
                    None => (None, cols),
                };
                rels.push(Rel {
                    name,
                    columns: cols,
                    hidden: false,
                });
                true
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.table_with_joins(table_with_joins, rels),
            TableFactor::Pivot { .. } | TableFactor::Unpivot { .. } => {
                let what = if matches!(t, TableFactor::Pivot { .. }) {
                    "PIVOT"
                } else {
                    "UNPIVOT"
                };
                self.report(
                    Problem::CannotDerive {
                        what: format!("a {what}"),
                    },
                    t.span(),
                );
                false
            }
            other => {
                self.report(
                    Problem::CannotDerive {
                        what: "this FROM item".into(),
                    },
                    other.span(),
                );
                false
            }
        }
    }

    /// Applies `AS t(a, b)` column names.
    fn renamed(&mut self, mut cols: Vec<Column>, alias: &TableAlias) -> Vec<Column> {
        if alias.columns.is_empty() {
            return cols;
        }
        if alias.columns.len() != cols.len() {
            self.report(
                Problem::SetWidth {
                    left: cols.len(),
                    right: alias.columns.len(),
                },
                alias.name.span,
            );
        }
        for (c, a) in cols.iter_mut().zip(&alias.columns) {
            c.name = a.name.value.clone();
        }
        cols
    }

    fn select(&mut self, s: &Select) -> Option<Vec<Column>> {
        if let Some(q) = &s.qualify {
            self.report(
                Problem::NotSpark {
                    what: "QUALIFY".into(),
                    instead: "filter in an outer query: SELECT * FROM (SELECT ..., row_number() OVER (...) AS rn FROM this) WHERE rn = 1",
                },
                q.span(),
            );
        }
        if s.top.is_some() {
            self.report(
                Problem::NotSpark {
                    what: "SELECT TOP".into(),
                    instead: "write LIMIT n",
                },
                s.select_token.0.span,
            );
        }
        let rels = self.relations(s)?;
        let aggregate = std::mem::replace(&mut self.aggregate, false);
        self.scopes.push(Scope {
            rels,
            outputs: Vec::new(),
        });
        if let Some(w) = &s.selection {
            self.expr(w);
            self.aggregate = false;
        }
        for nw in &s.named_window {
            if let NamedWindowExpr::WindowSpec(spec) = &nw.1 {
                for p in &spec.partition_by {
                    self.expr(p);
                }
                for o in &spec.order_by {
                    self.expr(&o.expr);
                }
            }
        }
        let mut out: Vec<Column> = Vec::new();
        let mut ok = true;
        for item in &s.projection {
            ok &= self.item(item, &mut out);
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.outputs = out.clone();
        }
        if let GroupByExpr::Expressions(list, _) = &s.group_by {
            for g in list {
                self.expr(g);
            }
        }
        if let Some(h) = &s.having {
            self.expr(h);
        }
        for x in s.cluster_by.iter().chain(&s.distribute_by) {
            self.expr(x);
        }
        for o in &s.sort_by {
            self.expr(&o.expr);
        }
        self.scopes.pop();
        self.aggregate = aggregate;
        ok.then_some(out)
    }

    /// Adds the columns of one SELECT item; false when one cannot be named or typed.
    fn item(&mut self, item: &SelectItem, out: &mut Vec<Column>) -> bool {
        match item {
            SelectItem::UnnamedExpr(e) => {
                self.untyped = None;
                let ty = self.expr(e);
                let name = match e {
                    Expr::Identifier(id) => Some(self.actual_name(std::slice::from_ref(id))),
                    Expr::CompoundIdentifier(ids) => Some(self.actual_name(ids)),
                    _ => None,
                };
                let Some(name) = name else {
                    self.report(Problem::NeedsName, e.span());
                    return false;
                };
                self.push_out(out, name, ty, e)
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                self.untyped = None;
                let ty = self.expr(expr);
                self.push_out(out, alias.value.clone(), ty, expr)
            }
            SelectItem::ExprWithAliases { expr, aliases } => {
                self.untyped = None;
                let ty = self.expr(expr);
                let Some(cols) = self.generated(expr, ty, aliases) else {
                    return false;
                };
                let mut ok = true;
                for c in cols {
                    ok &= self.push_out(out, c.name, c.ty, expr);
                }
                ok
            }
            SelectItem::Wildcard(opts) => {
                if !self.plain_star(opts) {
                    return false;
                }
                let cols: Vec<Column> = self
                    .scopes
                    .last()
                    .map(|s| {
                        s.rels
                            .iter()
                            .filter(|r| !r.hidden)
                            .flat_map(|r| r.columns.iter().cloned())
                            .collect()
                    })
                    .unwrap_or_default();
                if cols.is_empty() {
                    self.report(
                        Problem::CannotDerive {
                            what: "`*` without a FROM".into(),
                        },
                        opts.wildcard_token.0.span,
                    );
                    return false;
                }
                let mut ok = true;
                for c in cols {
                    self.mark_used(&c.name);
                    ok &= self.push_star(out, c, opts);
                }
                ok
            }
            SelectItem::QualifiedWildcard(kind, opts) => {
                if !self.plain_star(opts) {
                    return false;
                }
                let SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                    self.report(
                        Problem::Unsupported {
                            what: "`(expression).*`".into(),
                            instead: "name the struct's fields",
                        },
                        opts.wildcard_token.0.span,
                    );
                    return false;
                };
                let rel_name = name.to_string();
                let rel_name = rel_name.trim_matches('`');
                let rel = self.scopes.last().and_then(|s| {
                    s.rels
                        .iter()
                        .find(|r| {
                            !r.hidden
                                && r.name
                                    .as_deref()
                                    .is_some_and(|n| n.eq_ignore_ascii_case(rel_name))
                        })
                        .cloned()
                });
                let Some(rel) = rel else {
                    let candidates = self
                        .scopes
                        .last()
                        .map(|s| s.rels.iter().filter_map(|r| r.name.clone()).collect())
                        .unwrap_or_default();
                    self.report(
                        Problem::UnknownRelation {
                            name: rel_name.to_string(),
                            candidates,
                        },
                        name.span(),
                    );
                    return false;
                };
                let mut ok = true;
                for c in rel.columns {
                    self.mark_used(&c.name);
                    ok &= self.push_star(out, c, opts);
                }
                ok
            }
        }
    }

    fn mark_used(&mut self, name: &str) {
        if !self.used.iter().any(|u| u == name) {
            self.used.push(name.to_string());
        }
    }

    /// `* EXCEPT (...)`, `* REPLACE (...)` and friends are other dialects.
    fn plain_star(&mut self, opts: &WildcardAdditionalOptions) -> bool {
        let extra = opts.opt_except.is_some()
            || opts.opt_exclude.is_some()
            || opts.opt_replace.is_some()
            || opts.opt_rename.is_some()
            || opts.opt_ilike.is_some();
        if extra {
            self.report(
                Problem::NotSpark {
                    what: "`* EXCEPT`, `* EXCLUDE`, `* REPLACE` or `* RENAME`".into(),
                    instead: "list the columns, or use a `drop` step after the query",
                },
                opts.wildcard_token.0.span,
            );
        }
        !extra
    }

    fn push_star(
        &mut self,
        out: &mut Vec<Column>,
        c: Column,
        opts: &WildcardAdditionalOptions,
    ) -> bool {
        if find(out, &c.name).is_some() {
            self.report(
                Problem::DuplicateOutput { name: c.name },
                opts.wildcard_token.0.span,
            );
            return false;
        }
        out.push(c);
        true
    }

    fn push_out(
        &mut self,
        out: &mut Vec<Column>,
        name: String,
        ty: Option<String>,
        e: &Expr,
    ) -> bool {
        if ty.is_none()
            && let Some(why) = self.untyped.take()
        {
            self.errors.push(why);
            return false;
        }
        if let Expr::Function(f) = e {
            let n = f.name.to_string().to_ascii_lowercase();
            if functions::GENERATORS.contains(&n.as_str())
                && !matches!(n.as_str(), "explode" | "explode_outer")
            {
                self.report(
                    Problem::CannotDerive {
                        what: format!("the generator `{n}` in the SELECT list"),
                    },
                    e.span(),
                );
                return false;
            }
        }
        if find(out, &name).is_some() {
            self.report(Problem::DuplicateOutput { name }, e.span());
            return false;
        }
        out.push(Column {
            name,
            ty: ty.filter(|t| t != "void"),
        });
        true
    }

    /// The name Spark gives a selected column reference: the column's own
    /// name for `a` or `t.a`, the field's name for `a.field`.
    fn actual_name(&self, parts: &[sqlparser::ast::Ident]) -> String {
        let last = &parts[parts.len() - 1].value;
        let Some(scope) = self.scopes.last() else {
            return last.clone();
        };
        let lookup = |rels: &[Rel], name: &str| {
            rels.iter()
                .find_map(|r| find(&r.columns, name).map(|c| c.name.clone()))
        };
        if parts.len() == 1 {
            return lookup(&scope.rels, last).unwrap_or_else(|| last.clone());
        }
        if parts.len() == 2
            && let Some(rel) = scope.rels.iter().find(|r| {
                r.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&parts[0].value))
            })
        {
            return find(&rel.columns, last)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| last.clone());
        }
        last.clone()
    }
}

fn first_arg(call: &Expr) -> Option<&Expr> {
    let Expr::Function(f) = call else { return None };
    let sqlparser::ast::FunctionArguments::List(list) = &f.args else {
        return None;
    };
    match list.args.first()? {
        sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(e)) => Some(e),
        _ => None,
    }
}
