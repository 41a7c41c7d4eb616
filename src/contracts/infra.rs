//! Contracts of the supporting resources: the KMS key policy for EventBridge
//! and CloudWatch Logs, the alias, the access-log bucket and its policy, the
//! SSM parameter read by dynamic references, the Athena workgroup, the Glue
//! security configuration, log groups, role trust, and the alert topics.
//!
//! In: one resource. Out: messages for `contracts::check`.

use super::{Resource, Rule, strings, target};
use serde_json::Value;

fn statements(policy: Option<&Value>) -> Vec<&Value> {
    match policy.and_then(|p| p.get("Statement")) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

fn services(s: &Value) -> Vec<String> {
    match s.get("Principal").and_then(|p| p.get("Service")) {
        Some(Value::String(v)) => vec![v.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.to_string().trim_matches('"').to_string())
            .collect(),
        Some(other) => vec![other.to_string()],
        None => Vec::new(),
    }
}

fn kms_eventbridge(r: &Resource) -> Vec<String> {
    let mut out = Vec::new();
    for s in statements(r.get("KeyPolicy")) {
        if !services(s).iter().any(|p| p == "events.amazonaws.com") {
            continue;
        }
        let actions = strings(s.get("Action"));
        for need in ["kms:Decrypt", "kms:GenerateDataKey*"] {
            if !actions.contains(&need) && !actions.contains(&"kms:*") {
                out.push(format!(
                    "EventBridge needs {need} on the key of an encrypted topic"
                ));
            }
        }
        let cond = s
            .get("Condition")
            .map(|c| c.to_string())
            .unwrap_or_default();
        for key in ["aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID"] {
            if cond.to_lowercase().contains(&key.to_lowercase()) {
                out.push(format!(
                    "{key} in a KMS key policy is not supported for EventBridge to encrypted topics"
                ));
            }
        }
    }
    out
}

fn kms_logs(r: &Resource) -> Vec<String> {
    // A log group encrypted with this key needs the regional logs principal.
    let logs_groups = r
        .others()
        .any(|(_, ty, p)| ty == "AWS::Logs::LogGroup" && p.get("KmsKeyId").is_some());
    if !logs_groups {
        return Vec::new();
    }
    let ok = statements(r.get("KeyPolicy"))
        .iter()
        .any(|s| services(s).iter().any(|p| p.contains("logs.")));
    if ok {
        Vec::new()
    } else {
        vec!["log groups use this key, but its policy does not allow CloudWatch Logs".into()]
    }
}

fn kms_alias(r: &Resource) -> Vec<String> {
    match r.str("AliasName") {
        Some(a) if a.starts_with("alias/") && !a.starts_with("alias/aws/") => Vec::new(),
        Some(a) => vec![format!(
            "alias `{a}` must start with alias/ and not alias/aws/"
        )],
        None => Vec::new(),
    }
}

/// Logical IDs of the buckets that receive server access logs.
fn log_destinations<'a>(r: &'a Resource) -> Vec<&'a str> {
    r.others()
        .filter(|(_, ty, _)| *ty == "AWS::S3::Bucket")
        .filter_map(|(_, _, p)| {
            target(
                p.get("LoggingConfiguration")
                    .and_then(|l| l.get("DestinationBucketName")),
            )
        })
        .collect()
}

fn access_log_bucket(r: &Resource) -> Vec<String> {
    if !log_destinations(r).contains(&r.id) {
        return Vec::new();
    }
    let alg = r
        .get("BucketEncryption/ServerSideEncryptionConfiguration")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|c| c.get("ServerSideEncryptionByDefault"))
        .and_then(|d| d.get("SSEAlgorithm"))
        .and_then(Value::as_str);
    if alg == Some("AES256") || alg.is_none() {
        Vec::new()
    } else {
        vec!["a server access log destination must use SSE-S3 (AES256), not a KMS key".into()]
    }
}

fn access_log_policy(r: &Resource) -> Vec<String> {
    let Some(bucket) = target(r.get("Bucket")) else {
        return Vec::new();
    };
    if !log_destinations(r).contains(&bucket) {
        return Vec::new();
    }
    let ok = statements(r.get("PolicyDocument")).iter().any(|s| {
        services(s).iter().any(|p| p == "logging.s3.amazonaws.com")
            && strings(s.get("Action")).contains(&"s3:PutObject")
    });
    if ok {
        Vec::new()
    } else {
        vec!["a log destination with BucketOwnerEnforced must grant logging.s3.amazonaws.com s3:PutObject".into()]
    }
}

