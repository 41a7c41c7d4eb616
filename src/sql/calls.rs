//! Function calls in Spark SQL: built-in names, window functions and
//! `OVER`, aggregates, lambdas of higher-order functions, and result types.
//!
//! In: a parsed call and the checker's scopes. Out: the call's result type
//! where pipec has a rule (`functions::return_type`), with a `SqlError` for
//! an unknown function, a window function without `OVER`, or `OVER` on a
//! function that is neither aggregate nor window.

use super::error::Problem;
use super::functions::{self, Ret};
use super::resolve::Checker;
use super::types;
use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, LambdaFunction,
    OneOrManyWithParens, Spanned, WindowFrameBound, WindowSpec, WindowType,
};

impl Checker<'_> {
    pub(crate) fn function(&mut self, f: &Function, e: &Expr) -> Option<String> {
        let parts: Vec<String> = f.name.0.iter().map(|p| p.to_string()).collect();
        let name = parts.join(".").to_ascii_lowercase();
        let known = parts.len() == 1 && functions::is_builtin(&name);
        if !known {
            let nearest = crate::suggest::nearest(&name, functions::BUILTINS.iter().copied())
                .or_else(|| {
                    // `uppercase` means `upper`: the longest built-in it starts with.
                    functions::BUILTINS
                        .iter()
                        .copied()
                        .filter(|b| b.len() >= 4 && name.starts_with(b))
                        .max_by_key(|b| b.len())
                })
                .map(str::to_string);
            self.report(
                Problem::UnknownFunction {
                    name: parts.join("."),
                    nearest,
                },
                f.name.span(),
            );
        }
        let aggregate = functions::is_aggregate(&name);
        let window_only = functions::is_window_only(&name);
        let outer_aggregate = self.aggregate;
        let mut args: Vec<Option<String>> = Vec::new();
        let mut lambdas: Vec<&LambdaFunction> = Vec::new();
        match &f.args {
            FunctionArguments::None => {}
            FunctionArguments::Subquery(q) => {
                self.subquery(q);
            }
            FunctionArguments::List(list) => {
                for a in &list.args {
                    let arg = match a {
                        FunctionArg::Named { arg, .. }
                        | FunctionArg::ExprNamed { arg, .. }
                        | FunctionArg::Unnamed(arg) => arg,
                    };
                    match arg {
                        FunctionArgExpr::Expr(Expr::Lambda(l)) => {
                            lambdas.push(l);
                            args.push(None);
                        }
                        FunctionArgExpr::Expr(x) => {
                            let t = self.expr(x);
                            args.push(t);
                        }
                        FunctionArgExpr::Wildcard => args.push(None),
                        FunctionArgExpr::QualifiedWildcard(_)
                        | FunctionArgExpr::WildcardWithOptions(_) => {
                            self.report(
                                Problem::Unsupported {
                                    what: "`t.*` as an argument".into(),
                                    instead: "name the columns",
                                },
                                e.span(),
                            );
                            args.push(None);
                        }
                    }
                }
            }
        }
        // Lambda parameters take the element types of the collections.
        let mut body = None;
        for l in lambdas {
            let params = lambda_params(&name, &args);
            body = self.lambda(l, &params);
        }
        if let Some(filter) = &f.filter {
            self.expr(filter);
        }
        if let Some(over) = &f.over {
            if known && !aggregate && !window_only {
                self.report(
                    Problem::AggregateInOver {
                        function: name.clone(),
                    },
                    e.span(),
                );
            }
            if let WindowType::WindowSpec(spec) = over {
                self.window(spec);
            }
        } else if window_only {
            self.report(
                Problem::WindowWithoutOver {
                    function: name.clone(),
                },
                e.span(),
            );
        }
        for o in &f.within_group {
            self.expr(&o.expr);
        }
        if aggregate && f.over.is_none() {
            self.aggregate = true;
        } else {
            self.aggregate = outer_aggregate || self.aggregate;
        }
        if !known {
            return None;
        }
        let args: Vec<Option<String>> = args
            .into_iter()
            .map(|a| a.filter(|t| t != "void"))
            .collect();
        match functions::return_type(&name, &args, body.as_deref()) {
            Ret::Is(t) => Some(t),
            Ret::Unknown => None,
            Ret::Untyped => {
                self.untyped_here(&name, e.span());
                None
            }
        }
    }

    fn window(&mut self, spec: &WindowSpec) {
        for p in &spec.partition_by {
            self.expr(p);
        }
        for o in &spec.order_by {
            self.expr(&o.expr);
        }
        if let Some(frame) = &spec.window_frame {
            for b in std::iter::once(&frame.start_bound).chain(frame.end_bound.iter()) {
                if let WindowFrameBound::Preceding(Some(x)) | WindowFrameBound::Following(Some(x)) =
                    b
                {
                    self.expr(x);
                }
            }
        }
    }

    /// Checks a lambda's body with its parameters bound; returns the body's type.
    pub(crate) fn lambda(
        &mut self,
        l: &LambdaFunction,
        types: &[Option<String>],
    ) -> Option<String> {
        let names: Vec<&Ident> = match &l.params {
            OneOrManyWithParens::One(p) => vec![&p.name],
            OneOrManyWithParens::Many(ps) => ps.iter().map(|p| &p.name).collect(),
        };
        let depth = self.lambdas.len();
        for (i, n) in names.iter().enumerate() {
            self.lambdas
                .push((n.value.clone(), types.get(i).cloned().flatten()));
        }
        let t = self.expr(&l.body);
        self.lambdas.truncate(depth);
        t
    }
}

/// The types of a higher-order function's lambda parameters.
fn lambda_params(name: &str, args: &[Option<String>]) -> Vec<Option<String>> {
    let elem = |i: usize| {
        args.get(i)
            .cloned()
            .flatten()
            .and_then(|t| types::element(&t).map(str::to_string))
    };
    let map = |i: usize| {
        args.get(i)
            .cloned()
            .flatten()
            .and_then(|t| types::map_parts(&t).map(|(k, v)| (k.to_string(), v.to_string())))
    };
    match name {
        "transform" | "filter" | "exists" | "forall" | "array_sort" => {
            vec![elem(0), Some("int".into())]
        }
        "aggregate" | "reduce" => vec![args.get(1).cloned().flatten(), elem(0)],
        "zip_with" => vec![elem(0), elem(1)],
        "map_filter" | "transform_keys" | "transform_values" => match map(0) {
            Some((k, v)) => vec![Some(k), Some(v)],
            None => vec![None, None],
        },
        _ => Vec::new(),
    }
}
