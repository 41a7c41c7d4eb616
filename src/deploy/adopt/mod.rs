//! Retained resources: found again after `destroy`, re-adopted by `deploy`
//! through a CloudFormation resource import, or listed for
//! `destroy --delete-data` when their stacks are gone.
//!
//! In: one stack's template (its resources with `DeletionPolicy: Retain`),
//! the pipeline's name, the account and region, and an AWS connection. Out:
//! `Found` resources (logical ID, type, the identifier CloudFormation
//! imports by, a name to show) after their ownership is checked, an import
//! template holding only them, and the IMPORT change set executed.
//! Errors: `AdoptError`, every message worded in `message`.
//!
//! Ownership: buckets must carry the `pipec:pipeline` tag with this
//! pipeline's name (the templates put it on every retained bucket, so it
//! survives the stack). The KMS key is the one this pipeline's
//! own buckets are encrypted with. A Glue database (which CloudFormation
//! cannot tag) must carry the description pipec gives it, and its tables
//! belong to it. A resource of the right name that fails its check is an
//! error naming it, and nothing is imported.
//!
//! AWS rules this follows (resource import,
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html):
//! the change set has type IMPORT and lists each resource in
//! `ResourcesToImport` with its identifier property
//! (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceToImport.html);
//! each imported resource needs a `DeletionPolicy`; an import may not
//! create, update or delete anything else, nor add Outputs, so the import
//! template holds the imported resources alone and the rest of the stack
//! follows in a normal change set. `ImportExistingResources` is not used:
//! it imports only resources whose names are static in the template
//! (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/import-resources-automatically.html),
//! and pipec's names are `Fn::Sub` of the account and region. Identifiers,
//! from the resource schemas (`primaryIdentifier`): `AWS::S3::Bucket`
//! BucketName, `AWS::KMS::Key` KeyId, `AWS::Glue::Database` DatabaseName,
//! `AWS::Glue::Table` CatalogId + DatabaseName + Name; all four types
//! support import (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import-supported-resources.html).

mod import;
pub use import::{import, import_template};

use super::{Aws, describe};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The tag that names a resource's pipeline (also a stack tag).
pub const OWNER_TAG: &str = "pipec:pipeline";

/// Tags CloudFormation itself puts on what it creates.
const STACK_NAME_TAG: &str = "aws:cloudformation:stack-name";
const LOGICAL_ID_TAG: &str = "aws:cloudformation:logical-id";

/// A retained resource of a template that exists in the account and
/// belongs to this pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub logical_id: String,
    pub resource_type: String,
    /// CloudFormation's identifier properties and their values.
    pub identifier: Vec<(String, String)>,
    /// How it is shown: `bucket etl-raw-...`, `Glue table etl.orders`.
    pub display: String,
}

/// Why a resource is not this pipeline's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Its `pipec:pipeline` tag, or none.
    Tag(Option<String>),
    /// S3 answered AccessDenied for its tags: another account's bucket.
    Denied,
    /// A Glue database whose description is not the one pipec gives.
    Description(Option<String>),
}

/// What can go wrong finding or importing retained resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdoptError {
    /// A resource of the name pipec would use belongs to someone else.
    Foreign {
        stack: String,
        resource: String,
        why: Why,
        pipeline: String,
    },
    /// A found resource refers to one that cannot be imported with it.
    Incomplete {
        stack: String,
        resource: String,
        missing: String,
    },
    /// The endpoint made the IMPORT change set create the resources instead.
    Unsupported {
        stack: String,
        resources: Vec<String>,
    },
    /// The import change set or its execution failed.
    Failed {
        stack: String,
        status: String,
        reason: String,
    },
    Api {
        stack: String,
        action: &'static str,
        detail: String,
    },
}

impl AdoptError {
    pub fn message(&self) -> String {
        match self {
            AdoptError::Foreign {
                stack,
                resource,
                why,
                pipeline,
            } => {
                let whose = match why {
                    Why::Denied => {
                        "its tags cannot be read: access denied, so it is another account's"
                            .to_string()
                    }
                    Why::Tag(Some(o)) => format!("it is tagged {OWNER_TAG}={o}"),
                    Why::Tag(None) => format!("it has no {OWNER_TAG}={pipeline} tag"),
                    Why::Description(d) => format!(
                        "its description is {:?}, not the one pipec gives",
                        d.as_deref().unwrap_or("")
                    ),
                };
                format!(
                    "stack {stack}: {resource} already exists and does not belong to pipeline {pipeline} ({whose}); pipec neither adopts nor deletes it. Remove or rename it, or give the pipeline another name"
                )
            }
            AdoptError::Incomplete {
                stack,
                resource,
                missing,
            } => format!(
                "stack {stack}: cannot re-adopt {resource}: it refers to {missing}, which was not found to import with it; nothing was changed"
            ),
            AdoptError::Unsupported { stack, resources } => format!(
                "stack {stack}: the retained resources {} still exist, and this endpoint does not import resources (its IMPORT change set would create them; moto does not support import); nothing was changed. Run `pipec destroy --delete-data` to delete them, or deploy against AWS",
                resources.join(", ")
            ),
            AdoptError::Failed {
                stack,
                status,
                reason,
            } => format!(
                "stack {stack}: importing the retained resources failed: {status}: {reason}"
            ),
            AdoptError::Api {
                stack,
                action,
                detail,
            } => format!("stack {stack}: {action} failed: {detail}"),
        }
    }

