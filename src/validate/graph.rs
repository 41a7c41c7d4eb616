//! The trigger graph: which stage or crawler can start which.
//!
//! In: the pipeline's triggers, with their references already resolvable. Out:
//! diagnostics for cycles (named in full) and for stages that nothing can ever
//! start, either because no trigger names them or because the conditions of
//! every trigger that names them wait for something that never runs. Those
//! are follow-ons of any error in the triggers (see `diagnostic::arrange`).

use super::{Ctx, Node, SemanticError, ptr, resolve_condition};
use crate::model::{Action, TriggerKind};
use std::collections::{BTreeSet, HashMap, HashSet};

struct Conditional<'a> {
    name: &'a str,
    all: bool,
    watches: Vec<Node<'a>>,
    starts: Vec<Node<'a>>,
    /// Some condition names nothing; that error is reported already.
    broken: bool,
}

fn action_node<'a>(p: &'a crate::model::Pipeline, a: &'a Action) -> Option<Node<'a>> {
    match a {
        Action::Name(n) => super::resolve_name(p, n),
        Action::Full(f) => match (&f.stage, &f.crawler) {
            (Some(s), None) => p.stages.get_key_value(s).map(|(k, _)| Node::Stage(k)),
            (None, Some(c)) => p.crawlers.get_key_value(c).map(|(k, _)| Node::Crawler(k)),
            _ => None,
        },
    }
}

