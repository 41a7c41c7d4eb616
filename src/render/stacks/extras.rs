//! The smaller stacks a pipeline may declare: `glue-connections` (JDBC
//! connections in a VPC, credentials by Secrets Manager reference),
//! `data-quality` (DQDL rulesets per table) and `alerts` (an EventBridge rule
//! on failed stage runs to a KMS-encrypted SNS topic).
//!
//! In: the pipeline's connections, table quality rules and alerts. Out: one
//! template each.

use super::Ctx;
use crate::model::AlertState;
use crate::names::{self, Kind};
use crate::render::cfn::{Template, get_att, r#ref};
use serde_json::json;

pub(super) fn connections(cx: &Ctx) -> Template {
    let mut t = Template::new(cx.description("Glue JDBC connections"));
    for (name, c) in &cx.p.connections {
        let id = names::logical_id(Kind::Connection, name);
        t.resource(
            &id,
            "AWS::Glue::Connection",
            json!({
                "CatalogId": r#ref("AWS::AccountId"),
                "ConnectionInput": {
                    "Name": names::glue_connection(cx.name, name),
                    "Description": c.description.clone().unwrap_or_else(|| format!("{} database of pipeline {}.", super::iam::engine_word(c.engine), cx.name)),
                    "ConnectionType": "JDBC",
                    "ConnectionProperties": {
                        "JDBC_CONNECTION_URL": c.url,
                        "SECRET_ID": c.secret,
                        "JDBC_ENFORCE_SSL": "true"
                    },
                    "PhysicalConnectionRequirements": {
                        "SubnetId": c.subnet,
                        "SecurityGroupIdList": c.security_groups,
                        "AvailabilityZone": c.availability_zone
                    }
                }
            }),
            false,
        );
        t.ignore_lint(
            &id,
            "W3010",
            "A Glue connection must name the availability zone of the subnet the pipeline gives.",
        );
    }
    t
}

pub(super) fn data_quality(cx: &Ctx) -> Template {
    let mut t = Template::new(cx.description("Glue Data Quality rulesets"));
    for (name, table) in &cx.p.schemas {
        let (Some(q), Some(_)) = (&table.quality, &table.zone) else {
            continue;
        };
        let rules: Vec<String> = q
            .rules
            .iter()
            .map(|r| format!("    {}", r.trim()))
            .collect();
        t.resource(
            &format!("{}Ruleset", names::logical_id(Kind::Table, name)),
            "AWS::Glue::DataQualityRuleset",
            json!({
                "Name": format!("{}-{}", cx.name, name),
                "Description": format!("Rules of table {name}; stages that write it {} when they fail.",
                    match q.on_failure { crate::model::OnFailure::Fail => "stop", crate::model::OnFailure::Warn => "only report" }),
                "Ruleset": format!("Rules = [\n{}\n]", rules.join(",\n")),
                "TargetTable": {"DatabaseName": cx.database(), "TableName": name}
            }),
            false,
        );
    }
    t
}

pub(super) fn alerts(cx: &Ctx) -> Template {
    let p = cx.p;
    let mut t = Template::new(cx.description("failure alerts"));
    for (name, a) in &p.alerts {
        let id = names::logical_id(Kind::Alert, name);
        let topic_id = format!("{id}Topic");
        let subs: Vec<_> = a
            .email
            .iter()
            .map(|e| json!({"Protocol": "email", "Endpoint": e}))
            .collect();
        let mut topic = json!({
            "TopicName": format!("{}-{}", cx.name, name),
            "KmsMasterKeyId": names::kms_alias(cx.name)
        });
        if !subs.is_empty() {
            topic["Subscription"] = json!(subs);
        }
        t.resource(&topic_id, "AWS::SNS::Topic", topic, false);
        let stages: Vec<String> = if a.stages.is_empty() {
            p.stages
                .keys()
                .map(|s| names::glue_job(cx.name, s))
                .collect()
        } else {
            a.stages
                .iter()
                .map(|s| names::glue_job(cx.name, s))
                .collect()
        };
        // "Glue Job State Change" events carry only SUCCEEDED, FAILED, TIMEOUT
        // and STOPPED, so a rule never matches anything else:
        // https://docs.aws.amazon.com/glue/latest/dg/automating-awsglue-with-cloudwatch-events.html
        let states: Vec<&str> = if a.states.is_empty() {
            vec!["FAILED", "TIMEOUT"]
        } else {
            a.states
                .iter()
                .map(|s| match s {
                    AlertState::Failed => "FAILED",
                    AlertState::Timeout => "TIMEOUT",
                    AlertState::Stopped => "STOPPED",
                })
                .collect()
        };
        let rule_id = format!("{id}Rule");
        t.resource(
            &rule_id,
            "AWS::Events::Rule",
            json!({
                "Description": format!("Alert {name}: Glue job runs of pipeline {} that end badly.", cx.name),
                "State": "ENABLED",
                "EventPattern": {
                    "source": ["aws.glue"],
                    "detail-type": ["Glue Job State Change"],
                    "detail": {"jobName": stages, "state": states}
                },
                "Targets": [{"Id": "topic", "Arn": r#ref(&topic_id)}]
            }),
            false,
        );
        t.resource(
            &format!("{id}TopicPolicy"),
            "AWS::SNS::TopicPolicy",
            json!({
                "Topics": [r#ref(&topic_id)],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "EventBridgePublishes",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": r#ref(&topic_id),
                    "Condition": {"ArnEquals": {"aws:SourceArn": get_att(&rule_id, "Arn")}}
                }]}
            }),
            false,
        );
    }
    t
}
