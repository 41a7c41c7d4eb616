//! Table tests of the engine with a fake executor and a fake clock: each case
//! is a workflow, a script of how each node's attempts end, and the states,
//! attempts and start times expected.

use super::*;
use crate::run::plan::{Logic, Node, Plan, Start, StartNode, TriggerPlan, plan_pipeline};
use crate::run::status::NodeKind;

/// A fake executor: attempt `k` of a node ends as its script says, after
/// its seconds; the clock jumps to the next end or deadline.
struct Fake {
    now: Duration,
    /// Per node: (state, seconds) per attempt; missing attempts succeed in 1 s.
    script: Vec<Vec<(NodeState, u64)>>,
    running: Vec<(usize, Duration, NodeState)>,
    /// (node, attempt, start second), in start order.
    started: Vec<(usize, u32, u64)>,
    stopped: Vec<usize>,
    most: usize,
}

impl Executor for Fake {
    fn start(&mut self, node: usize, attempt: u32, _arguments: &[(String, String)]) {
        let (state, secs) = self.script[node]
            .get(attempt as usize - 1)
            .copied()
            .unwrap_or((NodeState::Succeeded, 1));
        self.running
            .push((node, self.now + Duration::from_secs(secs), state));
        self.started.push((node, attempt, self.now.as_secs()));
        self.most = self.most.max(self.running.len());
    }
    fn stop(&mut self, node: usize) {
        self.stopped.push(node);
        self.running.retain(|r| r.0 != node);
    }
    fn wait(&mut self, deadline: Option<Duration>) -> Vec<Finished> {
        let next = self.running.iter().map(|r| r.1).min();
        match (next, deadline) {
            (Some(n), Some(d)) if d < n => {
                self.now = d;
                return Vec::new();
            }
            (None, Some(d)) => {
                self.now = d;
                return Vec::new();
            }
            (None, None) => return Vec::new(),
            (Some(n), _) => self.now = n,
        }
        let now = self.now;
        let (ended, rest): (Vec<_>, Vec<_>) = self.running.drain(..).partition(|r| r.1 == now);
        self.running = rest;
        ended
            .into_iter()
            .map(|(node, _, state)| Finished {
                node,
                state,
                error: None,
            })
            .collect()
    }
    fn now(&self) -> Duration {
        self.now
    }
}

fn state(word: &str) -> NodeState {
    match word {
        "succeeded" => NodeState::Succeeded,
        "failed" => NodeState::Failed,
        "timeout" => NodeState::Timeout,
        "stopped" => NodeState::Stopped,
        "cancelled" => NodeState::Cancelled,
        "not-run" => NodeState::NotRun,
        other => panic!("unknown state {other}"),
    }
}

/// A workflow in a line per trigger: `start: a b` or `all a b:failed -> c d`
/// (`any` likewise). Nodes are `name` or `name/retries/timeout-minutes`;
/// a name starting with `~` is a crawler.
fn workflow(nodes: &str, triggers: &[&str], start: Start) -> Plan {
    let nodes: Vec<Node> = nodes
        .split_whitespace()
        .map(|n| {
            let mut parts = n.split('/');
            let name = parts.next().unwrap_or_default();
            let retries = parts.next().map_or(0, |r| r.parse().unwrap());
            let timeout = parts.next().map(|t| t.parse().unwrap());
            let crawler = name.starts_with('~');
            Node {
                name: name.trim_start_matches('~').to_string(),
                kind: if crawler {
                    NodeKind::Crawler
                } else {
                    NodeKind::Stage
                },
                retries,
                timeout_minutes: timeout,
            }
        })
        .collect();
    let idx = |n: &str| {
        nodes
            .iter()
            .position(|x| x.name == n)
            .unwrap_or_else(|| panic!("no node {n}"))
    };
    let starts = |list: &str| -> Vec<StartNode> {
        list.split_whitespace()
            .map(|n| StartNode {
                node: idx(n),
                timeout_minutes: None,
                arguments: Vec::new(),
            })
            .collect()
    };
    let mut plan_triggers = Vec::new();
    let mut first = Vec::new();
    for (i, t) in triggers.iter().enumerate() {
        if let Some(list) = t.strip_prefix("start:") {
            first.extend(starts(list));
            plan_triggers.push(TriggerPlan {
                name: format!("t{i}"),
                when: None,
                start: starts(list),
            });
            continue;
        }
        let (cond, list) = t.split_once("->").unwrap();
        let mut words = cond.split_whitespace();
        let logic = match words.next() {
            Some("all") => Logic::All,
            Some("any") => Logic::Any,
            other => panic!("bad logic {other:?}"),
        };
        let conds = words
            .map(|w| {
                let (n, s) = w.split_once(':').unwrap_or((w, "succeeded"));
                (idx(n), state(s))
            })
            .collect();
        plan_triggers.push(TriggerPlan {
            name: format!("t{i}"),
            when: Some((logic, conds)),
            start: starts(list),
        });
    }
    let (first, follow) = match start {
        Start::Triggers => (first, true),
        Start::From(s) => (starts(&s), true),
        Start::Only(s) => (starts(&s), false),
    };
    Plan {
        nodes,
        triggers: plan_triggers,
        first,
        follow_triggers: follow,
    }
}

