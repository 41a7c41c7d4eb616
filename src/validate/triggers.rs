//! Triggers: names resolved to stages and crawlers, conditions and schedules.
//!
//! In: the `triggers` section. Out: diagnostics for actions and conditions
//! that name nothing, and the resolvers the trigger graph and renderers use.

use super::*;

/// What a trigger action or condition names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node<'a> {
    Stage(&'a str),
    Crawler(&'a str),
}

impl Node<'_> {
    pub fn describe(&self) -> String {
        match self {
            Node::Stage(s) => format!("stage {s}"),
            Node::Crawler(c) => format!("crawler {c}"),
        }
    }

    /// As a message names it: "stage `extract`".
    pub fn quoted(&self) -> String {
        match self {
            Node::Stage(s) => format!("stage `{s}`"),
            Node::Crawler(c) => format!("crawler `{c}`"),
        }
    }
}

/// Resolves a plain name to a stage or a crawler.
pub(crate) fn resolve_name<'a>(p: &'a Pipeline, name: &str) -> Option<Node<'a>> {
    if let Some((k, _)) = p.stages.get_key_value(name) {
        return Some(Node::Stage(k));
    }
    p.crawlers
        .get_key_value(name)
        .map(|(k, _)| Node::Crawler(k))
}

pub(super) fn stage_and_crawler_names(p: &Pipeline) -> Vec<String> {
    p.stages.keys().chain(p.crawlers.keys()).cloned().collect()
}

/// Resolves a name given as plain text (`extract`): a stage or a crawler.
pub(super) fn resolve_plain<'a>(cx: &mut Ctx<'a>, pointer: &str, name: &str) -> Option<Node<'a>> {
    let r = resolve_name(cx.p, name);
    if r.is_none() {
        cx.unknown(
            pointer,
            "stage or crawler",
            name,
            stage_and_crawler_names(cx.p),
        );
    }
    r
}

/// Resolves `{stage: ...}` or `{crawler: ...}` in an action or condition
/// (`what`), reporting a missing, doubled or unknown name.
pub(super) fn resolve_keyed<'a>(
    cx: &mut Ctx<'a>,
    pointer: &str,
    stage: Option<&String>,
    crawler: Option<&String>,
    what: &str,
) -> Option<Node<'a>> {
    let p = cx.p;
    match (stage, crawler) {
        (Some(s), None) => match p.stages.get_key_value(s) {
            Some((k, _)) => Some(Node::Stage(k)),
            None => {
                cx.unknown(
                    &push_pointer(pointer, "stage"),
                    "stage",
                    s,
                    p.stages.keys().cloned(),
                );
                None
            }
        },
        (None, Some(c)) => match p.crawlers.get_key_value(c) {
            Some((k, _)) => Some(Node::Crawler(k)),
            None => {
                cx.unknown(
                    &push_pointer(pointer, "crawler"),
                    "crawler",
                    c,
                    p.crawlers.keys().cloned(),
                );
                None
            }
        },
        _ => {
            cx.at_value(
                pointer,
                SemanticError::Missing {
                    what: format!("{what} names exactly one `stage` or `crawler`"),
                    hint: None,
                },
            );
            None
        }
    }
}

/// Resolves one trigger action, reporting what is wrong with it.
pub(crate) fn resolve_action<'a>(
    cx: &mut Ctx<'a>,
    pointer: &str,
    a: &'a Action,
) -> Option<Node<'a>> {
    match a {
        Action::Name(n) => resolve_plain(cx, pointer, n),
        Action::Full(f) => {
            if f.crawler.is_some() && (!f.arguments.is_empty() || f.timeout_minutes.is_some()) {
                cx.at_value(
                    pointer,
                    SemanticError::Conflict {
                        what: "`arguments` and `timeout_minutes` apply to stages".into(),
                        reason: "a crawler run takes neither",
                    },
                );
            }
            resolve_keyed(
                cx,
                pointer,
                f.stage.as_ref(),
                f.crawler.as_ref(),
                "an action",
            )
        }
    }
}

/// Resolves one trigger condition to the node it watches and its state.
pub(crate) fn resolve_condition<'a>(
    cx: &mut Ctx<'a>,
    pointer: &str,
    c: &'a Condition,
) -> Option<(Node<'a>, State)> {
    match c {
        Condition::Succeeded(n) => resolve_plain(cx, pointer, n).map(|n| (n, State::Succeeded)),
        Condition::Full(f) => {
            let node = resolve_keyed(
                cx,
                pointer,
                f.stage.as_ref(),
                f.crawler.as_ref(),
                "a condition",
            )?;
            let ok = match node {
                Node::Stage(_) => matches!(
                    f.state,
                    State::Succeeded | State::Failed | State::Timeout | State::Stopped
                ),
                Node::Crawler(_) => {
                    matches!(f.state, State::Succeeded | State::Failed | State::Cancelled)
                }
            };
            if !ok {
                let allowed = match node {
                    Node::Stage(_) => "succeeded, failed, timeout or stopped",
                    Node::Crawler(_) => "succeeded, failed or cancelled",
                };
                cx.at_value(
                    &push_pointer(pointer, "state"),
                    SemanticError::BadValue {
                        what: "state",
                        value: format!("{:?}", f.state).to_lowercase(),
                        reason: format!(
                            "a {} ends {allowed}",
                            if matches!(node, Node::Stage(_)) {
                                "stage"
                            } else {
                                "crawler"
                            }
                        ),
                    },
                );
            }
            Some((node, f.state))
        }
    }
}

