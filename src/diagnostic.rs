//! Diagnostics: what every phase reports to the user.
//!
//! In: errors from the parse, schema and semantic phases, each already turned
//! into a `Diagnostic` (a message, a span, a hint). Out: text for people
//! (`FILE:LINE:COL: error: message`, a source excerpt with a caret, a hint)
//! or one JSON object per line for editors and CI.
//!
//! `arrange` puts root causes first: parse-phase errors (which change what
//! every later phase sees), then the schema and semantic errors by position,
//! then follow-ons. A follow-on names the parts of the data (JSON pointers)
//! whose errors could cause it; when such an error is reported, the follow-on
//! becomes a note under it instead of a diagnostic of its own.

use crate::source::{SourceFile, Span};
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One located message. `code` names the check, so tools can filter on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub span: Span,
    pub hint: Option<String>,
    /// Secondary locations, such as the first definition of a duplicate.
    pub notes: Vec<(Span, String)>,
    /// Follow-ons folded into this error (see `arrange`), shown after the hint.
    pub consequences: Vec<(Span, String)>,
    /// Which phase found it: parse-phase errors are the roots of all others.
    pub phase: Phase,
    /// The places in the data (JSON pointers) the diagnostic is about, when known.
    pub pointers: Vec<String>,
    /// For a follow-on: the parts of the data (JSON pointers) whose errors
    /// can cause it. Empty for a root cause.
    pub follows_from: Vec<String>,
}

/// The phase that found a diagnostic, in the order the phases run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Phase {
    /// The file as text and YAML: encoding, size, syntax, duplicate keys, tags.
    Parse,
    /// The JSON Schema.
    Schema,
    /// The semantic checks.
    #[default]
    Semantic,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            hint: None,
            notes: Vec::new(),
            consequences: Vec::new(),
            phase: Phase::Semantic,
            pointers: Vec::new(),
            follows_from: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    pub fn with_hint(mut self, hint: Option<String>) -> Diagnostic {
        self.hint = hint;
        self
    }

    pub fn with_note(mut self, span: Span, note: impl Into<String>) -> Diagnostic {
        self.notes.push((span, note.into()));
        self
    }

    pub fn in_phase(mut self, phase: Phase) -> Diagnostic {
        self.phase = phase;
        self
    }

    /// Says which place in the data (a JSON pointer) the diagnostic is about.
    pub fn about(mut self, pointer: impl Into<String>) -> Diagnostic {
        self.pointers.push(pointer.into());
        self
    }

    /// Marks the diagnostic as a follow-on of any error under these pointers.
    pub fn following(mut self, pointers: Vec<String>) -> Diagnostic {
        self.follows_from = pointers;
        self
    }

    pub fn is_follow_on(&self) -> bool {
        !self.follows_from.is_empty()
    }

    /// Root causes sort first: parse-phase errors, then the other errors and
    /// warnings, then follow-ons that no reported error explains.
    fn rank(&self) -> u8 {
        match (self.phase, self.is_follow_on()) {
            (_, true) => 2,
            (Phase::Parse, false) => 0,
            _ => 1,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic for a terminal: a located headline, the source
    /// line with a caret under the span, then notes and the hint.
    pub fn render_text(&self, file: &SourceFile) -> String {
        let mut out = String::new();
        let s = self.span.start;
        let _ = writeln!(
            out,
            "{}:{}:{}: {}: {}",
            file.name,
            s.line,
            s.col,
            self.severity.label(),
            self.message
        );
        excerpt(&mut out, file, self.span);
        let note = |out: &mut String, span: &Span, note: &str| {
            let _ = writeln!(
                out,
                "{}:{}:{}: note: {}",
                file.name, span.start.line, span.start.col, note
            );
            excerpt(out, file, *span);
        };
        for (span, n) in &self.notes {
            note(&mut out, span, n);
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "  = hint: {hint}");
        }
        for (span, n) in &self.consequences {
            note(&mut out, span, n);
        }
        out
    }

    /// Renders the diagnostic as one JSON object (no trailing newline).
    pub fn render_json(&self, file: &SourceFile) -> String {
        #[derive(Serialize)]
        struct Json<'a> {
            file: &'a str,
            line: usize,
            column: usize,
            end_line: usize,
            end_column: usize,
            severity: Severity,
            code: &'a str,
            message: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            hint: Option<&'a str>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            notes: Vec<Note<'a>>,
        }
        #[derive(Serialize)]
        struct Note<'a> {
            line: usize,
            column: usize,
            message: &'a str,
        }
        serde_json::to_string(&Json {
            file: &file.name,
            line: self.span.start.line,
            column: self.span.start.col,
            end_line: self.span.end.line,
            end_column: self.span.end.col,
            severity: self.severity,
            code: self.code,
            message: &self.message,
            hint: self.hint.as_deref(),
            notes: self
                .notes
                .iter()
                .chain(&self.consequences)
                .map(|(span, message)| Note {
                    line: span.start.line,
                    column: span.start.col,
                    message,
                })
                .collect(),
        })
        .expect("diagnostics always serialize")
    }
}

