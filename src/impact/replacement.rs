//! Which property changes replace a resource, per resource type pipec emits.
//!
//! In: a resource type and its old and new `Properties`. Out: the changed
//! properties that force CloudFormation to replace the resource (or make
//! the update fail), each with the AWS page that says so.
//!
//! The rules are the "Update requires: Replacement" lines of the
//! CloudFormation template reference, which match the `createOnlyProperties`
//! of each type's registry schema (`aws cloudformation describe-type`).
//! Where the two disagree the schema wins, because CloudFormation acts on
//! it: the reference says `TableInput/Name` of `AWS::Glue::Table` updates
//! without interruption, the schema makes it create-only.

use serde::Serialize;
use serde_json::Value;

/// What a changed property does to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// CloudFormation creates a new resource and removes the old one.
    Replacement,
    /// CloudFormation refuses the update (never replaces the resource).
    UpdateFails,
}

/// One property change that forces a replacement or fails the update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replacing {
    /// The property path below `Properties` (`TableInput/Name`), or `Type`.
    pub property: String,
    pub effect: Effect,
    /// The AWS page that states the rule.
    pub doc: String,
}

/// One rule: changing any of `paths` on `resource_type` has `effect`.
struct Rule {
    resource_type: &'static str,
    /// Property paths below `Properties`; `*` means every property (a type
    /// without an update handler).
    paths: &'static [&'static str],
    effect: Effect,
    doc: &'static str,
}

const REF: &str = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/";

/// The rules for every type pipec emits that has create-only properties.
/// Types absent here (`AWS::SNS::TopicPolicy`) update everything in place.
const RULES: &[Rule] = &[
    // A bucket's name is its identity; a new name is a new, empty bucket.
    Rule {
        resource_type: "AWS::S3::Bucket",
        paths: &["BucketName", "BucketNamePrefix", "BucketNamespace"],
        effect: Effect::Replacement,
        doc: "aws-resource-s3-bucket.html#cfn-s3-bucket-bucketname",
    },
    Rule {
        resource_type: "AWS::S3::BucketPolicy",
        paths: &["Bucket"],
        effect: Effect::Replacement,
        doc: "aws-resource-s3-bucketpolicy.html#cfn-s3-bucketpolicy-bucket",
    },
    // "If you change the value of the KeySpec, KeyUsage, Origin, or
    // MultiRegion properties of an existing KMS key, the update request
    // fails, regardless of the value of the UpdateReplacePolicy attribute."
    Rule {
        resource_type: "AWS::KMS::Key",
        paths: &["KeySpec", "KeyUsage", "Origin", "MultiRegion"],
        effect: Effect::UpdateFails,
        doc: "aws-resource-kms-key.html",
    },
    Rule {
        resource_type: "AWS::KMS::Alias",
        paths: &["AliasName"],
        effect: Effect::Replacement,
        doc: "aws-resource-kms-alias.html#cfn-kms-alias-aliasname",
    },
    // The database's identity is its name (the schema's primaryIdentifier,
    // DatabaseName); pipec names it through DatabaseInput/Name, and Glue
    // cannot rename a database, so a new name is a new database.
    Rule {
        resource_type: "AWS::Glue::Database",
        paths: &["CatalogId", "DatabaseName", "DatabaseInput/Name"],
        effect: Effect::Replacement,
        doc: "aws-resource-glue-database.html#cfn-glue-database-databasename",
    },
    Rule {
        resource_type: "AWS::Glue::Table",
        paths: &["CatalogId", "DatabaseName", "Name", "TableInput/Name"],
        effect: Effect::Replacement,
        doc: "aws-resource-glue-table.html#cfn-glue-table-databasename",
    },
    Rule {
        resource_type: "AWS::Glue::Connection",
        paths: &["CatalogId", "ConnectionInput/Name"],
        effect: Effect::Replacement,
        doc: "aws-resource-glue-connection.html#cfn-glue-connection-catalogid",
    },
    // No update handler: every change creates a new configuration.
    Rule {
        resource_type: "AWS::Glue::SecurityConfiguration",
        paths: &["*"],
        effect: Effect::Replacement,
        doc: "aws-resource-glue-securityconfiguration.html",
    },
    Rule {
        resource_type: "AWS::Glue::Job",
        paths: &["Name"],
        effect: Effect::Replacement,
        doc: "aws-resource-glue-job.html#cfn-glue-job-name",
    },
    Rule {
        resource_type: "AWS::Glue::Crawler",
        paths: &["Name"],
        effect: Effect::Replacement,
        doc: "aws-resource-glue-crawler.html#cfn-glue-crawler-name",
    },
    Rule {
        resource_type: "AWS::Glue::Trigger",
        paths: &["Name", "Type", "WorkflowName"],
        effect: Effect::Replacement,
        doc: "aws-resource-glue-trigger.html#cfn-glue-trigger-type",
    },
    Rule {
        resource_type: "AWS::Glue::Workflow",
        paths: &["Name"],
        effect: Effect::Replacement,
        doc: "aws-resource-glue-workflow.html#cfn-glue-workflow-name",
    },
    Rule {
        resource_type: "AWS::Glue::DataQualityRuleset",
        paths: &["Name"],
        effect: Effect::Replacement,
        doc: "aws-resource-glue-dataqualityruleset.html#cfn-glue-dataqualityruleset-name",
    },
    Rule {
        resource_type: "AWS::IAM::Role",
        paths: &["RoleName", "Path"],
        effect: Effect::Replacement,
        doc: "aws-resource-iam-role.html#cfn-iam-role-rolename",
    },
    Rule {
        resource_type: "AWS::SSM::Parameter",
        paths: &["Name"],
        effect: Effect::Replacement,
        doc: "aws-resource-ssm-parameter.html#cfn-ssm-parameter-name",
    },
    Rule {
        resource_type: "AWS::Logs::LogGroup",
        paths: &["LogGroupName"],
        effect: Effect::Replacement,
        doc: "aws-resource-logs-loggroup.html#cfn-logs-loggroup-loggroupname",
    },
    Rule {
        resource_type: "AWS::SNS::Topic",
        paths: &["TopicName", "FifoTopic"],
        effect: Effect::Replacement,
        doc: "aws-resource-sns-topic.html#cfn-sns-topic-topicname",
    },
    Rule {
        resource_type: "AWS::Athena::WorkGroup",
        paths: &["Name"],
        effect: Effect::Replacement,
        doc: "aws-resource-athena-workgroup.html#cfn-athena-workgroup-name",
    },
    Rule {
        resource_type: "AWS::Events::Rule",
        paths: &["Name"],
        effect: Effect::Replacement,
        doc: "aws-resource-events-rule.html#cfn-events-rule-name",
    },
];

