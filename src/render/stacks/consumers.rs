//! The `consumers` stack: per consumer, an IAM role that reads exactly its
//! tables, and an Athena workgroup of its own; plus one bucket for the
//! consumers' query results, a prefix each.
//!
//! In: the pipeline's `consumers`, with the tables each reads
//! (`validate::consumers::tables`). Out: a template. The stack is its own,
//! not part of `basic-infra`, because readers come and go at another pace
//! than the data: adding or removing an analyst changes one reviewable file
//! and never touches the termination-protected stack that holds the buckets
//! and the key. Like every stack it imports nothing: the KMS key ARN and the
//! access-log bucket come from SSM parameters that `basic-infra` writes.
//!
//! Why a role and not a managed policy: a policy must be attached by someone
//! to principals pipec cannot see, so what a consumer can reach would live
//! outside the pipeline. A role carries its own trust (the consumer's
//! declared `principals`) and is created, reviewed and removed with it.
//!
//! Least privilege, per the Service Authorization Reference:
//! - S3 objects under each table's prefix, listing only under those prefixes
//!   (`s3:prefix` is a condition key of ListBucket only):
//!   https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
//! - Glue catalog reads on the catalog, the database and each table's ARN:
//!   https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsglue.html
//!   and https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html
//! - Athena query actions on the consumer's workgroup ARN alone:
//!   https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonathena.html
//!   and https://docs.aws.amazon.com/athena/latest/ug/example-policies-workgroup.html
//! - `kms:Decrypt` on the pipeline key's ARN, only through S3 and Glue
//!   (`kms:ViaService`):
//!   https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html
//!   and https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service

use super::{Ctx, iam, table_prefix};
use crate::contracts::iam::{
    CONSUMER_CATALOG_ACTIONS, CONSUMER_QUERY_ACTIONS, CONSUMER_RESULTS_ACTIONS,
};
use crate::model::{Consumer, Pipeline};
use crate::names::{self, Kind};
use crate::render::cfn::{Template, r#ref, sub};
use crate::validate::consumers::{Principal, principal, tables};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The SSM parameter that holds the name of the pipeline's access-log bucket,
/// which `basic-infra` writes when the pipeline has consumers.
pub fn access_log_parameter(pipeline: &str) -> String {
    format!("/pipec/{pipeline}/access-log-bucket")
}

/// The prefix of a consumer's query results in the consumers bucket.
pub fn results_prefix(consumer: &str) -> String {
    format!("{consumer}/")
}

/// A principal as it goes into a trust policy.
fn principal_arn(s: &str) -> Value {
    match principal(s) {
        Ok(Principal::Account(a)) => sub(&format!("arn:${{AWS::Partition}}:iam::{a}:root")),
        Ok(Principal::OwnRole(path)) => sub(&format!(
            "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{path}"
        )),
        Ok(Principal::Arn(a)) => json!(a),
        // Validation refused it already; the text stays data.
        Err(_) => json!(s),
    }
}

/// Zone tables of a consumer by zone: the prefixes, and the table names.
fn by_zone<'a>(p: &'a Pipeline, c: &Consumer) -> (BTreeMap<&'a str, Vec<String>>, Vec<&'a str>) {
    let mut zones: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let list = tables(p, c);
    for t in &list {
        let Some((name, s)) = p.schemas.get_key_value(*t) else {
            continue;
        };
        if let Some(z) = &s.zone {
            zones
                .entry(z.as_str())
                .or_default()
                .push(table_prefix(name, s));
        }
    }
    (zones, list)
}

/// The statements of one consumer's role.
pub(super) fn statements(cx: &Ctx, name: &str, c: &Consumer) -> Vec<Value> {
    let p = cx.p;
    let (zones, list) = by_zone(p, c);
    let results = names::consumers_bucket(cx.name);
    let mut v = Vec::new();
    let mut buckets = Vec::new();
    for (zone, prefixes) in &zones {
        let bucket = cx.zone_bucket_sub(zone);
        v.extend(iam::s3_read(
            &format!("Read{}", names::pascal(zone)),
            &bucket,
            prefixes,
        ));
        buckets.push(bucket);
    }
    v.push(iam::statement(
        "Catalog",
        CONSUMER_CATALOG_ACTIONS,
        iam::catalog_arns(cx, &list),
    ));
    let workgroup = names::consumer_workgroup(cx.name, name);
    v.push(iam::statement(
        "Athena",
        CONSUMER_QUERY_ACTIONS,
        vec![format!(
            "arn:${{AWS::Partition}}:athena:${{AWS::Region}}:${{AWS::AccountId}}:workgroup/{workgroup}"
        )],
    ));
    let prefix = results_prefix(name);
    v.push(iam::statement(
        "ResultsWrite",
        CONSUMER_RESULTS_ACTIONS,
        vec![format!("arn:${{AWS::Partition}}:s3:::{results}/{prefix}*")],
    ));
    v.push(list_results(&results, &prefix));
    buckets.push(results);
    v.push(iam::bucket_location(&buckets));
    v.push(json!({
        "Sid": "DataKeyDecrypt",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": [cx.kms_key_arn()],
        "Condition": {"StringEquals": {"kms:ViaService": [
            sub("s3.${AWS::Region}.amazonaws.com"),
            sub("glue.${AWS::Region}.amazonaws.com")
        ]}}
    }));
    v
}

