//! The trigger graph cut into Glue workflows that AWS supports: at most 100
//! jobs, crawlers and triggers each ("Limit the total number of jobs,
//! crawlers, and triggers within a workflow to 100 or less",
//! https://docs.aws.amazon.com/glue/latest/dg/blueprint_workflow_restrictions.html).
//!
//! In: a checked `Pipeline`. Out: a `Split` (the workflows in order, each
//! with its triggers; every workflow after the first starts from one trigger
//! that waits for one stage or crawler of an earlier workflow), or a
//! `SplitError` at the trigger where no sound cut exists. Validation reports
//! the error; the workflow stack renders the parts.
//!
//! A later workflow is started by an EventBridge rule on Glue's "Glue Job
//! State Change" or "Glue Crawler State Change" event, which notifies the
//! workflow's EVENT trigger
//! (https://docs.aws.amazon.com/glue/latest/dg/automating-awsglue-with-cloudwatch-events.html,
//! https://docs.aws.amazon.com/glue/latest/dg/starting-workflow-eventbridge.html).
//! One event is one node reaching one state, so only a trigger that waits for
//! exactly one stage or crawler can become such a start: an `all` over two
//! nodes cannot wait across workflows (an event trigger's batch window ends
//! after 900 s), and an `any` would start the next workflow once per event.
//! A workflow also has exactly one start trigger. So triggers that start the
//! same node, and a trigger with several conditions together with the
//! triggers that start what it waits for, always share a workflow.
//!
//! Cuts are stable: a pipeline of at most 100 nodes is one workflow, and a
//! larger one is cut where a trigger's name hashes to a boundary (about one
//! in 16, once a part holds 25 nodes) or where a part would pass 100. An edit
//! therefore moves the boundaries of its own part and seldom of others.

use crate::model::{Action, Condition, Pipeline, State};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Jobs, crawlers and triggers AWS supports in one workflow.
pub const MAX_NODES: usize = 100;
/// A trigger whose name hashes to 0 modulo this is a preferred boundary.
const CUT_ONE_IN: u64 = 16;
/// A part holds at least this many nodes before a preferred boundary counts.
const MIN_NODES: usize = 25;

/// What the first trigger of a later workflow waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Index of the earlier part that runs the node.
    pub after: usize,
    /// The stage or crawler, by its pipeline name.
    pub node: String,
    pub crawler: bool,
    pub state: State,
}

/// One Glue workflow of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The trigger that starts the workflow.
    pub entry: String,
    /// For every part but the first: what `entry` waits for.
    pub link: Option<Link>,
    /// The part's triggers, in the pipeline's order.
    pub triggers: Vec<String>,
    /// Jobs, crawlers and triggers in the workflow's graph.
    pub nodes: usize,
}

/// The pipeline's workflows. Part 0 is the workflow named after the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub parts: Vec<Part>,
    part_of: HashMap<String, usize>,
}

/// Why no sound split exists, at a trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    pub trigger: String,
    pub reason: String,
    pub hint: &'static str,
}

impl Split {
    /// The part that holds a trigger (part 0 for an unknown name).
    pub fn part_of(&self, trigger: &str) -> usize {
        self.part_of.get(trigger).copied().unwrap_or(0)
    }

    /// The Glue workflow name of a part.
    pub fn workflow(&self, pipeline: &str, part: usize) -> String {
        match self.parts.get(part) {
            Some(p) if part > 0 => crate::names::glue_part_workflow(pipeline, &p.entry),
            _ => pipeline.to_string(),
        }
    }

    /// The Glue name of a trigger. A trigger in a later part carries its
    /// workflow in its name: Glue cannot move a trigger to another workflow
    /// or change its type in place, and CloudFormation replaces a resource
    /// with a custom name only when the name changes too.
    pub fn trigger_name(&self, pipeline: &str, trigger: &str) -> String {
        let part = self.part_of(trigger);
        if part == 0 {
            return crate::names::glue_trigger(pipeline, trigger);
        }
        let entry = &self.parts[part].entry;
        if entry == trigger {
            crate::names::glue_part_workflow(pipeline, entry)
        } else {
            crate::names::glue_part_trigger(pipeline, entry, trigger)
        }
    }

    /// The trigger starts a later part: it becomes that workflow's EVENT trigger.
    pub fn link_of(&self, trigger: &str) -> Option<&Link> {
        let part = &self.parts[self.part_of(trigger)];
        (part.entry == trigger)
            .then_some(part.link.as_ref())
            .flatten()
    }

    /// The whole pipeline as one workflow.
    pub fn whole(p: &Pipeline) -> Split {
        Split::single(p, 0)
    }

