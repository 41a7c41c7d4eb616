//! What a YAML syntax error means, in the user's terms.
//!
//! In: the raw error of saphyr-parser (its wording and position) and the
//! source. Out: a `ParseError` that names the likely mistake (a tab, a line
//! indented to no level above it, a missing space after `:`, an unquoted
//! value that starts with a reserved character, an unclosed bracket...) and,
//! when the mistake is on another line than the one the parser stopped at,
//! where it is. The raw wording stays only for errors no rule recognizes.
//!
//! These are heuristics over the text of the lines around the error; each
//! rule checks that its mistake is really there before it claims the error.

use super::ParseError;
use crate::source::{Pos, SourceFile, Span};

/// Leading spaces of a line.
fn indent(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ').count()
}

/// A line that holds YAML content (not blank, not only a comment).
fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// The column (0-based) of the first key or value of a line after any `- `
/// list markers, and the columns of those markers.
fn columns(line: &str) -> (usize, Vec<usize>) {
    let mut col = indent(line);
    let mut dashes = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    while chars.get(col) == Some(&'-') && chars.get(col + 1).is_none_or(|c| *c == ' ') {
        dashes.push(col);
        col += 1;
        while chars.get(col) == Some(&' ') {
            col += 1;
        }
    }
    (col, dashes)
}

/// The plain key a line starts with (after indentation and `- ` markers),
/// when it has the form `key: ...` or `key:`.
fn key_of(line: &str) -> Option<String> {
    let (col, _) = columns(line);
    let rest: String = line.chars().skip(col).collect();
    let end = rest.find(':')?;
    let key = &rest[..end];
    let after = &rest[end + 1..];
    let plain = !key.is_empty()
        && !key.starts_with(['"', '\'', '{', '[', '#'])
        && !key.contains(['{', '[', ',']);
    (plain && (after.is_empty() || after.starts_with([' ', '\t']))).then(|| key.trim().to_string())
}

/// The nearest content line above `line`, with its number.
fn content_above(file: &SourceFile, line: usize) -> Option<(usize, &str)> {
    (1..line)
        .rev()
        .map(|n| (n, file.line_text(n)))
        .find(|(_, l)| is_content(l))
}

/// Converts a raw parser error at `pos` into what it most likely means, and
/// where that is when it is not at `pos`.
pub(super) fn explain(file: &SourceFile, pos: Pos, info: &str) -> (ParseError, Option<Span>) {
    let line = file.line_text(pos.line);
    if info.contains("tab") {
        let above = content_above(file, pos.line).map(|(_, l)| {
            let code = l.split(" #").next().unwrap_or(l).trim_end();
            (indent(l), code.ends_with(':'))
        });
        return (ParseError::TabIndent { above }, None);
    }
    if let Some(rest) = info.strip_prefix("unexpected character: `")
        && let Some(ch) = rest.chars().next()
        && matches!(ch, '@' | '`' | '%')
    {
        let value = value_at(line, pos.col);
        return (ParseError::ReservedStart { ch, value }, None);
    }
    if info.contains("unknown anchor") {
        let (name, value) = alias(file, pos);
        return (ParseError::UnknownAnchor { name, value }, None);
    }
    if info == "block sequence entries are not allowed in this context"
        && let Some(key) = key_of(line)
    {
        return (ParseError::ListAfterKey { key }, None);
    }
    let flowish = info.contains("flow") || info.contains("':' indicator");
    if (flowish || info.starts_with("mapping values are not allowed"))
        && let Some((open, at)) = unclosed(file, pos.line)
    {
        let span = Span::point(at);
        return (
            ParseError::Unclosed {
                open,
                line: at.line,
            },
            Some(span),
        );
    }
    let missing_colon = info.starts_with("simple key expect");
    if info.starts_with("mapping values are not allowed") || missing_colon {
        for n in [
            Some(pos.line),
            content_above(file, pos.line).map(|(n, _)| n),
        ]
        .into_iter()
        .flatten()
        {
            if let Some((written, col)) = missing_space(file.line_text(n)) {
                let at = Span::point(Pos { line: n, col });
                return (ParseError::NoSpaceAfterColon { written }, Some(at));
            }
        }
        if let Some(value) = colon_in_value(line) {
            return (ParseError::ColonInValue { value }, None);
        }
        if let Some((n, above)) = content_above(file, pos.line)
            && indent(above) < indent(line)
            && let (Some(parent), Some(key)) = (key_of(above), key_of(line))
        {
            let at = Span::point(Pos {
                line: pos.line,
                col: columns(line).0 + 1,
            });
            return (
                ParseError::KeyUnderScalar {
                    key,
                    parent,
                    parent_line: n,
                    parent_indent: columns(above).0,
                },
                Some(at),
            );
        }
    }
    if info.contains("did not find expected key")
        || info.contains("did not find expected '-' indicator")
        || info == "invalid indentation"
    {
        let found = indent(line);
        let fits = levels_near(file, pos.line, found);
        if !fits.is_empty() {
            let at = Span::point(Pos {
                line: pos.line,
                col: found + 1,
            });
            return (ParseError::BadIndent { found, fits }, Some(at));
        }
    }
    (ParseError::Syntax(info.to_string()), None)
}

