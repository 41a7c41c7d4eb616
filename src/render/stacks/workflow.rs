//! The `glue-workflow` stack: the pipeline's Glue workflows and their
//! triggers (on demand, scheduled, conditional with AND/ANY predicates,
//! event), and for event triggers the EventBridge rule that feeds them.
//!
//! A pipeline over 100 jobs, crawlers and triggers is several workflows
//! (`validate::workflows`). Each later workflow starts from an EVENT trigger,
//! notified by an EventBridge rule on the "Glue Job State Change" (or
//! "Glue Crawler State Change") event of the one stage or crawler it waits
//! for, through a role that may notify that workflow alone
//! (https://docs.aws.amazon.com/glue/latest/dg/starting-workflow-eventbridge.html).
//!
//! In: the pipeline's triggers and their split. Out: resource groups for
//! `split`; the workflows are shared, each trigger (with its rules and role)
//! is a group.

use super::{Ctx, GroupList, Groups, depends, iam, resource};
use crate::model::{Action, Condition, Trigger, TriggerKind};
use crate::names::{self, Kind};
use crate::render::cfn::{get_att, sub};
use crate::validate::workflows::{self, Link, Split};
use serde_json::{Value, json};

pub(super) fn render(cx: &Ctx) -> Groups {
    let p = cx.p;
    // A valid pipeline always splits; a single workflow is the fallback.
    let split = workflows::partition(p).unwrap_or_else(|_| Split::whole(p));
    let base = p
        .workflow
        .description
        .clone()
        .unwrap_or_else(|| format!("Pipeline {}.", cx.name));
    let mut shared = Vec::new();
    for (i, part) in split.parts.iter().enumerate() {
        let description = match &part.link {
            None => base.clone(),
            Some(l) => format!(
                "{base} Continues workflow {} when {} {} {}.",
                split.workflow(cx.name, l.after),
                if l.crawler { "crawler" } else { "stage" },
                l.node,
                l.state.glue().to_lowercase()
            ),
        };
        let mut wf = json!({
            "Name": split.workflow(cx.name, i),
            "Description": description,
            "MaxConcurrentRuns": p.workflow.max_concurrent_runs.unwrap_or(1)
        });
        if !p.workflow.properties.is_empty() {
            wf["DefaultRunProperties"] = json!(p.workflow.properties);
        }
        shared.push((
            workflow_id(&split, i),
            resource("AWS::Glue::Workflow", wf, false),
        ));
    }
    let mut groups = GroupList::default();
    for (name, t) in &p.triggers {
        let id = names::logical_id(Kind::Trigger, name);
        let part = split.part_of(name);
        let wf_id = workflow_id(&split, part);
        let link = split.link_of(name);
        let body = match link {
            Some(l) => chained_trigger(cx, &split, name, t, l),
            None => trigger(cx, &split, name, t),
        };
        let mut rs = vec![(
            id.clone(),
            depends(resource("AWS::Glue::Trigger", body, false), &[&wf_id]),
        )];
        if t.kind() == TriggerKind::Event {
            rs.extend(event_rule(cx, &id, name, t));
        }
        if let Some(l) = link {
            rs.extend(chain_rule(cx, &split, name, l));
        }
        groups.push((format!("trigger {name}"), rs));
    }
    Groups {
        description: cx.description("Glue workflow and triggers"),
        shared,
        groups,
    }
}

/// `Workflow` for the pipeline's workflow, `Workflow<Entry>` for a later part.
fn workflow_id(split: &Split, part: usize) -> String {
    if part == 0 {
        return "Workflow".into();
    }
    let id = names::logical_id(Kind::Trigger, &split.parts[part].entry);
    format!("Workflow{}", id.strip_prefix("Trigger").unwrap_or(&id))
}

fn workflow_arn(name: &str) -> String {
    format!("arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:workflow/{name}")
}

