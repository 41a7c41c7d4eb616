//! Diagnostics: what every phase reports to the user.
//!
//! In: errors from the parse, schema and semantic phases, each already turned
//! into a `Diagnostic` (a message, a span, a hint). Out: text for people
//! (`FILE:LINE:COL: error: message`, a source excerpt with a caret, a hint)
//! or one JSON object per line for editors and CI.

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
        for (span, note) in &self.notes {
            let _ = writeln!(
                out,
                "{}:{}:{}: note: {}",
                file.name, span.start.line, span.start.col, note
            );
            excerpt(&mut out, file, *span);
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "  = hint: {hint}");
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

/// Sorts diagnostics by position so output reads top to bottom, and drops exact repeats.
pub fn sort(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| {
        (a.span.start, a.severity, &a.message).cmp(&(b.span.start, b.severity, &b.message))
    });
    diags.dedup();
}