/// A mapping or sequence in key position: `{{ template }}` written unquoted
/// is the usual cause.
pub(super) fn complex_key(file: &SourceFile, span: Span) -> (ParseError, Span) {
    let chars: Vec<char> = file.line_text(span.start.line).chars().collect();
    let at = span.start.col.saturating_sub(1);
    if at >= 1 && chars.get(at) == Some(&'{') && chars.get(at - 1) == Some(&'{') {
        let text: String = chars[at - 1..].iter().collect();
        // Template text closes its braces; anything else is some other mistake.
        if let Some(end) = text.find("}}") {
            let text = text[..end + 2].to_string();
            let start = Pos {
                line: span.start.line,
                col: at,
            };
            let end = Pos {
                line: span.start.line,
                col: at + text.chars().count(),
            };
            return (ParseError::TemplateBraces(text), Span { start, end });
        }
    }
    (ParseError::ComplexKey, span)
}

/// The unquoted value that starts at `col` (1-based): up to the end of the
/// line, or to the next `,`, `}` or `]` inside a flow collection.
fn value_at(line: &str, col: usize) -> String {
    let before: String = line.chars().take(col.saturating_sub(1)).collect();
    let rest: String = line.chars().skip(col.saturating_sub(1)).collect();
    let in_flow = before.contains(['{', '[']);
    let end = if in_flow {
        rest.find([',', '}', ']']).unwrap_or(rest.len())
    } else {
        rest.find(" #").unwrap_or(rest.len())
    };
    rest[..end].trim_end().to_string()
}

/// The name of the alias at `pos` (`*name`) and the value it starts.
pub(super) fn alias(file: &SourceFile, pos: Pos) -> (String, String) {
    let line = file.line_text(pos.line);
    let name = line
        .chars()
        .skip(pos.col.saturating_sub(1))
        .skip_while(|c| *c == '*')
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '}' | ']'))
        .collect();
    (name, value_at(line, pos.col))
}

/// A `[` or `{` opened on a line before `line` and not closed since.
fn unclosed(file: &SourceFile, line: usize) -> Option<(char, Pos)> {
    let mut open: Vec<(char, Pos)> = Vec::new();
    for n in 1..line {
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        for (i, c) in file.line_text(n).chars().enumerate() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '#' if prev == ' ' => break,
                    '"' | '\'' if matches!(prev, ' ' | '[' | '{' | ',' | ':') => quote = Some(c),
                    '[' | '{' => open.push((
                        c,
                        Pos {
                            line: n,
                            col: i + 1,
                        },
                    )),
                    ']' | '}' => {
                        open.pop();
                    }
                    _ => {}
                },
            }
            prev = c;
        }
    }
    open.pop()
}