fn action(cx: &Ctx, a: &Action) -> Value {
    let p = cx.p;
    let (stage, crawler, args, timeout) = match a {
        Action::Name(n) if p.stages.contains_key(n) => (Some(n), None, None, None),
        Action::Name(n) => (None, Some(n), None, None),
        Action::Full(f) => (
            f.stage.as_ref(),
            f.crawler.as_ref(),
            Some(&f.arguments),
            f.timeout_minutes,
        ),
    };
    let mut v = json!({});
    if let Some(s) = stage {
        v["JobName"] = json!(names::glue_job(cx.name, s));
        if let Some(args) = args.filter(|a| !a.is_empty()) {
            let m: serde_json::Map<String, Value> = args
                .iter()
                .map(|(k, val)| {
                    (
                        if k.starts_with("--") {
                            k.clone()
                        } else {
                            format!("--{k}")
                        },
                        json!(val),
                    )
                })
                .collect();
            v["Arguments"] = Value::Object(m);
        }
        if let Some(t) = timeout {
            v["Timeout"] = json!(t);
        }
        v["SecurityConfiguration"] = json!(names::security_configuration(cx.name));
    }
    if let Some(c) = crawler {
        v["CrawlerName"] = json!(names::glue_crawler(cx.name, c));
    }
    v
}

fn trigger(cx: &Ctx, split: &Split, name: &str, t: &Trigger) -> Value {
    let p = cx.p;
    let kind = t.kind();
    let mut v = json!({
        "Name": split.trigger_name(cx.name, name),
        "WorkflowName": split.workflow(cx.name, split.part_of(name)),
        "Type": match kind {
            TriggerKind::OnDemand => "ON_DEMAND",
            TriggerKind::Scheduled => "SCHEDULED",
            TriggerKind::Conditional => "CONDITIONAL",
            TriggerKind::Event => "EVENT",
        },
    });
    if let Some(d) = &t.description {
        v["Description"] = json!(d);
    }
    if let Some(s) = &t.schedule {
        v["Schedule"] = json!(s);
    }
    if let Some(w) = &t.when {
        let (logical, list) = if w.all.is_empty() {
            ("ANY", &w.any)
        } else {
            ("AND", &w.all)
        };
        let conditions: Vec<Value> = list
            .iter()
            .map(|c| {
                let (stage, crawler, state) = match c {
                    Condition::Succeeded(n) if p.stages.contains_key(n) => (Some(n), None, crate::model::State::Succeeded),
                    Condition::Succeeded(n) => (None, Some(n), crate::model::State::Succeeded),
                    Condition::Full(f) => (f.stage.as_ref(), f.crawler.as_ref(), f.state),
                };
                match (stage, crawler) {
                    (Some(s), _) => json!({"LogicalOperator": "EQUALS", "JobName": names::glue_job(cx.name, s), "State": state.glue()}),
                    (_, Some(c)) => json!({"LogicalOperator": "EQUALS", "CrawlerName": names::glue_crawler(cx.name, c), "CrawlState": state.glue()}),
                    _ => json!({}),
                }
            })
            .collect();
        v["Predicate"] = json!({"Logical": logical, "Conditions": conditions});
    }
    if let Some(e) = &t.event {
        v["EventBatchingCondition"] = json!({
            "BatchSize": e.batch_size.unwrap_or(1),
            "BatchWindow": e.batch_window_seconds.unwrap_or(900)
        });
    }
    v["Actions"] = json!(t.start.iter().map(|a| action(cx, a)).collect::<Vec<_>>());
    // Scheduled and conditional triggers are created inactive unless told
    // otherwise; a paused schedule is left inactive.
    if matches!(kind, TriggerKind::Scheduled | TriggerKind::Conditional) {
        v["StartOnCreation"] = json!(!t.paused);
    }
    v
}

/// The trigger that starts a later workflow: an EVENT trigger with the
/// user's actions, fired by the chain rule once per event.
fn chained_trigger(cx: &Ctx, split: &Split, name: &str, t: &Trigger, l: &Link) -> Value {
    let part = split.part_of(name);
    let what = format!(
        "Starts workflow {} when {} {} {} in workflow {}.",
        split.workflow(cx.name, part),
        if l.crawler { "crawler" } else { "stage" },
        l.node,
        l.state.glue().to_lowercase(),
        split.workflow(cx.name, l.after)
    );
    let description = match &t.description {
        Some(d) => format!("{d} {what}"),
        None => what,
    };
    json!({
        "Name": split.trigger_name(cx.name, name),
        "WorkflowName": split.workflow(cx.name, part),
        "Type": "EVENT",
        "Description": description,
        "EventBatchingCondition": {"BatchSize": 1},
        "Actions": t.start.iter().map(|a| action(cx, a)).collect::<Vec<_>>(),
    })
}