pub(super) fn check_triggers(cx: &mut Ctx) {
    let p = cx.p;
    let mut starters: Vec<&String> = Vec::new();
    for (name, t) in &p.triggers {
        let base = ptr(&["triggers", name]);
        let kinds = [t.schedule.is_some(), t.when.is_some(), t.event.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if kinds > 1 {
            cx.at_key(
                &base,
                SemanticError::Conflict {
                    what: format!("trigger `{name}` mixes `schedule`, `when` and `event`"),
                    reason: "a Glue trigger is scheduled, conditional or event-driven, not several",
                },
            );
        }
        if let Some(s) = &t.schedule
            && let Err(reason) = rules::glue_cron(s)
        {
            cx.at_value(
                &push_pointer(&base, "schedule"),
                SemanticError::BadValue {
                    what: "schedule",
                    value: s.clone(),
                    reason,
                },
            );
        }
        if let Some(w) = &t.when
            && w.all.is_empty() == w.any.is_empty()
        {
            cx.at_value(
                &push_pointer(&base, "when"),
                SemanticError::Missing {
                    what: "`when` takes either `all` or `any`, with at least one condition".into(),
                    hint: Some("for example `when: {all: [extract]}`"),
                },
            );
        }
        if let Some(e) = &t.event {
            let ep = push_pointer(&base, "event");
            if let Some(n) = e.batch_size
                && !(1..=100).contains(&n)
            {
                cx.at_value(
                    &push_pointer(&ep, "batch_size"),
                    SemanticError::Glue {
                        reason: format!("an event batch holds 1 to 100 events, not {n}"),
                        hint: None,
                    },
                );
            }
            if let Some(n) = e.batch_window_seconds
                && !(1..=900).contains(&n)
            {
                cx.at_value(
                    &push_pointer(&ep, "batch_window_seconds"),
                    SemanticError::Glue {
                        reason: format!("an event batch window is 1 to 900 seconds, not {n}"),
                        hint: None,
                    },
                );
            }
            match &e.zone {
                Some(z) if !p.zones.contains_key(z) => cx.unknown(
                    &push_pointer(&ep, "zone"),
                    "zone",
                    z,
                    p.zones.keys().cloned(),
                ),
                None if e.prefix.is_some() => cx.at_key(
                    &push_pointer(&ep, "prefix"),
                    SemanticError::Missing {
                        what: "`prefix` needs the `zone` it is in".into(),
                        hint: None,
                    },
                ),
                _ => {}
            }
            if let Some(pre) = &e.prefix
                && let Err(reason) = rules::s3_prefix(pre)
            {
                cx.at_value(
                    &push_pointer(&ep, "prefix"),
                    SemanticError::BadValue {
                        what: "prefix",
                        value: pre.clone(),
                        reason,
                    },
                );
            }
        }
        if t.when.is_none() {
            starters.push(name);
        }
        if t.start.is_empty() {
            cx.at_value(
                &push_pointer(&base, "start"),
                SemanticError::Missing {
                    what: format!("trigger `{name}` starts nothing"),
                    hint: None,
                },
            );
        }
        let mut seen = Vec::new();
        for (i, a) in t.start.iter().enumerate() {
            let index = i.to_string();
            let ap = ptr(&["triggers", name, "start", &index]);
            if let Action::Full(f) = a {
                check_arguments(
                    cx,
                    &["triggers", name, "start", &index, "arguments"],
                    &f.arguments,
                );
            }
            if let Some(node) = resolve_action(cx, &ap, a) {
                if seen.contains(&node) {
                    cx.at_value(
                        &ap,
                        SemanticError::Duplicate {
                            what: "action",
                            name: match node {
                                Node::Stage(n) | Node::Crawler(n) => n.to_string(),
                            },
                        },
                    );
                }
                seen.push(node);
            }
        }
    }
    if starters.len() > 1 {
        let first = starters[0].clone();
        for other in &starters[1..] {
            cx.at_key(&ptr(&["triggers", other]), SemanticError::Conflict {
                what: format!("triggers `{first}` and `{other}` both start the workflow"),
                reason: "a Glue workflow has one start trigger (on demand, scheduled or event); make the others conditional",
            });
        }
    }
}
