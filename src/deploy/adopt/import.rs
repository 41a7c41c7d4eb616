//! The IMPORT change set of a stack's retained resources.
//!
//! In: a stack's name and template, and the `Found` resources that `find`
//! checked. Out: the import template (those resources alone, no Outputs),
//! the IMPORT change set created with `ResourcesToImport`, checked to import
//! exactly them, executed and waited for until IMPORT_COMPLETE; or, when it
//! would do anything else, deleted with the stack it made (`AdoptError`).

use super::{AdoptError, Found, references, resources};
use crate::deploy::{Aws, Backoff, describe};
use aws_sdk_cloudformation::types::{
    ChangeAction, ChangeSetStatus, ChangeSetType, ResourceToImport, StackStatus, Tag,
};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The template of the import: the found resources alone (with their
/// `DeletionPolicy`), no Outputs. Refuses when a found resource refers to a
/// resource that is not being imported, since the template would not stand.
pub fn import_template(stack: &str, template: &str, found: &[Found]) -> Result<String, AdoptError> {
    let (doc, res) = resources(template);
    let ids: Vec<&str> = found.iter().map(|f| f.logical_id.as_str()).collect();
    let mut out = Map::new();
    if let Some(obj) = doc.as_object() {
        for (k, v) in obj {
            if matches!(
                k.as_str(),
                "AWSTemplateFormatVersion"
                    | "Description"
                    | "Parameters"
                    | "Conditions"
                    | "Mappings"
            ) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    let mut kept = Map::new();
    for f in found {
        let Some(r) = res.get(&f.logical_id) else {
            continue;
        };
        let mut refs = Vec::new();
        references(r, &mut refs);
        if let Some(missing) = refs
            .iter()
            .find(|x| !ids.contains(&x.as_str()) && res.contains_key(*x))
        {
            return Err(AdoptError::Incomplete {
                stack: stack.to_string(),
                resource: f.display.clone(),
                missing: missing.clone(),
            });
        }
        let mut r = r.clone();
        // Ordering on a resource that is not imported has nothing to order.
        if let Some(m) = r.as_object_mut() {
            let deps: Vec<Value> = match m.get("DependsOn") {
                Some(Value::Array(a)) => a.clone(),
                Some(v @ Value::String(_)) => vec![v.clone()],
                _ => Vec::new(),
            };
            let deps: Vec<Value> = deps
                .into_iter()
                .filter(|d| d.as_str().is_some_and(|d| ids.contains(&d)))
                .collect();
            m.remove("DependsOn");
            if !deps.is_empty() {
                m.insert("DependsOn".into(), Value::Array(deps));
            }
        }
        kept.insert(f.logical_id.clone(), r);
    }
    out.insert("Resources".into(), Value::Object(kept));
    Ok(crate::render::emit::to_yaml(&Value::Object(out)))
}

/// Imports the found resources into a new stack `stack` through an IMPORT
/// change set, executes it and waits for IMPORT_COMPLETE. The caller then
/// updates the stack to its whole template. Refuses, deleting what it made,
/// when the endpoint shows anything but an import for them.
pub async fn import(
    aws: &Aws,
    stack: &str,
    template: &str,
    found: &[Found],
    tags: &BTreeMap<String, String>,
) -> Result<(), AdoptError> {
    let api = |action: &'static str| {
        move |detail: String| AdoptError::Api {
            stack: stack.to_string(),
            action,
            detail,
        }
    };
    let body = import_template(stack, template, found)?;
    let mut req = aws
        .cfn
        .create_change_set()
        .stack_name(stack)
        .change_set_name(crate::deploy::changeset::name(stack))
        .change_set_type(ChangeSetType::Import)
        .description("pipec deploy: re-adopt retained resources")
        .template_body(body);
    for f in found {
        let mut r = ResourceToImport::builder()
            .resource_type(&f.resource_type)
            .logical_resource_id(&f.logical_id);
        for (k, v) in &f.identifier {
            r = r.resource_identifier(k, v);
        }
        req = req.resources_to_import(r.build());
    }
    for (k, v) in tags {
        req = req.tags(Tag::builder().key(k).value(v).build());
    }
    let out = req
        .send()
        .await
        .map_err(|e| api("CreateChangeSet")(describe(&e)))?;
    let Some(arn) = out.id().map(str::to_string) else {
        return Err(api("CreateChangeSet")("no change set ARN returned".into()));
    };
    let mut backoff = Backoff::default();
    let changes = loop {
        let d = aws
            .cfn
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(&arn)
            .send()
            .await
            .map_err(|e| api("DescribeChangeSet")(describe(&e)))?;
        match d.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                break d
                    .changes()
                    .iter()
                    .filter_map(|c| c.resource_change().cloned())
                    .collect::<Vec<_>>();
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = d.status_reason().unwrap_or("no reason given").to_string();
                discard(aws, stack, &arn).await;
                return Err(AdoptError::Failed {
                    stack: stack.to_string(),
                    status: "FAILED".into(),
                    reason,
                });
            }
            _ => backoff.wait().await,
        }
    };
    // Every listed resource must be imported, nothing else touched.
    let not_imported: Vec<String> = found
        .iter()
        .filter(|f| {
            !changes.iter().any(|c| {
                c.logical_resource_id() == Some(f.logical_id.as_str())
                    && c.action() == Some(&ChangeAction::Import)
            })
        })
        .map(|f| f.display.clone())
        .collect();
    if !not_imported.is_empty() || changes.len() != found.len() {
        discard(aws, stack, &arn).await;
        return Err(AdoptError::Unsupported {
            stack: stack.to_string(),
            resources: if not_imported.is_empty() {
                found.iter().map(|f| f.display.clone()).collect()
            } else {
                not_imported
            },
        });
    }
    aws.cfn
        .execute_change_set()
        .stack_name(stack)
        .change_set_name(&arn)
        .send()
        .await
        .map_err(|e| api("ExecuteChangeSet")(describe(&e)))?;
    let mut backoff = Backoff::default();
    loop {
        let s = aws.stack(stack).await.map_err(api("DescribeStacks"))?;
        let status = s.as_ref().and_then(|s| s.stack_status().cloned());
        match status {
            Some(StackStatus::ImportComplete) => return Ok(()),
            Some(ref st) if st.as_str().ends_with("_IN_PROGRESS") => backoff.wait().await,
            other => {
                return Err(AdoptError::Failed {
                    stack: stack.to_string(),
                    status: other
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_else(|| "gone".into()),
                    reason: s
                        .as_ref()
                        .and_then(|s| s.stack_status_reason())
                        .unwrap_or("no reason given")
                        .to_string(),
                });
            }
        }
    }
}