struct Case {
    name: &'static str,
    nodes: &'static str,
    triggers: &'static [&'static str],
    start: Start,
    jobs: usize,
    /// `node: state/secs state/secs ...` per attempt.
    script: &'static [&'static str],
    /// `node state attempts start-second` for every node (start `-` if it never ran).
    expect: &'static [&'static str],
}

fn check(c: &Case) {
    let plan = workflow(c.nodes, c.triggers, c.start.clone());
    run_case(c.name, &plan, c.jobs, c.script, c.expect);
}

fn run_case(name: &str, plan: &Plan, jobs: usize, script: &[&str], expect: &[&str]) {
    let mut fake = Fake {
        now: Duration::ZERO,
        script: vec![Vec::new(); plan.nodes.len()],
        running: Vec::new(),
        started: Vec::new(),
        stopped: Vec::new(),
        most: 0,
    };
    for line in script {
        let (node, attempts) = line.split_once(':').unwrap();
        let i = plan
            .nodes
            .iter()
            .position(|n| n.name == node.trim())
            .unwrap();
        fake.script[i] = attempts
            .split_whitespace()
            .map(|a| {
                let (s, secs) = a.split_once('/').unwrap();
                (state(s), secs.parse().unwrap())
            })
            .collect();
    }
    let out = run(plan, &mut fake, jobs);
    assert!(
        fake.most <= jobs,
        "{name}: {} at once with --jobs {jobs}",
        fake.most
    );
    let got: Vec<String> = out
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let first = fake
                .started
                .iter()
                .find(|s| s.0 == i)
                .map_or("-".to_string(), |s| s.2.to_string());
            format!(
                "{} {} {} {first}",
                n.name,
                n.state.word().replace(' ', "-"),
                n.attempt
            )
        })
        .collect();
    assert_eq!(got, expect, "case {name}");
}

#[test]
fn workflows_run_as_glue_runs_them() {
    let cases = [
        Case {
            name: "a chain runs in order",
            nodes: "a b c",
            triggers: &["start: a", "all a -> b", "all b -> c"],
            start: Start::Triggers,
            jobs: 4,
            script: &["a: succeeded/2", "b: succeeded/3"],
            expect: &["a succeeded 1 0", "b succeeded 1 2", "c succeeded 1 5"],
        },
        Case {
            name: "all waits for every node",
            nodes: "a b c",
            triggers: &["start: a b", "all a b -> c"],
            start: Start::Triggers,
            jobs: 4,
            script: &["a: succeeded/1", "b: succeeded/5"],
            expect: &["a succeeded 1 0", "b succeeded 1 0", "c succeeded 1 5"],
        },
        Case {
            name: "any fires on the first and only once",
            nodes: "a b c",
            triggers: &["start: a b", "any a b -> c"],
            start: Start::Triggers,
            jobs: 4,
            script: &["a: succeeded/1", "b: succeeded/5", "c: succeeded/1"],
            expect: &["a succeeded 1 0", "b succeeded 1 0", "c succeeded 1 1"],
        },
        Case {
            name: "all does not fire when one failed",
            nodes: "a b c",
            triggers: &["start: a b", "all a b -> c"],
            start: Start::Triggers,
            jobs: 4,
            script: &["a: failed/1"],
            expect: &["a failed 1 0", "b succeeded 1 0", "c not-run 0 -"],
        },
        Case {
            name: "a failure branch runs on failed",
            nodes: "load ok alert",
            triggers: &[
                "start: load",
                "all load -> ok",
                "any load:failed load:timeout -> alert",
            ],
            start: Start::Triggers,
            jobs: 4,
            script: &["load: failed/3"],
            expect: &["load failed 1 0", "ok not-run 0 -", "alert succeeded 1 3"],
        },
        Case {
            name: "retries rerun a failed stage and the last attempt counts",
            nodes: "a/2 b",
            triggers: &["start: a", "all a -> b"],
            start: Start::Triggers,
            jobs: 4,
            script: &["a: failed/1 failed/1 succeeded/1"],
            expect: &["a succeeded 3 0", "b succeeded 1 3"],
        },
        Case {
            name: "retries run out",
            nodes: "a/1 b",
            triggers: &["start: a", "all a:failed -> b"],
            start: Start::Triggers,
            jobs: 4,
            script: &["a: failed/1 failed/1"],
            expect: &["a failed 2 0", "b succeeded 1 2"],
        },
        Case {
            name: "a timeout stops the stage, is not retried, and fires timeout conditions",
            nodes: "a/3/1 b c",
            triggers: &["start: a", "all a -> b", "all a:timeout -> c"],
            start: Start::Triggers,
            jobs: 4,
            script: &["a: succeeded/600"],
            expect: &["a timeout 1 0", "b not-run 0 -", "c succeeded 1 60"],
        },
        Case {
            name: "stopped and cancelled are watched states too",
            nodes: "a ~k b c",
            triggers: &["start: a k", "all a:stopped -> b", "all k:cancelled -> c"],
            start: Start::Triggers,
            jobs: 4,
            script: &["a: stopped/1", "k: cancelled/2"],
            expect: &[
                "a stopped 1 0",
                "k cancelled 1 0",
                "b succeeded 1 1",
                "c succeeded 1 2",
            ],
        },
        Case {
            name: "independent branches run at once within --jobs",
            nodes: "a b c d",
            triggers: &["start: a", "all a -> b c d"],
            start: Start::Triggers,
            jobs: 2,
            script: &[
                "a: succeeded/1",
                "b: succeeded/4",
                "c: succeeded/2",
                "d: succeeded/1",
            ],
            expect: &[
                "a succeeded 1 0",
                "b succeeded 1 1",
                "c succeeded 1 1",
                "d succeeded 1 3",
            ],
        },
        Case {
            name: "--from starts there and follows the triggers",
            nodes: "a b c",
            triggers: &["start: a", "all a -> b", "all b -> c"],
            start: Start::From("b".into()),
            jobs: 4,
            script: &[],
            expect: &["a not-run 0 -", "b succeeded 1 0", "c succeeded 1 1"],
        },
        Case {
            name: "--only runs one stage",
            nodes: "a b c",
            triggers: &["start: a", "all a -> b", "all b -> c"],
            start: Start::Only("b".into()),
            jobs: 4,
            script: &[],
            expect: &["a not-run 0 -", "b succeeded 1 0", "c not-run 0 -"],
        },
        Case {
            name: "a node two triggers start runs once",
            nodes: "a b c",
            triggers: &["start: a b", "all a -> c", "all b -> c"],
            start: Start::Triggers,
            jobs: 4,
            script: &["a: succeeded/1", "b: succeeded/2"],
            expect: &["a succeeded 1 0", "b succeeded 1 0", "c succeeded 1 1"],
        },
    ];
    for c in &cases {
        check(c);
    }
}

