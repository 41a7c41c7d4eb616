//! A `Review` as text for a terminal, Markdown for a pull-request comment,
//! or JSON for tools. All of the review's wording is here.
//!
//! In: a `Review`. Out: one string. User text (names, paths, script lines)
//! goes into Markdown inside code spans or fenced blocks only, with
//! backticks and fences defused, so a change cannot forge the comment's
//! structure.

use super::Concern;
use super::compare::{PipelineReview, Review, Status};
use crate::impact::iam::{Effect, GrantChange, IamChange};
use crate::impact::{Change, Grade};
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

pub fn render(r: &Review, format: Format) -> String {
    match format {
        Format::Text => text(r),
        Format::Markdown => markdown(r),
        Format::Json => json(r),
    }
}

fn concern_line(c: Concern) -> &'static str {
    match c {
        Concern::IamWidening => "IAM widening: a role or policy grants more than before",
        Concern::DataLoss => "data at risk: data can be deleted or left behind",
        Concern::BreakingSchema => "breaking schema change: readers of a table break",
    }
}

fn grant_line(g: &GrantChange) -> String {
    let mut s = String::new();
    if g.grant.effect == Effect::Deny {
        s.push_str("DENY ");
    }
    if let Some(p) = &g.grant.principal {
        let _ = write!(s, "{p} ");
    }
    let _ = write!(s, "{} on {}", g.grant.action, g.grant.resource);
    if let Some(c) = &g.grant.condition {
        let _ = write!(s, " when {c}");
    }
    s
}

fn role_title(c: &IamChange) -> String {
    match &c.name {
        Some(n) => format!("{} ({n}, {})", c.logical_id, c.resource_type),
        None => format!("{} ({})", c.logical_id, c.resource_type),
    }
}

fn resource_line(r: &crate::impact::ResourceImpact) -> String {
    let mut s = format!("{} {} ({})", r.change.word(), r.logical_id, r.resource_type);
    if !r.replacing.is_empty() {
        let props: Vec<&str> = r.replacing.iter().map(|p| p.property.as_str()).collect();
        let _ = write!(s, ": {} forces it", props.join(", "));
    } else if !r.properties.is_empty() {
        let _ = write!(s, ": {}", r.properties.join(", "));
    }
    s
}

// ---- text ------------------------------------------------------------------

fn text(r: &Review) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "review: {} -> {}", r.base, r.head);
    if r.pipelines.is_empty() {
        let _ = writeln!(o, "no change to generated/");
        return o;
    }
    for c in &r.concerns {
        let _ = writeln!(o, "! {}", concern_line(*c));
    }
    for p in &r.pipelines {
        let _ = writeln!(
            o,
            "\npipeline {} ({}): {}",
            p.pipeline,
            shown_dir(p),
            p.status.word()
        );
        for s in &p.stacks {
            let _ = writeln!(o, "  stack {}: {}", s.name, s.status.word());
            for res in &s.resources {
                let _ = writeln!(o, "    {}", resource_line(res));
            }
        }
        let roles: Vec<&IamChange> = p.stacks.iter().flat_map(|s| &s.iam).collect();
        if !roles.is_empty() {
            let _ = writeln!(o, "  iam");
            for c in roles {
                let _ = writeln!(o, "    {} {}", role_title(c), c.status_word());
                for g in &c.added {
                    let flag = g
                        .widening
                        .map(|w| format!("  ! {}", w.describe()))
                        .unwrap_or_default();
                    let _ = writeln!(o, "      + {}{flag}", grant_line(g));
                }
                for g in &c.removed {
                    let flag = g
                        .widening
                        .map(|w| format!("  ! {}", w.describe()))
                        .unwrap_or_default();
                    let _ = writeln!(o, "      - {}{flag}", grant_line(g));
                }
            }
        }
        if !p.data_at_risk.is_empty() {
            let _ = writeln!(o, "  data at risk");
            for k in &p.data_at_risk {
                let _ = writeln!(
                    o,
                    "    {} {} ({}): {}",
                    k.stack, k.logical_id, k.resource_type, k.what
                );
            }
        }
        if !p.tables.is_empty() {
            let _ = writeln!(o, "  tables");
            for t in &p.tables {
                let _ = writeln!(o, "    {} {}: {}", grade_word(t.grade), t.table, t.change);
            }
        }
        for s in &p.scripts {
            let _ = writeln!(
                o,
                "  script {} ({}): {}, +{} -{}",
                s.stage,
                s.path,
                s.status.word(),
                s.lines_added,
                s.lines_removed
            );
            for line in s.diff.lines() {
                let _ = writeln!(o, "    {line}");
            }
        }
        let g = &p.graph;
        if !(g.added.is_empty() && g.changed.is_empty() && g.removed.is_empty()) {
            let _ = writeln!(o, "  workflow");
            for (word, list) in [
                ("added", &g.added),
                ("changed", &g.changed),
                ("removed", &g.removed),
            ] {
                if !list.is_empty() {
                    let _ = writeln!(o, "    {word}: {}", list.join(", "));
                }
            }
        }
    }
    o
}

