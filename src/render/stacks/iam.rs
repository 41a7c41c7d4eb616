//! IAM policy building blocks, scoped to exact ARNs.
//!
//! In: the buckets, prefixes, tables, log groups, connections and secrets a
//! stage or crawler declares. Out: policy statements with no wildcard
//! actions, each limited to those resources.

use super::Ctx;
use crate::contracts::iam::LogGroup;
use crate::model::Engine;
use serde_json::{Value, json};

/// A statement; `resources` are `Fn::Sub` strings.
pub fn statement(sid: &str, actions: &[&str], resources: Vec<String>) -> Value {
    let res: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            if r.contains("${") {
                json!({"Fn::Sub": r})
            } else {
                json!(r.replace("${!", "${"))
            }
        })
        .collect();
    json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": res})
}

pub fn assume_role(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
        }]
    })
}

/// The ARNs of the objects under each prefix of a bucket.
fn object_arns(bucket_sub: &str, prefixes: &[String]) -> Vec<String> {
    prefixes
        .iter()
        .map(|p| format!("arn:${{AWS::Partition}}:s3:::{bucket_sub}/{p}*"))
        .collect()
}

/// Reads of objects under prefixes, with listing limited to those prefixes.
pub fn s3_read(sid: &str, bucket_sub: &str, prefixes: &[String]) -> Vec<Value> {
    let objects = object_arns(bucket_sub, prefixes);
    vec![
        statement(
            &format!("{sid}Get"),
            &["s3:GetObject", "s3:GetObjectVersion"],
            objects,
        ),
        list_bucket(&format!("{sid}List"), bucket_sub, prefixes),
    ]
}

/// Writes (and the deletes an overwrite needs) under prefixes.
pub fn s3_write(sid: &str, bucket_sub: &str, prefixes: &[String]) -> Vec<Value> {
    let objects = object_arns(bucket_sub, prefixes);
    vec![
        statement(
            &format!("{sid}Write"),
            &[
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ],
            objects,
        ),
        list_bucket(&format!("{sid}List"), bucket_sub, prefixes),
    ]
}

// Listing is limited by `s3:prefix`, which only ListBucket carries; see the
// condition keys per action in
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
fn list_bucket(sid: &str, bucket_sub: &str, prefixes: &[String]) -> Value {
    let mut like: Vec<Value> = Vec::new();
    for p in prefixes {
        like.push(json!(p));
        like.push(json!(format!("{p}*")));
    }
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": [{"Fn::Sub": format!("arn:${{AWS::Partition}}:s3:::{bucket_sub}")}],
        "Condition": {"StringLike": {"s3:prefix": like}}
    })
}

/// `s3:GetBucketLocation` on each bucket a role uses. The call carries no
/// `s3:prefix`, so it must not sit under the listing condition, where it would
/// grant nothing:
/// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
pub fn bucket_location(bucket_subs: &[String]) -> Value {
    let mut arns: Vec<String> = Vec::new();
    for b in bucket_subs {
        let arn = format!("arn:${{AWS::Partition}}:s3:::{b}");
        if !arns.contains(&arn) {
            arns.push(arn);
        }
    }
    statement("BucketLocation", &["s3:GetBucketLocation"], arns)
}

/// Use of the pipeline's KMS key, named by its alias so that no key ARN has
/// to cross stacks.
pub fn kms_use(cx: &Ctx) -> Value {
    json!({
        "Sid": "DataKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
        "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"}],
        "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": crate::names::kms_alias(cx.name)}}
    })
}

/// Writing logs into exactly the given log groups. Every group may be
/// created (Glue tries, and tolerates one that exists); only a group of this
/// job or crawler alone may have the pipeline's key associated, which Glue
/// does when the security configuration encrypts logs
/// (https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging-enable.html).
/// Streams go to the log-stream resource type of CreateLogStream and
/// PutLogEvents
/// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html).
pub fn logs(sid: &str, groups: &[LogGroup]) -> Vec<Value> {
    let group_arn = |g: &str| {
        format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{g}")
    };
    let both = |g: &str| [group_arn(g), format!("{}:*", group_arn(g))];
    let all: Vec<String> = groups.iter().flat_map(|g| both(&g.name)).collect();
    let own: Vec<String> = groups
        .iter()
        .filter(|g| g.own)
        .flat_map(|g| both(&g.name))
        .collect();
    let streams: Vec<String> = groups
        .iter()
        .map(|g| {
            let stream = g.stream.as_deref().unwrap_or("*");
            format!("{}:log-stream:{stream}", group_arn(&g.name))
        })
        .collect();
    let mut v = vec![statement(
        &format!("{sid}Groups"),
        &["logs:CreateLogGroup"],
        all,
    )];
    if !own.is_empty() {
        v.push(statement(
            &format!("{sid}Key"),
            &["logs:AssociateKmsKey"],
            own,
        ));
    }
    v.push(statement(
        &format!("{sid}Streams"),
        &["logs:CreateLogStream", "logs:PutLogEvents"],
        streams,
    ));
    v
}

