//! The parse phase's error type. Every message of the phase is worded here.
//!
//! In: what the parser or the tree builder found (`syntax` names the likely
//! mistake behind a raw parser error). Out: the message and hint of a
//! `Diagnostic`.

use super::{MAX_ALIAS_NODES, MAX_DEPTH};
use crate::diagnostic::{Diagnostic, Phase};
use crate::source::Span;

/// Errors of the parse phase. Their wording lives in `message`.
#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    Syntax(String),
    Empty,
    SecondDocument,
    TooDeep,
    AliasBudget,
    /// An alias (`*name`) with no anchor of that name, and the value it starts.
    UnknownAnchor {
        name: String,
        value: String,
    },
    ComplexKey,
    /// A tab in the indentation; `above` is the indentation of the line
    /// above, and whether that line opens a block (ends with `:`).
    TabIndent {
        above: Option<(usize, bool)>,
    },
    /// A line indented to no level open above it; `fits` are the nearest
    /// levels: (spaces, line, what is there).
    BadIndent {
        found: usize,
        fits: Vec<(usize, usize, String)>,
    },
    /// An unquoted value that starts with a character YAML reserves.
    ReservedStart {
        ch: char,
        value: String,
    },
    /// `{{ ... }}` unquoted, which YAML reads as a mapping in a mapping.
    TemplateBraces(String),
    /// `key:value` without the space after the colon.
    NoSpaceAfterColon {
        written: String,
    },
    /// A key indented under a key that already has a plain value.
    KeyUnderScalar {
        key: String,
        parent: String,
        parent_line: usize,
        parent_indent: usize,
    },
    /// An unquoted value holding `: `.
    ColonInValue {
        value: String,
    },
    /// `key: - item`: a list item on the line of its key.
    ListAfterKey {
        key: String,
    },
    /// A `[` or `{` that is never closed.
    Unclosed {
        open: char,
        line: usize,
    },
    UnsupportedTag(String),
    BadTaggedValue(String),
    DuplicateKey(String),
    BadMerge,
}

impl ParseError {
    pub fn message(&self) -> String {
        match self {
            ParseError::Syntax(info) => format!("invalid YAML: {info}"),
            ParseError::Empty => {
                "the file holds no YAML data: expected a pipeline (a YAML mapping)".into()
            }
            ParseError::SecondDocument => {
                "a pipeline file holds one YAML document, but a second one starts here".into()
            }
            ParseError::TooDeep => {
                format!("the YAML is nested more than {MAX_DEPTH} levels deep")
            }
            ParseError::AliasBudget => {
                format!("aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?)")
            }
            ParseError::UnknownAnchor { name, .. } => {
                format!("`*{name}` is a YAML alias, but no anchor `&{name}` is defined before it")
            }
            ParseError::ComplexKey => "mapping keys must be plain scalars".into(),
            ParseError::TabIndent { .. } => {
                "a tab indents this line, but YAML indents with spaces only".into()
            }
            ParseError::BadIndent { found, .. } => format!(
                "this line is indented {found} space{}, which lines up with nothing above it",
                if *found == 1 { "" } else { "s" }
            ),
            ParseError::ReservedStart { ch, .. } => {
                let what = if *ch == '`' {
                    "a backtick".to_string()
                } else {
                    format!("`{ch}`")
                };
                format!("a value cannot start with {what} unless it is quoted: YAML reserves it")
            }
            ParseError::TemplateBraces(text) => {
                format!("`{text}` is read as a YAML mapping inside a mapping, not as text")
            }
            ParseError::NoSpaceAfterColon { written } => format!(
                "`{written}` has no space after its colon, so YAML reads it as text, not as a key and a value"
            ),
            ParseError::KeyUnderScalar {
                key,
                parent,
                parent_line,
                ..
            } => format!(
                "`{key}` is indented under `{parent}` (line {parent_line}), which already has a value"
            ),
            ParseError::ColonInValue { .. } => {
                "this value holds `: `, which starts a mapping unless the value is quoted".into()
            }
            ParseError::ListAfterKey { key } => {
                format!("a `- ` list item cannot start on the line of its key `{key}`")
            }
            ParseError::Unclosed { open, line } => {
                format!("the `{open}` opened on line {line} is never closed")
            }
            ParseError::UnsupportedTag(t) => {
                format!("YAML tag `{t}` is not supported: pipeline files hold plain data")
            }
            ParseError::BadTaggedValue(t) => format!("this value is not a valid `{t}`"),
            ParseError::DuplicateKey(k) => format!("duplicate key `{k}`"),
            ParseError::BadMerge => {
                "a merge key (`<<`) takes a mapping or a list of mappings".into()
            }
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            ParseError::UnsupportedTag(t) if t.starts_with('!') && !t.starts_with("!!") => Some(
                "CloudFormation intrinsics such as !Ref are written by pipec; name the resource instead".into(),
            ),
            ParseError::DuplicateKey(_) => Some("remove or rename one of the two".into()),
            ParseError::UnknownAnchor { value, .. } => Some(format!(
                "to write text that starts with `*`, quote it: {}",
                quoted(value)
            )),
            ParseError::TabIndent { above } => Some(match above {
                Some((n, true)) => format!(
                    "replace the tab with spaces, more than the line above has ({n}), to nest under it"
                ),
                Some((n, false)) => format!(
                    "replace the tab with spaces, as many as the line above has ({n}), to line up with it"
                ),
                None => "replace the tab with spaces".into(),
            }),
            ParseError::BadIndent { fits, .. } => {
                let ways: Vec<String> = fits
                    .iter()
                    .map(|(n, line, what)| format!("{n} spaces to line up with {what} on line {line}"))
                    .collect();
                Some(format!("indent it {}", ways.join(", or ")))
            }
            ParseError::ReservedStart { value, .. } => Some(format!("quote it: {}", quoted(value))),
            ParseError::TemplateBraces(text) => {
                Some(format!("quote text with braces: {}", quoted(text)))
            }
            ParseError::NoSpaceAfterColon { written } => Some(format!(
                "write `{}`",
                written.replacen(':', ": ", 1)
            )),
            ParseError::KeyUnderScalar {
                key,
                parent,
                parent_indent,
                ..
            } => Some(format!(
                "indent `{key}` {parent_indent} spaces, like `{parent}`, if it is a key of its own; a mapping under `{parent}` needs `{parent}:` alone on its line"
            )),
            ParseError::ColonInValue { value } => Some(format!("quote it: {}", quoted(value))),
            ParseError::ListAfterKey { key } => Some(format!(
                "put each item on its own line below `{key}:`, indented, or write `{key}: [a, b]`"
            )),
            ParseError::Unclosed { open, .. } => Some(format!(
                "close it with `{}` before the next key",
                if *open == '[' { ']' } else { '}' }
            )),
            _ => None,
        }
    }

    pub fn into_diagnostic(self, span: Span) -> Diagnostic {
        let hint = self.hint();
        Diagnostic::error("syntax", span, self.message())
            .with_hint(hint)
            .in_phase(Phase::Parse)
    }
}

/// A value as a quoted YAML scalar: double quotes, or single quotes when it
/// holds a double quote or a backslash.
fn quoted(value: &str) -> String {
    if value.contains(['"', '\\']) {
        format!("'{}'", value.replace('\'', "''"))
    } else {
        format!("\"{value}\"")
    }
}