    fn single(p: &Pipeline, nodes: usize) -> Split {
        let triggers: Vec<String> = p.triggers.keys().cloned().collect();
        let entry = p
            .triggers
            .iter()
            .find(|(_, t)| t.when.is_none())
            .or_else(|| p.triggers.first())
            .map(|(n, _)| n.clone())
            .unwrap_or_default();
        Split {
            part_of: triggers.iter().map(|t| (t.clone(), 0)).collect(),
            parts: vec![Part {
                entry,
                link: None,
                triggers,
                nodes,
            }],
        }
    }
}

/// The Glue event state a cut waits for, when Glue emits one: jobs emit
/// SUCCEEDED, FAILED, TIMEOUT and STOPPED; crawlers Succeeded and Failed.
pub fn event_state(crawler: bool, state: State) -> Option<&'static str> {
    match (crawler, state) {
        (false, State::Succeeded) => Some("SUCCEEDED"),
        (false, State::Failed) => Some("FAILED"),
        (false, State::Timeout) => Some("TIMEOUT"),
        (false, State::Stopped) => Some("STOPPED"),
        (true, State::Succeeded) => Some("Succeeded"),
        (true, State::Failed) => Some("Failed"),
        _ => None,
    }
}

struct Trig<'a> {
    name: &'a str,
    actions: Vec<&'a str>,
    watches: Vec<(&'a str, State)>,
    conditional: bool,
}

fn action_name(a: &Action) -> Option<&str> {
    match a {
        Action::Name(n) => Some(n),
        Action::Full(f) => f.stage.as_deref().or(f.crawler.as_deref()),
    }
}

