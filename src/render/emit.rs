//! A deterministic YAML emitter for CloudFormation templates and manifests.
//!
//! In: a `serde_json::Value` whose maps keep insertion order. Out: block-style
//! YAML text that is byte-identical for equal input. Every string is either a
//! plain scalar from a small safe alphabet or a double-quoted JSON string, so a
//! user's text can never change the structure of the document (no injection),
//! and YAML 1.1 readers (cfn-lint, PyYAML) read it back the same way.
//! Control, bidirectional and zero-width characters are always escaped, so
//! that no character can hide or reorder text for a reviewer.

use crate::validate::text::invisible;
use serde_json::Value;
use std::fmt::Write as _;

/// Emits a whole document, ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => emit_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => emit_seq(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

/// Emits one `key: value` entry of a mapping at the given indentation, so that
/// large documents can be assembled from pieces emitted one at a time.
pub fn entry(out: &mut String, key: &str, value: &Value, level: usize) {
    indent(out, level);
    write_string(out, key);
    out.push(':');
    emit_value(out, value, level);
}

fn indent(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > SPACES.len() {
        out.push_str(SPACES);
        n -= SPACES.len();
    }
    out.push_str(&SPACES[..n]);
}

fn emit_map(out: &mut String, m: &serde_json::Map<String, Value>, level: usize) {
    for (i, (k, v)) in m.iter().enumerate() {
        // The first key of a map inside a list item sits on the `- ` line.
        if i > 0 || !out.ends_with("- ") {
            indent(out, level);
        }
        write_string(out, k);
        out.push(':');
        emit_value(out, v, level);
    }
}

fn emit_seq(out: &mut String, a: &[Value], level: usize) {
    for (i, v) in a.iter().enumerate() {
        // The first item of a list inside a list item sits on the `- ` line.
        if i > 0 || !out.ends_with("- ") {
            indent(out, level);
        }
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => emit_map(out, m, level + 2),
            Value::Array(inner) if !inner.is_empty() => emit_seq(out, inner, level + 2),
            other => {
                write_scalar(out, other);
                out.push('\n');
            }
        }
    }
}

/// Emits the value of a map entry, after its `key:`.
fn emit_value(out: &mut String, v: &Value, level: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            emit_map(out, m, level + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            emit_seq(out, a, level);
        }
        other => {
            out.push(' ');
            write_scalar(out, other);
            out.push('\n');
        }
    }
}

fn write_scalar(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(out, s),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

fn scalar(v: &Value) -> String {
    let mut s = String::new();
    write_scalar(&mut s, v);
    s
}

/// Words YAML 1.1 or 1.2 would read as something other than a string.
const RESERVED: [&str; 22] = [
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf", "True", "False",
    "Yes", "No", "On", "Off", "Y", "N", "Null", "NULL", "NaN",
];

/// A string as a plain scalar when that is unambiguous, else double-quoted.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_string(&mut out, s);
    out
}

fn is_plain(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    if b.len() > 200 || !(first.is_ascii_alphabetic() || first == b'_' || first == b'/') {
        return false;
    }
    let last = b[b.len() - 1];
    if last == b' ' || last == b':' {
        return false;
    }
    // One pass: only safe bytes, and no `: `, ` #` or double space.
    let mut prev = 0u8;
    for &c in b {
        let ok = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'_' | b'-' | b'.' | b'/' | b' ' | b':' | b'*' | b'@' | b'+' | b'=' | b','
            );
        if !ok || (prev == b':' && c == b' ') || (prev == b' ' && (c == b'#' || c == b' ')) {
            return false;
        }
        prev = c;
    }
    !(b.len() <= 5 && RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)))
}

/// Writes a string as a plain scalar when that is unambiguous, else double-quoted.
fn write_string(q: &mut String, s: &str) {
    if is_plain(s) {
        q.push_str(s);
        return;
    }
    q.push('"');
    // Copy runs of characters that need no escape in one go. Printable ASCII
    // is told by its byte alone; other characters are decoded and checked.
    let mut start = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() && !matches!(b, b'"' | b'\\') && !b.is_ascii_control() {
            i += 1;
            continue;
        }
        let Some(c) = s[i..].chars().next() else {
            break;
        };
        let at = i;
        i += c.len_utf8();
        let plain = !matches!(c, '"' | '\\') && !c.is_control() && !invisible(c);
        if plain {
            continue;
        }
        q.push_str(&s[start..at]);
        start = i;
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            '\r' => q.push_str("\\r"),
            // Control and invisible characters are written as escapes, so a
            // reviewer sees `\u202e` where a raw one would reorder the line.
            c if (c as u32) > 0xFFFF => {
                let _ = write!(q, "\\U{:08x}", c as u32);
            }
            c if c.is_control() || invisible(c) => {
                let _ = write!(q, "\\u{:04x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push_str(&s[start..]);
    q.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emits_block_yaml() {
        let v = json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
                "Tags": [{"Key": "team", "Value": "yes"}], "Empty": [], "N": 3}}},
            "List": [[1, 2], {"a": "x: y"}]
        });
        assert_eq!(
            to_yaml(&v),
            "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      Tags:\n      - Key: team\n        Value: \"yes\"\n      Empty: []\n      \"N\": 3\nList:\n- - 1\n  - 2\n- a: \"x: y\"\n"
        );
    }

    #[test]
    fn quotes_what_could_be_misread() {
        for s in [
            "",
            "yes",
            "No",
            "1.0",
            "12:30",
            "a: b",
            "-x",
            "#c",
            "a\nb",
            "${AWS::Region}",
            "x ",
            "'q'",
            "日本",
        ] {
            assert!(string(s).starts_with('"'), "{s}");
        }
        for s in [
            "abc",
            "Glue Job",
            "path/to/x.py",
            "G.1X",
            "AWS::S3::Bucket",
            "s3:GetObject",
            "glue:*",
        ] {
            assert_eq!(string(s), s);
        }
    }
}
