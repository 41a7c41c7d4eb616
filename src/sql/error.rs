//! The wording of every problem the Spark SQL checker finds.
//!
//! In: a `Problem` and where it is in the SQL text. Out: a `SqlError` (byte
//! offset and length in the text, message, hint). Every message of `src/sql`
//! is worded here; the validate phase wraps them without rewording.

use super::SqlError;

/// One problem in one piece of Spark SQL.
#[derive(Debug, Clone)]
pub(crate) enum Problem {
    /// The parser stopped; `detail` is what it expected and found.
    Syntax {
        detail: String,
    },
    /// Valid Spark SQL that pipec's checker cannot follow.
    Unsupported {
        what: String,
        instead: &'static str,
    },
    /// SQL that other engines take but Spark 3.5 does not.
    NotSpark {
        what: String,
        instead: &'static str,
    },
    UnknownColumn {
        name: String,
        candidates: Vec<String>,
    },
    Ambiguous {
        name: String,
        relations: Vec<String>,
    },
    UnknownFunction {
        name: String,
        nearest: Option<String>,
    },
    UnknownRelation {
        name: String,
        candidates: Vec<String>,
    },
    NoField {
        column: String,
        field: String,
        ty: String,
    },
    NeedsName,
    CannotDerive {
        what: String,
    },
    Untyped {
        function: String,
    },
    DuplicateOutput {
        name: String,
    },
    SetWidth {
        left: usize,
        right: usize,
    },
    WindowWithoutOver {
        function: String,
    },
    AggregateInOver {
        function: String,
    },
    NotOneQuery,
    Empty,
}

impl Problem {
    pub fn at(self, offset: usize, len: usize) -> SqlError {
        SqlError {
            offset,
            len,
            message: self.message(),
            hint: self.hint(),
            needs_columns: matches!(self, Problem::CannotDerive { .. } | Problem::Untyped { .. }),
        }
    }

    fn message(&self) -> String {
        match self {
            Problem::Syntax { detail } => format!("Spark SQL syntax error: {detail}"),
            Problem::Unsupported { what, .. } => {
                format!("pipec's SQL checker does not support {what}")
            }
            Problem::NotSpark { what, .. } => format!("{what} is not Spark 3.5 SQL"),
            Problem::UnknownColumn { name, .. } => {
                format!("column `{name}` does not exist here")
            }
            Problem::Ambiguous { name, relations } => format!(
                "column `{name}` is ambiguous: it is in {}",
                relations
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            Problem::UnknownFunction { name, .. } => {
                format!("`{name}` is not a Spark 3.5 built-in function")
            }
            Problem::UnknownRelation { name, .. } => format!("there is no frame `{name}` here"),
            Problem::NoField { column, field, ty } => {
                format!("`{column}` is `{ty}`, which has no field `{field}`")
            }
            Problem::NeedsName => "give this expression a name with AS".into(),
            Problem::CannotDerive { what } => {
                format!("pipec cannot derive the columns of {what}")
            }
            Problem::Untyped { function } => {
                format!("pipec does not know the result type of `{function}`")
            }
            Problem::DuplicateOutput { name } => {
                format!("column `{name}` appears twice in the query's result")
            }
            Problem::SetWidth { left, right } => {
                format!("the two sides of this set operation return {left} and {right} columns")
            }
            Problem::WindowWithoutOver { function } => {
                format!("`{function}` is a window function and needs `OVER (...)`")
            }
            Problem::AggregateInOver { function } => {
                format!(
                    "`{function}` is not an aggregate or window function, so it takes no `OVER`"
                )
            }
            Problem::NotOneQuery => "a `sql` step takes exactly one SELECT query".into(),
            Problem::Empty => "the SQL text is empty".into(),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Problem::Syntax { .. } => None,
            Problem::Unsupported { instead, .. } | Problem::NotSpark { instead, .. } => {
                Some((*instead).to_string())
            }
            Problem::UnknownColumn { name, candidates } => {
                // `t.nmae` suggests `t.name`: compare the column part only.
                let (qualifier, short) = match name.rsplit_once('.') {
                    Some((q, c)) => (format!("{q}."), c),
                    None => (String::new(), name.as_str()),
                };
                crate::suggest::nearest(short, candidates.iter().map(String::as_str))
                    .map(|n| format!("did you mean `{qualifier}{n}`?"))
                    .or_else(
                    || {
                        (!candidates.is_empty() && candidates.len() <= 12)
                            .then(|| format!("columns here: {}", candidates.join(", ")))
                    },
                )
            }
            Problem::Ambiguous { name, relations } => relations
                .first()
                .map(|r| format!("qualify it, as in `{r}.{name}`")),
            Problem::UnknownFunction { nearest, .. } => {
                nearest.as_ref().map(|n| format!("did you mean `{n}`?"))
            }
            Problem::UnknownRelation { name, candidates } => {
                crate::suggest::did_you_mean(name, candidates.iter().map(String::as_str)).or_else(
                    || {
                        Some(format!(
                            "a `sql` step reads `this` (the current frame) and frames defined before it: {}",
                            candidates.join(", ")
                        ))
                    },
                )
            }
            Problem::NoField { .. } => None,
            Problem::NeedsName => Some(
                "for example `upper(name) AS name_upper`; pipec does not guess the names Spark generates"
                    .into(),
            ),
            Problem::CannotDerive { .. } | Problem::Untyped { .. } => {
                Some("declare the step's result under `columns:` (name: type)".into())
            }
            Problem::DuplicateOutput { .. } => {
                Some("give one of them another name with AS".into())
            }
            Problem::SetWidth { .. } => Some("both sides must return the same columns".into()),
            Problem::WindowWithoutOver { .. } => {
                Some("for example `row_number() OVER (PARTITION BY a ORDER BY b)`".into())
            }
            Problem::AggregateInOver { .. } => None,
            Problem::NotOneQuery => Some("write one SELECT (WITH ... SELECT is fine)".into()),
            Problem::Empty => None,
        }
    }
}