fn grade_word(g: Grade) -> &'static str {
    match g {
        Grade::Breaking => "breaking",
        Grade::Compatible => "compatible",
    }
}

fn shown_dir(p: &PipelineReview) -> String {
    if p.dir.is_empty() {
        "generated/".into()
    } else {
        format!("generated/{}", p.dir)
    }
}

trait StatusWord {
    fn status_word(&self) -> &'static str;
}

impl StatusWord for IamChange {
    fn status_word(&self) -> &'static str {
        match self.status {
            crate::impact::iam::Status::Added => "added",
            crate::impact::iam::Status::Removed => "removed",
            crate::impact::iam::Status::Changed => "changed",
        }
    }
}

// ---- markdown --------------------------------------------------------------

/// Past this many nodes the Markdown draws only the change's neighbourhood.
const MAX_GRAPH_NODES: usize = 60;
/// Script diffs shown in Markdown, in bytes, before the rest are listed only.
const MAX_DIFF_BYTES: usize = 30_000;

/// Inline code: a span fenced with more backticks than the text holds.
fn code(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    // A `|` would end a table cell even inside a code span.
    format!("{fence}{pad}{}{pad}{fence}", s.replace('|', "\\|"))
}

/// A fenced block whose fence is longer than any backtick run inside.
fn fenced(lang: &str, body: &str) -> String {
    let mut longest = 0;
    for line in body.lines() {
        let run = line.trim_start().chars().take_while(|&c| c == '`').count();
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest.max(2) + 1);
    let body = if body.ends_with('\n') {
        body.to_string()
    } else {
        format!("{body}\n")
    };
    format!("{fence}{lang}\n{body}{fence}\n")
}

fn markdown(r: &Review) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "## pipec review\n");
    let _ = writeln!(o, "Compared {} with {}.\n", code(&r.base), code(&r.head));
    if r.pipelines.is_empty() {
        let _ = writeln!(o, "No change to `generated/`.");
        return o;
    }
    if r.concerns.is_empty() {
        let _ = writeln!(
            o,
            "No IAM widening, no data at risk, no breaking schema change.\n"
        );
    } else {
        for c in &r.concerns {
            let _ = writeln!(o, "- :warning: **{}**", concern_line(*c));
        }
        o.push('\n');
    }
    for p in &r.pipelines {
        markdown_pipeline(p, &mut o);
    }
    o
}