    /// Whether the endpoint stopped answering (a connection problem).
    pub fn unreachable(&self) -> bool {
        matches!(self, AdoptError::Api { detail, .. } if super::is_unreachable(detail))
    }
}

/// Resolves a physical name written with the account and region pseudo
/// parameters (`Fn::Sub`, `Ref`); `None` for anything else.
fn resolve(v: &Value, account: &str, region: &str) -> Option<String> {
    let pseudo = |s: &str| {
        s.replace("${AWS::AccountId}", account)
            .replace("${AWS::Region}", region)
    };
    let out = match v {
        Value::String(s) => s.clone(),
        Value::Object(m) if m.len() == 1 => match (m.get("Fn::Sub"), m.get("Ref")) {
            (Some(Value::String(s)), _) => pseudo(s),
            (_, Some(Value::String(r))) if r == "AWS::AccountId" => account.to_string(),
            (_, Some(Value::String(r))) if r == "AWS::Region" => region.to_string(),
            _ => return None,
        },
        _ => return None,
    };
    (!out.contains("${")).then_some(out)
}

/// The resources of a template, parsed; empty when it does not parse.
fn resources(template: &str) -> (Value, Map<String, Value>) {
    let file = crate::source::SourceFile::new("template.yaml", template.to_string());
    let Ok((doc, _)) = crate::yaml::parse(&file) else {
        return (Value::Null, Map::new());
    };
    let res = doc
        .value
        .get("Resources")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    (doc.value, res)
}

fn is_retained(r: &Value) -> bool {
    r.get("DeletionPolicy").and_then(Value::as_str) == Some("Retain")
}

fn type_of(r: &Value) -> &str {
    r.get("Type").and_then(Value::as_str).unwrap_or_default()
}

/// Logical IDs a resource refers to (`Ref`, `Fn::GetAtt`, `${X}` in
/// `Fn::Sub`), pseudo parameters left out. `DependsOn` only orders, so it
/// is not a reference.
fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("Ref", Value::String(s)) => out.push(s.clone()),
                    ("Fn::GetAtt", Value::Array(a)) => {
                        if let Some(Value::String(s)) = a.first() {
                            out.push(s.clone());
                        }
                    }
                    ("Fn::GetAtt", Value::String(s)) => {
                        out.push(s.split('.').next().unwrap_or_default().to_string())
                    }
                    ("Fn::Sub", Value::String(s)) => {
                        for part in s.split("${").skip(1) {
                            if let Some(name) = part.split('}').next() {
                                out.push(name.split('.').next().unwrap_or_default().to_string());
                            }
                        }
                    }
                    _ => references(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
    out.retain(|s| !s.starts_with("AWS::") && !s.starts_with('!'));
}