/// The property changes of one resource that replace it or fail its update,
/// in rule order. Absent and present count as different.
pub fn replacing(resource_type: &str, old: &Value, new: &Value) -> Vec<Replacing> {
    let mut out = Vec::new();
    for rule in RULES.iter().filter(|r| r.resource_type == resource_type) {
        for path in rule.paths {
            let differs = if *path == "*" {
                old != new
            } else {
                super::at(old, path) != super::at(new, path)
            };
            if differs {
                out.push(Replacing {
                    property: path.to_string(),
                    effect: rule.effect,
                    doc: format!("{REF}{}", rule.doc),
                });
            }
        }
    }
    out
}

/// A resource whose type changed under the same logical ID is a new resource.
pub fn type_changed() -> Replacing {
    Replacing {
        property: "Type".into(),
        effect: Effect::Replacement,
        doc: "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html".into(),
    }
}

/// Whether pipec knows the replacement rules of a resource type.
pub fn knows(resource_type: &str) -> bool {
    RULES.iter().any(|r| r.resource_type == resource_type)
        || resource_type == "AWS::SNS::TopicPolicy"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_bucket_name_change_replaces_and_an_encryption_change_does_not() {
        let old = json!({"BucketName": "a", "VersioningConfiguration": {"Status": "Enabled"}});
        let renamed = json!({"BucketName": "b", "VersioningConfiguration": {"Status": "Enabled"}});
        let r = replacing("AWS::S3::Bucket", &old, &renamed);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].property, "BucketName");
        assert_eq!(r[0].effect, Effect::Replacement);
        let versioned =
            json!({"BucketName": "a", "VersioningConfiguration": {"Status": "Suspended"}});
        assert!(replacing("AWS::S3::Bucket", &old, &versioned).is_empty());
    }

    #[test]
    fn a_kms_key_spec_change_fails_and_a_security_configuration_always_replaces() {
        let r = replacing(
            "AWS::KMS::Key",
            &json!({"KeySpec": "SYMMETRIC_DEFAULT"}),
            &json!({"KeySpec": "RSA_2048"}),
        );
        assert_eq!(r[0].effect, Effect::UpdateFails);
        let r = replacing(
            "AWS::Glue::SecurityConfiguration",
            &json!({"Name": "a", "EncryptionConfiguration": {}}),
            &json!({"Name": "a", "EncryptionConfiguration": {"S3Encryptions": []}}),
        );
        assert_eq!(r[0].property, "*");
    }

    #[test]
    fn every_type_pipec_emits_is_known() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
        let mut seen = std::collections::BTreeSet::new();
        // A pipeline's folder, or (with environments) one folder per environment.
        let mut folders = Vec::new();
        for p in std::fs::read_dir(dir).unwrap() {
            let p = p.unwrap().path();
            if p.join("stacks").is_dir() {
                folders.push(p);
            } else if p.is_dir() {
                folders.extend(std::fs::read_dir(p).unwrap().map(|e| e.unwrap().path()));
            }
        }
        for p in folders {
            let stacks = p.join("stacks");
            for f in std::fs::read_dir(stacks).unwrap() {
                let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
                for line in text.lines() {
                    if let Some(t) = line.trim().strip_prefix("Type: AWS::") {
                        seen.insert(format!("AWS::{t}"));
                    }
                }
            }
        }
        let unknown: Vec<_> = seen.iter().filter(|t| !knows(t)).collect();
        assert!(unknown.is_empty(), "no replacement rules for {unknown:?}");
    }
}
