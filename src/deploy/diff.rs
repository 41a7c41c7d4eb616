//! The diff phase (`pipec diff`): what a deploy would change. Read only.
//!
//! In: planned pipelines and the stacks to compare. Out: for each stack, the
//! deployed template (GetTemplate) against the rendered one, both normalized
//! so that formatting alone is no difference, and its tags; for each job
//! script, whether its content-hash key is in the artifacts bucket with the
//! same text. Printed as text (a unified diff, coloured on a terminal), JSON
//! or Markdown; `Outcome::Failed` when anything differs. Errors: `DiffError`.

use super::plan::Pipeline;
use super::{Aws, Outcome};
use similar::TextDiff;
use std::collections::BTreeMap;
use std::io::Write;

/// Output formats of `pipec diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// What can stop a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffError {
    Api { stack: String, detail: String },
    Plan(String),
}

impl DiffError {
    pub fn message(&self) -> String {
        match self {
            DiffError::Api { stack, detail } => format!("cannot read stack {stack}: {detail}"),
            DiffError::Plan(e) => e.clone(),
        }
    }
}

/// How one stack or script compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Unchanged,
    Changed,
    New,
}

impl State {
    fn word(self) -> &'static str {
        match self {
            State::Unchanged => "unchanged",
            State::Changed => "changed",
            State::New => "new",
        }
    }
}

/// The comparison of one stack.
#[derive(Debug, Clone)]
pub struct StackDiff {
    pub stack_name: String,
    pub state: State,
    /// Unified diff of the normalized templates (empty when unchanged).
    pub diff: String,
    /// Tags that differ, as `key: old -> new`.
    pub tags: Vec<String>,
}

/// The comparison of one script.
#[derive(Debug, Clone)]
pub struct ScriptDiff {
    pub stage: String,
    pub key: String,
    pub state: State,
}