fn markdown_pipeline(p: &PipelineReview, o: &mut String) {
    let _ = writeln!(
        o,
        "### Pipeline {} ({}): {}\n",
        code(&p.pipeline),
        code(&shown_dir(p)),
        p.status.word()
    );
    if !p.workflow.nodes.is_empty() {
        let _ = writeln!(
            o,
            "Workflow; added nodes are green, changed ones yellow, removed ones red and dashed.\n"
        );
        if p.workflow.nodes.len() > MAX_GRAPH_NODES {
            let _ = writeln!(
                o,
                "The workflow has {} nodes; shown are the changed ones and their neighbours (`pipec graph` draws it all).\n",
                p.workflow.nodes.len()
            );
            o.push_str(&fenced("mermaid", &p.workflow.around_marks().mermaid()));
        } else {
            o.push_str(&fenced("mermaid", &p.workflow.mermaid()));
        }
        o.push('\n');
    }
    if !p.stacks.is_empty() {
        let _ = writeln!(o, "#### Stacks\n");
        let _ = writeln!(
            o,
            "| stack | status | added | removed | replaced | modified |"
        );
        let _ = writeln!(o, "| --- | --- | ---: | ---: | ---: | ---: |");
        for s in &p.stacks {
            let n = |c: Change| s.resources.iter().filter(|r| r.change == c).count();
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} |",
                code(&s.name),
                s.status.word(),
                n(Change::Added),
                n(Change::Removed),
                n(Change::Replaced) + n(Change::Rejected),
                n(Change::Modified)
            );
        }
        o.push('\n');
        for s in &p.stacks {
            let _ = writeln!(
                o,
                "<details><summary>{} resources</summary>\n",
                html(&s.name)
            );
            for res in &s.resources {
                let mark = match res.change {
                    Change::Replaced | Change::Rejected | Change::Removed => ":warning: ",
                    _ => "",
                };
                let _ = writeln!(o, "- {mark}{}", code(&resource_line(res)));
                for rp in &res.replacing {
                    let _ = writeln!(o, "  - {} ({})", code(&rp.property), rp.doc);
                }
            }
            let _ = writeln!(o, "\n</details>\n");
        }
    }
    let roles: Vec<&IamChange> = p.stacks.iter().flat_map(|s| &s.iam).collect();
    if !roles.is_empty() {
        let _ = writeln!(o, "#### IAM\n");
        // Roles that widen get their grants in full; the others one line
        // each, so that a change to every stage stays readable.
        let (wide, narrow): (Vec<&IamChange>, Vec<&IamChange>) =
            roles.into_iter().partition(|c| c.widens());
        for c in &narrow {
            let _ = writeln!(
                o,
                "- {} {}: {} grant(s) added, {} removed, none widening",
                code(&role_title(c)),
                c.status_word(),
                c.added.len(),
                c.removed.len()
            );
        }
        if !narrow.is_empty() {
            o.push('\n');
        }
        for c in wide {
            let _ = writeln!(
                o,
                ":warning: {} {}\n",
                code(&role_title(c)),
                c.status_word()
            );
            let _ = writeln!(o, "| | grant | widening |");
            let _ = writeln!(o, "| --- | --- | --- |");
            for (sign, list) in [("+", &c.added), ("−", &c.removed)] {
                for g in list {
                    let w = g
                        .widening
                        .map(|w| format!(":warning: {}", w.describe()))
                        .unwrap_or_default();
                    let _ = writeln!(o, "| {sign} | {} | {w} |", code(&grant_line(g)));
                }
            }
            o.push('\n');
        }
    }
    if !p.data_at_risk.is_empty() {
        let _ = writeln!(o, "#### Data at risk\n");
        for k in &p.data_at_risk {
            let _ = writeln!(
                o,
                "- :warning: {} in {}: {}",
                code(&format!("{} ({})", k.logical_id, k.resource_type)),
                code(&k.stack),
                k.what.replace(['<', '>'], "")
            );
        }
        o.push('\n');
    }
    if !p.tables.is_empty() {
        let _ = writeln!(o, "#### Table schemas\n");
        let _ = writeln!(o, "| table | change | for readers |");
        let _ = writeln!(o, "| --- | --- | --- |");
        for t in &p.tables {
            let g = match t.grade {
                Grade::Breaking => ":warning: breaking",
                Grade::Compatible => "compatible",
            };
            let _ = writeln!(o, "| {} | {} | {g} |", code(&t.table), code(&t.change));
        }
        o.push('\n');
    }
    if !p.scripts.is_empty() {
        let _ = writeln!(o, "#### Scripts\n");
        let mut shown = 0usize;
        for s in &p.scripts {
            // GitHub refuses comments over 65,536 characters: past a budget,
            // scripts are listed without their diffs.
            if shown + s.diff.len() > MAX_DIFF_BYTES {
                let _ = writeln!(
                    o,
                    "- {} ({}): {}, +{} −{} (diff left out to keep this comment short; `pipec review` shows it)",
                    code(&s.stage),
                    code(&s.path),
                    s.status.word(),
                    s.lines_added,
                    s.lines_removed
                );
                continue;
            }
            shown += s.diff.len();
            let _ = writeln!(
                o,
                "<details><summary>{} ({}): {}, +{} −{}</summary>\n",
                html(&s.stage),
                html(&s.path),
                s.status.word(),
                s.lines_added,
                s.lines_removed
            );
            o.push_str(&fenced("diff", &s.diff));
            let _ = writeln!(o, "\n</details>\n");
        }
    }
    if p.status == Status::Removed {
        let _ = writeln!(o, "The whole pipeline is gone from `generated/`.\n");
    }
}

/// Text inside HTML (a `<summary>`).
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "&#96;")
}

// ---- json ------------------------------------------------------------------

fn json(r: &Review) -> String {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    // The graph's Mermaid text, so a tool can post it without pipec.
    if let Some(ps) = v.get_mut("pipelines").and_then(|p| p.as_array_mut()) {
        for (p, pr) in ps.iter_mut().zip(&r.pipelines) {
            p["graph"]["mermaid"] = pr.workflow.mermaid().into();
        }
    }
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}
