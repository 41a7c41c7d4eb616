//! The workflow of one run: nodes (stages and crawlers) and the triggers
//! between them, narrowed by `--from` or `--only`.
//!
//! In: a `ValidPipeline` and where to start. Out: a `Plan` with nodes by
//! index and triggers over them, for the engine; or a usage error worded
//! here (with "did you mean"). Pure: no I/O.

use super::status::{NodeKind, NodeState};
use crate::model::{Action, Condition, Pipeline, State, TriggerKind};
use crate::validate::{ValidPipeline, settings};

/// Where a run starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Start {
    /// The start triggers: on-demand, scheduled and event triggers.
    #[default]
    Triggers,
    /// This stage first, then whatever the triggers start after it.
    From(String),
    /// This stage alone; no trigger fires.
    Only(String),
}

/// One node of the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    /// Retries after a failed attempt (stages; 0 for crawlers).
    pub retries: u32,
    /// The stage's own timeout in minutes (None for crawlers).
    pub timeout_minutes: Option<u32>,
}

/// Whether every condition must hold, or one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logic {
    All,
    Any,
}

/// A node a trigger starts, with the action's own timeout and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartNode {
    pub node: usize,
    pub timeout_minutes: Option<u32>,
    pub arguments: Vec<(String, String)>,
}

/// A trigger: fires when its condition holds (start triggers have none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerPlan {
    pub name: String,
    /// None for a start trigger.
    pub when: Option<(Logic, Vec<(usize, NodeState)>)>,
    pub start: Vec<StartNode>,
}

/// The workflow as the engine runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub nodes: Vec<Node>,
    pub triggers: Vec<TriggerPlan>,
    /// What starts first: stages started at once, and whether conditional
    /// triggers fire afterwards (false for `--only`).
    pub first: Vec<StartNode>,
    pub follow_triggers: bool,
}

impl Plan {
    pub fn index(&self, name: &str, kind: NodeKind) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.name == name && n.kind == kind)
    }
}

fn state(s: State) -> NodeState {
    match s {
        State::Succeeded => NodeState::Succeeded,
        State::Failed => NodeState::Failed,
        State::Timeout => NodeState::Timeout,
        State::Stopped => NodeState::Stopped,
        State::Cancelled => NodeState::Cancelled,
    }
}

/// The plan of a run of `v` from `start`. The error is a usage message.
pub fn plan(v: &ValidPipeline, start: &Start) -> Result<Plan, String> {
    plan_pipeline(v.pipeline(), start)
}

/// As `plan`, on the model (validation has checked every reference).
pub fn plan_pipeline(p: &Pipeline, start: &Start) -> Result<Plan, String> {
    let mut nodes: Vec<Node> = p
        .stages
        .iter()
        .map(|(name, s)| {
            let st = settings(p, s);
            Node {
                name: name.clone(),
                kind: NodeKind::Stage,
                retries: st.retries,
                timeout_minutes: Some(st.timeout_minutes),
            }
        })
        .collect();
    nodes.extend(p.crawlers.keys().map(|name| Node {
        name: name.clone(),
        kind: NodeKind::Crawler,
        retries: 0,
        timeout_minutes: None,
    }));
    let find = |name: &str, kind: NodeKind| {
        nodes
            .iter()
            .position(|n| n.name == name && n.kind == kind)
            .ok_or_else(|| format!("trigger refers to unknown node `{name}`"))
    };
    // A plain name is a stage when a stage has it, else a crawler, as in validation.
    let by_name =
        |name: &str| find(name, NodeKind::Stage).or_else(|_| find(name, NodeKind::Crawler));
    let mut triggers = Vec::new();
    let mut first = Vec::new();
    for (tname, t) in &p.triggers {
        let mut starts = Vec::new();
        for a in &t.start {
            starts.push(match a {
                Action::Name(n) => StartNode {
                    node: by_name(n)?,
                    timeout_minutes: None,
                    arguments: Vec::new(),
                },
                Action::Full(f) => {
                    let node = match (&f.stage, &f.crawler) {
                        (Some(s), _) => find(s, NodeKind::Stage)?,
                        (None, Some(c)) => find(c, NodeKind::Crawler)?,
                        (None, None) => return Err(format!("trigger `{tname}`: empty action")),
                    };
                    StartNode {
                        node,
                        timeout_minutes: f.timeout_minutes,
                        arguments: f
                            .arguments
                            .iter()
                            .map(|(k, v)| (k.trim_start_matches("--").to_string(), v.clone()))
                            .collect(),
                    }
                }
            });
        }
        let when = match (t.kind(), &t.when) {
            (TriggerKind::Conditional, Some(w)) => {
                let (logic, conds) = if w.all.is_empty() {
                    (Logic::Any, &w.any)
                } else {
                    (Logic::All, &w.all)
                };
                let mut list = Vec::new();
                for c in conds {
                    list.push(match c {
                        Condition::Succeeded(n) => (by_name(n)?, NodeState::Succeeded),
                        Condition::Full(f) => {
                            let node = match (&f.stage, &f.crawler) {
                                (Some(s), _) => find(s, NodeKind::Stage)?,
                                (None, Some(c)) => find(c, NodeKind::Crawler)?,
                                (None, None) => {
                                    return Err(format!("trigger `{tname}`: empty condition"));
                                }
                            };
                            (node, state(f.state))
                        }
                    });
                }
                Some((logic, list))
            }
            _ => None,
        };
        if when.is_none() {
            first.extend(starts.iter().cloned());
        }
        triggers.push(TriggerPlan {
            name: tname.clone(),
            when,
            start: starts,
        });
    }
    let stage_names = || {
        nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Stage)
            .map(|n| n.name.as_str())
    };
    let named = |name: &str, flag: &str| -> Result<usize, String> {
        find(name, NodeKind::Stage).map_err(|_| {
            let hint = crate::suggest::did_you_mean(name, stage_names())
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            let known: Vec<&str> = stage_names().collect();
            format!(
                "{flag} {name}: pipeline `{}` has no stage `{name}` (its stages: {}){hint}",
                p.pipeline,
                known.join(", ")
            )
        })
    };
    let (first, follow_triggers) = match start {
        Start::Triggers => {
            if first.is_empty() {
                return Err(format!(
                    "pipeline `{}` has no start trigger (on demand, scheduled or event); run a stage with --from STAGE or --only STAGE",
                    p.pipeline
                ));
            }
            (first, true)
        }
        Start::From(s) | Start::Only(s) => {
            let node = named(
                s,
                if matches!(start, Start::From(_)) {
                    "--from"
                } else {
                    "--only"
                },
            )?;
            let one = vec![StartNode {
                node,
                timeout_minutes: None,
                arguments: Vec::new(),
            }];
            (one, matches!(start, Start::From(_)))
        }
    };
    Ok(Plan {
        nodes,
        triggers,
        first,
        follow_triggers,
    })
}
