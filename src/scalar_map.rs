//! Locations inside a YAML scalar.
//!
//! In: the source file, a scalar's span and style (from `yaml::Locations`),
//! its decoded text, and a byte range of that text (say, where a SQL error
//! is). Out: the source `Span` of that range, so a diagnostic points at the
//! exact line and column inside a block scalar or a quoted string.
//!
//! The decoded text is aligned with the source character by character,
//! skipping what YAML drops: the block header line, indentation, quotes,
//! the backslash of escapes, folded line breaks. Plain and literal (`|`)
//! scalars map exactly. Folded (`>`) and quoted scalars map exactly except
//! inside an escape (`\x41`, `\u00e9`) or across a folded line break, where
//! the location is the nearest character before. When the alignment does
//! not reach the range within the scalar's span, the scalar's start is the
//! location.

use crate::source::{SourceFile, Span};
use crate::yaml::ScalarKind;

/// The source span of bytes `offset..offset + len` of a scalar's decoded text.
pub fn inside(
    file: &SourceFile,
    scalar: Span,
    kind: ScalarKind,
    decoded: &str,
    offset: usize,
    len: usize,
) -> Span {
    let fallback = Span::point(scalar.start);
    let start = file.offset(scalar.start);
    let end = file.offset(scalar.end).max(start);
    let src = &file.text[start..end];
    // Where the content starts: after a block header's line, after a quote.
    let skip = match kind {
        ScalarKind::Literal | ScalarKind::Folded => {
            if src.starts_with(['|', '>']) {
                src.find('\n').map(|i| i + 1).unwrap_or(src.len())
            } else {
                0
            }
        }
        ScalarKind::SingleQuoted | ScalarKind::DoubleQuoted => {
            usize::from(src.starts_with(['\'', '"']))
        }
        ScalarKind::Plain => 0,
    };
    let map = align(&src[skip..], decoded, kind);
    // The source range of the decoded byte `d`: its own character, or just
    // after the nearest mapped one before it.
    let source_of = |d: usize| -> Option<(usize, usize)> {
        let &(dd, s, n) = map.iter().rev().find(|&&(dd, _, _)| dd <= d)?;
        Some(if dd == d { (s, n) } else { (s + n, 0) })
    };
    let a = if offset >= decoded.len() {
        map.last().map(|&(_, s, n)| s + n)
    } else {
        source_of(offset).map(|(s, _)| s)
    };
    let Some(a) = a else {
        return fallback;
    };
    let b = if len == 0 || offset >= decoded.len() {
        a
    } else {
        source_of(offset + len - 1)
            .map(|(s, n)| s + n)
            .unwrap_or(a)
            .max(a)
    };
    Span {
        start: file.position(start + skip + a),
        end: file.position(start + skip + b),
    }
}

/// Pairs of (decoded byte, source byte, source length) for every decoded
/// character found in the source, in order.
fn align(src: &str, decoded: &str, kind: ScalarKind) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::with_capacity(decoded.len());
    let s: Vec<(usize, char)> = src.char_indices().collect();
    let mut i = 0;
    for (d, c) in decoded.char_indices() {
        // `''` in single quotes is one quote.
        if kind == ScalarKind::SingleQuoted
            && c == '\''
            && s.get(i).map(|x| x.1) == Some('\'')
            && s.get(i + 1).map(|x| x.1) == Some('\'')
        {
            out.push((d, s[i].0, 2));
            i += 2;
            continue;
        }
        let mut j = i;
        while j < s.len() && s[j].1 != c {
            // A decoded white space that YAML made (folding) has no source.
            if c.is_whitespace() && !s[j].1.is_whitespace() {
                break;
            }
            j += 1;
        }
        if j < s.len() && s[j].1 == c {
            out.push((d, s[j].0, c.len_utf8()));
            i = j + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    /// The text at the span that an offset into `key`'s value maps to.
    fn at(yaml_text: &str, key: &str, needle: &str) -> (usize, usize, String) {
        let file = SourceFile::new("t.yaml", yaml_text);
        let (doc, _) = yaml::parse(&file).unwrap();
        let value = doc.value[key].as_str().unwrap().to_string();
        let (span, kind) = doc.locations.scalar(&format!("/{key}")).unwrap();
        let offset = value.find(needle).unwrap();
        let sp = inside(&file, span, kind, &value, offset, needle.len());
        let a = file.offset(sp.start);
        let b = file.offset(sp.end);
        (sp.start.line, sp.start.col, file.text[a..b].to_string())
    }

    #[test]
    fn plain_and_literal_map_exactly() {
        assert_eq!(
            at("q: a > 1 AND invoce_no IS NULL\n", "q", "invoce_no"),
            (1, 14, "invoce_no".into())
        );
        let text = "x: 1\nq: |\n  SELECT a\n    FROM this\n  WHERE invoce_no > 1\n";
        assert_eq!(at(text, "q", "invoce_no"), (5, 9, "invoce_no".into()));
        let text = "q: |-\n    SELECT a\n    FROM thsi\n";
        assert_eq!(at(text, "q", "thsi"), (3, 10, "thsi".into()));
        let text = "q: a >\n  1 AND\n  bb = 2\n";
        assert_eq!(at(text, "q", "bb"), (3, 3, "bb".into()));
    }

    #[test]
    fn folded_and_quoted_map_as_well_as_they_can() {
        let text = "q: >\n  SELECT a\n  FROM this\n\n  WHERE zz\n";
        assert_eq!(at(text, "q", "zz"), (5, 9, "zz".into()));
        let text = "q: 'a = ''x'' AND zz'\n";
        assert_eq!(at(text, "q", "zz"), (1, 19, "zz".into()));
        let text = "q: \"a = \\\"x\\\" AND zz\"\n";
        assert_eq!(at(text, "q", "zz"), (1, 19, "zz".into()));
        let text = "q: \"a = 1\n  AND zz\"\n";
        assert_eq!(at(text, "q", "zz"), (2, 7, "zz".into()));
    }

    #[test]
    fn non_ascii_columns_count_characters() {
        let text = "q: \"prix € > 0 AND zz\"\n";
        assert_eq!(at(text, "q", "zz"), (1, 20, "zz".into()));
    }
}
