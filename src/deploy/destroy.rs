//! The destroy phase (`pipec destroy`): stacks deleted in reverse dependency order.
//!
//! In: planned pipelines, the stacks to delete (a named stack brings the
//! stacks that depend on it), `--yes` and `--delete-data`. Out: the stacks
//! deleted (termination protection turned off first), each as soon as every
//! selected stack depending on it is gone; data resources the templates
//! retain (`DeletionPolicy: Retain`: buckets, KMS key, Glue database and
//! tables) left in place, or with `--delete-data` the retained buckets
//! emptied (every object version) and deleted. With `--delete-data`, the
//! retained resources of stacks that are already gone are found too
//! (`adopt::find`: by name and the `pipec:pipeline` tag), listed, and after
//! the same confirmation deleted: buckets emptied and deleted, Glue tables
//! and database deleted, the KMS key kept. Errors: `DestroyError`.

use super::plan::{Pipeline, Stack};
use super::{Aws, Log, Outcome, describe};
use std::collections::BTreeMap;

/// The user's choices.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub stacks: Vec<String>,
    pub yes: bool,
    pub delete_data: bool,
}

/// What can go wrong destroying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestroyError {
    NeedsYes {
        stacks: Vec<String>,
    },
    Stack {
        stack: String,
        detail: String,
    },
    Bucket {
        bucket: String,
        detail: String,
    },
    DependentFailed {
        stack: String,
        dependent: String,
    },
    /// Finding or deleting the retained resources of a stack that is gone.
    Orphans {
        detail: String,
    },
}

impl DestroyError {
    pub fn message(&self) -> String {
        match self {
            DestroyError::NeedsYes { stacks } => format!(
                "about to delete {}; there is no terminal to confirm: run again with --yes",
                stacks.join(", ")
            ),
            DestroyError::Stack { stack, detail } => {
                format!("cannot delete stack {stack}: {detail}")
            }
            DestroyError::Bucket { bucket, detail } => {
                format!("cannot delete bucket {bucket}: {detail}")
            }
            DestroyError::DependentFailed { stack, dependent } => format!(
                "stack {stack} kept: {dependent}, which depends on it, could not be deleted"
            ),
            DestroyError::Orphans { detail } => detail.clone(),
        }
    }
}

/// Logical ids of retained resources of a template, by type.
fn retained(template: &str) -> Vec<(String, String)> {
    let file = crate::source::SourceFile::new("template", template);
    let Ok((doc, _)) = crate::yaml::parse(&file) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(res) = doc.value.get("Resources").and_then(|r| r.as_object()) {
        for (id, r) in res {
            if r.get("DeletionPolicy").and_then(|d| d.as_str()) == Some("Retain") {
                let ty = r.get("Type").and_then(|t| t.as_str()).unwrap_or("?");
                out.push((id.clone(), ty.to_string()));
            }
        }
    }
    out
}

/// Deletes the selected stacks of each pipeline, after printing the target.
pub async fn run(
    aws: &Aws,
    pipelines: &[Pipeline],
    opts: &Options,
    log: &Log,
    target: &super::identity::Target,
) -> Outcome {
    log.target(target);
    let mut plans = Vec::new();
    let mut all = Vec::new();
    for p in pipelines {
        let wanted = super::plan::wanted_in(p, &opts.stacks);
        let selected = match p.select(&wanted, false, true) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {}", e.message());
                return Outcome::Usage;
            }
        };
        // Only stacks that exist.
        let mut present = Vec::new();
        for s in p.stacks.iter().filter(|s| selected.contains(&s.name)) {
            match aws.stack(&s.stack_name).await {
                Ok(Some(_)) => present.push(s.clone()),
                Ok(None) => log.event(&p.name, &s.stack_name, "absent", "not deployed"),
                Err(e) => {
                    let unreachable = super::is_unreachable(&e);
                    eprintln!(
                        "error: {}",
                        DestroyError::Stack {
                            stack: s.stack_name.clone(),
                            detail: e
                        }
                        .message()
                    );
                    return if unreachable {
                        Outcome::Usage
                    } else {
                        Outcome::Failed
                    };
                }
            }
        }
        all.extend(present.iter().map(|s| s.stack_name.clone()));
        let orphans = if opts.delete_data {
            match orphans_of(aws, p, &selected, &present, &target.account, log).await {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("error: {}", e.message());
                    return if e.unreachable() {
                        Outcome::Usage
                    } else {
                        Outcome::Failed
                    };
                }
            }
        } else {
            Vec::new()
        };
        all.extend(
            orphans
                .iter()
                .flat_map(|(_, found)| found.iter().map(|f| f.display.clone())),
        );
        plans.push((p, present, orphans));
    }
    if all.is_empty() {
        log.note("nothing to delete");
        return Outcome::Done;
    }
    if !opts.yes {
        let q = format!(
            "Delete {}{}?",
            all.join(", "),
            if opts.delete_data {
                " AND their data buckets"
            } else {
                ""
            }
        );
        match super::confirm(&q) {
            None => {
                eprintln!(
                    "error: {}",
                    DestroyError::NeedsYes { stacks: all }.message()
                );
                return Outcome::Usage;
            }
            Some(false) => return Outcome::Done,
            Some(true) => {}
        }
    }
    let mut outcome = Outcome::Done;
    for (p, present, orphans) in plans {
        if !present.is_empty() {
            outcome = outcome.max(destroy_pipeline(aws, p, &present, opts, log).await);
        }
        for (stack, found) in &orphans {
            if let Err(e) = delete_orphans(aws, log, &p.name, stack, found).await {
                eprintln!("error: {}", e.message());
                outcome = outcome.max(Outcome::Failed);
            }
        }
    }
    outcome
}

