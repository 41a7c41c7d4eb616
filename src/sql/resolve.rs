//! Resolving and typing one Spark SQL expression against the columns in scope.
//!
//! In: a parsed expression and a stack of scopes (the relations of a query,
//! innermost last; one unnamed relation for a `filter` or `derive`). Out:
//! the expression's Hive type where pipec can tell, the columns it reads,
//! whether it aggregates, and a `SqlError` for every unknown column (with
//! "did you mean"), unknown function and construct Spark 3.5 lacks.
//!
//! Column names compare without case, as in Spark. Lambda parameters
//! (`x -> x + 1`) shadow columns inside their body.

use super::error::Problem;
use super::functions::{self, Ret};
use super::parse::Lines;
use super::types;
use super::{Column, Frame, SqlError};
use sqlparser::ast::{
    AccessExpr, BinaryOperator, CastKind, DateTimeField, Expr, Ident, Spanned, Subscript,
    UnaryOperator, Value,
};

/// One relation in scope: a frame, a CTE, a subquery or a lateral view.
#[derive(Debug, Clone)]
pub(crate) struct Rel {
    /// The name or alias that qualifies its columns; `None` for the frame of
    /// a `filter` or `derive`.
    pub name: Option<String>,
    pub columns: Vec<Column>,
    /// Only its join condition sees it (the right side of a semi or anti join).
    pub hidden: bool,
}

/// The relations of one query level, and the names its SELECT list gives,
/// which ORDER BY, GROUP BY and HAVING may use.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    pub rels: Vec<Rel>,
    pub outputs: Vec<Column>,
}

/// The checker's state while it walks one text.
pub(crate) struct Checker<'t> {
    pub lines: Lines<'t>,
    pub errors: Vec<SqlError>,
    /// Columns read, by their names in the frame, once each.
    pub used: Vec<String>,
    /// An aggregate outside `OVER` was seen at the current query level.
    pub aggregate: bool,
    /// Why the last expression has no type, when pipec lacks a rule.
    pub untyped: Option<SqlError>,
    pub frames: &'t [Frame<'t>],
    /// Common table expressions in scope, innermost last.
    pub ctes: Vec<(String, Vec<Column>)>,
    pub scopes: Vec<Scope>,
    /// Lambda parameters in scope, innermost last, with their types.
    pub lambdas: Vec<(String, Option<String>)>,
}