pub(super) fn check(cx: &mut Ctx) {
    let p = cx.p;
    let mut roots: Vec<Node> = Vec::new();
    let mut conditionals: Vec<Conditional> = Vec::new();
    // References that name nothing: the likeliest causes of what never starts.
    let mut unresolved: Vec<String> = Vec::new();
    for (name, t) in &p.triggers {
        let mut starts: Vec<Node> = Vec::new();
        for (i, a) in t.start.iter().enumerate() {
            match action_node(p, a) {
                Some(n) => starts.push(n),
                None => unresolved.push(ptr(&["triggers", name, "start", &i.to_string()])),
            }
        }
        if t.kind() == TriggerKind::Conditional {
            let w = t.when.as_ref().expect("conditional triggers have `when`");
            let (all, list, key) = if w.all.is_empty() {
                (false, &w.any, "any")
            } else {
                (true, &w.all, "all")
            };
            let mut watches = Vec::new();
            let mut broken = false;
            for (i, c) in list.iter().enumerate() {
                let cp = ptr(&["triggers", name, "when", key, &i.to_string()]);
                match resolve_condition(cx, &cp, c) {
                    Some((node, _)) => watches.push(node),
                    None => {
                        broken = true;
                        unresolved.push(cp);
                    }
                }
            }
            conditionals.push(Conditional {
                name,
                all,
                watches,
                starts,
                broken,
            });
        } else {
            roots.extend(starts);
        }
    }

    // Cycles: edges from each watched node to each node its trigger starts.
    let mut edges: HashMap<Node, Vec<(Node, &str)>> = HashMap::new();
    for c in &conditionals {
        for w in &c.watches {
            for s in &c.starts {
                edges.entry(*w).or_default().push((*s, c.name));
            }
        }
    }
    let nodes: Vec<Node> = p
        .stages
        .keys()
        .map(|s| Node::Stage(s))
        .chain(p.crawlers.keys().map(|c| Node::Crawler(c)))
        .collect();
    let mut reported: HashSet<BTreeSet<Node>> = HashSet::new();
    let mut done: HashSet<Node> = HashSet::new();
    for start in &nodes {
        if done.contains(start) {
            continue;
        }
        // Iterative DFS; `path` holds (node, trigger that led to it, next edge index).
        let mut path: Vec<(Node, Option<&str>, usize)> = vec![(*start, None, 0)];
        let mut on_path: HashSet<Node> = HashSet::from([*start]);
        while let Some(&mut (node, _, ref mut next)) = path.last_mut() {
            let out = edges.get(&node).map(Vec::as_slice).unwrap_or(&[]);
            if *next >= out.len() {
                on_path.remove(&node);
                done.insert(node);
                path.pop();
                continue;
            }
            let (to, via) = out[*next];
            *next += 1;
            if on_path.contains(&to) {
                let from = path.iter().position(|(n, _, _)| *n == to).unwrap_or(0);
                let members: BTreeSet<Node> = path[from..].iter().map(|(n, _, _)| *n).collect();
                if reported.insert(members) {
                    let mut words = Vec::new();
                    for (i, (n, via_n, _)) in path[from..].iter().enumerate() {
                        if i > 0 {
                            words.push(format!("trigger {}", via_n.unwrap_or("?")));
                        }
                        words.push(n.describe());
                    }
                    words.push(format!("trigger {via}"));
                    words.push(to.describe());
                    cx.at_value(
                        &ptr(&["triggers", via, "when"]),
                        SemanticError::Cycle { path: words },
                    );
                }
            } else if !done.contains(&to) {
                on_path.insert(to);
                path.push((to, Some(via), 0));
            }
        }
    }

    // Reachability: conditional triggers fire once what they wait for can run.
    // Its findings are follow-ons: an error in a trigger, or a stage the
    // schema phase left out, can be why something never starts.
    let mut causes = unresolved;
    causes.extend(cx.graph_causes());
    if p.triggers.is_empty() {
        if !p.stages.is_empty() {
            cx.follow_on(
                "/stages",
                SemanticError::Missing {
                    what: "no trigger starts any stage, so the workflow would never run".into(),
                    hint: Some("add one, for example `triggers: {start: {start: [first_stage]}}`"),
                },
                causes,
            );
        }
        return;
    }
    // A worklist over the nodes as they become reachable: each trigger is
    // looked at once per node it watches, so this is linear in the graph
    // whatever the order the triggers are declared in.
    let mut watchers: HashMap<Node, Vec<usize>> = HashMap::new();
    let mut missing: Vec<usize> = Vec::with_capacity(conditionals.len());
    for (i, c) in conditionals.iter().enumerate() {
        let distinct: HashSet<Node> = c.watches.iter().copied().collect();
        missing.push(distinct.len());
        if c.broken {
            continue;
        }
        for w in distinct {
            watchers.entry(w).or_default().push(i);
        }
    }
    let mut reached: HashSet<Node> = HashSet::new();
    let mut queue: Vec<Node> = Vec::new();
    for r in &roots {
        if reached.insert(*r) {
            queue.push(*r);
        }
    }
    let mut fired = vec![false; conditionals.len()];
    while let Some(node) = queue.pop() {
        for &i in watchers.get(&node).map(Vec::as_slice).unwrap_or(&[]) {
            let c = &conditionals[i];
            missing[i] -= 1;
            if fired[i] || (c.all && missing[i] > 0) {
                continue;
            }
            fired[i] = true;
            for s in &c.starts {
                if reached.insert(*s) {
                    queue.push(*s);
                }
            }
        }
    }
    // The triggers that start each node, for the reasons below.
    let mut starters_of: HashMap<Node, Vec<usize>> = HashMap::new();
    for (i, c) in conditionals.iter().enumerate() {
        for s in &c.starts {
            starters_of.entry(*s).or_default().push(i);
        }
    }
    for name in p.stages.keys() {
        let node = Node::Stage(name);
        if reached.contains(&node) {
            continue;
        }
        let mut starters: Vec<&Conditional> = starters_of
            .get(&node)
            .map(|ids| ids.iter().map(|&i| &conditionals[i]).collect())
            .unwrap_or_default();
        starters.dedup_by(|a, b| std::ptr::eq(*a, *b));
        let why = if starters.is_empty() {
            "no trigger starts it".to_string()
        } else {
            let parts: Vec<String> = starters
                .iter()
                .map(|c| {
                    let waiting: Vec<String> = c
                        .watches
                        .iter()
                        .filter(|w| !reached.contains(w))
                        .map(|w| w.quoted())
                        .collect();
                    if waiting.is_empty() {
                        format!(
                            "trigger `{}` waits for a name that is undeclared or has errors",
                            c.name
                        )
                    } else {
                        format!(
                            "trigger `{}` waits for {}, which never runs",
                            c.name,
                            waiting.join(" and ")
                        )
                    }
                })
                .collect();
            parts.join("; ")
        };
        cx.follow_on(
            &ptr(&["stages", name]),
            SemanticError::NeverStarts {
                stage: name.clone(),
                why,
            },
            causes.clone(),
        );
    }
    for name in p.crawlers.keys() {
        if !reached.contains(&Node::Crawler(name)) {
            cx.follow_on(
                &ptr(&["crawlers", name]),
                SemanticError::CrawlerNeverStarts {
                    crawler: name.clone(),
                },
                causes.clone(),
            );
        }
    }
}
