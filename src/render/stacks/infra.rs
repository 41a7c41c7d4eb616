//! The `basic-infra` stack: the KMS key, the zone buckets, the artifacts,
//! Athena results and access-log buckets, the Athena workgroup and the Glue
//! security configuration.
//!
//! In: the pipeline's zones, athena and catalog settings. Out: a template in
//! which every bucket is encrypted, versioned, private, TLS-only and logged,
//! and every stateful resource is retained on delete and on replacement.

use super::{Ctx, kms_parameter};
use crate::model::TriggerKind;
use crate::names;
use crate::render::cfn::{Template, get_att, r#ref, sub};
use serde_json::{Value, json};

pub(super) fn render(cx: &Ctx) -> Template {
    let p = cx.p;
    let mut t = Template::new(cx.description(
        "basic infrastructure: KMS key, buckets, Athena workgroup, Glue security configuration",
    ));

    let mut key_statements = vec![
        json!({
            "Sid": "AccountAdministersKey",
            "Effect": "Allow",
            "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }),
        json!({
            "Sid": "GlueLogsEncrypt",
            "Effect": "Allow",
            "Principal": {"Service": sub("logs.${AWS::Region}.amazonaws.com")},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws-glue/*")}}
        }),
    ];
    if !p.alerts.is_empty() {
        // EventBridge publishes to the encrypted alert topics. SNS documents
        // this exact grant, and that aws:SourceAccount, aws:SourceArn and
        // aws:SourceOrgID conditions are not supported for EventBridge to
        // encrypted topics, so the statement carries none:
        // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
        key_statements.push(json!({
            "Sid": "EventBridgePublishesAlerts",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
            "Resource": "*"
        }));
    }
    t.resource(
        "DataKey",
        "AWS::KMS::Key",
        json!({
            "Description": format!("Encrypts the data, logs and job bookmarks of pipeline {}.", cx.name),
            "EnableKeyRotation": true,
            "KeyPolicy": {"Version": "2012-10-17", "Statement": key_statements}
        }),
        true,
    );
    t.resource(
        "DataKeyAlias",
        "AWS::KMS::Alias",
        json!({"AliasName": names::kms_alias(cx.name), "TargetKeyId": r#ref("DataKey")}),
        false,
    );
    t.resource(
        "DataKeyArnParameter",
        "AWS::SSM::Parameter",
        json!({
            "Name": kms_parameter(cx.name),
            "Type": "String",
            "Value": get_att("DataKey", "Arn"),
            "Description": "ARN of the pipeline's KMS key, read by the other stacks through a dynamic reference."
        }),
        false,
    );

    if !p.consumers.is_empty() {
        // The consumers stack logs its results bucket here, and imports nothing.
        t.resource(
            "AccessLogBucketParameter",
            "AWS::SSM::Parameter",
            json!({
                "Name": super::consumers::access_log_parameter(cx.name),
                "Type": "String",
                "Value": r#ref("AccessLogBucket"),
                "Description": "Name of the pipeline's access-log bucket, read by the consumers stack through a dynamic reference."
            }),
            false,
        );
    }

    // The access-log bucket: SSE-S3, since S3 server access logging cannot write with a KMS key.
    t.resource(
        "AccessLogBucket",
        "AWS::S3::Bucket",
        json!({
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "PublicAccessBlockConfiguration": public_access_block(),
            "VersioningConfiguration": {"Status": "Enabled"},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {"Rules": [
                {"Id": "ExpireOldLogs", "Status": "Enabled", "ExpirationInDays": 365, "NoncurrentVersionExpiration": {"NoncurrentDays": 30}},
                abort_uploads()
            ]}
        }),
        true,
    );
    t.skip_check(
        "AccessLogBucket",
        "CKV_AWS_18",
        "This bucket receives the access logs of all others; logging it into itself would loop.",
    );
    let mut log_policy = tls_only("AccessLogBucket");
    log_policy.push(json!({
        "Sid": "S3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": sub("${AccessLogBucket.Arn}/*"),
        "Condition": {"StringEquals": {"aws:SourceAccount": r#ref("AWS::AccountId")}}
    }));
    bucket_policy(&mut t, "AccessLogBucket", log_policy);

    // Zones whose new objects start an event trigger send events to EventBridge.
    let event_zones: Vec<&str> = p
        .triggers
        .values()
        .filter(|tr| tr.kind() == TriggerKind::Event)
        .filter_map(|tr| tr.event.as_ref().and_then(|e| e.zone.as_deref()))
        .collect();
    for (zone, z) in &p.zones {
        let id = format!("{}Bucket", names::logical_id(names::Kind::Zone, zone));
        let mut lifecycle = vec![abort_uploads()];
        if let Some(days) = z.noncurrent_version_expiration_days {
            lifecycle.push(json!({"Id": "ExpireNoncurrentVersions", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": days}}));
        }
        let mut props = data_bucket(cx.zone_bucket(zone), &format!("{zone}/"), lifecycle);
        if event_zones.contains(&zone.as_str()) {
            props["NotificationConfiguration"] =
                json!({"EventBridgeConfiguration": {"EventBridgeEnabled": true}});
        }
        t.resource(&id, "AWS::S3::Bucket", props, true);
        bucket_policy(&mut t, &id, tls_only(&id));
    }

    let artifacts = data_bucket(
        sub(&names::artifacts_bucket(cx.name)),
        "artifacts/",
        vec![
            abort_uploads(),
            json!({"Id": "ExpireOldScripts", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 90}}),
            json!({"Id": "ExpireSparkTemp", "Status": "Enabled", "Prefix": "tmp/", "ExpirationInDays": 7}),
        ],
    );
    t.resource("ArtifactsBucket", "AWS::S3::Bucket", artifacts, true);
    bucket_policy(&mut t, "ArtifactsBucket", tls_only("ArtifactsBucket"));

    if let Some(a) = &p.athena {
        let days = a.results_retention_days.unwrap_or(30);
        let results = data_bucket(
            Value::Null,
            "athena-results/",
            vec![
                abort_uploads(),
                json!({"Id": "ExpireQueryResults", "Status": "Enabled", "ExpirationInDays": days, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}),
            ],
        );
        t.resource("AthenaResultsBucket", "AWS::S3::Bucket", results, true);
        bucket_policy(
            &mut t,
            "AthenaResultsBucket",
            tls_only("AthenaResultsBucket"),
        );
        let mut config = json!({
            "EnforceWorkGroupConfiguration": true,
            "PublishCloudWatchMetricsEnabled": true,
            "RequesterPaysEnabled": false,
            "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3"},
            "ResultConfiguration": {
                "OutputLocation": sub("s3://${AthenaResultsBucket}/"),
                "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": get_att("DataKey", "Arn")}
            }
        });
        if let Some(limit) = &a.scan_limit {
            let bytes = crate::validate::rules::byte_size(limit).unwrap_or(10_000_000);
            config["BytesScannedCutoffPerQuery"] = json!(bytes);
        }
        t.resource(
            "AthenaWorkGroup",
            "AWS::Athena::WorkGroup",
            json!({
                "Name": a.workgroup.clone().unwrap_or_else(|| cx.name.to_string()),
                "Description": format!("Queries the zones of pipeline {}.", cx.name),
                "State": "ENABLED",
                "WorkGroupConfiguration": config
            }),
            false,
        );
    }

    t.resource(
        "GlueSecurityConfiguration",
        "AWS::Glue::SecurityConfiguration",
        json!({
            "Name": names::security_configuration(cx.name),
            "EncryptionConfiguration": {
                "S3Encryptions": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": get_att("DataKey", "Arn")}],
                "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": get_att("DataKey", "Arn")},
                "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": get_att("DataKey", "Arn")}
            }
        }),
        false,
    );

    if p.catalog.manage_encryption {
        t.resource(
            "DataCatalogEncryption",
            "AWS::Glue::DataCatalogEncryptionSettings",
            json!({
                "CatalogId": r#ref("AWS::AccountId"),
                "DataCatalogEncryptionSettings": {
                    "EncryptionAtRest": {"CatalogEncryptionMode": "SSE-KMS", "SseAwsKmsKeyId": get_att("DataKey", "Arn")},
                    "ConnectionPasswordEncryption": {"ReturnConnectionPasswordEncrypted": true, "KmsKeyId": get_att("DataKey", "Arn")}
                }
            }),
            false,
        );
    }

    t.output(
        "ArtifactsBucketName",
        "Bucket holding the job scripts.",
        r#ref("ArtifactsBucket"),
    );
    t.output(
        "DataKeyArn",
        "KMS key of the pipeline.",
        get_att("DataKey", "Arn"),
    );
    t.tag_retained("pipec:pipeline", cx.name);
    t
}

fn public_access_block() -> Value {
    json!({"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true})
}

fn abort_uploads() -> Value {
    json!({"Id": "AbortIncompleteUploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}})
}

/// A KMS-encrypted, versioned, private bucket that logs to the access-log bucket.
fn data_bucket(name: Value, log_prefix: &str, lifecycle: Vec<Value>) -> Value {
    let mut props = serde_json::Map::new();
    if !name.is_null() {
        props.insert("BucketName".into(), name);
    }
    props.insert(
        "BucketEncryption".into(),
        json!({"ServerSideEncryptionConfiguration": [{
            "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": get_att("DataKey", "Arn")},
            "BucketKeyEnabled": true
        }]}),
    );
    props.insert(
        "PublicAccessBlockConfiguration".into(),
        public_access_block(),
    );
    props.insert(
        "VersioningConfiguration".into(),
        json!({"Status": "Enabled"}),
    );
    props.insert(
        "OwnershipControls".into(),
        json!({"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}),
    );
    props.insert(
        "LoggingConfiguration".into(),
        json!({"DestinationBucketName": r#ref("AccessLogBucket"), "LogFilePrefix": log_prefix}),
    );
    props.insert("LifecycleConfiguration".into(), json!({"Rules": lifecycle}));
    Value::Object(props)
}

/// Denies every request that does not use TLS.
fn tls_only(bucket_id: &str) -> Vec<Value> {
    vec![json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [get_att(bucket_id, "Arn"), sub(&format!("${{{bucket_id}.Arn}}/*"))],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    })]
}

fn bucket_policy(t: &mut Template, bucket_id: &str, statements: Vec<Value>) {
    t.resource(
        &format!("{bucket_id}Policy"),
        "AWS::S3::BucketPolicy",
        json!({"Bucket": r#ref(bucket_id), "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}),
        false,
    );
}