/// Deletes an import change set that will not run, and the empty stack in
/// REVIEW_IN_PROGRESS that CloudFormation made for it.
async fn discard(aws: &Aws, stack: &str, arn: &str) {
    let _ = aws
        .cfn
        .delete_change_set()
        .stack_name(stack)
        .change_set_name(arn)
        .send()
        .await;
    if let Ok(Some(s)) = aws.stack(stack).await
        && s.stack_status() == Some(&StackStatus::ReviewInProgress)
    {
        let _ = aws.cfn.delete_stack().stack_name(stack).send().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "Resources:\n  Key:\n    Type: AWS::KMS::Key\n    DeletionPolicy: Retain\n    Properties: {Description: k}\n  Raw:\n    Type: AWS::S3::Bucket\n    DeletionPolicy: Retain\n    Properties:\n      BucketName: {\"Fn::Sub\": \"demo-raw-${AWS::AccountId}-${AWS::Region}\"}\n      BucketEncryption: {Rules: [{KMSMasterKeyID: {\"Fn::GetAtt\": [Key, Arn]}}]}\n  Topic: {Type: AWS::SNS::Topic}\nOutputs:\n  O: {Value: {Ref: Topic}}\n";

    fn found(id: &str, ty: &str) -> Found {
        Found {
            logical_id: id.into(),
            resource_type: ty.into(),
            identifier: vec![],
            display: id.into(),
        }
    }

    #[test]
    fn the_import_template_holds_only_the_found_resources_and_no_outputs() {
        let t = import_template(
            "demo-infra",
            T,
            &[
                found("Key", "AWS::KMS::Key"),
                found("Raw", "AWS::S3::Bucket"),
            ],
        )
        .unwrap();
        assert!(t.contains("  Key:\n") && t.contains("  Raw:\n"), "{t}");
        assert!(!t.contains("Topic") && !t.contains("Outputs"), "{t}");
        assert!(t.contains("DeletionPolicy: Retain"), "{t}");
    }

    #[test]
    fn a_found_resource_that_refers_to_one_left_behind_is_refused() {
        let e = import_template("demo-infra", T, &[found("Raw", "AWS::S3::Bucket")]).unwrap_err();
        assert!(
            matches!(&e, AdoptError::Incomplete { missing, .. } if missing == "Key"),
            "{e:?}"
        );
        assert!(e.message().contains("refers to Key"), "{}", e.message());
    }
}