/// Longest source line quoted in an excerpt; longer lines are cut around the caret.
const MAX_EXCERPT: usize = 120;

fn excerpt(out: &mut String, file: &SourceFile, span: Span) {
    let line_no = span.start.line;
    let text = file.line_text(line_no);
    let chars: Vec<char> = text.chars().collect();
    let col0 = span.start.col.saturating_sub(1).min(chars.len());
    let width = if span.end.line == span.start.line && span.end.col > span.start.col {
        span.end.col - span.start.col
    } else {
        1
    };
    // Cut long lines (a minified 50 MB file has one) so that the caret stays in view.
    let (from, prefix) = if chars.len() > MAX_EXCERPT && col0 > MAX_EXCERPT / 2 {
        (col0 - MAX_EXCERPT / 2, "...")
    } else {
        (0, "")
    };
    let to = (from + MAX_EXCERPT).min(chars.len());
    let shown: String = chars[from..to]
        .iter()
        .map(|c| if c.is_control() { ' ' } else { *c })
        .collect();
    let suffix = if to < chars.len() { "..." } else { "" };
    let gutter = line_no.to_string().len();
    let caret_at = prefix.len() + col0 - from;
    let width = width.min(to.saturating_sub(col0).max(1));
    let _ = writeln!(out, "{:gutter$} |", "");
    let _ = writeln!(out, "{line_no} | {prefix}{shown}{suffix}");
    let _ = writeln!(
        out,
        "{:gutter$} | {}{}",
        "",
        " ".repeat(caret_at),
        "^".repeat(width)
    );
}

/// Puts diagnostics in the order they are printed and folds follow-ons into
/// their causes (see the module doc). Exact repeats are dropped.
pub fn arrange(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| {
        (a.rank(), a.span.start, a.severity, &a.message).cmp(&(
            b.rank(),
            b.span.start,
            b.severity,
            &b.message,
        ))
    });
    diags.dedup();
    let roots = diags.iter().take_while(|d| !d.is_follow_on()).count();
    let follow_ons = diags.split_off(roots);
    for f in follow_ons {
        // The follow-on lists its likeliest causes first; only root causes
        // can take it.
        let cause = f.follows_from.iter().find_map(|from| {
            diags[..roots]
                .iter()
                .position(|d| d.is_error() && d.pointers.iter().any(|p| related(p, from)))
        });
        match cause {
            Some(i) => diags[i]
                .consequences
                .push((f.span, format!("as a result, {}", f.message))),
            None => diags.push(f),
        }
    }
}

/// Whether one JSON pointer is the other or lies under it, either way round.
fn related(a: &str, b: &str) -> bool {
    let under = |x: &str, y: &str| {
        x.strip_prefix(y)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    under(a, b) || under(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Pos;

    fn at(line: usize) -> Span {
        Span::point(Pos { line, col: 1 })
    }

    #[test]
    fn a_follow_on_becomes_a_note_of_its_cause() {
        let mut diags = vec![
            Diagnostic::error("unreachable", at(3), "stage `b` can never start")
                .following(vec!["/triggers".into()]),
            Diagnostic::error("unknown", at(9), "unknown stage `bb`").about("/triggers/t/start/0"),
        ];
        arrange(&mut diags);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].message, "unknown stage `bb`");
        assert_eq!(
            diags[0].consequences,
            vec![(at(3), "as a result, stage `b` can never start".to_string())]
        );
    }

    #[test]
    fn a_follow_on_without_a_reported_cause_stays_and_comes_last() {
        let mut diags = vec![
            Diagnostic::error("unreachable", at(3), "stage `b` can never start")
                .following(vec!["/triggers".into()]),
            Diagnostic::error("unknown", at(9), "unknown table `t`").about("/stages/b/inputs/0"),
            Diagnostic::error("syntax", at(20), "duplicate key `x`")
                .in_phase(Phase::Parse)
                .about("/zones/x"),
        ];
        arrange(&mut diags);
        let order: Vec<usize> = diags.iter().map(|d| d.span.start.line).collect();
        assert_eq!(order, vec![20, 9, 3]);
        assert!(diags.iter().all(|d| d.consequences.is_empty()));
    }

    #[test]
    fn pointers_relate_by_whole_tokens() {
        assert!(related("/triggers", "/triggers/a"));
        assert!(related("/triggers/a", "/triggers"));
        assert!(!related("/triggers2", "/triggers"));
        assert!(related("", "/stages"));
    }
}