fn example(name: &str) -> crate::validate::ValidPipeline {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines")
        .join(name);
    let loaded = crate::load_path(&path).unwrap();
    loaded.pipeline.unwrap()
}

#[test]
fn the_example_pipelines_trigger_graphs() {
    // Every stage and crawler of each example runs when everything succeeds,
    // and a failed first stage leaves everything after it not run.
    for file in ["etl.yaml", "leads.yaml", "survey.yaml", "trips.yaml"] {
        let v = example(file);
        let plan = plan_pipeline(v.pipeline(), &Start::Triggers).unwrap();
        let mut fake = Fake {
            now: Duration::ZERO,
            script: vec![Vec::new(); plan.nodes.len()],
            running: Vec::new(),
            started: Vec::new(),
            stopped: Vec::new(),
            most: 0,
        };
        let out = run(&plan, &mut fake, 2);
        for n in &out {
            assert_eq!(n.state, NodeState::Succeeded, "{file}: {}", n.name);
        }
    }
    let v = example("etl.yaml");
    let plan = plan_pipeline(v.pipeline(), &Start::Triggers).unwrap();
    run_case(
        "etl, extract fails",
        &plan,
        4,
        &["extract: failed/1 failed/1"],
        &[
            "extract failed 2 0",
            "clean not-run 0 -",
            "repartition not-run 0 -",
            "raw not-run 0 -",
            "silver not-run 0 -",
            "gold not-run 0 -",
        ],
    );
    run_case(
        "etl from clean",
        &Plan {
            ..plan_pipeline(v.pipeline(), &Start::From("clean".into())).unwrap()
        },
        4,
        &["clean: succeeded/5"],
        &[
            "extract not-run 0 -",
            "clean succeeded 1 0",
            "repartition succeeded 1 5",
            "raw not-run 0 -",
            "silver succeeded 1 5",
            "gold succeeded 1 6",
        ],
    );
}

#[test]
fn unknown_stages_are_usage_errors_with_a_hint() {
    let v = example("etl.yaml");
    let err = plan_pipeline(v.pipeline(), &Start::From("claen".into())).unwrap_err();
    assert!(
        err.contains("--from claen") && err.contains("did you mean `clean`?"),
        "{err}"
    );
    let err = plan_pipeline(v.pipeline(), &Start::Only("gold".into())).unwrap_err();
    assert!(err.contains("no stage `gold`"), "{err}");
}