/// A CloudWatch log group of a job or crawler, with retention and the
/// pipeline's key. Logs are diagnostics, not pipeline data, and a retained
/// group would block re-creating the same name.
pub fn log_group_resource(cx: &Ctx, name: &str, retention_days: u32) -> Value {
    super::resource_with_policy(
        "AWS::Logs::LogGroup",
        json!({
            "LogGroupName": name,
            "RetentionInDays": retention_days,
            "KmsKeyId": cx.kms_key_arn()
        }),
        Some("Delete"),
    )
}

/// Reading a security configuration. The action has no resource type, so
/// only `*` works:
/// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsglue.html
pub fn security_configuration_read() -> Value {
    json!({
        "Sid": "SecurityConfiguration",
        "Effect": "Allow",
        "Action": ["glue:GetSecurityConfiguration"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": {"Ref": "AWS::Region"}}}
    })
}

/// CloudWatch metrics in one namespace. PutMetricData has no resource type;
/// the `cloudwatch:namespace` condition keeps it to that namespace:
/// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
pub fn metrics(sid: &str, namespace: &str) -> Value {
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": "cloudwatch:PutMetricData",
        "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": namespace}}
    })
}

/// Publishing Glue Data Quality results from a job. The action's only
/// resource type is `dataQualityRuleset`, and a ruleset evaluated inside a job
/// has no name, so every ruleset of the account and region:
/// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsglue.html
/// and https://docs.aws.amazon.com/glue/latest/dg/data-quality-authorization.html
pub fn data_quality_publish() -> Value {
    statement(
        "DataQualityResults",
        &["glue:PublishDataQuality"],
        vec![
            "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:dataQualityRuleset/*"
                .into(),
        ],
    )
}

/// Glue Data Catalog ARNs for the pipeline's database and some of its tables.
pub fn catalog_arns(cx: &Ctx, tables: &[&str]) -> Vec<String> {
    let db = cx.database();
    let mut v = vec![
        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog".to_string(),
        format!("arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:database/{db}"),
    ];
    for t in tables {
        v.push(format!(
            "arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:table/{db}/{t}"
        ));
    }
    v
}

/// The ARN pattern of a Secrets Manager secret given by name or ARN.
pub fn secret_arn(secret: &str) -> String {
    if secret.starts_with("arn:") {
        super::super::cfn::sub_literal(secret)
    } else {
        // Secrets Manager appends six random characters to the name.
        format!(
            "arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{}-??????",
            super::super::cfn::sub_literal(secret)
        )
    }
}

/// What a Glue job in a VPC needs to place its network interface.
pub fn vpc_access(subnets: &[String], security_groups: &[String]) -> Vec<Value> {
    let mut create = vec![
        "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*"
            .to_string(),
    ];
    for s in subnets {
        create.push(format!(
            "arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:subnet/{s}"
        ));
    }
    for g in security_groups {
        create.push(format!(
            "arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:security-group/{g}"
        ));
    }
    vec![
        statement(
            "NetworkInterfaces",
            &[
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:CreateTags",
            ],
            create,
        ),
        // These Describe calls take no resource-level permissions; they read only.
        json!({
            "Sid": "NetworkDescribe",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
                "ec2:DescribeVpcEndpoints", "ec2:DescribeRouteTables"
            ],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": {"Ref": "AWS::Region"}}}
        }),
        // DescribeVpcAttribute requires the vpc resource type; the VPC is the
        // subnet's, whose ID the pipeline does not name:
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
        statement(
            "NetworkVpcAttribute",
            &["ec2:DescribeVpcAttribute"],
            vec!["arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/*".into()],
        ),
    ]
}

/// The JDBC port implied by an engine, for documentation in descriptions.
pub fn engine_word(e: Engine) -> &'static str {
    match e {
        Engine::Postgresql => "PostgreSQL",
        Engine::Redshift => "Redshift",
        Engine::Mysql => "MySQL",
    }
}