/// Finds the retained resources of one stack's template that exist in the
/// account, and checks that each belongs to `pipeline`. `stack` is the
/// CloudFormation stack name, used for resources the template leaves
/// unnamed (CloudFormation named them after the stack).
pub async fn find(
    aws: &Aws,
    pipeline: &str,
    stack: &str,
    template: &str,
    account: &str,
) -> Result<Vec<Found>, AdoptError> {
    let (_, res) = resources(template);
    let api = |action: &'static str| {
        move |detail: String| AdoptError::Api {
            stack: stack.to_string(),
            action,
            detail,
        }
    };
    let foreign = |resource: String, why: Why| AdoptError::Foreign {
        stack: stack.to_string(),
        resource,
        why,
        pipeline: pipeline.to_string(),
    };
    let mut found: Vec<Found> = Vec::new();
    // Buckets this account holds, listed once when a bucket has no name.
    let mut listed: Option<Vec<String>> = None;
    for (id, r) in res.iter().filter(|(_, r)| is_retained(r)) {
        if type_of(r) != "AWS::S3::Bucket" {
            continue;
        }
        let props = r.get("Properties").cloned().unwrap_or(Value::Null);
        let name = match props.get("BucketName") {
            Some(v) => match resolve(v, account, &aws.region) {
                Some(n) => Some(n),
                None => continue,
            },
            None => None,
        };
        let name = match name {
            Some(n) => {
                let tags = match bucket_tags(aws, &n).await {
                    Err(e) if e.starts_with("AccessDenied") => {
                        return Err(foreign(format!("bucket {n}"), Why::Denied));
                    }
                    other => other.map_err(api("GetBucketTagging"))?,
                };
                match tags {
                    None => continue,
                    Some(tags) => {
                        let owner = tags.get(OWNER_TAG).cloned();
                        if owner.as_deref() != Some(pipeline) {
                            return Err(foreign(format!("bucket {n}"), Why::Tag(owner)));
                        }
                    }
                }
                n
            }
            None => {
                // CloudFormation names it `<stack>-<logical id>-<suffix>`,
                // lower case, and tags it with both.
                if listed.is_none() {
                    let out = aws
                        .s3
                        .list_buckets()
                        .send()
                        .await
                        .map_err(|e| api("ListBuckets")(describe(&e)))?;
                    listed = Some(
                        out.buckets()
                            .iter()
                            .filter_map(|b| b.name().map(str::to_string))
                            .collect(),
                    );
                }
                let prefix = format!("{}-", stack.to_ascii_lowercase());
                let mut mine = None;
                for b in listed.iter().flatten().filter(|b| b.starts_with(&prefix)) {
                    let Some(tags) = bucket_tags(aws, b).await.map_err(api("GetBucketTagging"))?
                    else {
                        continue;
                    };
                    let by_tag = tags.get(LOGICAL_ID_TAG) == Some(id)
                        && tags.get(STACK_NAME_TAG).is_some_and(|s| s == stack);
                    let by_name = b.starts_with(&format!("{prefix}{}-", id.to_ascii_lowercase()));
                    if (by_tag || by_name) && tags.get(OWNER_TAG).is_some_and(|o| o == pipeline) {
                        mine = Some(b.clone());
                        break;
                    }
                }
                match mine {
                    Some(b) => b,
                    None => continue,
                }
            }
        };
        found.push(Found {
            logical_id: id.clone(),
            resource_type: "AWS::S3::Bucket".into(),
            identifier: vec![("BucketName".into(), name.clone())],
            display: format!("bucket {name}"),
        });
    }
    // The KMS key: the one this pipeline's found buckets are encrypted with.
    for (id, r) in res.iter().filter(|(_, r)| is_retained(r)) {
        if type_of(r) != "AWS::KMS::Key" {
            continue;
        }
        let mut key = None;
        for f in &found {
            let Some(b) = res.get(&f.logical_id) else {
                continue;
            };
            let mut refs = Vec::new();
            references(
                b.get("Properties")
                    .and_then(|p| p.get("BucketEncryption"))
                    .unwrap_or(&Value::Null),
                &mut refs,
            );
            if !refs.contains(id) {
                continue;
            }
            if let Some(k) = bucket_key(aws, &f.identifier[0].1)
                .await
                .map_err(api("GetBucketEncryption"))?
            {
                key = Some(k);
                break;
            }
        }
        if let Some(k) = key {
            found.push(Found {
                logical_id: id.clone(),
                resource_type: "AWS::KMS::Key".into(),
                display: format!("KMS key {k}"),
                identifier: vec![("KeyId".into(), k)],
            });
        }
    }
    // The Glue database, then its tables.
    let mut databases: BTreeMap<String, String> = BTreeMap::new();
    for (id, r) in res.iter().filter(|(_, r)| is_retained(r)) {
        if type_of(r) != "AWS::Glue::Database" {
            continue;
        }
        let input = r
            .get("Properties")
            .and_then(|p| p.get("DatabaseInput"))
            .cloned()
            .unwrap_or(Value::Null);
        let Some(name) = input
            .get("Name")
            .and_then(|n| resolve(n, account, &aws.region))
        else {
            continue;
        };
        let want = input.get("Description").and_then(Value::as_str);
        match aws.glue.get_database().name(&name).send().await {
            Ok(out) => {
                let have = out.database().and_then(|d| d.description());
                if have != want {
                    return Err(foreign(
                        format!("Glue database {name}"),
                        Why::Description(have.map(str::to_string)),
                    ));
                }
            }
            Err(e) if is_not_found(&e) => continue,
            Err(e) => return Err(api("GetDatabase")(describe(&e))),
        }
        databases.insert(name.clone(), id.clone());
        found.push(Found {
            logical_id: id.clone(),
            resource_type: "AWS::Glue::Database".into(),
            identifier: vec![("DatabaseName".into(), name.clone())],
            display: format!("Glue database {name}"),
        });
    }
    for (id, r) in res.iter().filter(|(_, r)| is_retained(r)) {
        if type_of(r) != "AWS::Glue::Table" {
            continue;
        }
        let props = r.get("Properties").cloned().unwrap_or(Value::Null);
        let db = props
            .get("DatabaseName")
            .and_then(|n| resolve(n, account, &aws.region));
        let name = props
            .get("TableInput")
            .and_then(|t| t.get("Name"))
            .and_then(|n| resolve(n, account, &aws.region));
        let (Some(db), Some(name)) = (db, name) else {
            continue;
        };
        // Only tables of a database this pipeline owns.
        if !databases.contains_key(&db) {
            continue;
        }
        match aws
            .glue
            .get_table()
            .database_name(&db)
            .name(&name)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => continue,
            Err(e) => return Err(api("GetTable")(describe(&e))),
        }
        found.push(Found {
            logical_id: id.clone(),
            resource_type: "AWS::Glue::Table".into(),
            identifier: vec![
                ("CatalogId".into(), account.to_string()),
                ("DatabaseName".into(), db.clone()),
                ("Name".into(), name.clone()),
            ],
            display: format!("Glue table {db}.{name}"),
        });
    }
    Ok(found)
}