/// The EventBridge rule that starts a later workflow when the node its
/// first trigger waits for reaches that state, and the role it uses, which
/// may notify that one workflow.
fn chain_rule(cx: &Ctx, split: &Split, name: &str, l: &Link) -> Vec<(String, Value)> {
    let pascal = names::logical_id(Kind::Trigger, name);
    let pascal = pascal.strip_prefix("Trigger").unwrap_or(&pascal);
    let workflow = split.workflow(cx.name, split.part_of(name));
    let arn = workflow_arn(&workflow);
    let state = workflows::event_state(l.crawler, l.state).unwrap_or("SUCCEEDED");
    let (detail_type, key, aws_name) = if l.crawler {
        (
            "Glue Crawler State Change",
            "crawlerName",
            names::glue_crawler(cx.name, &l.node),
        )
    } else {
        (
            "Glue Job State Change",
            "jobName",
            names::glue_job(cx.name, &l.node),
        )
    };
    let role_id = format!("ChainRole{pascal}");
    let role = resource(
        "AWS::IAM::Role",
        json!({
            "Description": format!("Lets EventBridge start workflow {workflow} of pipeline {}.", cx.name),
            "AssumeRolePolicyDocument": iam::assume_role("events.amazonaws.com"),
            "Policies": [{"PolicyName": "notify-workflow", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                iam::statement("NotifyWorkflow", &["glue:notifyEvent"], vec![arn.clone()])
            ]}}]
        }),
        false,
    );
    let mut detail = serde_json::Map::new();
    detail.insert(key.into(), json!([aws_name]));
    detail.insert("state".into(), json!([state]));
    let rule = resource(
        "AWS::Events::Rule",
        json!({
            "Description": format!("Starts workflow {workflow} of pipeline {} after {} {} {}.", cx.name,
                if l.crawler { "crawler" } else { "stage" }, l.node, l.state.glue().to_lowercase()),
            "State": "ENABLED",
            "EventPattern": {"source": ["aws.glue"], "detail-type": [detail_type], "detail": detail},
            "Targets": [{"Id": "workflow", "Arn": sub(&arn), "RoleArn": get_att(&role_id, "Arn")}]
        }),
        false,
    );
    vec![(role_id, role), (format!("ChainRule{pascal}"), rule)]
}

/// For an event trigger: the EventBridge rule on S3 "Object Created" events of
/// its zone, and the role that lets EventBridge notify the workflow.
fn event_rule(cx: &Ctx, id: &str, name: &str, t: &Trigger) -> Vec<(String, Value)> {
    let Some(e) = &t.event else { return Vec::new() };
    let mut detail = json!({});
    if let Some(z) = &e.zone {
        detail["bucket"] = json!({"name": [cx.zone_bucket(z)]});
    }
    if let Some(prefix) = &e.prefix {
        detail["object"] = json!({"key": [{"prefix": prefix}]});
    }
    let workflow_arn = workflow_arn(cx.name);
    let role_id = format!("{id}EventRole");
    let role = resource(
        "AWS::IAM::Role",
        json!({
            "Description": format!("Lets EventBridge start workflow {} for trigger {name}.", cx.name),
            "AssumeRolePolicyDocument": iam::assume_role("events.amazonaws.com"),
            "Policies": [{"PolicyName": "notify-workflow", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                iam::statement("NotifyWorkflow", &["glue:notifyEvent"], vec![workflow_arn.clone()])
            ]}}]
        }),
        false,
    );
    let rule = resource(
        "AWS::Events::Rule",
        json!({
            "Description": format!("New objects for trigger {name} of pipeline {}.", cx.name),
            "State": "ENABLED",
            "EventPattern": {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail},
            "Targets": [{"Id": "workflow", "Arn": sub(&workflow_arn), "RoleArn": get_att(&role_id, "Arn")}]
        }),
        false,
    );
    vec![(role_id, role), (format!("{id}Rule"), rule)]
}
