//! Contracts of the workflow resources: trigger types and what each needs,
//! the states a condition can wait for, event batching limits, the workflow's
//! size and its one start trigger, and the EventBridge rules (Glue job and
//! crawler states, workflow targets).
//!
//! In: one resource. Out: messages for `contracts::check`.

use super::{Resource, Rule, strings};
use serde_json::Value;

const TRIGGER_API: &str =
    "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-trigger.html";

fn trigger_type(r: &Resource) -> Vec<String> {
    let mut out = Vec::new();
    let ty = r.str("Type").unwrap_or("");
    let has = |k: &str| r.get(k).is_some();
    match ty {
        "SCHEDULED" if !has("Schedule") => out.push("a SCHEDULED trigger needs a Schedule".into()),
        "CONDITIONAL" => {
            let n = r
                .get("Predicate/Conditions")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if n == 0 {
                out.push("a CONDITIONAL trigger needs a Predicate with conditions".into());
            }
        }
        _ => {}
    }
    if ty != "SCHEDULED" && has("Schedule") {
        out.push(format!("a {ty} trigger takes no Schedule"));
    }
    if ty != "CONDITIONAL" && has("Predicate") {
        out.push(format!("a {ty} trigger takes no Predicate"));
    }
    if ty != "EVENT" && has("EventBatchingCondition") {
        out.push(format!("a {ty} trigger takes no EventBatchingCondition"));
    }
    out
}

fn start_on_creation(r: &Resource) -> Vec<String> {
    let ty = r.str("Type").unwrap_or("");
    let start = r.get("StartOnCreation").and_then(Value::as_bool);
    match (ty, start) {
        ("ON_DEMAND", Some(true)) => {
            vec!["StartOnCreation is not supported for ON_DEMAND triggers".into()]
        }
        ("SCHEDULED" | "CONDITIONAL", s) if s != Some(true) => {
            vec![format!(
                "a {ty} trigger without StartOnCreation: true is created inactive"
            )]
        }
        _ => Vec::new(),
    }
}

fn condition_states(r: &Resource) -> Vec<String> {
    let Some(conds) = r.get("Predicate/Conditions").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in conds {
        if let Some(s) = c.get("State").and_then(Value::as_str)
            && !["SUCCEEDED", "STOPPED", "FAILED", "TIMEOUT"].contains(&s)
        {
            out.push(format!("a trigger cannot wait for job state {s}"));
        }
        if let Some(s) = c.get("CrawlState").and_then(Value::as_str)
            && !["SUCCEEDED", "FAILED", "CANCELLED"].contains(&s)
        {
            out.push(format!("a trigger cannot wait for crawler state {s}"));
        }
        if c.get("JobName").is_some() == c.get("CrawlerName").is_some() {
            out.push("a condition names exactly one job or one crawler".into());
        }
    }
    out
}

fn event_batching(r: &Resource) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(n) = r
        .get("EventBatchingCondition/BatchSize")
        .and_then(Value::as_u64)
        && !(1..=100).contains(&n)
    {
        out.push(format!("an event trigger batches 1 to 100 events, not {n}"));
    }
    if let Some(n) = r
        .get("EventBatchingCondition/BatchWindow")
        .and_then(Value::as_u64)
        && !(1..=900).contains(&n)
    {
        out.push(format!("an event trigger waits 1 to 900 seconds, not {n}"));
    }
    out
}

fn trigger_actions(r: &Resource) -> Vec<String> {
    let Some(actions) = r.get("Actions").and_then(Value::as_array) else {
        return vec!["a trigger needs Actions".into()];
    };
    actions
        .iter()
        .filter(|a| a.get("JobName").is_some() == a.get("CrawlerName").is_some())
        .map(|_| "an action starts exactly one job or one crawler".to_string())
        .collect()
}

/// The triggers of a workflow in this template, with their properties.
fn triggers_of<'a>(r: &'a Resource, name: &'a str) -> impl Iterator<Item = &'a Value> {
    r.others().filter_map(move |(_, ty, props)| {
        (ty == "AWS::Glue::Trigger"
            && props.get("WorkflowName").and_then(Value::as_str) == Some(name))
        .then_some(props)
    })
}

fn workflow_size(r: &Resource) -> Vec<String> {
    // AWS asks for at most 100 jobs, crawlers and triggers per workflow: the
    // triggers, and the jobs and crawlers they start or wait for.
    let Some(name) = r.str("Name") else {
        return Vec::new();
    };
    let mut triggers = 0;
    let mut nodes = std::collections::BTreeSet::new();
    for props in triggers_of(r, name) {
        triggers += 1;
        let actions = props.get("Actions").and_then(Value::as_array);
        let conditions = props
            .pointer("/Predicate/Conditions")
            .and_then(Value::as_array);
        for v in actions.into_iter().chain(conditions).flatten() {
            for key in ["JobName", "CrawlerName"] {
                if let Some(n) = v.get(key).and_then(Value::as_str) {
                    nodes.insert((key, n));
                }
            }
        }
    }
    let n = triggers + nodes.len();
    if n > 100 {
        vec![format!(
            "workflow `{name}` has {n} jobs, crawlers and triggers in this template; AWS supports 100"
        )]
    } else {
        Vec::new()
    }
}