fn ssm_parameter(r: &Resource) -> Vec<String> {
    // `{{resolve:ssm:...}}` reads String and StringList parameters only.
    match r.str("Type") {
        Some("String" | "StringList") | None => Vec::new(),
        Some(t) => vec![format!(
            "dynamic ssm references cannot read a {t} parameter"
        )],
    }
}

fn athena_workgroup(r: &Resource) -> Vec<String> {
    let mut out = Vec::new();
    let c = "WorkGroupConfiguration";
    if let Some(n) = r
        .get(&format!("{c}/BytesScannedCutoffPerQuery"))
        .and_then(Value::as_u64)
        && n < 10_000_000
    {
        out.push(format!(
            "the per-query scan limit is at least 10,000,000 bytes, not {n}"
        ));
    }
    let enc = format!("{c}/ResultConfiguration/EncryptionConfiguration");
    if matches!(
        r.str(&format!("{enc}/EncryptionOption")),
        Some("SSE_KMS" | "CSE_KMS")
    ) && r.get(&format!("{enc}/KmsKey")).is_none()
    {
        out.push("KMS result encryption needs a KmsKey".into());
    }
    out
}

fn security_configuration(r: &Resource) -> Vec<String> {
    let e = "EncryptionConfiguration";
    let mut out = Vec::new();
    let s3 = r
        .get(&format!("{e}/S3Encryptions"))
        .and_then(Value::as_array);
    for s in s3.into_iter().flatten() {
        if s.get("S3EncryptionMode").and_then(Value::as_str) == Some("SSE-KMS")
            && s.get("KmsKeyArn").is_none()
        {
            out.push("SSE-KMS S3 encryption needs a KmsKeyArn".into());
        }
    }
    for (mode, path) in [
        ("SSE-KMS", "CloudWatchEncryption/CloudWatchEncryptionMode"),
        (
            "CSE-KMS",
            "JobBookmarksEncryption/JobBookmarksEncryptionMode",
        ),
    ] {
        let parent = path.split('/').next().unwrap_or("");
        if r.str(&format!("{e}/{path}")) == Some(mode)
            && r.get(&format!("{e}/{parent}/KmsKeyArn")).is_none()
        {
            out.push(format!("{parent} {mode} needs a KmsKeyArn"));
        }
    }
    out
}

fn log_group(r: &Resource) -> Vec<String> {
    // Glue writes only under /aws-glue/; the key policy's encryption context is scoped there.
    match r.str("LogGroupName") {
        Some(n) if r.get("KmsKeyId").is_some() && !n.starts_with("/aws-glue/") => {
            vec![format!(
                "log group `{n}` is outside /aws-glue/, which the key policy allows"
            )]
        }
        _ => Vec::new(),
    }
}

fn role_trust(r: &Resource) -> Vec<String> {
    let mut needs = Vec::new();
    for (_, ty, p) in r.others() {
        match ty {
            "AWS::Glue::Job" | "AWS::Glue::Crawler" if target(p.get("Role")) == Some(r.id) => {
                needs.push("glue.amazonaws.com")
            }
            "AWS::Events::Rule" => {
                let uses = p
                    .get("Targets")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|t| target(t.get("RoleArn")) == Some(r.id));
                if uses {
                    needs.push("events.amazonaws.com");
                }
            }
            _ => {}
        }
    }
    let trusted: Vec<String> = statements(r.get("AssumeRolePolicyDocument"))
        .iter()
        .flat_map(|s| services(s))
        .collect();
    needs
        .into_iter()
        .filter(|n| !trusted.iter().any(|t| t == n))
        .map(|n| format!("the role is used by {n} but does not trust it"))
        .collect()
}

