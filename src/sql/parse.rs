//! Parsing Spark SQL text with `sqlparser`'s Databricks dialect.
//!
//! In: the text of one expression or one query. Out: its AST, or one
//! `SqlError` at the byte offset where the parser stopped, reworded where the
//! dialect lacks a Spark construct (`a DIV b`, `SELECT TRANSFORM ... USING`).
//! Also the line index that turns the parser's line and column into offsets.

use super::SqlError;
use super::error::Problem;
use sqlparser::ast::{Expr, Query, Statement};
use sqlparser::dialect::DatabricksDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token};

/// Deepest nesting the parser follows; deeper text is refused, not overflowed.
const RECURSION_LIMIT: usize = 64;

/// Most operators in one text. The parser builds `a + b + c ...` as a tree
/// as deep as the chain is long, and walking or dropping that tree recurses,
/// so a very long chain is refused before it can exhaust the stack.
pub(crate) const MAX_OPERATORS: usize = 1_000;

/// Above this many operators the checker runs on a thread with a large stack.
pub(crate) const BIG_STACK_OPERATORS: usize = 200;

/// An upper bound of the binary operators in `text`: operator characters
/// and the words AND and OR outside string literals and backticks.
pub(crate) fn operators(text: &str) -> usize {
    let mut n = 0;
    let mut quote: Option<u8> = None;
    let bytes = text.as_bytes();
    let mut word_start = None;
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
            continue;
        }
        match b {
            b'\'' | b'"' | b'`' => quote = Some(b),
            b'+' | b'-' | b'*' | b'/' | b'%' | b'=' | b'<' | b'>' | b'|' | b'&' | b'^' | b',' => {
                n += 1
            }
            _ => {}
        }
        let is_word = b.is_ascii_alphanumeric() || b == b'_';
        match (is_word, word_start) {
            (true, None) => word_start = Some(i),
            (false, Some(s)) => {
                let w = &text[s..i];
                if w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or") {
                    n += 1;
                }
                word_start = None;
            }
            _ => {}
        }
    }
    n
}

fn too_long(text: &str) -> Option<SqlError> {
    (operators(text) > MAX_OPERATORS).then(|| {
        Problem::Unsupported {
            what: format!("SQL with more than {MAX_OPERATORS} operators"),
            instead: "split it into several steps",
        }
        .at(0, text.len())
    })
}

/// Byte offsets of line starts, to turn `sqlparser` locations into offsets.
pub(crate) struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    pub fn new(text: &'t str) -> Lines<'t> {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines { text, starts }
    }

    /// The byte offset of a 1-based line and column (columns in characters).
    pub fn offset(&self, loc: Location) -> usize {
        if loc.line == 0 {
            return 0;
        }
        let Some(&start) = self.starts.get(loc.line as usize - 1) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        rest.char_indices()
            .nth(loc.column.saturating_sub(1) as usize)
            .map(|(i, _)| start + i)
            .unwrap_or(self.text.len())
    }

    /// Offset and length of a span; an empty span is the whole text.
    pub fn range(&self, span: sqlparser::tokenizer::Span) -> (usize, usize) {
        if span.start.line == 0 {
            return (0, self.text.len());
        }
        let a = self.offset(span.start);
        let b = self.offset(span.end).max(a);
        (a, (b - a).max(1))
    }
}

fn parser(text: &str) -> Result<Parser<'static>, ParserError> {
    static DIALECT: DatabricksDialect = DatabricksDialect {};
    Parser::new(&DIALECT)
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(text)
}

/// Parses one expression, which must be all of `text`.
pub(crate) fn expr(text: &str) -> Result<Expr, SqlError> {
    if text.trim().is_empty() {
        return Err(Problem::Empty.at(0, text.len()));
    }
    if let Some(e) = too_long(text) {
        return Err(e);
    }
    let lines = Lines::new(text);
    let result = parser(text).and_then(|mut p| {
        let e = p.parse_expr()?;
        p.expect_token(&Token::EOF)?;
        Ok(e)
    });
    result.map_err(|e| reword(text, &lines, e))
}