/// The retained resources of the selected stacks that are gone, by stack
/// name; each is listed as an `orphan` event. A resource of pipec's name
/// that belongs to someone else stops the destroy before anything is deleted.
async fn orphans_of(
    aws: &Aws,
    p: &Pipeline,
    selected: &std::collections::BTreeSet<String>,
    present: &[Stack],
    account: &str,
    log: &Log,
) -> Result<Vec<(String, Vec<super::adopt::Found>)>, super::adopt::AdoptError> {
    let mut out = Vec::new();
    for s in p.stacks.iter().filter(|s| selected.contains(&s.name)) {
        if present.iter().any(|x| x.name == s.name) || retained(&s.template).is_empty() {
            continue;
        }
        let found = super::adopt::find(aws, &p.name, &s.stack_name, &s.template, account).await?;
        for f in &found {
            log.event(&p.name, &s.stack_name, "orphan", &f.display);
        }
        if !found.is_empty() {
            out.push((s.stack_name.clone(), found));
        }
    }
    Ok(out)
}

/// Deletes what `orphans_of` found for one stack: buckets emptied and
/// deleted, Glue tables then the database; the KMS key is kept.
async fn delete_orphans(
    aws: &Aws,
    log: &Log,
    pipeline: &str,
    stack: &str,
    found: &[super::adopt::Found],
) -> Result<(), DestroyError> {
    for f in found {
        match f.resource_type.as_str() {
            "AWS::S3::Bucket" => {
                let bucket = &f.identifier[0].1;
                empty_and_delete(aws, bucket).await?;
                log.event(pipeline, stack, "data-deleted", &f.display);
            }
            "AWS::KMS::Key" => log.event(
                pipeline,
                stack,
                "retained",
                &format!("{} (kept, so that backups stay readable)", f.display),
            ),
            _ => {}
        }
    }
    super::adopt::delete_catalog(aws, stack, found)
        .await
        .map_err(|e| DestroyError::Orphans {
            detail: e.message(),
        })?;
    for f in found
        .iter()
        .filter(|f| CATALOG_DATA.contains(&f.resource_type.as_str()))
    {
        log.event(pipeline, stack, "data-deleted", &f.display);
    }
    Ok(())
}