/// Logical IDs of SNS topics that an EventBridge rule targets.
fn rule_topics<'a>(r: &'a Resource) -> Vec<&'a str> {
    r.others()
        .filter(|(_, ty, _)| *ty == "AWS::Events::Rule")
        .flat_map(|(_, _, p)| {
            p.get("Targets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|t| target(t.get("Arn")))
        .collect()
}

fn topic_key(r: &Resource) -> Vec<String> {
    if !rule_topics(r).contains(&r.id) {
        return Vec::new();
    }
    match r.str("KmsMasterKeyId") {
        Some("alias/aws/sns") => vec!["EventBridge cannot publish to a topic under the AWS managed key alias/aws/sns; use a customer managed key".into()],
        _ => Vec::new(),
    }
}

fn topic_policy(r: &Resource) -> Vec<String> {
    let topics: Vec<&str> = r
        .get("Topics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| target(Some(t)))
        .collect();
    let targeted = rule_topics(r);
    if !topics.iter().any(|t| targeted.contains(t)) {
        return Vec::new();
    }
    let ok = statements(r.get("PolicyDocument")).iter().any(|s| {
        services(s).iter().any(|p| p == "events.amazonaws.com")
            && strings(s.get("Action")).contains(&"sns:Publish")
    });
    if ok {
        Vec::new()
    } else {
        vec!["the topic policy must let events.amazonaws.com sns:Publish".into()]
    }
}

const SNS_KEYS: &str = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html";

pub(super) static RULES: [Rule; 13] = [
    Rule {
        id: "kms-eventbridge-encrypted-topics",
        resource_type: "AWS::KMS::Key",
        covers: &["KeyPolicy"],
        doc: SNS_KEYS,
        check: kms_eventbridge,
    },
    Rule {
        id: "kms-cloudwatch-logs",
        resource_type: "AWS::KMS::Key",
        covers: &["KeyPolicy"],
        doc: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
        check: kms_logs,
    },
    Rule {
        id: "kms-alias-name",
        resource_type: "AWS::KMS::Alias",
        covers: &["AliasName"],
        doc: "https://docs.aws.amazon.com/kms/latest/developerguide/alias-about.html",
        check: kms_alias,
    },
    Rule {
        id: "s3-access-log-destination-sse-s3",
        resource_type: "AWS::S3::Bucket",
        covers: &["BucketEncryption", "LoggingConfiguration"],
        doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html",
        check: access_log_bucket,
    },
    Rule {
        id: "s3-access-log-destination-policy",
        resource_type: "AWS::S3::BucketPolicy",
        covers: &["PolicyDocument"],
        doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html",
        check: access_log_policy,
    },
    Rule {
        id: "ssm-dynamic-reference-type",
        resource_type: "AWS::SSM::Parameter",
        covers: &["Type"],
        doc: "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-ssm.html",
        check: ssm_parameter,
    },
    Rule {
        id: "athena-workgroup-limits",
        resource_type: "AWS::Athena::WorkGroup",
        covers: &["WorkGroupConfiguration"],
        doc: "https://docs.aws.amazon.com/athena/latest/APIReference/API_WorkGroupConfiguration.html",
        check: athena_workgroup,
    },
    Rule {
        id: "glue-security-configuration-keys",
        resource_type: "AWS::Glue::SecurityConfiguration",
        covers: &["EncryptionConfiguration"],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/encryption-security-configuration.html",
        check: security_configuration,
    },
    Rule {
        id: "logs-glue-log-group",
        resource_type: "AWS::Logs::LogGroup",
        covers: &["LogGroupName", "KmsKeyId"],
        doc: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
        check: log_group,
    },
    Rule {
        id: "iam-role-trust",
        resource_type: "AWS::IAM::Role",
        covers: &["AssumeRolePolicyDocument"],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/create-an-iam-role.html",
        check: role_trust,
    },
    Rule {
        id: "sns-topic-customer-key",
        resource_type: "AWS::SNS::Topic",
        covers: &["KmsMasterKeyId"],
        doc: SNS_KEYS,
        check: topic_key,
    },
    Rule {
        id: "sns-topic-policy-eventbridge",
        resource_type: "AWS::SNS::TopicPolicy",
        covers: &["PolicyDocument"],
        doc: "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html",
        check: topic_policy,
    },
    Rule {
        id: "athena-workgroup-engine",
        resource_type: "AWS::Athena::WorkGroup",
        covers: &["WorkGroupConfiguration/EngineVersion"],
        doc: "https://docs.aws.amazon.com/athena/latest/ug/engine-versions.html",
        check: athena_engine,
    },
];

fn athena_engine(r: &Resource) -> Vec<String> {
    match r.str("WorkGroupConfiguration/EngineVersion/SelectedEngineVersion") {
        Some("AUTO" | "Athena engine version 3") | None => Vec::new(),
        Some(v) => vec![format!("`{v}` is retired; use Athena engine version 3")],
    }
}