impl<'t> Checker<'t> {
    pub fn new(text: &'t str, frames: &'t [Frame<'t>]) -> Checker<'t> {
        Checker {
            lines: Lines::new(text),
            errors: Vec::new(),
            used: Vec::new(),
            aggregate: false,
            untyped: None,
            frames,
            ctes: Vec::new(),
            scopes: Vec::new(),
            lambdas: Vec::new(),
        }
    }

    pub fn report(&mut self, p: Problem, span: sqlparser::tokenizer::Span) {
        let (offset, len) = self.lines.range(span);
        self.errors.push(p.at(offset, len));
    }

    pub(crate) fn untyped_here(&mut self, function: &str, span: sqlparser::tokenizer::Span) {
        if self.untyped.is_none() {
            let (offset, len) = self.lines.range(span);
            self.untyped = Some(
                Problem::Untyped {
                    function: function.to_string(),
                }
                .at(offset, len),
            );
        }
    }

    /// Checks an expression that must hold a condition or value; returns its type.
    pub fn expr(&mut self, e: &Expr) -> Option<String> {
        match e {
            Expr::Identifier(id) => self.column(std::slice::from_ref(id)),
            Expr::CompoundIdentifier(ids) => self.column(ids),
            Expr::CompoundFieldAccess { root, access_chain } => {
                let mut ty = self.expr(root);
                for a in access_chain {
                    ty = match a {
                        AccessExpr::Dot(Expr::Identifier(f)) => self.field(ty, "", f),
                        AccessExpr::Dot(other) => {
                            self.expr(other);
                            None
                        }
                        AccessExpr::Subscript(Subscript::Index { index }) => {
                            self.expr(index);
                            ty.as_deref().and_then(|t| {
                                types::element(t)
                                    .or_else(|| types::map_parts(t).map(|(_, v)| v))
                                    .map(str::to_string)
                            })
                        }
                        AccessExpr::Subscript(Subscript::Slice { .. }) => {
                            self.not_spark(
                                "array slices `a[1:2]`",
                                "use slice(a, start, length)",
                                e,
                            );
                            None
                        }
                    };
                }
                ty
            }
            Expr::IsFalse(x)
            | Expr::IsNotFalse(x)
            | Expr::IsTrue(x)
            | Expr::IsNotTrue(x)
            | Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsUnknown(x)
            | Expr::IsNotUnknown(x) => {
                self.expr(x);
                Some("boolean".into())
            }
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                self.expr(a);
                self.expr(b);
                Some("boolean".into())
            }
            Expr::In { expr, target, .. } => {
                self.expr(expr);
                match target {
                    sqlparser::ast::InTarget::List(list) => {
                        for x in list {
                            self.expr(x);
                        }
                    }
                    sqlparser::ast::InTarget::Subquery(q) => {
                        self.subquery(q);
                    }
                    _ => self.not_spark(
                        "this form of IN",
                        "write IN (a, b, ...) or IN (SELECT ...)",
                        e,
                    ),
                }
                Some("boolean".into())
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                self.expr(expr);
                self.expr(low);
                self.expr(high);
                Some("boolean".into())
            }
            Expr::BinaryOp { left, op, right } => {
                let l = self.expr(left);
                let r = self.expr(right);
                self.binary(op, l, r, e)
            }
            Expr::Like {
                expr,
                pattern,
                escape_char,
                ..
            }
            | Expr::ILike {
                expr,
                pattern,
                escape_char,
                ..
            } => {
                self.expr(expr);
                self.expr(pattern);
                if let Some(c) = escape_char {
                    self.expr(c);
                }
                Some("boolean".into())
            }
            Expr::RLike { expr, pattern, .. } => {
                self.expr(expr);
                self.expr(pattern);
                Some("boolean".into())
            }
            Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. } => {
                self.expr(left);
                self.expr(right);
                Some("boolean".into())
            }
            Expr::UnaryOp { op, expr } => {
                let t = self.expr(expr);
                match op {
                    UnaryOperator::Not | UnaryOperator::BangNot => Some("boolean".into()),
                    UnaryOperator::Plus | UnaryOperator::Minus | UnaryOperator::BitwiseNot => t,
                    other => {
                        self.not_spark(
                            &format!("the operator `{other}`"),
                            "use a Spark function",
                            e,
                        );
                        None
                    }
                }
            }
            Expr::Cast {
                kind,
                expr,
                data_type,
                format,
            } => {
                self.expr(expr);
                if format.is_some() {
                    self.not_spark(
                        "CAST ... FORMAT",
                        "use to_date(x, 'format') or to_timestamp(x, 'format')",
                        e,
                    );
                }
                if *kind == CastKind::SafeCast {
                    self.not_spark("SAFE_CAST", "use try_cast(x AS type)", e);
                }
                match types::data_type(data_type) {
                    Ok(t) => Some(t),
                    Err(why) => {
                        self.report(
                            Problem::Unsupported {
                                what: why,
                                instead: "cast to a Hive type such as string, int, bigint, double, decimal(p,s), date, timestamp, array<...>",
                            },
                            e.span(),
                        );
                        None
                    }
                }
            }
            Expr::Extract { field, expr, .. } => {
                self.expr(expr);
                Some(match field {
                    DateTimeField::Second | DateTimeField::Seconds => "decimal(8,6)".into(),
                    _ => "int".into(),
                })
            }
            Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => {
                let t = self.expr(expr);
                match functions::return_type("ceil", &[t], None) {
                    Ret::Is(t) => Some(t),
                    _ => None,
                }
            }
            Expr::Position { expr, r#in } => {
                self.expr(expr);
                self.expr(r#in);
                Some("int".into())
            }
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let t = self.expr(expr);
                for x in [substring_from, substring_for].into_iter().flatten() {
                    self.expr(x);
                }
                Some(if t.as_deref() == Some("binary") {
                    "binary".into()
                } else {
                    "string".into()
                })
            }
            Expr::Trim {
                expr,
                trim_what,
                trim_characters,
                ..
            } => {
                self.expr(expr);
                if let Some(w) = trim_what {
                    self.expr(w);
                }
                for c in trim_characters.iter().flatten() {
                    self.expr(c);
                }
                Some("string".into())
            }
            Expr::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                self.expr(expr);
                self.expr(overlay_what);
                self.expr(overlay_from);
                if let Some(f) = overlay_for {
                    self.expr(f);
                }
                Some("string".into())
            }
            Expr::Nested(x) => self.expr(x),
            Expr::Value(v) => match &v.value {
                Value::Number(n, long) => Some(types::number(n, *long)),
                Value::Boolean(_) => Some("boolean".into()),
                Value::Null => Some("void".into()),
                Value::HexStringLiteral(_) => Some("binary".into()),
                Value::SingleQuotedString(_)
                | Value::DoubleQuotedString(_)
                | Value::SingleQuotedRawStringLiteral(_)
                | Value::DoubleQuotedRawStringLiteral(_) => Some("string".into()),
                other => {
                    self.not_spark(
                        &format!("the literal `{other}`"),
                        "write 'text' or \"text\"",
                        e,
                    );
                    None
                }
            },
            Expr::TypedString(ts) => match types::data_type(&ts.data_type) {
                Ok(t) => Some(t),
                Err(_) => {
                    self.not_spark(
                        &format!("a `{}` literal", ts.data_type),
                        "write DATE '2024-01-31' or TIMESTAMP '2024-01-31 12:00:00'",
                        e,
                    );
                    None
                }
            },
            Expr::Function(f) => self.function(f, e),
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                if let Some(o) = operand {
                    self.expr(o);
                }
                let mut ty: Option<String> = Some("void".into());
                for w in conditions {
                    self.expr(&w.condition);
                    let r = self.expr(&w.result);
                    ty = merge(ty, r);
                }
                if let Some(x) = else_result {
                    let r = self.expr(x);
                    ty = merge(ty, r);
                }
                ty
            }
            Expr::Exists { subquery, .. } => {
                self.subquery(subquery);
                Some("boolean".into())
            }
            Expr::Subquery(q) => self
                .subquery(q)
                .and_then(|cols| cols.into_iter().next())
                .and_then(|c| c.ty),
            Expr::GroupingSets(sets) | Expr::Cube(sets) | Expr::Rollup(sets) => {
                for x in sets.iter().flatten() {
                    self.expr(x);
                }
                None
            }
            Expr::Tuple(list) => {
                for x in list {
                    self.expr(x);
                }
                None
            }
            Expr::Array(a) => {
                let mut ty: Option<String> = Some("void".into());
                for x in &a.elem {
                    let t = self.expr(x);
                    ty = merge(ty, t);
                }
                if a.named {
                    self.not_spark("ARRAY[...]", "write array(a, b, ...)", e);
                }
                ty.map(|t| format!("array<{t}>"))
            }
            Expr::Interval(i) => {
                self.expr(&i.value);
                Some(match &i.leading_field {
                    Some(
                        DateTimeField::Year
                        | DateTimeField::Years
                        | DateTimeField::Month
                        | DateTimeField::Months,
                    ) => "interval year to month".into(),
                    Some(
                        DateTimeField::Day
                        | DateTimeField::Days
                        | DateTimeField::Week(_)
                        | DateTimeField::Weeks,
                    ) if i.last_field.is_none() => "interval day".into(),
                    _ => "interval day to second".into(),
                })
            }
            Expr::Lambda(l) => {
                self.lambda(l, &[]);
                None
            }
            Expr::AtTimeZone { .. } => {
                self.not_spark(
                    "AT TIME ZONE",
                    "use from_utc_timestamp(ts, 'Europe/Paris')",
                    e,
                );
                None
            }
            Expr::Collate { .. } => {
                self.not_spark("COLLATE", "compare lower(a) = lower(b)", e);
                None
            }
            Expr::Wildcard(_) | Expr::QualifiedWildcard(..) => {
                self.report(
                    Problem::Unsupported {
                        what: "`*` in an expression".into(),
                        instead: "name the columns",
                    },
                    e.span(),
                );
                None
            }
            Expr::JsonAccess { .. } => {
                self.not_spark(
                    "the JSON path operator `:`",
                    "use get_json_object(json, '$.path')",
                    e,
                );
                None
            }
            _ => {
                self.report(
                    Problem::Unsupported {
                        what: format!("`{e}`"),
                        instead: "rewrite it with Spark's built-in functions",
                    },
                    e.span(),
                );
                None
            }
        }
    }

    fn not_spark(&mut self, what: &str, instead: &'static str, e: &Expr) {
        self.report(
            Problem::NotSpark {
                what: what.to_string(),
                instead,
            },
            e.span(),
        );
    }

    fn binary(
        &mut self,
        op: &BinaryOperator,
        l: Option<String>,
        r: Option<String>,
        e: &Expr,
    ) -> Option<String> {
        use BinaryOperator as B;
        let arith = |c: char| match (&l, &r) {
            (Some(a), Some(b)) => types::arithmetic(c, a, b),
            _ => None,
        };
        match op {
            B::Plus => arith('+'),
            B::Minus => arith('-'),
            B::Multiply => arith('*'),
            B::Divide => arith('/'),
            B::Modulo => arith('%'),
            B::StringConcat => Some("string".into()),
            B::Gt
            | B::Lt
            | B::GtEq
            | B::LtEq
            | B::Spaceship
            | B::Eq
            | B::NotEq
            | B::And
            | B::Or
            | B::Xor => Some("boolean".into()),
            B::BitwiseOr | B::BitwiseAnd | B::BitwiseXor => match (&l, &r) {
                (Some(a), Some(b)) => types::wider(a, b),
                _ => None,
            },
            other => {
                self.not_spark(
                    &format!("the operator `{other}`"),
                    "use Spark's operators and functions",
                    e,
                );
                None
            }
        }
    }

    /// Resolves `a`, `t.a` or `a.field...` against the scopes, innermost first.
    fn column(&mut self, parts: &[Ident]) -> Option<String> {
        let first = &parts[0];
        // The dialect reads `10L` and `2Y` as words; Spark reads typed numbers.
        if parts.len() == 1
            && first.quote_style.is_none()
            && first.value.starts_with(|c: char| c.is_ascii_digit())
        {
            return match types::suffixed_number(&first.value) {
                Some(t) => Some(t),
                None => {
                    self.report(
                        Problem::Syntax {
                            detail: format!("`{}` is neither a number nor a name", first.value),
                        },
                        first.span,
                    );
                    None
                }
            };
        }
        if let Some((_, ty)) = self
            .lambdas
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(&first.value))
        {
            let ty = ty.clone();
            return self.fields(ty, &first.value, &parts[1..]);
        }
        for level in (0..self.scopes.len()).rev() {
            let scope = &self.scopes[level];
            // `rel.column`, when the first part names a relation.
            if parts.len() >= 2
                && let Some(rel) = scope.rels.iter().find(|r| {
                    r.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&first.value))
                })
            {
                let col = &parts[1];
                return match find(&rel.columns, &col.value) {
                    Some(c) => {
                        let (name, ty) = (c.name.clone(), c.ty.clone());
                        self.use_column(name.clone());
                        self.fields(ty, &name, &parts[2..])
                    }
                    None => {
                        let candidates = rel.columns.iter().map(|c| c.name.clone()).collect();
                        self.report(
                            Problem::UnknownColumn {
                                name: format!("{}.{}", first.value, col.value),
                                candidates,
                            },
                            col.span,
                        );
                        None
                    }
                };
            }
            let hits: Vec<(&Rel, &Column)> = scope
                .rels
                .iter()
                .filter_map(|r| find(&r.columns, &first.value).map(|c| (r, c)))
                .collect();
            if hits.len() > 1 {
                let relations = hits
                    .iter()
                    .map(|(r, _)| r.name.clone().unwrap_or_default())
                    .collect();
                self.report(
                    Problem::Ambiguous {
                        name: first.value.clone(),
                        relations,
                    },
                    first.span,
                );
                return None;
            }
            if let Some((_, c)) = hits.first() {
                let (name, ty) = (c.name.clone(), c.ty.clone());
                self.use_column(name.clone());
                return self.fields(ty, &name, &parts[1..]);
            }
            if let Some(c) = find(&scope.outputs, &first.value) {
                let (name, ty) = (c.name.clone(), c.ty.clone());
                return self.fields(ty, &name, &parts[1..]);
            }
        }
        let candidates = self
            .scopes
            .last()
            .map(|s| {
                s.rels
                    .iter()
                    .filter(|r| !r.hidden)
                    .flat_map(|r| r.columns.iter().map(|c| c.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let span = parts
            .iter()
            .skip(1)
            .fold(first.span, |s, p| s.union(&p.span));
        let name = if parts.len() >= 2 && self.is_relation(&first.value) {
            parts
                .iter()
                .map(|p| p.value.as_str())
                .collect::<Vec<_>>()
                .join(".")
        } else {
            first.value.clone()
        };
        let span = if name == first.value {
            first.span
        } else {
            span
        };
        self.report(Problem::UnknownColumn { name, candidates }, span);
        None
    }

    fn is_relation(&self, name: &str) -> bool {
        self.scopes.iter().any(|s| {
            s.rels.iter().any(|r| {
                r.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
        })
    }

    fn use_column(&mut self, name: String) {
        if !self.used.contains(&name) {
            self.used.push(name);
        }
    }

    /// Follows struct fields `a.b.c` from a column of type `ty`.
    fn fields(&mut self, mut ty: Option<String>, column: &str, rest: &[Ident]) -> Option<String> {
        for f in rest {
            ty = self.field(ty, column, f);
        }
        ty
    }

    fn field(&mut self, ty: Option<String>, column: &str, f: &Ident) -> Option<String> {
        let t = ty?;
        if let Some(ft) = types::field(&t, &f.value) {
            return Some(ft.to_string());
        }
        // A field of an array of structs is the array of that field.
        if let Some(inner) = types::element(&t)
            && let Some(ft) = types::field(inner, &f.value)
        {
            return Some(format!("array<{ft}>"));
        }
        self.report(
            Problem::NoField {
                column: column.to_string(),
                field: f.value.clone(),
                ty: t,
            },
            f.span,
        );
        None
    }

    /// A subquery inside an expression sees the enclosing scopes (correlation).
    pub(crate) fn subquery(&mut self, q: &sqlparser::ast::Query) -> Option<Vec<Column>> {
        let aggregate = self.aggregate;
        let cols = self.query(q);
        self.aggregate = aggregate;
        cols
    }
}

/// The wider of two branch types; unknown when either is.
fn merge(a: Option<String>, b: Option<String>) -> Option<String> {
    types::wider(&a?, &b?)
}

/// A column by name: exact first, then without case, as Spark resolves.
pub(crate) fn find<'c>(cols: &'c [Column], name: &str) -> Option<&'c Column> {
    cols.iter()
        .find(|c| c.name == name)
        .or_else(|| cols.iter().find(|c| crate::names::same_name(&c.name, name)))
}