async fn destroy_pipeline(
    aws: &Aws,
    p: &Pipeline,
    present: &[Stack],
    opts: &Options,
    log: &Log,
) -> Outcome {
    log.expect(present.len());
    let names: Vec<String> = present.iter().map(|s| s.name.clone()).collect();
    let mut results: BTreeMap<String, Result<(), DestroyError>> = BTreeMap::new();
    let mut pending: Vec<Stack> = present.to_vec();
    let mut running = tokio::task::JoinSet::new();
    loop {
        let mut i = 0;
        while i < pending.len() {
            let s = &pending[i];
            // Stacks (being deleted) that depend on this one.
            let dependents: Vec<&String> = names
                .iter()
                .filter(|n| {
                    p.stack(n)
                        .is_some_and(|d| d.depends_on.iter().any(|x| x == &s.name))
                })
                .collect();
            if !dependents.iter().all(|d| results.contains_key(*d)) {
                i += 1;
                continue;
            }
            let s = pending.remove(i);
            if let Some(bad) = dependents.iter().find(|d| results[**d].is_err()) {
                let e = DestroyError::DependentFailed {
                    stack: s.stack_name.clone(),
                    dependent: p
                        .stack(bad)
                        .map(|b| b.stack_name.clone())
                        .unwrap_or_default(),
                };
                log.event(&p.name, &s.stack_name, "skipped", &e.message());
                results.insert(s.name.clone(), Err(e));
                continue;
            }
            let (aws, log, name, delete_data, artifacts) = (
                aws.clone(),
                log.clone(),
                p.name.clone(),
                opts.delete_data,
                p.artifacts_bucket.clone(),
            );
            running.spawn(async move {
                let data = delete_data.then_some(artifacts.as_str());
                let r = destroy_stack(&aws, &log, &name, &s, data).await;
                (s.name.clone(), r)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (name, r) = joined.expect("a destroy task panicked");
        results.insert(name, r);
    }
    let mut outcome = Outcome::Done;
    for r in results.values() {
        if let Err(e) = r {
            if !matches!(e, DestroyError::DependentFailed { .. }) {
                eprintln!("error: {}", e.message());
            }
            // An endpoint that stopped answering is a connection problem.
            outcome = outcome.max(match e {
                DestroyError::Stack { detail, .. } | DestroyError::Bucket { detail, .. }
                    if super::is_unreachable(detail) =>
                {
                    Outcome::Usage
                }
                _ => Outcome::Failed,
            });
        }
    }
    outcome
}

/// Deletes one stack. `delete_data` carries the artifacts bucket (with its
/// `${AWS::...}` placeholders) when `--delete-data` was given.
async fn destroy_stack(
    aws: &Aws,
    log: &Log,
    pipeline: &str,
    s: &Stack,
    delete_data: Option<&str>,
) -> Result<(), DestroyError> {
    let name = s.stack_name.as_str();
    if let Some(artifacts) = delete_data
        && let Some(released) = release_catalog(&s.template)
    {
        release(aws, log, pipeline, name, &released, artifacts).await?;
    }
    let delete_data = delete_data.is_some();
    let keep = retained(&s.template);
    // Physical names of the retained resources, read before they leave the stack.
    let mut physical: Vec<(String, String)> = Vec::new();
    if !keep.is_empty()
        && let Ok(out) = aws
            .cfn
            .describe_stack_resources()
            .stack_name(name)
            .send()
            .await
    {
        for r in out.stack_resources() {
            let id = r.logical_resource_id().unwrap_or_default();
            if let Some((_, ty)) = keep.iter().find(|(k, _)| k == id)
                && let Some(phys) = r.physical_resource_id()
                && phys != "None"
            {
                physical.push((ty.clone(), phys.to_string()));
            }
        }
    }
    log.event(pipeline, name, "start", "delete");
    super::apply::delete_and_wait_with(aws, log, pipeline, name)
        .await
        .map_err(|e| DestroyError::Stack {
            stack: name.to_string(),
            detail: e.message(),
        })?;
    log.event(pipeline, name, "deleted", "");
    for (ty, phys) in physical {
        if delete_data && ty == "AWS::S3::Bucket" {
            empty_and_delete(aws, &phys).await?;
            log.event(pipeline, name, "data-deleted", &format!("bucket {phys}"));
        } else if delete_data && CATALOG_DATA.contains(&ty.as_str()) {
            log.event(pipeline, name, "data-deleted", &format!("{ty} {phys}"));
        } else {
            let hint = if delete_data {
                " (kept: pipec deletes data buckets and Glue catalog entries only)"
            } else {
                " (pass --delete-data to delete buckets)"
            };
            log.event(pipeline, name, "retained", &format!("{ty} {phys}{hint}"));
        }
    }
    Ok(())
}

/// Retained resources that `--delete-data` lets CloudFormation delete with
/// their stack: the Glue catalog's database and tables. (Buckets must be
/// emptied first, so pipec deletes those itself after the stack is gone.)
const CATALOG_DATA: [&str; 2] = ["AWS::Glue::Database", "AWS::Glue::Table"];

/// The template with its retained catalog resources set to `Delete`, when it
/// has any. Deploying it before the delete lets CloudFormation remove them.
fn release_catalog(template: &str) -> Option<String> {
    let file = crate::source::SourceFile::new("template.yaml", template.to_string());
    let (mut doc, _) = crate::yaml::parse(&file).ok()?;
    let resources = doc.value.get_mut("Resources")?.as_object_mut()?;
    let mut changed = false;
    for r in resources.values_mut() {
        let Some(m) = r.as_object_mut() else { continue };
        let ty = m.get("Type").and_then(|t| t.as_str()).unwrap_or_default();
        let retained = m.get("DeletionPolicy").and_then(|d| d.as_str()) == Some("Retain");
        if CATALOG_DATA.contains(&ty) && retained {
            m.insert("DeletionPolicy".into(), "Delete".into());
            m.insert("UpdateReplacePolicy".into(), "Delete".into());
            changed = true;
        }
    }
    changed.then(|| crate::render::emit::to_yaml(&doc.value))
}

/// Updates a stack to the released template and waits for the update.
async fn release(
    aws: &Aws,
    log: &Log,
    pipeline: &str,
    name: &str,
    template: &str,
    artifacts: &str,
) -> Result<(), DestroyError> {
    use aws_sdk_cloudformation::types::{Capability, StackStatus};
    let fail = |detail: String| DestroyError::Stack {
        stack: name.to_string(),
        detail,
    };
    if aws.stack(name).await.map_err(fail)?.is_none() {
        return Ok(());
    }
    log.event(
        pipeline,
        name,
        "release",
        "Glue database and tables set to be deleted with the stack",
    );
    let mut req = aws
        .cfn
        .update_stack()
        .stack_name(name)
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam);
    if template.len() > super::plan::MAX_TEMPLATE_BODY {
        let account = aws.account().await.map_err(fail)?;
        let bucket = artifacts
            .replace("${AWS::AccountId}", &account)
            .replace("${AWS::Region}", &aws.region);
        let key = format!(
            "templates/release-{}.yaml",
            &crate::render::sha256_hex(template)[..16]
        );
        aws.s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(template.as_bytes().to_vec().into())
            .send()
            .await
            .map_err(|e| fail(describe(&e)))?;
        req = req.template_url(format!(
            "https://{bucket}.s3.{}.amazonaws.com/{key}",
            aws.region
        ));
    } else {
        req = req.template_body(template);
    }
    if let Err(e) = req.send().await {
        let detail = describe(&e);
        // Already released by an earlier, interrupted destroy.
        if detail.contains("No updates are to be performed") {
            return Ok(());
        }
        return Err(fail(detail));
    }
    let mut backoff = super::Backoff::default();
    loop {
        let Some(stack) = aws.stack(name).await.map_err(fail)? else {
            return Ok(());
        };
        match stack.stack_status() {
            Some(StackStatus::UpdateComplete) => return Ok(()),
            Some(s) if s.as_str().ends_with("_IN_PROGRESS") => backoff.wait().await,
            other => {
                return Err(fail(format!(
                    "releasing the Glue catalog ended in {}",
                    other.map(|s| s.as_str()).unwrap_or("an unknown state")
                )));
            }
        }
    }
}

/// Deletes every object version and delete marker of a bucket, then the bucket.
pub async fn empty_and_delete(aws: &Aws, bucket: &str) -> Result<(), DestroyError> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let err = |detail: String| DestroyError::Bucket {
        bucket: bucket.to_string(),
        detail,
    };
    loop {
        let out = match aws.s3.list_object_versions().bucket(bucket).send().await {
            Ok(o) => o,
            Err(e) if describe(&e).contains("NoSuchBucket") => return Ok(()),
            Err(e) => return Err(err(describe(&e))),
        };
        let mut ids = Vec::new();
        for v in out.versions() {
            if let Some(k) = v.key() {
                ids.push((k.to_string(), v.version_id().map(str::to_string)));
            }
        }
        for m in out.delete_markers() {
            if let Some(k) = m.key() {
                ids.push((k.to_string(), m.version_id().map(str::to_string)));
            }
        }
        if ids.is_empty() {
            break;
        }
        for chunk in ids.chunks(1000) {
            let objects: Vec<ObjectIdentifier> = chunk
                .iter()
                .filter_map(|(k, v)| {
                    ObjectIdentifier::builder()
                        .key(k)
                        .set_version_id(v.clone().filter(|v| v != "null"))
                        .build()
                        .ok()
                })
                .collect();
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| err(e.to_string()))?;
            aws.s3
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| err(describe(&e)))?;
        }
    }
    aws.s3
        .delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| err(describe(&e)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn release_sets_only_catalog_resources_to_delete() {
        let t = "# header\nResources:\n  Db: {Type: AWS::Glue::Database, DeletionPolicy: Retain, UpdateReplacePolicy: Retain}\n  T:\n    Type: AWS::Glue::Table\n    DeletionPolicy: Retain\n    UpdateReplacePolicy: Retain\n  B: {Type: AWS::S3::Bucket, DeletionPolicy: Retain}\n";
        let out = super::release_catalog(t).expect("catalog resources found");
        let kept = super::retained(&out);
        assert_eq!(kept, vec![("B".to_string(), "AWS::S3::Bucket".to_string())]);
        assert!(out.contains("  Db:\n    Type: AWS::Glue::Database\n    DeletionPolicy: Delete\n    UpdateReplacePolicy: Delete\n"), "{out}");
        assert_eq!(
            super::release_catalog(
                "Resources:\n  B: {Type: AWS::S3::Bucket, DeletionPolicy: Retain}\n"
            ),
            None
        );
    }

    #[test]
    fn retained_finds_deletion_policy_retain() {
        let t = "Resources:\n  B: {Type: AWS::S3::Bucket, DeletionPolicy: Retain}\n  T: {Type: AWS::SNS::Topic}\n";
        assert_eq!(
            super::retained(t),
            vec![("B".to_string(), "AWS::S3::Bucket".to_string())]
        );
    }
}
