//! The states of one pipeline run's nodes, and the reports they end with,
//! shared by local runs and runs on AWS.
//!
//! In: node states as a run changes them. Out: the live status lines and the
//! final summary table as text. Both runners fill these types; neither prints
//! on its own.

use std::time::Duration;

/// What a node of the workflow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    Stage,
    Crawler,
}

/// A node's state, with Glue's job-run and crawl states where they exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeState {
    /// Not started yet: no trigger has started it.
    Pending,
    Running,
    Succeeded,
    Failed,
    Timeout,
    Stopped,
    /// Crawlers only (Glue's CANCELLED crawl).
    Cancelled,
    /// The run ended and no trigger started this node.
    NotRun,
}

impl NodeState {
    /// Whether the node has finished (one of the states triggers watch).
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            NodeState::Pending | NodeState::Running | NodeState::NotRun
        )
    }

    /// The word shown for the state.
    pub fn word(self) -> &'static str {
        match self {
            NodeState::Pending => "pending",
            NodeState::Running => "running",
            NodeState::Succeeded => "succeeded",
            NodeState::Failed => "failed",
            NodeState::Timeout => "timeout",
            NodeState::Stopped => "stopped",
            NodeState::Cancelled => "cancelled",
            NodeState::NotRun => "not run",
        }
    }
}

/// Why a node failed: the first error, the tail of its traceback, and where
/// its whole log is (a local file, or a CloudWatch log group and stream).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeError {
    pub message: String,
    pub traceback_tail: Vec<String>,
    pub log: Option<String>,
}

/// One node's status at a moment of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    pub name: String,
    pub kind: NodeKind,
    pub state: NodeState,
    /// 1 for the first attempt; retries count up.
    pub attempt: u32,
    /// Time spent running so far (or in all, once final).
    pub elapsed: Duration,
    pub error: Option<NodeError>,
}

/// What a stage did, as far as the runner can tell (empty on AWS where
/// Glue does not report it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageReport {
    /// Rows read per input table, in declaration order.
    pub rows_read: Vec<(String, u64)>,
    /// Rows written per output table, in declaration order.
    pub rows_written: Vec<(String, u64)>,
    /// Per Iceberg table merged into: the merge source's rows, and how many
    /// of them delete their key's row (the rest update or insert).
    pub rows_merged: Vec<(String, u64, u64)>,
    /// Data-quality outcomes: table, rule, passed, and the reason when not.
    pub quality: Vec<QualityOutcome>,
    /// Values that casts turned into nulls, per frame and column.
    pub cast_nulls: Vec<(String, String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualityOutcome {
    pub table: String,
    pub rule: String,
    pub passed: bool,
    pub reason: Option<String>,
}

/// What a crawler found, per table it crawls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrawlReport {
    pub tables: Vec<CrawledTable>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrawledTable {
    pub table: String,
    /// Partition values found, one entry per partition (`country=France`).
    pub partitions: Vec<String>,
    /// How the crawled schema differs from the declared one.
    pub drift: Vec<Drift>,
}

/// One difference between a crawled schema and the declared one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// A column the data has and the declaration lacks.
    Appeared { column: String, found: String },
    /// A declared column the data lacks.
    Vanished { column: String, declared: String },
    /// A column whose crawled type is not the declared one.
    ChangedType {
        column: String,
        declared: String,
        found: String,
    },
}

/// Elapsed time as people read it: `850ms`, `4.2s`, `3m07s`.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms / 1_000) % 60)
    }
}

/// One status line per node: `  clean      running    4.2s`.
pub fn status_lines(nodes: &[NodeStatus]) -> Vec<String> {
    let width = nodes
        .iter()
        .map(|n| n.name.chars().count())
        .max()
        .unwrap_or(0);
    nodes
        .iter()
        .map(|n| {
            let kind = match n.kind {
                NodeKind::Stage => "stage",
                NodeKind::Crawler => "crawler",
            };
            let attempt = if n.attempt > 1 {
                format!(" (attempt {})", n.attempt)
            } else {
                String::new()
            };
            let elapsed = if matches!(n.state, NodeState::Pending | NodeState::NotRun) {
                String::new()
            } else {
                human(n.elapsed)
            };
            format!(
                "  {kind:<7} {:<width$}  {:<9}  {elapsed}{attempt}",
                n.name,
                n.state.word()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_reads_as_people_write_it() {
        assert_eq!(human(Duration::from_millis(850)), "850ms");
        assert_eq!(human(Duration::from_millis(4_249)), "4.2s");
        assert_eq!(human(Duration::from_secs(187)), "3m07s");
    }

    #[test]
    fn status_lines_align_names_and_show_retries() {
        let nodes = [
            NodeStatus {
                name: "clean".into(),
                kind: NodeKind::Stage,
                state: NodeState::Running,
                attempt: 2,
                elapsed: Duration::from_millis(4_200),
                error: None,
            },
            NodeStatus {
                name: "raw".into(),
                kind: NodeKind::Crawler,
                state: NodeState::Pending,
                attempt: 1,
                elapsed: Duration::ZERO,
                error: None,
            },
        ];
        assert_eq!(
            status_lines(&nodes),
            [
                "  stage   clean  running    4.2s (attempt 2)",
                "  crawler raw    pending    ",
            ]
        );
    }
}