/// `key:value` written without the space that makes it a key and a value;
/// returns the text as written and the column of its colon.
fn missing_space(line: &str) -> Option<(String, usize)> {
    let (col, _) = columns(line);
    let rest: String = line.chars().skip(col).collect();
    let end = rest.find(':')?;
    let key = &rest[..end];
    let after = rest[end + 1..].chars().next()?;
    let plain_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    (plain_key && !after.is_whitespace() && !matches!(after, ':' | '/')).then(|| {
        let written = rest
            .split(" #")
            .next()
            .unwrap_or(&rest)
            .trim_end()
            .to_string();
        (written, col + key.chars().count() + 1)
    })
}

/// `key: text: more` where the value holds `: ` and is not quoted.
fn colon_in_value(line: &str) -> Option<String> {
    let (col, _) = columns(line);
    let rest: String = line.chars().skip(col).collect();
    let (_, value) = rest.split_once(": ")?;
    let value = value.trim();
    (!value.starts_with(['"', '\'', '{', '[', '|', '>']) && value.contains(": "))
        .then(|| value.to_string())
}

/// The indentation levels open at `line` (the keys and list items it may
/// line up with), nearest to `found` first: the deepest level above it and
/// the shallowest below it.
fn levels_near(file: &SourceFile, line: usize, found: usize) -> Vec<(usize, usize, String)> {
    let mut levels: Vec<(usize, usize, String)> = Vec::new();
    let mut min = usize::MAX;
    for n in (1..line).rev() {
        let text = file.line_text(n);
        if !is_content(text) {
            continue;
        }
        let (col, dashes) = columns(text);
        if col < min {
            let what = key_of(text)
                .map(|k| format!("`{k}`"))
                .unwrap_or_else(|| "the value".into());
            levels.push((col, n, what));
            min = col;
        }
        for d in dashes.into_iter().rev() {
            if d < min {
                levels.push((d, n, "the `-` item".into()));
                min = d;
            }
        }
        if min == 0 {
            break;
        }
    }
    let below = levels.iter().find(|(c, _, _)| *c < found).cloned();
    let above = levels.iter().rev().find(|(c, _, _)| *c > found).cloned();
    // The nearer level first.
    let mut out: Vec<(usize, usize, String)> = [above, below].into_iter().flatten().collect();
    out.sort_by_key(|(c, _, _)| c.abs_diff(found));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> std::sync::Arc<SourceFile> {
        SourceFile::new("t.yaml", text)
    }

    #[test]
    fn keys_and_columns_of_lines() {
        assert_eq!(key_of("  - table: x"), Some("table".into()));
        assert_eq!(key_of("url: https://x"), Some("url".into()));
        assert_eq!(key_of("  a:b"), None);
        assert_eq!(columns("    - - x"), (8, vec![4, 6]));
    }

    #[test]
    fn a_missing_space_after_a_colon_is_found() {
        assert_eq!(
            missing_space("    inputs:[raw]"),
            Some(("inputs:[raw]".into(), 11))
        );
        assert_eq!(missing_space("    url: https://x"), None);
        assert_eq!(
            missing_space("    url:https://x"),
            Some(("url:https://x".into(), 8))
        );
        assert_eq!(missing_space("    a::b"), None);
        assert_eq!(
            missing_space("      Unit Price:string"),
            Some(("Unit Price:string".into(), 17))
        );
    }

    #[test]
    fn levels_offer_the_nearest_indentation() {
        let f = file("stages:\n  clean:\n    inputs: [a]\n   outputs: []\n");
        let fits = levels_near(&f, 4, 3);
        assert_eq!(fits[0], (4, 3, "`inputs`".into()));
        assert_eq!(fits[1], (2, 2, "`clean`".into()));
    }

    #[test]
    fn an_unclosed_bracket_is_found_across_lines() {
        let f = file("a: [x, \"[\"\nb: 1\n");
        assert_eq!(unclosed(&f, 2).map(|(c, p)| (c, p.line)), Some(('[', 1)));
        let f = file("a: [x] # [\nb: 1\n");
        assert_eq!(unclosed(&f, 2), None);
    }
}