fn one_start_trigger(r: &Resource) -> Vec<String> {
    let Some(name) = r.str("Name") else {
        return Vec::new();
    };
    let starts = triggers_of(r, name)
        .filter(|p| p.get("Type").and_then(Value::as_str) != Some("CONDITIONAL"))
        .count();
    if starts > 1 {
        vec![format!(
            "workflow `{name}` has {starts} start triggers; Glue permits one"
        )]
    } else {
        Vec::new()
    }
}

fn glue_job_states(r: &Resource) -> Vec<String> {
    let pattern = r.get("EventPattern");
    let source = strings(pattern.and_then(|p| p.get("source")));
    let types = strings(pattern.and_then(|p| p.get("detail-type")));
    if !source.contains(&"aws.glue") || !types.contains(&"Glue Job State Change") {
        return Vec::new();
    }
    strings(
        pattern
            .and_then(|p| p.get("detail"))
            .and_then(|d| d.get("state")),
    )
    .into_iter()
    .filter(|s| !["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"].contains(s))
    .map(|s| format!("Glue emits no \"Glue Job State Change\" event with state {s}"))
    .collect()
}

fn glue_crawler_states(r: &Resource) -> Vec<String> {
    let pattern = r.get("EventPattern");
    let source = strings(pattern.and_then(|p| p.get("source")));
    let types = strings(pattern.and_then(|p| p.get("detail-type")));
    if !source.contains(&"aws.glue") || !types.contains(&"Glue Crawler State Change") {
        return Vec::new();
    }
    strings(
        pattern
            .and_then(|p| p.get("detail"))
            .and_then(|d| d.get("state")),
    )
    .into_iter()
    .filter(|s| !["Started", "Succeeded", "Failed"].contains(s))
    .map(|s| format!("Glue emits no \"Glue Crawler State Change\" event with state {s}"))
    .collect()
}

fn workflow_target_role(r: &Resource) -> Vec<String> {
    let Some(targets) = r.get("Targets").and_then(Value::as_array) else {
        return Vec::new();
    };
    targets
        .iter()
        .filter(|t| {
            let arn = t.get("Arn").map(|a| a.to_string()).unwrap_or_default();
            arn.contains(":workflow/") && t.get("RoleArn").is_none()
        })
        .map(|_| "an EventBridge target that starts a Glue workflow needs a RoleArn".to_string())
        .collect()
}

pub(super) static RULES: [Rule; 10] = [
    Rule {
        id: "trigger-type-properties",
        resource_type: "AWS::Glue::Trigger",
        covers: &["Type", "Schedule", "Predicate", "EventBatchingCondition"],
        doc: TRIGGER_API,
        check: trigger_type,
    },
    Rule {
        id: "trigger-start-on-creation",
        resource_type: "AWS::Glue::Trigger",
        covers: &["StartOnCreation"],
        doc: "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-glue-trigger.html",
        check: start_on_creation,
    },
    Rule {
        id: "trigger-condition-states",
        resource_type: "AWS::Glue::Trigger",
        covers: &["Predicate/Conditions"],
        doc: "https://docs.aws.amazon.com/glue/latest/webapi/API_Condition.html",
        check: condition_states,
    },
    Rule {
        id: "trigger-event-batching",
        resource_type: "AWS::Glue::Trigger",
        covers: &[
            "EventBatchingCondition/BatchSize",
            "EventBatchingCondition/BatchWindow",
        ],
        doc: "https://docs.aws.amazon.com/glue/latest/webapi/API_EventBatchingCondition.html",
        check: event_batching,
    },
    Rule {
        id: "trigger-actions",
        resource_type: "AWS::Glue::Trigger",
        covers: &["Actions"],
        doc: "https://docs.aws.amazon.com/glue/latest/webapi/API_Action.html",
        check: trigger_actions,
    },
    Rule {
        id: "workflow-size",
        resource_type: "AWS::Glue::Workflow",
        covers: &["Name", "MaxConcurrentRuns"],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/blueprint_workflow_restrictions.html",
        check: workflow_size,
    },
    Rule {
        id: "workflow-one-start-trigger",
        resource_type: "AWS::Glue::Workflow",
        covers: &["Name"],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/blueprint_workflow_restrictions.html",
        check: one_start_trigger,
    },
    Rule {
        id: "events-glue-job-states",
        resource_type: "AWS::Events::Rule",
        covers: &["EventPattern/detail/state"],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/automating-awsglue-with-cloudwatch-events.html",
        check: glue_job_states,
    },
    Rule {
        id: "events-glue-crawler-states",
        resource_type: "AWS::Events::Rule",
        covers: &["EventPattern/detail/state"],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/automating-awsglue-with-cloudwatch-events.html",
        check: glue_crawler_states,
    },
    Rule {
        id: "events-workflow-target-role",
        resource_type: "AWS::Events::Rule",
        covers: &["Targets"],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/starting-workflow-eventbridge.html",
        check: workflow_target_role,
    },
];
