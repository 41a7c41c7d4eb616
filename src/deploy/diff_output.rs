//! How `pipec diff` prints one pipeline's comparison and drift report:
//! text for people (coloured on a terminal), Markdown for a pull request,
//! or a JSON value. No AWS here.
//!
//! In: a `diff::Comparison`, the warnings about edited committed files and,
//! with `--drift`, a `drift::Report`. Out: text or a `serde_json::Value`.

use super::diff::{Comparison, ScriptDiff, State};
use super::drift::Report;

/// Text: each stack's state and template diff, each changed script with its
/// unified diff, then the drift report.
pub fn text(cmp: &Comparison, warnings: &[String], drift: Option<&Report>, color: bool) -> String {
    let paint = |d: &str| if color { colour(d) } else { d.to_string() };
    let mut out = String::new();
    for w in warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    for s in &cmp.stacks {
        out.push_str(&format!("{}: {}\n", s.stack_name, s.state.word()));
        for t in &s.tags {
            out.push_str(&format!("  tag {t}\n"));
        }
        if s.state != State::New && !s.diff.is_empty() {
            out.push_str(&paint(&s.diff));
        }
    }
    for s in cmp.scripts.iter().filter(|s| s.state != State::Unchanged) {
        out.push_str(&format!(
            "script {}: {} ({})\n",
            s.stage,
            s.state.word(),
            script_where(s)
        ));
        if let Some(n) = &s.note {
            out.push_str(&format!("  note: {n}\n"));
        }
        out.push_str(&paint(&s.diff));
    }
    if let Some(r) = drift {
        out.push_str(&paint_drift(&r.text(), color));
    }
    out
}

/// Markdown: a table of states, then a collapsed diff per changed stack
/// and script, then the drift report.
pub fn markdown(
    name: &str,
    cmp: &Comparison,
    warnings: &[String],
    drift: Option<&Report>,
) -> String {
    let mut out = String::new();
    out.push_str(&format!("### pipec diff: pipeline `{}`\n\n", name));
    for w in warnings {
        out.push_str(&format!("> **Warning:** {w}\n\n"));
    }
    out.push_str("| stack | state |\n| --- | --- |\n");
    for s in &cmp.stacks {
        out.push_str(&format!("| `{}` | {} |\n", s.stack_name, s.state.word()));
    }
    for s in cmp.scripts.iter().filter(|s| s.state != State::Unchanged) {
        out.push_str(&format!("| script `{}` | {} |\n", s.stage, s.state.word()));
    }
    out.push('\n');
    for s in cmp.stacks.iter().filter(|s| s.state != State::Unchanged) {
        out.push_str(&format!(
            "<details><summary><code>{}</code> ({})</summary>\n\n",
            s.stack_name,
            s.state.word()
        ));
        for t in &s.tags {
            out.push_str(&format!("- tag {t}\n"));
        }
        if !s.diff.is_empty() {
            out.push_str(&format!("\n```diff\n{}```\n", s.diff));
        }
        out.push_str("\n</details>\n\n");
    }
    for s in cmp
        .scripts
        .iter()
        .filter(|s| !s.diff.is_empty() || s.note.is_some())
    {
        out.push_str(&format!(
            "<details><summary>script <code>{}</code> ({})</summary>\n\n",
            s.stage,
            s.state.word()
        ));
        if let Some(n) = &s.note {
            out.push_str(&format!("- {n}\n"));
        }
        if !s.diff.is_empty() {
            out.push_str(&format!("\n```diff\n{}```\n", s.diff));
        }
        out.push_str("\n</details>\n\n");
    }
    if let Some(r) = drift {
        out.push_str(&r.markdown());
    }
    if !cmp.differs() && !drift.is_some_and(|r| r.drifted()) {
        out.push_str("No differences.\n\n");
    }
    out
}

/// JSON: the pipeline's stacks and scripts, with `drift` when asked.
pub fn json(
    name: &str,
    cmp: &Comparison,
    warnings: &[String],
    drift: Option<&Report>,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "pipeline": name,
        "warnings": warnings,
        "stacks": cmp.stacks.iter().map(|s| serde_json::json!({
            "stack_name": s.stack_name,
            "state": s.state.word(),
            "diff": s.diff,
            "tags": s.tags,
        })).collect::<Vec<_>>(),
        "scripts": cmp.scripts.iter().map(|s| serde_json::json!({
            "stage": s.stage,
            "key": s.key,
            "state": s.state.word(),
            "deployed_key": s.deployed_key,
            "diff": s.diff,
            "note": s.note,
        })).collect::<Vec<_>>(),
    });
    if let (Some(r), Some(o)) = (drift, v.as_object_mut()) {
        o.insert("drift".into(), r.json());
    }
    v
}

pub fn colour(diff: &str) -> String {
    let mut out = String::new();
    for line in diff.lines() {
        let code = if line.starts_with("+++") || line.starts_with("---") {
            "1"
        } else if line.starts_with('+') {
            "32"
        } else if line.starts_with('-') {
            "31"
        } else if line.starts_with("@@") {
            "36"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&format!("\x1b[{code}m{line}\x1b[0m"));
        }
        out.push('\n');
    }
    out
}

/// What a script line says beside its state: the new key, and the deployed
/// one when it is another.
fn script_where(s: &ScriptDiff) -> String {
    match &s.deployed_key {
        Some(k) if !s.key.ends_with(&format!("/{k}")) => {
            format!("{}, deployed {k}", s.key)
        }
        _ => s.key.clone(),
    }
}

/// Drift lines in red on a terminal where they say something drifted.
fn paint_drift(text: &str, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    text.lines()
        .map(|l| {
            if l.contains("drifted") || l.contains("failed") || l.contains("missing") {
                format!("\x1b[31m{l}\x1b[0m\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_marks_added_and_removed_lines() {
        let d = "--- a\n+++ b\n@@ -1 +1 @@\n-x: 1\n+x: 2\n";
        let c = colour(d);
        assert!(c.contains("\x1b[31m-x: 1"));
        assert!(c.contains("\x1b[32m+x: 2"));
        assert!(c.contains("\x1b[1m--- a"));
    }
}