/// Parses one query (`SELECT ...`, `WITH ... SELECT ...`, set operations).
pub(crate) fn query(text: &str) -> Result<Box<Query>, SqlError> {
    if text.trim().is_empty() {
        return Err(Problem::Empty.at(0, text.len()));
    }
    if let Some(e) = too_long(text) {
        return Err(e);
    }
    let lines = Lines::new(text);
    let stmts = parser(text)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| reword(text, &lines, e))?;
    let mut it = stmts.into_iter();
    match (it.next(), it.next()) {
        (Some(Statement::Query(q)), None) => Ok(q),
        _ => Err(Problem::NotOneQuery.at(0, text.len())),
    }
}

/// Turns a parser error into a located `SqlError`, with Spark's wording for
/// the constructs the dialect does not know.
fn reword(text: &str, lines: &Lines, e: ParserError) -> SqlError {
    let raw = match &e {
        ParserError::TokenizerError(s) | ParserError::ParserError(s) => s.clone(),
        ParserError::RecursionLimitExceeded => {
            return Problem::Unsupported {
                what: format!("SQL nested more than {RECURSION_LIMIT} levels deep"),
                instead: "split the expression into several `derive` steps",
            }
            .at(0, text.len());
        }
    };
    let (detail, loc) = split_location(&raw);
    // The parser gives no location for the end of the text.
    let at_end = text.trim_end().len();
    let offset = loc
        .map(|l| lines.offset(l))
        .unwrap_or(if raw.contains("found: EOF") {
            at_end
        } else {
            0
        });
    let offset = found_before(text, &detail, offset);
    let word = word_at(text, offset);
    if word.eq_ignore_ascii_case("div") {
        return Problem::Unsupported {
            what: "the `DIV` operator".into(),
            instead: "write the function form, `div(a, b)`",
        }
        .at(offset, 3);
    }
    if is_script_transform(text) {
        return Problem::Unsupported {
            what: "`SELECT TRANSFORM (...) USING` (a script transform)".into(),
            instead: "run the script in a stage of its own with `script:`",
        }
        .at(0, text.len());
    }
    let detail = tidy(&detail);
    let len = word.len().max(1).min(text.len().saturating_sub(offset));
    Problem::Syntax { detail }.at(offset, len)
}

/// Splits `... at Line: 3, Column: 7` into the text and the location.
fn split_location(raw: &str) -> (String, Option<Location>) {
    if let Some(i) = raw.rfind(" at Line: ") {
        let tail = &raw[i + " at Line: ".len()..];
        let mut parts = tail.split(", Column: ");
        let line = parts.next().and_then(|l| l.trim().parse::<u64>().ok());
        let col = parts.next().and_then(|c| {
            c.trim()
                .trim_end_matches(|ch: char| !ch.is_ascii_digit())
                .parse::<u64>()
                .ok()
        });
        if let (Some(line), Some(column)) = (line, col) {
            return (raw[..i].to_string(), Some(Location { line, column }));
        }
    }
    (raw.to_string(), None)
}

/// The parser's words for a token, made readable: `Word(Word { value: "DIV",
/// ... })` becomes `DIV`, `EOF` becomes `the end of the text`.
fn tidy(detail: &str) -> String {
    let d = detail.trim_start_matches("sql parser error: ");
    if let Some(rest) = d.strip_prefix("No infix parser for token ") {
        return format!("unexpected {}", token_words(rest));
    }
    let d = d
        .replace("Expected: ", "expected ")
        .replace(", found: ", ", found ");
    d.replace("found EOF", "found the end of the text")
        .replace("expected EOF", "expected the end of the text")
        .replace("expected end of statement", "expected the end of the text")
}