fn is_not_found<E: aws_sdk_glue::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("EntityNotFoundException")
}

/// A bucket's tags: `None` when there is no such bucket, empty when it has
/// none.
async fn bucket_tags(aws: &Aws, bucket: &str) -> Result<Option<BTreeMap<String, String>>, String> {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    match aws.s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => Ok(Some(
            out.tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        )),
        Err(e) => match e.code() {
            Some("NoSuchBucket") => Ok(None),
            Some("NoSuchTagSet") => Ok(Some(BTreeMap::new())),
            _ if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
            _ => Err(describe(&e)),
        },
    }
}

/// The KMS key ID a bucket's default encryption uses, if any.
async fn bucket_key(aws: &Aws, bucket: &str) -> Result<Option<String>, String> {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    match aws.s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => Ok(out
            .server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .and_then(|r| r.apply_server_side_encryption_by_default())
            .and_then(|d| d.kms_master_key_id())
            .map(|k| k.rsplit('/').next().unwrap_or(k).to_string())),
        Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => Ok(None),
        Err(e) => Err(describe(&e)),
    }
}

/// Deletes found Glue tables, then databases (`destroy --delete-data` of
/// resources whose stack is gone). Buckets go through
/// `destroy::empty_and_delete`; the KMS key is kept.
pub async fn delete_catalog(aws: &Aws, stack: &str, found: &[Found]) -> Result<(), AdoptError> {
    let api = |action: &'static str| {
        move |detail: String| AdoptError::Api {
            stack: stack.to_string(),
            action,
            detail,
        }
    };
    let id = |f: &Found, k: &str| {
        f.identifier
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    for f in found
        .iter()
        .filter(|f| f.resource_type == "AWS::Glue::Table")
    {
        match aws
            .glue
            .delete_table()
            .database_name(id(f, "DatabaseName"))
            .name(id(f, "Name"))
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(api("DeleteTable")(describe(&e))),
        }
    }
    for f in found
        .iter()
        .filter(|f| f.resource_type == "AWS::Glue::Database")
    {
        match aws
            .glue
            .delete_database()
            .name(id(f, "DatabaseName"))
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(api("DeleteDatabase")(describe(&e))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_from_pseudo_parameters_only() {
        let v: Value = serde_json::json!({"Fn::Sub": "demo-raw-${AWS::AccountId}-${AWS::Region}"});
        assert_eq!(
            resolve(&v, "123", "eu-west-1").as_deref(),
            Some("demo-raw-123-eu-west-1")
        );
        let other: Value = serde_json::json!({"Fn::Sub": "${Other}-x"});
        assert_eq!(resolve(&other, "1", "r"), None);
        assert_eq!(
            resolve(&serde_json::json!({"Ref": "AWS::AccountId"}), "1", "r").as_deref(),
            Some("1")
        );
    }

    #[test]
    fn references_are_found_in_ref_getatt_sub_and_depends_on() {
        let v: Value = serde_json::json!({"A": {"Ref": "X"}, "B": {"Fn::GetAtt": ["Y", "Arn"]}, "C": {"Fn::Sub": "${Z.Arn}-${AWS::Region}"}, "DependsOn": ["W"]});
        let mut r = Vec::new();
        references(&v, &mut r);
        r.sort();
        assert_eq!(r, vec!["X", "Y", "Z"]);
    }
}
