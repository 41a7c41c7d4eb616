//! IAM policy building blocks, scoped to exact ARNs.
//!
//! In: the buckets, prefixes, tables, connections and secrets a stage or
//! crawler declares. Out: policy statements with no wildcard actions, each
//! limited to those resources.

use super::Ctx;
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

fn list_bucket(sid: &str, bucket_sub: &str, prefixes: &[String]) -> Value {
    let mut like: Vec<Value> = Vec::new();
    for p in prefixes {
        like.push(json!(p));
        like.push(json!(format!("{p}*")));
    }
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
        "Resource": [{"Fn::Sub": format!("arn:${{AWS::Partition}}:s3:::{bucket_sub}")}],
        "Condition": {"StringLike": {"s3:prefix": like}}
    })
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

/// Writing logs to given log group name patterns (with KMS association, which
/// Glue's encrypted logging calls).
pub fn logs(sid: &str, groups: &[String]) -> Value {
    let arns: Vec<String> = groups
        .iter()
        .flat_map(|g| {
            [
                format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{g}"),
                format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{g}:*"),
            ]
        })
        .collect();
    statement(
        sid,
        &[
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:AssociateKmsKey",
        ],
        arns,
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
        // Describe calls take no resource-level permissions; they read only.
        json!({
            "Sid": "NetworkDescribe",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
                "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcAttribute", "ec2:DescribeRouteTables"
            ],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": {"Ref": "AWS::Region"}}}
        }),
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