fn token_words(debug: &str) -> String {
    match debug.find("value: \"") {
        Some(i) => {
            let rest = &debug[i + "value: \"".len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            format!("`{}`", &rest[..end])
        }
        None => debug.to_string(),
    }
}

/// Where the token named by `found: X` is: the parser sometimes reports
/// the location of the token after it (`SELECT a, FROM this` points at
/// `this`), so a token not at `offset` is looked for just before it.
fn found_before(text: &str, detail: &str, offset: usize) -> usize {
    let Some(found) = detail.split("found: ").nth(1) else {
        return offset;
    };
    let found = found.trim();
    if found.is_empty() || found == "EOF" {
        return offset;
    }
    let lower = text.to_ascii_lowercase();
    let needle = found.to_ascii_lowercase();
    if lower.get(offset..).is_some_and(|t| t.starts_with(&needle)) {
        return offset;
    }
    lower
        .get(..offset)
        .and_then(|before| before.rfind(&needle))
        .unwrap_or(offset)
}

/// The identifier-like word at `offset`.
fn word_at(text: &str, offset: usize) -> &str {
    let rest = text.get(offset..).unwrap_or("");
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// `SELECT TRANSFORM (` at the start of a query or after a `(`.
fn is_script_transform(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == '(')
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(3)
        .any(|w| w[0] == "select" && w[1] == "transform" && w[2] != "from")
        && lower.contains(" using ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Spark constructs users write, all parsed by the Databricks dialect.
    #[test]
    fn parses_spark_expressions() {
        for e in [
            "`Invoice No` IS NOT NULL AND quantity > 0",
            "a.b.c = 1",
            "x RLIKE '^[0-9]+$'",
            "CAST(x AS DECIMAL(10,2))",
            "x::int",
            "date_format(ts, 'yyyy-MM')",
            "CASE WHEN a > 1 THEN 'x' ELSE 'z' END",
            "a IN (1, 2) AND b NOT BETWEEN 1 AND 3 AND c LIKE 'a%'",
            "transform(arr, x -> x + 1)",
            "exists(arr, x -> x > 1)",
            "named_struct('a', 1, 'b', x)",
            "map('a', 1)",
            "ts + interval 7 days",
            "sum(x) OVER (PARTITION BY a ORDER BY b ROWS BETWEEN 6 PRECEDING AND CURRENT ROW)",
            "count(*) FILTER (WHERE a > 1)",
            "cast(x as struct<a:int,b:string>)",
            "cast(x as map<string,int>)",
            "1e3 + 0.5D + 10L",
            "a <=> b",
        ] {
            expr(e).unwrap_or_else(|err| panic!("{e}: {err:?}"));
        }
        for q in [
            "SELECT a FROM this LATERAL VIEW OUTER explode(arr) t AS x",
            "WITH c AS (SELECT a FROM this) SELECT a FROM c",
            "SELECT a, count(*) AS n FROM this GROUP BY ALL",
            "SELECT a FROM this LEFT ANTI JOIN other ON this.a = other.a",
            "SELECT a FROM this GROUP BY GROUPING SETS ((a), ())",
        ] {
            query(q).unwrap_or_else(|err| panic!("{q}: {err:?}"));
        }
    }

    #[test]
    fn refuses_what_the_dialect_lacks_with_advice() {
        let e = expr("a DIV 2").unwrap_err();
        assert_eq!((e.offset, e.len), (2, 3));
        assert!(e.message.contains("`DIV`"), "{e:?}");
        assert!(e.hint.unwrap().contains("div(a, b)"));
        let e = query("SELECT TRANSFORM(a) USING 'cat' AS (b) FROM this").unwrap_err();
        assert!(e.message.contains("script transform"), "{e:?}");
    }

    #[test]
    fn locates_syntax_errors_on_later_lines() {
        let text = "a > 1\nAND (b = 2";
        let e = expr(text).unwrap_err();
        assert!(e.message.starts_with("Spark SQL syntax error"), "{e:?}");
        assert_eq!(e.offset, text.len(), "{e:?}");
        let text = "SELECT a,\n  FROM this";
        let e = query(text).unwrap_err();
        assert_eq!(&text[e.offset..e.offset + 4], "FROM", "{e:?}");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(expr(&text).is_err());
        let text = format!(
            "SELECT {}1{} AS x FROM this",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        assert!(query(&text).is_err());
    }
}