/// Listing the consumer's own results prefix.
fn list_results(bucket_sub: &str, prefix: &str) -> Value {
    json!({
        "Sid": "ResultsList",
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": [sub(&format!("arn:${{AWS::Partition}}:s3:::{bucket_sub}"))],
        "Condition": {"StringLike": {"s3:prefix": [prefix, format!("{prefix}*")]}}
    })
}

pub(super) fn render(cx: &Ctx) -> Template {
    let p = cx.p;
    let mut t =
        Template::new(cx.description(
            "consumers: a read-only role and an Athena workgroup per reader of the data",
        ));
    let bucket = names::consumers_bucket(cx.name);
    let days = p
        .athena
        .as_ref()
        .and_then(|a| a.results_retention_days)
        .unwrap_or(30);
    // One expiry for the bucket: the longest any consumer asks for, and a
    // rule per consumer that asks for less.
    let mut rules = vec![
        json!({"Id": "AbortIncompleteUploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}),
    ];
    for (name, c) in &p.consumers {
        let d = c.results_retention_days.unwrap_or(days);
        rules.push(json!({
            "Id": format!("Expire{}", names::pascal(name)),
            "Status": "Enabled",
            "Prefix": results_prefix(name),
            "ExpirationInDays": d,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1}
        }));
    }
    // SSE-S3: Athena writes the results with SSE_S3 (see the workgroups), so
    // no consumer needs the pipeline's key for anything but decryption.
    t.resource(
        "ResultsBucket",
        "AWS::S3::Bucket",
        json!({
            "BucketName": sub(&bucket),
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
            "VersioningConfiguration": {"Status": "Enabled"},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LoggingConfiguration": {
                "DestinationBucketName": format!("{{{{resolve:ssm:{}}}}}", access_log_parameter(cx.name)),
                "LogFilePrefix": "consumers/"
            },
            "LifecycleConfiguration": {"Rules": rules}
        }),
        true,
    );
    // TLS only; and each consumer's prefix is written and read by its role
    // alone, whatever other policies in the account allow
    // (aws:PrincipalArn is the role's ARN for its sessions:
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
    let mut policy = vec![json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [crate::render::cfn::get_att("ResultsBucket", "Arn"), sub("${ResultsBucket.Arn}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    })];
    for name in p.consumers.keys() {
        let role = names::consumer_role(cx.name, name);
        policy.push(json!({
            "Sid": format!("Only{}", names::pascal(name)),
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": sub(&format!("${{ResultsBucket.Arn}}/{}*", results_prefix(name))),
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": sub(&format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{role}"))}}
        }));
    }
    t.resource(
        "ResultsBucketPolicy",
        "AWS::S3::BucketPolicy",
        json!({"Bucket": r#ref("ResultsBucket"), "PolicyDocument": {"Version": "2012-10-17", "Statement": policy}}),
        false,
    );

    for (name, c) in &p.consumers {
        let id = names::logical_id(Kind::Consumer, name);
        let role = names::consumer_role(cx.name, name);
        let principals: Vec<Value> = c.principals.iter().map(|s| principal_arn(s)).collect();
        let accounts: Vec<&String> = c
            .principals
            .iter()
            .filter(|s| matches!(principal(s), Ok(Principal::Account(_))))
            .collect();
        t.resource(
            &format!("{id}Role"),
            "AWS::IAM::Role",
            json!({
                "RoleName": role,
                "Description": format!("Reads the tables given to consumer {name} of pipeline {}, and queries them in its Athena workgroup.", cx.name),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": {"AWS": principals},
                        "Action": "sts:AssumeRole"
                    }]
                },
                "Policies": [{
                    "PolicyName": "read",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements(cx, name, c)}
                }]
            }),
            false,
        );
        if !accounts.is_empty() {
            let list: Vec<&str> = accounts.iter().map(|s| s.as_str()).collect();
            t.skip_check(
                &format!("{id}Role"),
                "CKV_AWS_61",
                &format!(
                    "The consumer declares account {} as its principal: that account's own IAM policies decide which of its principals may assume the role.",
                    list.join(", ")
                ),
            );
        }
        let mut config = json!({
            "EnforceWorkGroupConfiguration": true,
            "PublishCloudWatchMetricsEnabled": true,
            "RequesterPaysEnabled": false,
            "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3"},
            "ResultConfiguration": {
                "OutputLocation": sub(&format!("s3://{bucket}/{}", results_prefix(name))),
                "ExpectedBucketOwner": r#ref("AWS::AccountId"),
                "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}
            }
        });
        let limit = c
            .scan_limit
            .as_ref()
            .or(p.athena.as_ref().and_then(|a| a.scan_limit.as_ref()));
        if let Some(limit) = limit {
            let bytes = crate::validate::rules::byte_size(limit).unwrap_or(10_000_000);
            config["BytesScannedCutoffPerQuery"] = json!(bytes);
        }
        let description = match &c.description {
            Some(d) => format!("Queries of consumer {name} of pipeline {}: {d}", cx.name),
            None => format!("Queries of consumer {name} of pipeline {}.", cx.name),
        };
        t.resource(
            &format!("{id}WorkGroup"),
            "AWS::Athena::WorkGroup",
            json!({
                "Name": names::consumer_workgroup(cx.name, name),
                "Description": description,
                "State": "ENABLED",
                // Removing a consumer removes its workgroup with its saved queries.
                "RecursiveDeleteOption": true,
                "WorkGroupConfiguration": config
            }),
            false,
        );
    }
    // Ownership that outlives the stack: `deploy` re-adopts the retained
    // results bucket after a `destroy` only when it carries this tag.
    t.tag_retained("pipec:pipeline", cx.name);
    t
}
