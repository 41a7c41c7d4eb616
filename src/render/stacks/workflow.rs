//! The `glue-workflow` stack: the pipeline's Glue workflow and its triggers
//! (on demand, scheduled, conditional with AND/ANY predicates, event), and for
//! event triggers the EventBridge rule that feeds them.
//!
//! In: the pipeline's triggers. Out: resource groups for `split`; the
//! workflow is shared, each trigger (with its rule and role) is a group.

use super::{Ctx, GroupList, Groups, depends, iam, resource};
use crate::model::{Action, Condition, Trigger, TriggerKind};
use crate::names::{self, Kind};
use crate::render::cfn::{get_att, sub};
use serde_json::{Value, json};

pub(super) fn render(cx: &Ctx) -> Groups {
    let p = cx.p;
    let mut wf = json!({
        "Name": cx.name,
        "Description": p.workflow.description.clone().unwrap_or_else(|| format!("Pipeline {}.", cx.name)),
        "MaxConcurrentRuns": p.workflow.max_concurrent_runs.unwrap_or(1)
    });
    if !p.workflow.properties.is_empty() {
        wf["DefaultRunProperties"] = json!(p.workflow.properties);
    }
    let workflow = resource("AWS::Glue::Workflow", wf, false);
    let mut groups = GroupList::default();
    for (name, t) in &p.triggers {
        let id = names::logical_id(Kind::Trigger, name);
        let mut rs = vec![(
            id.clone(),
            depends(
                resource("AWS::Glue::Trigger", trigger(cx, name, t), false),
                &["Workflow"],
            ),
        )];
        if t.kind() == TriggerKind::Event {
            rs.extend(event_rule(cx, &id, name, t));
        }
        groups.push((format!("trigger {name}"), rs));
    }
    Groups {
        description: cx.description("Glue workflow and triggers"),
        shared: vec![("Workflow".into(), workflow)],
        groups,
    }
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

fn trigger(cx: &Ctx, name: &str, t: &Trigger) -> Value {
    let p = cx.p;
    let kind = t.kind();
    let mut v = json!({
        "Name": names::glue_trigger(cx.name, name),
        "WorkflowName": cx.name,
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
    let workflow_arn = format!(
        "arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:workflow/{}",
        cx.name
    );
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
