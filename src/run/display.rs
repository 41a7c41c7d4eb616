//! What a run shows: the live status of its nodes and the summary at the end.
//!
//! In: node states as they change, then the final states and reports. Out:
//! text. On a terminal the status block is redrawn in place; otherwise one
//! line is printed per state change, so logs stay readable.

use super::status::{
    CrawlReport, NodeKind, NodeState, NodeStatus, StageReport, human, status_lines,
};
use std::collections::HashMap;
use std::io::Write;

/// The live status.
pub struct Live {
    tty: bool,
    drawn: usize,
    last: Vec<(NodeState, u32)>,
    /// The lines drawn last (terminal only), redrawn when they change.
    shown: Vec<String>,
}

impl Live {
    pub fn new(tty: bool) -> Live {
        Live {
            tty,
            drawn: 0,
            last: Vec::new(),
            shown: Vec::new(),
        }
    }

    /// The text to print for the nodes' new states.
    pub fn update(&mut self, nodes: &[NodeStatus]) -> String {
        let now: Vec<(NodeState, u32)> = nodes.iter().map(|n| (n.state, n.attempt)).collect();
        let mut out = String::new();
        if self.tty {
            let lines = status_lines(nodes);
            if lines == self.shown {
                return out;
            }
            if self.drawn > 0 {
                out.push_str(&format!("\x1b[{}A", self.drawn));
            }
            for line in &lines {
                out.push_str("\x1b[2K");
                out.push_str(line);
                out.push('\n');
            }
            self.drawn = nodes.len();
            self.shown = lines;
        } else {
            let lines = status_lines(nodes);
            for (i, line) in lines.iter().enumerate() {
                let before = self.last.get(i).copied();
                let changed = before != Some(now[i]);
                let first = before.is_none();
                // The first picture shows only what started; pending nodes come later.
                if changed && !(first && now[i].0 == NodeState::Pending) {
                    out.push_str(line.trim_end());
                    out.push('\n');
                }
            }
        }
        self.last = now;
        out
    }

    /// Prints an update on stderr.
    pub fn show(&mut self, nodes: &[NodeStatus]) {
        let text = self.update(nodes);
        if !text.is_empty() {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text.as_bytes());
            let _ = err.flush();
        }
    }
}

/// The summary table after the run, and the first error.
pub fn summary(
    nodes: &[NodeStatus],
    stages: &HashMap<String, StageReport>,
    crawls: &HashMap<String, CrawlReport>,
) -> String {
    let mut out = String::from("\nsummary\n");
    let width = nodes
        .iter()
        .map(|n| n.name.chars().count())
        .max()
        .unwrap_or(0);
    for n in nodes {
        let elapsed = if n.state == NodeState::NotRun {
            String::new()
        } else {
            human(n.elapsed)
        };
        out.push_str(&format!(
            "  {:<7} {:<width$}  {:<9}  {elapsed}\n",
            match n.kind {
                NodeKind::Stage => "stage",
                NodeKind::Crawler => "crawler",
            },
            n.name,
            n.state.word()
        ));
        if let Some(r) = stages.get(&n.name).filter(|_| n.kind == NodeKind::Stage) {
            for (t, rows) in &r.rows_read {
                out.push_str(&format!("      read    {t}: {rows} rows\n"));
            }
            for (t, rows) in &r.rows_written {
                out.push_str(&format!("      wrote   {t}: {rows} rows\n"));
            }
            for (t, rows, deletes) in &r.rows_merged {
                out.push_str(&format!(
                    "      merged  {t}: {rows} rows (upserts {}, deletes {deletes})\n",
                    rows.saturating_sub(*deletes)
                ));
            }
            for q in &r.quality {
                let word = if q.passed { "passed" } else { "FAILED" };
                let reason = q
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({})", r.trim_start_matches('(').trim_end_matches(')')))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "      quality {}: {} {word}{reason}\n",
                    q.table, q.rule
                ));
            }
            for (frame, column, count) in &r.cast_nulls {
                out.push_str(&format!(
                    "      casts   {frame}.{column}: {count} value(s) became null\n"
                ));
            }
        }
        if let Some(c) = crawls.get(&n.name).filter(|_| n.kind == NodeKind::Crawler) {
            for t in &c.tables {
                out.push_str(&format!(
                    "      table   {}: {} partition(s)\n",
                    t.table,
                    t.partitions.len()
                ));
                for d in &t.drift {
                    out.push_str(&format!(
                        "      drift   {}: {}\n",
                        t.table,
                        super::crawl::drift_line(d)
                    ));
                }
            }
        }
    }
    if let Some(n) = nodes
        .iter()
        .find(|n| n.error.is_some() && n.state.is_final() && n.state != NodeState::Succeeded)
        && let Some(e) = &n.error
    {
        out.push_str(&format!(
            "\nerror: {} {} {}: {}\n",
            match n.kind {
                NodeKind::Stage => "stage",
                NodeKind::Crawler => "crawler",
            },
            n.name,
            n.state.word(),
            e.message
        ));
        for l in &e.traceback_tail {
            out.push_str(&format!("  | {l}\n"));
        }
        if let Some(log) = &e.log {
            out.push_str(&format!("  log: {log}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn node(name: &str, state: NodeState) -> NodeStatus {
        NodeStatus {
            name: name.into(),
            kind: NodeKind::Stage,
            state,
            attempt: 1,
            elapsed: Duration::from_millis(1_500),
            error: None,
        }
    }

    #[test]
    fn without_a_terminal_each_change_is_one_line() {
        let mut live = Live::new(false);
        let a = [node("a", NodeState::Running), node("b", NodeState::Pending)];
        assert_eq!(live.update(&a), "  stage   a  running    1.5s\n");
        assert_eq!(live.update(&a), "");
        let b = [
            node("a", NodeState::Succeeded),
            node("b", NodeState::Running),
        ];
        assert_eq!(
            live.update(&b),
            "  stage   a  succeeded  1.5s\n  stage   b  running    1.5s\n"
        );
    }

    #[test]
    fn on_a_terminal_the_block_is_redrawn() {
        let mut live = Live::new(true);
        let a = [node("a", NodeState::Running)];
        assert_eq!(live.update(&a), "\x1b[2K  stage   a  running    1.5s\n");
        let b = [node("a", NodeState::Failed)];
        assert_eq!(
            live.update(&b),
            "\x1b[1A\x1b[2K  stage   a  failed     1.5s\n"
        );
    }
}
