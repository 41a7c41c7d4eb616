//! Spark SQL checked at compile time.
//!
//! In: the text of a Spark SQL expression (`filter`, `derive`) with the
//! columns in scope, or of a query (`sql` step) with the frames it may read.
//! Out: for an expression, its type, the columns it reads and whether it
//! aggregates (`check_expr`); for a query, the columns it returns
//! (`query_columns`); or `SqlError`s located by byte offset in the text.
//!
//! The parser is `sqlparser` with its Databricks dialect, which of the
//! dialects tried (Hive, Databricks, Generic) reads the most Spark SQL:
//! backtick identifiers, struct fields `a.b`, `RLIKE`, `x::int`,
//! `CAST(x AS DECIMAL(10,2))`, `struct<...>` and `map<...>` types, lambdas
//! (`transform(a, x -> x + 1)`, also inside `exists`), `interval 7 days`,
//! window frames, `count(*) FILTER (WHERE ...)`, `LATERAL VIEW [OUTER]`,
//! CTEs, `GROUP BY ALL`, `GROUPING SETS`, `VALUES`, Spark's literal suffixes
//! (`10L`, `0.5D`). It does not read `a DIV b` or `SELECT TRANSFORM (...)
//! USING`; those get an error that says so and what to write instead.
//! Constructs the dialect reads but Spark 3.5 does not run (`QUALIFY`,
//! `* EXCEPT (...)`, `ARRAY[...]`, `AT TIME ZONE`, `x:path`) are refused.
//! Column names compare without case, as in Spark; unknown columns get
//! "did you mean", unknown functions are checked against Spark 3.5's
//! built-ins (`functions`). Where pipec cannot derive a result (PIVOT, a
//! table function, a function without a typing rule), `query_columns` says
//! why, so the caller can ask for `columns:`.

mod calls;
mod error;
pub mod functions;
mod parse;
mod query;
mod resolve;
pub mod types;

use resolve::{Checker, Rel, Scope};

/// A column: its name and its Hive type text (`string`, `decimal(10,2)`,
/// `array<string>`); `None` only where the type is unknowable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: Option<String>,
}

/// A frame a query may read, by the name the query uses (`this`, `orders`).
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub name: &'a str,
    pub columns: &'a [Column],
}

/// What checking one expression found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprInfo {
    /// The Hive type of the result, where pipec can tell.
    pub ty: Option<String>,
    /// The columns the expression reads, by their names in the scope.
    pub columns_used: Vec<String>,
    /// Whether it calls an aggregate function outside `OVER (...)`.
    pub is_aggregate: bool,
}

/// One problem, at a byte range of the SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    /// Byte offset in the text.
    pub offset: usize,
    /// Length in bytes; 0 at the end of the text.
    pub len: usize,
    pub message: String,
    pub hint: Option<String>,
    /// Only the result cannot be derived (PIVOT, a function without a typing
    /// rule): declared `columns:` settle it.
    pub needs_columns: bool,
}

/// Runs `f` on a thread with a large stack when `text` is long enough for
/// the checker's recursion to need it (see `parse::MAX_OPERATORS`).
fn with_stack<T: Send>(text: &str, f: impl FnOnce() -> T + Send) -> T {
    if parse::operators(text) <= parse::BIG_STACK_OPERATORS {
        return f();
    }
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(s, f)
        {
            Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            // No thread to be had: the machine is out of memory.
            Err(_) => std::process::abort(),
        }
    })
}

/// Parses one expression and resolves it against the columns in `scope`.
pub fn check_expr(text: &str, scope: &[Column]) -> Result<ExprInfo, Vec<SqlError>> {
    with_stack(text, || check_expr_here(text, scope))
}

/// Parses one query and derives the columns it returns.
pub fn query_columns(text: &str, frames: &[Frame]) -> Result<Vec<Column>, Vec<SqlError>> {
    with_stack(text, || query_columns_here(text, frames))
}

fn check_expr_here(text: &str, scope: &[Column]) -> Result<ExprInfo, Vec<SqlError>> {
    let e = parse::expr(text).map_err(|e| vec![e])?;
    let mut ck = Checker::new(text, &[]);
    ck.scopes.push(Scope {
        rels: vec![Rel {
            name: None,
            columns: scope.to_vec(),
            hidden: false,
        }],
        outputs: Vec::new(),
    });
    let ty = ck.expr(&e);
    if !ck.errors.is_empty() {
        return Err(ck.errors);
    }
    Ok(ExprInfo {
        ty: ty.filter(|t| t != "void"),
        columns_used: ck.used,
        is_aggregate: ck.aggregate,
    })
}

fn query_columns_here(text: &str, frames: &[Frame]) -> Result<Vec<Column>, Vec<SqlError>> {
    let q = parse::query(text).map_err(|e| vec![e])?;
    let mut ck = Checker::new(text, frames);
    let cols = ck.query(&q);
    match cols {
        Some(cols) if ck.errors.is_empty() => Ok(cols),
        _ if ck.errors.is_empty() => Err(vec![
            error::Problem::CannotDerive {
                what: "this query".into(),
            }
            .at(0, text.len()),
        ]),
        _ => Err(ck.errors),
    }
}

#[cfg(test)]
mod tests;