fn condition(c: &Condition) -> Option<(&str, State)> {
    match c {
        Condition::Succeeded(n) => Some((n, State::Succeeded)),
        Condition::Full(f) => f
            .stage
            .as_deref()
            .or(f.crawler.as_deref())
            .map(|n| (n, f.state)),
    }
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// FNV-1a: the same on every machine and run.
fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

struct Unit {
    triggers: Vec<usize>,
    size: usize,
    /// (candidate trigger, unit that runs the node it waits for).
    incoming: Vec<(usize, usize)>,
}

/// Cuts the pipeline's triggers into workflows of at most `MAX_NODES`.
pub fn partition(p: &Pipeline) -> Result<Split, SplitError> {
    let trigs: Vec<Trig> = p
        .triggers
        .iter()
        .map(|(name, t)| {
            let watches = t.when.as_ref().map_or(Vec::new(), |w| {
                let list = if w.all.is_empty() { &w.any } else { &w.all };
                list.iter().filter_map(condition).collect()
            });
            Trig {
                name,
                actions: t.start.iter().filter_map(action_name).collect(),
                watches,
                conditional: t.when.is_some(),
            }
        })
        .collect();
    let mut starters: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, t) in trigs.iter().enumerate() {
        for a in &t.actions {
            starters.entry(a).or_default().push(i);
        }
    }
    let is_crawler = |n: &str| !p.stages.contains_key(n);
    // A trigger can start a later workflow when it waits for one node in one
    // state that Glue sends an event for.
    let candidate: Vec<Option<(&str, State)>> = trigs
        .iter()
        .map(|t| {
            let mut distinct: Vec<(&str, State)> = Vec::new();
            for w in &t.watches {
                if !distinct.contains(w) {
                    distinct.push(*w);
                }
            }
            match distinct.as_slice() {
                [(n, s)]
                    if t.conditional
                        && starters.contains_key(n)
                        && event_state(is_crawler(n), *s).is_some() =>
                {
                    Some((*n, *s))
                }
                _ => None,
            }
        })
        .collect();
    let mut parent: Vec<usize> = (0..trigs.len()).collect();
    let union = |parent: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (find(parent, a), find(parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    };
    for list in starters.values() {
        for &s in &list[1..] {
            union(&mut parent, list[0], s);
        }
    }
    for (i, t) in trigs.iter().enumerate() {
        if t.conditional && candidate[i].is_none() {
            for (n, _) in &t.watches {
                for &s in starters.get(n).map(Vec::as_slice).unwrap_or(&[]) {
                    union(&mut parent, i, s);
                }
            }
        }
    }
    // Units in the order of their first trigger.
    let mut unit_of_root: HashMap<usize, usize> = HashMap::new();
    let mut unit_of = vec![0; trigs.len()];
    let mut units: Vec<Unit> = Vec::new();
    for (i, slot) in unit_of.iter_mut().enumerate() {
        let r = find(&mut parent, i);
        let u = *unit_of_root.entry(r).or_insert_with(|| {
            units.push(Unit {
                triggers: Vec::new(),
                size: 0,
                incoming: Vec::new(),
            });
            units.len() - 1
        });
        *slot = u;
        units[u].triggers.push(i);
    }
    let mut total = 0;
    for u in units.iter_mut() {
        let mut nodes: HashSet<&str> = HashSet::new();
        for &i in &u.triggers {
            nodes.extend(trigs[i].actions.iter().copied());
            if candidate[i].is_none() {
                nodes.extend(trigs[i].watches.iter().map(|(n, _)| *n));
            }
        }
        u.size = u.triggers.len() + nodes.len();
        total += u.size;
    }
    if total <= MAX_NODES {
        return Ok(Split::single(p, total));
    }
    for (i, c) in candidate.iter().enumerate() {
        if let Some((n, _)) = c {
            let from = unit_of[starters[n][0]];
            if from != unit_of[i] {
                units[unit_of[i]].incoming.push((i, from));
            }
        }
    }
    // Topological order of the units, earliest declared first among the ready.
    let mut indegree: Vec<usize> = units.iter().map(|u| u.incoming.len()).collect();
    let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    for (u, unit) in units.iter().enumerate() {
        for &(_, from) in &unit.incoming {
            out_edges[from].push(u);
        }
    }
    let mut ready: BTreeSet<usize> = (0..units.len()).filter(|&u| indegree[u] == 0).collect();
    let mut order = Vec::with_capacity(units.len());
    while let Some(u) = ready.pop_first() {
        order.push(u);
        for &v in &out_edges[u] {
            indegree[v] -= 1;
            if indegree[v] == 0 {
                ready.insert(v);
            }
        }
    }
    // A cycle is reported by the graph check; its units join the first part.
    let placed: HashSet<usize> = order.iter().copied().collect();
    order.extend((0..units.len()).filter(|u| !placed.contains(u)));

    let mut parts: Vec<Part> = Vec::new();
    let mut part_of_unit: Vec<Option<usize>> = vec![None; units.len()];
    for &u in &order {
        let unit = &units[u];
        let first = trigs[unit.triggers[0]].name;
        if unit.size > MAX_NODES {
            // The trigger with several conditions is what ties the unit together.
            let name = unit
                .triggers
                .iter()
                .find(|&&i| trigs[i].conditional && candidate[i].is_none())
                .map_or(first, |&i| trigs[i].name);
            return Err(SplitError {
                trigger: name.to_string(),
                reason: format!(
                    "trigger `{name}` and the triggers tied to it hold {} jobs, crawlers and triggers, which must stay in one workflow",
                    unit.size
                ),
                hint: "a trigger that waits for one stage or crawler can start a new workflow; split wide `start:` lists and `all:` conditions into chains",
            });
        }
        let sources: BTreeSet<usize> = unit
            .incoming
            .iter()
            .filter_map(|&(_, from)| part_of_unit[from])
            .collect();
        let target = match (sources.len(), unit.incoming.as_slice()) {
            (0, _) if parts.is_empty() => None,
            (0, _) => Some(0),
            (1, [(t, _)]) => {
                let from = sources.first().copied().unwrap_or(0);
                let name = trigs[*t].name;
                let preferred =
                    stable_hash(name).is_multiple_of(CUT_ONE_IN) && parts[from].nodes >= MIN_NODES;
                if preferred || parts[from].nodes + unit.size > MAX_NODES {
                    let (node, state) = candidate[*t].unwrap_or(("", State::Succeeded));
                    parts.push(Part {
                        entry: name.to_string(),
                        link: Some(Link {
                            after: from,
                            node: node.to_string(),
                            crawler: is_crawler(node),
                            state,
                        }),
                        triggers: Vec::new(),
                        nodes: 0,
                    });
                    Some(parts.len() - 1)
                } else {
                    Some(from)
                }
            }
            (1, _) => sources.first().copied(),
            _ => {
                let (a, b) = (
                    trigs[unit.incoming[0].0].name,
                    trigs[unit.incoming[1].0].name,
                );
                return Err(SplitError {
                    trigger: b.to_string(),
                    reason: format!(
                        "triggers `{a}` and `{b}` start the same stages or crawlers but wait for ones that land in different workflows"
                    ),
                    hint: "start those stages or crawlers from one trigger, with `when: {any: [...]}`",
                });
            }
        };
        let part = match target {
            Some(t) => t,
            None => {
                parts.push(Part {
                    entry: unit
                        .triggers
                        .iter()
                        .map(|&i| &trigs[i])
                        .find(|t| !t.conditional)
                        .map_or(first, |t| t.name)
                        .to_string(),
                    link: None,
                    triggers: Vec::new(),
                    nodes: 0,
                });
                0
            }
        };
        if parts[part].nodes + unit.size > MAX_NODES {
            return Err(SplitError {
                trigger: first.to_string(),
                reason: format!(
                    "trigger `{first}` waits in workflow `{}` for more than one stage or crawler, and that workflow would pass {MAX_NODES} jobs, crawlers and triggers",
                    if part == 0 {
                        p.pipeline.clone()
                    } else {
                        crate::names::glue_part_workflow(&p.pipeline, &parts[part].entry)
                    }
                ),
                hint: "a trigger that waits for one stage or crawler can start a new workflow; chain through one",
            });
        }
        parts[part].nodes += unit.size;
        part_of_unit[u] = Some(part);
    }
    let mut part_of = HashMap::new();
    for (i, t) in trigs.iter().enumerate() {
        let part = part_of_unit[unit_of[i]].unwrap_or(0);
        parts[part].triggers.push(t.name.to_string());
        part_of.insert(t.name.to_string(), part);
    }
    Ok(Split { parts, part_of })
}

/// Reports the trigger where the workflow cannot be split. Runs only on a
/// pipeline without errors so far, and with none of its stages, crawlers or
/// triggers left out by the schema phase: a broken graph has its own errors.
pub(super) fn check(cx: &mut super::Ctx) {
    let excluded = ["stages", "crawlers", "triggers"]
        .iter()
        .any(|s| !cx.excluded.pointers(s).is_empty());
    if excluded || cx.diags.iter().any(crate::diagnostic::Diagnostic::is_error) {
        return;
    }
    if let Err(e) = partition(cx.p) {
        cx.at_key(
            &super::ptr(&["triggers", &e.trigger]),
            super::SemanticError::WorkflowSplit {
                reason: e.reason,
                hint: e.hint,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(text: &str) -> Pipeline {
        let loaded = crate::load_bytes("t.yaml", text.as_bytes(), std::path::Path::new("."));
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        loaded.pipeline.unwrap().pipeline().clone()
    }

    #[test]
    fn small_pipelines_are_one_workflow() {
        let p = pipeline(&crate::synthetic::pipeline(33));
        let s = partition(&p).unwrap();
        assert_eq!(s.parts.len(), 1);
        assert_eq!(s.parts[0].nodes, 33 * 3 + 1);
        assert_eq!(
            s.trigger_name("synthetic", "after-s3"),
            "synthetic-after-s3"
        );
    }

    #[test]
    fn large_pipelines_are_chains_of_parts_within_the_limit() {
        let p = pipeline(&crate::synthetic::pipeline(300));
        let s = partition(&p).unwrap();
        assert!(s.parts.len() > 3, "{}", s.parts.len());
        let mut seen = 0;
        for (i, part) in s.parts.iter().enumerate() {
            assert!(part.nodes <= MAX_NODES, "part {i}: {}", part.nodes);
            seen += part.triggers.len();
            assert!(part.triggers.contains(&part.entry));
            match &part.link {
                None => assert_eq!(i, 0),
                Some(l) => {
                    assert!(l.after < i);
                    // The entry waits for the stage its part's predecessor starts.
                    let t = &p.triggers[&part.entry];
                    assert!(t.when.is_some());
                    assert!(!l.crawler);
                    assert_eq!(s.part_of(&format!("after-{}", l.node)), i);
                }
            }
        }
        assert_eq!(seen, p.triggers.len());
        assert_eq!(s.parts.iter().map(|p| p.nodes).sum::<usize>(), 300 * 3 + 1);
        // A later part's names carry its workflow.
        let entry = &s.parts[1].entry;
        assert_eq!(
            s.trigger_name("synthetic", entry),
            format!("synthetic.{entry}")
        );
        assert_eq!(s.workflow("synthetic", 1), format!("synthetic.{entry}"));
    }

    #[test]
    fn one_more_stage_moves_no_boundary_before_it() {
        let a = partition(&pipeline(&crate::synthetic::pipeline(300))).unwrap();
        let b = partition(&pipeline(&crate::synthetic::pipeline(301))).unwrap();
        let entries = |s: &Split| s.parts.iter().map(|p| p.entry.clone()).collect::<Vec<_>>();
        let (ea, eb) = (entries(&a), entries(&b));
        assert_eq!(ea[..ea.len() - 1], eb[..ea.len() - 1]);
    }

    #[test]
    fn a_trigger_too_wide_for_one_workflow_is_refused_at_it() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/cases/bad/workflow-too-wide.yaml");
        let loaded = crate::load_path(&path).unwrap();
        assert!(loaded.pipeline.is_none());
        let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
        let codes: Vec<&str> = errors.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["workflow-split"], "{errors:?}");
        let d = errors[0];
        assert!(
            d.message.contains("`after-parquet`") && d.message.contains("101"),
            "{}",
            d.message
        );
    }
}
