//! The run as a state machine: which triggers fire, which nodes start, when
//! a node is retried or timed out.
//!
//! In: a `Plan` and an `Executor` (which starts, stops and waits for nodes
//! and owns the clock). Out: the final `NodeStatus` of every node. No I/O of
//! its own, so tests drive it with a fake executor and a fake clock.
//!
//! Glue's rules, as documented for workflows and jobs
//! (https://docs.aws.amazon.com/glue/latest/dg/workflows_overview.html,
//! https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-job.html):
//! each conditional trigger fires at most once per run; ALL needs every
//! watched node in its state, ANY one of them; `MaxRetries` retries a run
//! that FAILED (not one that timed out); a run past its timeout is stopped
//! with state TIMEOUT.

use super::plan::{Logic, Plan, StartNode};
use super::status::{NodeError, NodeState, NodeStatus};
use std::collections::VecDeque;
use std::time::Duration;

/// What ended one attempt of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub node: usize,
    /// Succeeded, Failed, Stopped or Cancelled.
    pub state: NodeState,
    pub error: Option<NodeError>,
}

/// Runs nodes for the engine. Time is the executor's: `now` since the run
/// began.
pub trait Executor {
    /// Starts an attempt of a node (1 for the first).
    fn start(&mut self, node: usize, attempt: u32, arguments: &[(String, String)]);
    /// Stops a running node (its timeout passed). It still reports
    /// `Finished` later, or not at all; the engine has already moved on.
    fn stop(&mut self, node: usize);
    /// Waits until an attempt ends or `deadline` (since the run began)
    /// passes; returns what ended (possibly nothing).
    fn wait(&mut self, deadline: Option<Duration>) -> Vec<Finished>;
    /// Time since the run began.
    fn now(&self) -> Duration;
    /// The nodes' states changed (for the live display).
    fn changed(&mut self, _nodes: &[NodeStatus]) {}
}

#[derive(Debug, Clone)]
struct Running {
    started: Duration,
    deadline: Option<Duration>,
    /// The attempt's timeout as started, reused by retries.
    timeout: Option<Duration>,
    arguments: Vec<(String, String)>,
}

/// A node waiting for a free slot: its index, timeout and arguments.
type Queued = (usize, Option<Duration>, Vec<(String, String)>);

/// Runs the plan to its end with at most `jobs` nodes at a time.
pub fn run(plan: &Plan, exec: &mut dyn Executor, jobs: usize) -> Vec<NodeStatus> {
    let jobs = jobs.max(1);
    let mut nodes: Vec<NodeStatus> = plan
        .nodes
        .iter()
        .map(|n| NodeStatus {
            name: n.name.clone(),
            kind: n.kind,
            state: NodeState::Pending,
            attempt: 0,
            elapsed: Duration::ZERO,
            error: None,
        })
        .collect();
    let mut running: Vec<Option<Running>> = vec![None; nodes.len()];
    let mut fired = vec![false; plan.triggers.len()];
    // Nodes started by a trigger and waiting for a free slot.
    let mut queue: VecDeque<Queued> = VecDeque::new();
    let timeout_of = |s: &StartNode| {
        s.timeout_minutes
            .or(plan.nodes[s.node].timeout_minutes)
            .map(|m| Duration::from_secs(u64::from(m) * 60))
    };
    let mut queued = vec![false; nodes.len()];
    // Time spent in attempts that ended, per node.
    let mut spent = vec![Duration::ZERO; nodes.len()];
    let enqueue = |s: &StartNode,
                   queue: &mut VecDeque<_>,
                   queued: &mut Vec<bool>,
                   nodes: &Vec<NodeStatus>| {
        // A node runs once per run: a second trigger naming it does not restart it.
        if !queued[s.node] && nodes[s.node].state == NodeState::Pending {
            queued[s.node] = true;
            queue.push_back((s.node, timeout_of(s), s.arguments.clone()));
        }
    };
    for s in &plan.first {
        enqueue(s, &mut queue, &mut queued, &nodes);
    }
    loop {
        let mut changed = false;
        while running.iter().flatten().count() < jobs {
            let Some((node, timeout, arguments)) = queue.pop_front() else {
                break;
            };
            let now = exec.now();
            nodes[node].state = NodeState::Running;
            nodes[node].attempt += 1;
            exec.start(node, nodes[node].attempt, &arguments);
            running[node] = Some(Running {
                started: now,
                deadline: timeout.map(|t| now + t),
                timeout,
                arguments,
            });
            changed = true;
        }
        if changed {
            exec.changed(&nodes);
        }
        if running.iter().all(Option::is_none) {
            break;
        }
        let deadline = running.iter().flatten().filter_map(|r| r.deadline).min();
        let ended = exec.wait(deadline);
        let now = exec.now();
        let mut settled = Vec::new();
        for f in ended {
            let Some(r) = running[f.node].take() else {
                continue; // Already timed out.
            };
            spent[f.node] += now.saturating_sub(r.started);
            nodes[f.node].elapsed = spent[f.node];
            let retry =
                f.state == NodeState::Failed && nodes[f.node].attempt <= plan.nodes[f.node].retries;
            nodes[f.node].error = f.error;
            if retry {
                queue.push_front((f.node, r.timeout, r.arguments));
                nodes[f.node].state = NodeState::Pending;
            } else {
                nodes[f.node].state = f.state;
                settled.push(f.node);
            }
        }
        for (i, slot) in running.iter_mut().enumerate() {
            if let Some(r) = slot
                && r.deadline.is_some_and(|d| now >= d)
            {
                spent[i] += now.saturating_sub(r.started);
                nodes[i].elapsed = spent[i];
                nodes[i].state = NodeState::Timeout;
                nodes[i].error = Some(NodeError {
                    message: format!(
                        "timed out after {}",
                        super::status::human(r.timeout.unwrap_or_default())
                    ),
                    ..NodeError::default()
                });
                exec.stop(i);
                *slot = None;
                settled.push(i);
            }
        }
        for (i, r) in running.iter().enumerate() {
            if let Some(r) = r {
                nodes[i].elapsed = spent[i] + now.saturating_sub(r.started);
            }
        }
        if plan.follow_triggers && !settled.is_empty() {
            for (t, trigger) in plan.triggers.iter().enumerate() {
                let Some((logic, conds)) = &trigger.when else {
                    continue;
                };
                if fired[t] {
                    continue;
                }
                let holds = |&(n, s): &(usize, NodeState)| nodes[n].state == s;
                let fire = match logic {
                    Logic::All => conds.iter().all(holds),
                    Logic::Any => conds.iter().any(holds),
                };
                if fire {
                    fired[t] = true;
                    for s in &trigger.start {
                        enqueue(s, &mut queue, &mut queued, &nodes);
                    }
                }
            }
        }
        exec.changed(&nodes);
    }
    for n in &mut nodes {
        if n.state == NodeState::Pending {
            n.state = NodeState::NotRun;
        }
    }
    exec.changed(&nodes);
    nodes
}

/// Whether every node that ran succeeded (the run's exit is 0).
pub fn all_succeeded(nodes: &[NodeStatus]) -> bool {
    nodes
        .iter()
        .all(|n| matches!(n.state, NodeState::Succeeded | NodeState::NotRun))
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