/// Compares one pipeline with what is deployed.
pub async fn compare(
    aws: &Aws,
    p: &Pipeline,
    wanted: &[String],
    account: &str,
) -> Result<(Vec<StackDiff>, Vec<ScriptDiff>), DiffError> {
    let selected = p
        .select(wanted, true, false)
        .map_err(|e| DiffError::Plan(e.message()))?;
    let mut stacks = Vec::new();
    for s in p.stacks.iter().filter(|s| selected.contains(&s.name)) {
        let api = |detail| DiffError::Api {
            stack: s.stack_name.clone(),
            detail,
        };
        let deployed = aws.stack(&s.stack_name).await.map_err(api)?;
        let body = match &deployed {
            Some(d)
                if d.stack_status()
                    != Some(&aws_sdk_cloudformation::types::StackStatus::ReviewInProgress) =>
            {
                aws.template(&s.stack_name).await.map_err(api)?
            }
            _ => None,
        };
        let new = super::plan::normalize(&s.template);
        let Some(body) = body else {
            stacks.push(StackDiff {
                stack_name: s.stack_name.clone(),
                state: State::New,
                diff: unified("/dev/null", &format!("b/{}", s.stack_name), "", &new),
                tags: Vec::new(),
            });
            continue;
        };
        let old = super::plan::normalize(&body);
        let mut tags = Vec::new();
        let have: BTreeMap<String, String> = deployed
            .as_ref()
            .map(|d| {
                d.tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (k, v) in &p.tags {
            match have.get(k) {
                Some(o) if o == v => {}
                Some(o) => tags.push(format!("{k}: {o} -> {v}")),
                None => tags.push(format!("{k}: (none) -> {v}")),
            }
        }
        for (k, o) in &have {
            if !p.tags.contains_key(k) {
                tags.push(format!("{k}: {o} -> (none)"));
            }
        }
        let changed = old != new || !tags.is_empty();
        stacks.push(StackDiff {
            stack_name: s.stack_name.clone(),
            state: if changed {
                State::Changed
            } else {
                State::Unchanged
            },
            diff: if old != new {
                unified(
                    &format!("a/{} (deployed)", s.stack_name),
                    &format!("b/{} (rendered)", s.stack_name),
                    &old,
                    &new,
                )
            } else {
                String::new()
            },
            tags,
        });
    }
    let mut scripts = Vec::new();
    if p.stacks
        .iter()
        .any(|s| selected.contains(&s.name) && p.uses_scripts(s))
    {
        let bucket = p.bucket(account, &aws.region);
        for s in &p.scripts {
            let state = match aws
                .s3
                .get_object()
                .bucket(&bucket)
                .key(&s.s3_key)
                .send()
                .await
            {
                Ok(out) => match out.body.collect().await.map(|b| b.to_vec()) {
                    Ok(b) if b == s.text.as_bytes() => State::Unchanged,
                    _ => State::Changed,
                },
                Err(_) => State::New,
            };
            scripts.push(ScriptDiff {
                stage: s.stage.clone(),
                key: format!("s3://{bucket}/{}", s.s3_key),
                state,
            });
        }
    }
    Ok((stacks, scripts))
}

fn unified(a: &str, b: &str, old: &str, new: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(a, b)
        .to_string()
}

fn colour(diff: &str) -> String {
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

/// Runs `pipec diff` over pipelines and prints the result: the target
/// first, then per pipeline a warning for each committed file that differs
/// from what its source renders, then the stacks and scripts.
pub async fn run(
    aws: &Aws,
    pipelines: &[Pipeline],
    wanted: &[String],
    format: Format,
    target: &super::identity::Target,
) -> Outcome {
    use std::io::IsTerminal;
    let account = target.account.clone();
    let color = format == Format::Text
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let mut any = false;
    let mut json_pipelines = Vec::new();
    let mut out = match format {
        Format::Text => format!("{}\n", target.line()),
        Format::Markdown => format!(
            "Target: account `{}`, region `{}`, endpoint `{}`\n\n",
            target.account, target.region, target.endpoint
        ),
        Format::Json => String::new(),
    };
    for p in pipelines {
        let warnings: Vec<String> = p.findings.iter().map(|f| f.message()).collect();
        any |= !warnings.is_empty();
        let w = super::plan::wanted_in(p, wanted);
        let (stacks, scripts) = match compare(aws, p, &w, &account).await {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {}", e.message());
                return Outcome::Usage;
            }
        };
        let differs = stacks.iter().any(|s| s.state != State::Unchanged)
            || scripts.iter().any(|s| s.state != State::Unchanged);
        any |= differs;
        match format {
            Format::Text => {
                for w in &warnings {
                    out.push_str(&format!("warning: {w}\n"));
                }
                for s in &stacks {
                    out.push_str(&format!("{}: {}\n", s.stack_name, s.state.word()));
                    for t in &s.tags {
                        out.push_str(&format!("  tag {t}\n"));
                    }
                    if s.state != State::New && !s.diff.is_empty() {
                        out.push_str(&if color {
                            colour(&s.diff)
                        } else {
                            s.diff.clone()
                        });
                    }
                }
                for s in scripts.iter().filter(|s| s.state != State::Unchanged) {
                    out.push_str(&format!(
                        "script {}: {} ({})\n",
                        s.stage,
                        s.state.word(),
                        s.key
                    ));
                }
            }
            Format::Markdown => {
                out.push_str(&format!("### pipec diff: pipeline `{}`\n\n", p.name));
                for w in &warnings {
                    out.push_str(&format!("> **Warning:** {w}\n\n"));
                }
                out.push_str("| stack | state |\n| --- | --- |\n");
                for s in &stacks {
                    out.push_str(&format!("| `{}` | {} |\n", s.stack_name, s.state.word()));
                }
                for s in scripts.iter().filter(|s| s.state != State::Unchanged) {
                    out.push_str(&format!("| script `{}` | {} |\n", s.stage, s.state.word()));
                }
                out.push('\n');
                for s in stacks.iter().filter(|s| s.state != State::Unchanged) {
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
                if !differs {
                    out.push_str("No differences.\n\n");
                }
            }
            Format::Json => {
                json_pipelines.push(serde_json::json!({
                    "pipeline": p.name,
                    "warnings": warnings,
                    "stacks": stacks.iter().map(|s| serde_json::json!({
                        "stack_name": s.stack_name,
                        "state": s.state.word(),
                        "diff": s.diff,
                        "tags": s.tags,
                    })).collect::<Vec<_>>(),
                    "scripts": scripts.iter().map(|s| serde_json::json!({
                        "stage": s.stage,
                        "key": s.key,
                        "state": s.state.word(),
                    })).collect::<Vec<_>>(),
                }));
            }
        }
    }
    if format == Format::Json {
        out = serde_json::json!({
            "target": target.json(),
            "differs": any,
            "pipelines": json_pipelines,
        })
        .to_string();
        out.push('\n');
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    if any { Outcome::Failed } else { Outcome::Done }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_marks_added_and_removed_lines() {
        let d = unified("a", "b", "x: 1\n", "x: 2\n");
        let c = colour(&d);
        assert!(c.contains("\x1b[31m-x: 1"));
        assert!(c.contains("\x1b[32m+x: 2"));
    }
}
