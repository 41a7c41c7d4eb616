//! The deploy phase (`pipec deploy`): change sets, in dependency order.
//!
//! In: planned pipelines, the stacks to act on and the user's choices
//! (`Options`). Out: scripts uploaded under their content-hash keys, each
//! out-of-date stack created or updated through a change set (created,
//! waited for, summarized, checked for lost data, confirmed, executed,
//! waited for with its events shown live), and an `Outcome`. Independent
//! stacks run at the same time: each starts as soon as its own dependencies
//! are done. Errors: `DeployError`, every message worded in `message`.

use super::plan::{MAX_TEMPLATE_BODY, Pipeline, Stack};
use super::{Aws, Backoff, Log, Outcome, STATEFUL_TYPES, describe, is_settled};
use aws_sdk_cloudformation::types::{
    Capability, ChangeAction, ChangeSetStatus, ChangeSetType, Replacement, ResourceStatus,
    StackEvent, StackStatus, Tag,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The user's choices.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--stack` names (short or CloudFormation names); empty: every stack.
    pub stacks: Vec<String>,
    pub only: bool,
    pub yes: bool,
    pub allow_replace: bool,
    pub recreate: bool,
    /// Deploy committed files that differ from what their source renders.
    pub allow_edited: bool,
}

/// The first resource that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub logical_id: String,
    pub resource_type: String,
    pub reason: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.logical_id, self.resource_type, self.reason
        )
    }
}

/// What can go wrong deploying one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployError {
    RolledBack {
        stack: String,
        first: Option<Failure>,
    },
    UpdateRollbackFailed {
        stack: String,
        first: Option<Failure>,
    },
    Busy {
        stack: String,
        status: String,
    },
    BadState {
        stack: String,
        status: String,
        reason: String,
    },
    Api {
        stack: String,
        action: &'static str,
        detail: String,
    },
    ChangeSetFailed {
        stack: String,
        reason: String,
    },
    Refused {
        stack: String,
        resources: Vec<String>,
    },
    NeedsYes {
        stack: String,
    },
    StackFailed {
        stack: String,
        status: String,
        first: Option<Failure>,
    },
    Upload {
        key: String,
        detail: String,
    },
    DependencyFailed {
        stack: String,
        dependency: String,
    },
    /// Committed files differ from what their source renders (`finding`).
    Edited {
        findings: Vec<String>,
    },
    /// Re-adopting retained resources failed (`adopt::AdoptError::message`).
    Adopt {
        detail: String,
        unreachable: bool,
    },
}

impl DeployError {
    pub fn message(&self) -> String {
        let first = |f: &Option<Failure>| match f {
            Some(f) => format!("; first failure: {f}"),
            None => String::new(),
        };
        match self {
            DeployError::RolledBack { stack, first: f } => format!(
                "stack {stack} is in ROLLBACK_COMPLETE: its first create failed and CloudFormation rolled it back, so it cannot be updated{}. Fix the cause, then run again with --recreate to delete and recreate it",
                first(f)
            ),
            DeployError::UpdateRollbackFailed { stack, first: f } => format!(
                "stack {stack} is in UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback{}. Fix the resource named, then run `aws cloudformation continue-update-rollback --stack-name {stack}` (skip resources with --resources-to-skip if needed) and deploy again",
                first(f)
            ),
            DeployError::Busy { stack, status } => format!(
                "stack {stack} is busy in another operation ({status}); wait for it to finish and run again"
            ),
            DeployError::BadState {
                stack,
                status,
                reason,
            } => format!("stack {stack} is in {status} ({reason}); pipec cannot deploy it"),
            DeployError::Api {
                stack,
                action,
                detail,
            } => format!("stack {stack}: {action} failed: {detail}"),
            DeployError::ChangeSetFailed { stack, reason } => {
                format!("stack {stack}: the change set failed: {reason}")
            }
            DeployError::Refused { stack, resources } => format!(
                "stack {stack}: refused: the change would replace or remove data-holding resources ({}); nothing was changed. Run again with --allow-replace if losing them is intended",
                resources.join(", ")
            ),
            DeployError::NeedsYes { stack } => format!(
                "stack {stack}: a change set is ready but there is no terminal to confirm it; run again with --yes to execute"
            ),
            DeployError::StackFailed {
                stack,
                status,
                first: f,
            } => format!("stack {stack} failed: {status}{}", first(f)),
            DeployError::Upload { key, detail } => format!("cannot upload {key}: {detail}"),
            DeployError::DependencyFailed { stack, dependency } => {
                format!("stack {stack} not deployed: its dependency {dependency} failed")
            }
            DeployError::Edited { findings } => format!(
                "refused: the committed files are not what their pipeline renders, and deploy sends what was reviewed or nothing:\n  - {}\nNothing was deployed. Run `pipec build` and commit the result, or run again with --allow-edited to deploy the files as they are",
                findings.join("\n  - ")
            ),
            DeployError::Adopt { detail, .. } => detail.clone(),
        }
    }

    /// Exit 2 for a missing `--yes` and for an endpoint that stopped
    /// answering (a connection problem, not a failed stack); 1 otherwise.
    pub fn outcome(&self) -> Outcome {
        match self {
            DeployError::NeedsYes { .. } => Outcome::Usage,
            DeployError::Adopt { unreachable, .. } if *unreachable => Outcome::Usage,
            DeployError::Api { detail, .. } | DeployError::Upload { detail, .. }
                if super::is_unreachable(detail) =>
            {
                Outcome::Usage
            }
            _ => Outcome::Failed,
        }
    }
}

/// What happened to one stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Unchanged,
    Created,
    Updated,
    Declined,
    Uploaded,
}

struct Ctx {
    aws: Aws,
    log: Log,
    opts: Options,
    pipeline: String,
    tags: BTreeMap<String, String>,
    bucket: String,
    /// The account, for the physical names of retained resources.
    account: String,
    prompt: tokio::sync::Mutex<()>,
}

const SCRIPTS: &str = "(scripts)";

/// Deploys the selected stacks of each pipeline, one pipeline after another.
/// The target is printed first; committed files that differ from what their
/// source renders stop everything before any upload, unless `allow_edited`.
pub async fn run(
    aws: &Aws,
    pipelines: &[Pipeline],
    opts: &Options,
    log: &Log,
    target: &super::identity::Target,
) -> Outcome {
    log.target(target);
    let findings: Vec<(String, String)> = pipelines
        .iter()
        .flat_map(|p| p.findings.iter().map(|f| (p.name.clone(), f.message())))
        .collect();
    if !findings.is_empty() {
        if !opts.allow_edited {
            let e = DeployError::Edited {
                findings: findings.into_iter().map(|(_, f)| f).collect(),
            };
            eprintln!("error: {}", e.message());
            return e.outcome();
        }
        for (p, f) in &findings {
            log.event(p, p, "warning", &format!("--allow-edited: {f}"));
        }
    }
    let mut outcome = Outcome::Done;
    for p in pipelines {
        let (o, _) = deploy_pipeline(aws, p, opts, log, &target.account).await;
        outcome = outcome.max(o);
    }
    outcome
}

/// What happened to each stack (by short name) and to the script upload.
pub type Results = BTreeMap<String, Result<Done, DeployError>>;

/// Deploys one pipeline's selected stacks; `account` resolves the artifacts
/// bucket's name.
pub async fn deploy_pipeline(
    aws: &Aws,
    p: &Pipeline,
    opts: &Options,
    log: &Log,
    account: &str,
) -> (Outcome, Results) {
    let wanted = super::plan::wanted_in(p, &opts.stacks);
    let selected = match p.select(&wanted, opts.only, false) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", e.message());
            return (Outcome::Usage, BTreeMap::new());
        }
    };
    log.expect(selected.len());
    let ctx = Arc::new(Ctx {
        aws: aws.clone(),
        log: log.clone(),
        opts: opts.clone(),
        pipeline: p.name.clone(),
        tags: p.tags.clone(),
        bucket: p.bucket(account, &aws.region),
        account: account.to_string(),
        prompt: tokio::sync::Mutex::new(()),
    });
    // The graph: selected stacks, plus the script upload when a stack needs it.
    let bucket_stack = p.bucket_stack().map(|s| s.name.clone());
    let mut nodes: Vec<(String, Vec<String>)> = Vec::new();
    let needs_scripts = !p.scripts.is_empty()
        && p.stacks
            .iter()
            .any(|s| selected.contains(&s.name) && p.uses_scripts(s));
    if needs_scripts {
        let deps = bucket_stack
            .iter()
            .filter(|b| selected.contains(*b))
            .cloned()
            .collect();
        nodes.push((SCRIPTS.to_string(), deps));
    }
    for s in p.stacks.iter().filter(|s| selected.contains(&s.name)) {
        let mut deps: Vec<String> = s
            .depends_on
            .iter()
            .filter(|d| selected.contains(*d))
            .cloned()
            .collect();
        if needs_scripts && p.uses_scripts(s) {
            deps.push(SCRIPTS.to_string());
        }
        if s.template.len() > MAX_TEMPLATE_BODY
            && let Some(b) = &bucket_stack
            && b != &s.name
            && selected.contains(b)
            && !deps.contains(b)
        {
            deps.push(b.clone());
        }
        nodes.push((s.name.clone(), deps));
    }
    let mut results: Results = BTreeMap::new();
    let mut running = tokio::task::JoinSet::new();
    let mut pending = nodes;
    loop {
        // Start every node whose dependencies are all finished.
        let mut i = 0;
        while i < pending.len() {
            let (name, deps) = &pending[i];
            if !deps.iter().all(|d| results.contains_key(d)) {
                i += 1;
                continue;
            }
            let (name, deps) = (name.clone(), deps.clone());
            pending.remove(i);
            if let Some(bad) = deps.iter().find(|d| results[*d].is_err()) {
                let e = DeployError::DependencyFailed {
                    stack: stack_name(p, &name),
                    dependency: stack_name(p, bad),
                };
                log.event(&p.name, &stack_name(p, &name), "skipped", &e.message());
                results.insert(name, Err(e));
                continue;
            }
            let ctx = ctx.clone();
            if name == SCRIPTS {
                let scripts = p.scripts.clone();
                running.spawn(async move { (name, upload_scripts(&ctx, &scripts).await) });
            } else {
                let stack = p.stack(&name).cloned().expect("selected stack exists");
                running.spawn(async move { (name, deploy_stack(&ctx, &stack).await) });
            }
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (name, res) = joined.expect("a deploy task panicked");
        results.insert(name, res);
    }
    let mut outcome = Outcome::Done;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, r) in &results {
        match r {
            Ok(Done::Uploaded) => {}
            Ok(d) => {
                *counts
                    .entry(match d {
                        Done::Unchanged => "unchanged",
                        Done::Created => "created",
                        Done::Updated => "updated",
                        _ => "declined",
                    })
                    .or_default() += 1
            }
            Err(e) => {
                *counts.entry("failed").or_default() += 1;
                if !matches!(e, DeployError::DependencyFailed { .. }) {
                    eprintln!("error: {}", e.message());
                }
                let _ = name;
                outcome = outcome.max(e.outcome());
            }
        }
    }
    let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    log.event(&p.name, &p.name, "summary", &summary.join(", "));
    (outcome, results)
}

fn stack_name(p: &Pipeline, short: &str) -> String {
    p.stack(short)
        .map(|s| s.stack_name.clone())
        .unwrap_or_else(|| format!("{}-{short}", p.name))
}

/// Uploads job scripts not yet in the artifacts bucket (keys carry the
/// content hash, so a key that exists holds the same text).
async fn upload_scripts(ctx: &Ctx, scripts: &[super::plan::Script]) -> Result<Done, DeployError> {
    let mut uploaded = 0;
    for s in scripts {
        let exists = ctx
            .aws
            .s3
            .head_object()
            .bucket(&ctx.bucket)
            .key(&s.s3_key)
            .send()
            .await
            .is_ok();
        if exists {
            continue;
        }
        ctx.aws
            .s3
            .put_object()
            .bucket(&ctx.bucket)
            .key(&s.s3_key)
            .content_type("text/x-python")
            .body(s.text.clone().into_bytes().into())
            .send()
            .await
            .map_err(|e| DeployError::Upload {
                key: format!("s3://{}/{}", ctx.bucket, s.s3_key),
                detail: describe(&e),
            })?;
        uploaded += 1;
        ctx.log.event(
            &ctx.pipeline,
            SCRIPTS,
            "uploaded",
            &format!("s3://{}/{}", ctx.bucket, s.s3_key),
        );
    }
    ctx.log.event(
        &ctx.pipeline,
        SCRIPTS,
        "done",
        &format!(
            "{uploaded} uploaded, {} already there",
            scripts.len() - uploaded
        ),
    );
    Ok(Done::Uploaded)
}

fn status_str(s: Option<&StackStatus>) -> String {
    s.map(|s| s.as_str().to_string()).unwrap_or_default()
}

/// Deploys one stack through a change set, or skips it when it is up to date.
async fn deploy_stack(ctx: &Ctx, stack: &Stack) -> Result<Done, DeployError> {
    let name = stack.stack_name.as_str();
    let api = |action: &'static str| {
        move |detail: String| DeployError::Api {
            stack: name.to_string(),
            action,
            detail,
        }
    };
    let mut existing = ctx.aws.stack(name).await.map_err(api("DescribeStacks"))?;
    if let Some(s) = &existing {
        let status = s.stack_status().cloned();
        match status {
            Some(StackStatus::RollbackComplete) | Some(StackStatus::RollbackFailed) => {
                if !ctx.opts.recreate {
                    let first = first_failure(ctx, name).await;
                    return Err(DeployError::RolledBack {
                        stack: name.to_string(),
                        first,
                    });
                }
                ctx.log.event(
                    &ctx.pipeline,
                    name,
                    "recreate",
                    "deleting the rolled-back stack",
                );
                delete_and_wait(ctx, name).await?;
                existing = None;
            }
            Some(StackStatus::UpdateRollbackFailed) => {
                let first = first_failure(ctx, name).await;
                return Err(DeployError::UpdateRollbackFailed {
                    stack: name.to_string(),
                    first,
                });
            }
            Some(StackStatus::ReviewInProgress) => existing = None,
            Some(ref st) if st.as_str().ends_with("_IN_PROGRESS") => {
                return Err(DeployError::Busy {
                    stack: name.to_string(),
                    status: st.as_str().to_string(),
                });
            }
            Some(ref st) if is_settled(st) => {
                if up_to_date(ctx, stack, s).await? {
                    protect(ctx, stack, s.enable_termination_protection() == Some(true)).await?;
                    ctx.log.event(&ctx.pipeline, name, "unchanged", "");
                    return Ok(Done::Unchanged);
                }
            }
            other => {
                return Err(DeployError::BadState {
                    stack: name.to_string(),
                    status: status_str(other.as_ref()),
                    reason: s.stack_status_reason().unwrap_or("no reason given").into(),
                });
            }
        }
    }
    let mut creating = existing.is_none();
    let adopted = creating && adopt_retained(ctx, stack).await?;
    if adopted {
        creating = false;
    }
    ctx.log.event(
        &ctx.pipeline,
        name,
        "start",
        if creating { "create" } else { "update" },
    );
    // The change set: a name of its own, then its ARN for every later call.
    let cs_name = super::changeset::name(name);
    let mut req = ctx
        .aws
        .cfn
        .create_change_set()
        .stack_name(name)
        .change_set_name(&cs_name)
        .change_set_type(if creating {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        })
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .description("pipec deploy");
    for (k, v) in &ctx.tags {
        req = req.tags(Tag::builder().key(k).value(v).build());
    }
    if stack.template.len() > MAX_TEMPLATE_BODY {
        req = req.template_url(upload_template(ctx, stack).await?);
    } else {
        req = req.template_body(&stack.template);
    }
    let cs_name = match req.send().await {
        // The ARN names this change set alone, whatever other change sets
        // the endpoint holds under the same name.
        Ok(out) => out.id().map_or(cs_name, str::to_string),
        Err(e) => {
            let detail = describe(&e);
            if detail.contains("_IN_PROGRESS") {
                return Err(DeployError::Busy {
                    stack: name.to_string(),
                    status: detail,
                });
            }
            return Err(api("CreateChangeSet")(detail));
        }
    };
    // Wait for it, then read every change.
    let mut backoff = Backoff::default();
    let mut changes = Vec::new();
    loop {
        let out = ctx
            .aws
            .cfn
            .describe_change_set()
            .stack_name(name)
            .change_set_name(&cs_name)
            .send()
            .await
            .map_err(|e| api("DescribeChangeSet")(describe(&e)))?;
        match out.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                changes.extend(
                    out.changes()
                        .iter()
                        .filter_map(|c| c.resource_change().cloned()),
                );
                let mut token = out.next_token().map(str::to_string);
                while let Some(t) = token {
                    let more = ctx
                        .aws
                        .cfn
                        .describe_change_set()
                        .stack_name(name)
                        .change_set_name(&cs_name)
                        .next_token(t)
                        .send()
                        .await
                        .map_err(|e| api("DescribeChangeSet")(describe(&e)))?;
                    changes.extend(
                        more.changes()
                            .iter()
                            .filter_map(|c| c.resource_change().cloned()),
                    );
                    token = more.next_token().map(str::to_string);
                }
                break;
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = out.status_reason().unwrap_or("no reason given").to_string();
                delete_change_set(ctx, name, &cs_name).await;
                if reason.contains("didn't contain changes") || reason.contains("No updates") {
                    ctx.log
                        .event(&ctx.pipeline, name, "unchanged", "no changes");
                    return Ok(Done::Unchanged);
                }
                return Err(DeployError::ChangeSetFailed {
                    stack: name.to_string(),
                    reason,
                });
            }
            _ => backoff.wait().await,
        }
    }
    // Summarize.
    let (mut add, mut modify, mut remove) = (0, 0, 0);
    let mut dangerous = Vec::new();
    let mut iam = Vec::new();
    for c in &changes {
        let id = c.logical_resource_id().unwrap_or("?");
        let ty = c.resource_type().unwrap_or("?");
        let replace = matches!(
            c.replacement(),
            Some(Replacement::True) | Some(Replacement::Conditional)
        );
        let (sign, word) = match c.action() {
            Some(ChangeAction::Add) => {
                add += 1;
                ("+", "add")
            }
            Some(ChangeAction::Remove) => {
                remove += 1;
                ("-", "remove")
            }
            Some(ChangeAction::Modify) => {
                modify += 1;
                ("~", if replace { "replace" } else { "modify" })
            }
            Some(other) => ("?", other.as_str()),
            None => ("?", "change"),
        };
        if ty.starts_with("AWS::IAM::") {
            iam.push(id.to_string());
        }
        let lossy = matches!(c.action(), Some(ChangeAction::Remove))
            || (matches!(c.action(), Some(ChangeAction::Modify)) && replace);
        if lossy && STATEFUL_TYPES.contains(&ty) {
            dangerous.push(format!("{word} {id} ({ty})"));
        }
        ctx.log.event(
            &ctx.pipeline,
            name,
            "change",
            &format!("{sign} {word} {id} ({ty})"),
        );
    }
    let mut summary = format!("{add} to add, {modify} to modify, {remove} to remove");
    if !iam.is_empty() {
        summary.push_str(&format!("; IAM changes: {}", iam.join(", ")));
    }
    if !dangerous.is_empty() {
        summary.push_str(&format!("; DATA AT RISK: {}", dangerous.join(", ")));
    }
    ctx.log.event(&ctx.pipeline, name, "change-set", &summary);
    if !dangerous.is_empty() && !ctx.opts.allow_replace {
        delete_change_set(ctx, name, &cs_name).await;
        ctx.log.event(&ctx.pipeline, name, "refused", "");
        return Err(DeployError::Refused {
            stack: name.to_string(),
            resources: dangerous,
        });
    }
    if !ctx.opts.yes {
        let _guard = ctx.prompt.lock().await;
        match super::confirm(&format!("Execute the change set for {name} ({summary})?")) {
            None => {
                delete_change_set(ctx, name, &cs_name).await;
                return Err(DeployError::NeedsYes {
                    stack: name.to_string(),
                });
            }
            Some(false) => {
                delete_change_set(ctx, name, &cs_name).await;
                ctx.log.event(&ctx.pipeline, name, "declined", "");
                return Ok(Done::Declined);
            }
            Some(true) => {}
        }
    }
    // Execute, then follow the stack's events until it settles.
    let seen = latest_event_id(ctx, name).await;
    ctx.log.event(&ctx.pipeline, name, "execute", &cs_name);
    ctx.aws
        .cfn
        .execute_change_set()
        .stack_name(name)
        .change_set_name(&cs_name)
        .send()
        .await
        .map_err(|e| api("ExecuteChangeSet")(describe(&e)))?;
    let (final_status, events) = follow(ctx, name, seen).await?;
    match final_status {
        StackStatus::CreateComplete | StackStatus::UpdateComplete => {
            protect(ctx, stack, false).await?;
            ctx.log
                .event(&ctx.pipeline, name, "done", final_status.as_str());
            Ok(if creating || adopted {
                Done::Created
            } else {
                Done::Updated
            })
        }
        other => {
            let first = first_failed(&events);
            ctx.log.event(&ctx.pipeline, name, "failed", other.as_str());
            Err(DeployError::StackFailed {
                stack: name.to_string(),
                status: other.as_str().to_string(),
                first,
            })
        }
    }
}

/// The hook before a stack is created: when retained resources of its
/// template still exist (after a `destroy`), `adopt` checks they are this
/// pipeline's and imports them into the new stack, which the caller then
/// updates to the whole template. True when it imported anything.
async fn adopt_retained(ctx: &Ctx, stack: &Stack) -> Result<bool, DeployError> {
    let name = stack.stack_name.as_str();
    let err = |e: super::adopt::AdoptError| DeployError::Adopt {
        detail: e.message(),
        unreachable: e.unreachable(),
    };
    let found = super::adopt::find(&ctx.aws, &ctx.pipeline, name, &stack.template, &ctx.account)
        .await
        .map_err(err)?;
    if found.is_empty() {
        return Ok(false);
    }
    let list: Vec<&str> = found.iter().map(|f| f.display.as_str()).collect();
    ctx.log
        .event(&ctx.pipeline, name, "adopt", &list.join(", "));
    if !ctx.opts.yes {
        let _guard = ctx.prompt.lock().await;
        match super::confirm(&format!(
            "Import the retained {} into the new stack {name}?",
            list.join(", ")
        )) {
            None => {
                return Err(DeployError::NeedsYes {
                    stack: name.to_string(),
                });
            }
            Some(false) => {
                return Err(DeployError::Adopt {
                    detail: format!(
                        "stack {name}: not created: the retained resources were not imported"
                    ),
                    unreachable: false,
                });
            }
            Some(true) => {}
        }
    }
    super::adopt::import(&ctx.aws, name, &stack.template, &found, &ctx.tags)
        .await
        .map_err(err)?;
    ctx.log.event(
        &ctx.pipeline,
        name,
        "imported",
        &format!("{} resources", found.len()),
    );
    Ok(true)
}

/// True when the deployed template (normalized) and the tags already match.
async fn up_to_date(
    ctx: &Ctx,
    stack: &Stack,
    deployed: &aws_sdk_cloudformation::types::Stack,
) -> Result<bool, DeployError> {
    let tags: BTreeMap<String, String> = deployed
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    if tags != ctx.tags || !deployed.parameters().is_empty() {
        return Ok(false);
    }
    let body = ctx
        .aws
        .template(&stack.stack_name)
        .await
        .map_err(|detail| DeployError::Api {
            stack: stack.stack_name.clone(),
            action: "GetTemplate",
            detail,
        })?;
    Ok(body.is_some_and(|b| super::plan::normalize(&b) == super::plan::normalize(&stack.template)))
}

/// The `Log::first_time` key of an endpoint without termination protection.
const NO_PROTECTION: &str = "termination-protection-unsupported";

/// Whether an UpdateTerminationProtection error means the endpoint lacks the
/// call (moto answers 500 with a body that is not XML) rather than a refusal.
pub fn protection_unsupported(detail: &str) -> bool {
    ["error parsing XML", "not yet implemented", "NotImplemented"]
        .iter()
        .any(|m| detail.contains(m))
}

/// Turns termination protection on when the stack wants it and lacks it.
/// An endpoint without the call is reported once per run, not per stack.
async fn protect(ctx: &Ctx, stack: &Stack, already: bool) -> Result<(), DeployError> {
    if !stack.termination_protection || already || ctx.log.said(NO_PROTECTION) {
        return Ok(());
    }
    if let Ok(Some(s)) = ctx.aws.stack(&stack.stack_name).await
        && s.enable_termination_protection() == Some(true)
    {
        return Ok(());
    }
    // One attempt: an endpoint without this call (moto) answers 500, and the
    // stack itself is deployed; say so and go on.
    let once = aws_sdk_cloudformation::config::Builder::default().retry_config(
        aws_sdk_cloudformation::config::retry::RetryConfig::standard().with_max_attempts(1),
    );
    match ctx
        .aws
        .cfn
        .update_termination_protection()
        .stack_name(&stack.stack_name)
        .enable_termination_protection(true)
        .customize()
        .config_override(once)
        .send()
        .await
    {
        Ok(_) => ctx.log.event(
            &ctx.pipeline,
            &stack.stack_name,
            "protected",
            "termination protection on",
        ),
        Err(e) => {
            let detail = describe(&e);
            if protection_unsupported(&detail) {
                if ctx.log.first_time(NO_PROTECTION) {
                    ctx.log.note(
                        "note: this endpoint does not support termination protection (moto does not); the stacks are deployed without it",
                    );
                }
            } else {
                ctx.log.event(
                    &ctx.pipeline,
                    &stack.stack_name,
                    "warning",
                    &format!("could not turn termination protection on: {detail}"),
                );
            }
        }
    }
    Ok(())
}

/// Puts a large template in the artifacts bucket; returns its URL.
async fn upload_template(ctx: &Ctx, stack: &Stack) -> Result<String, DeployError> {
    let sha = crate::render::sha256_hex(&stack.template);
    let key = format!("templates/{}-{}.yaml", stack.name, &sha[..16]);
    ctx.aws
        .s3
        .put_object()
        .bucket(&ctx.bucket)
        .key(&key)
        .content_type("application/x-yaml")
        .body(stack.template.clone().into_bytes().into())
        .send()
        .await
        .map_err(|e| DeployError::Upload {
            key: format!("s3://{}/{key}", ctx.bucket),
            detail: describe(&e),
        })?;
    ctx.log.event(
        &ctx.pipeline,
        &stack.stack_name,
        "uploaded",
        &format!(
            "template of {} bytes to s3://{}/{key}",
            stack.template.len(),
            ctx.bucket
        ),
    );
    Ok(format!(
        "https://{}.s3.{}.amazonaws.com/{key}",
        ctx.bucket, ctx.aws.region
    ))
}

/// Drops a change set that will not run; a stack that only exists for it
/// (REVIEW_IN_PROGRESS, made by a CREATE change set) goes too.
async fn delete_change_set(ctx: &Ctx, stack: &str, cs: &str) {
    drop_change_set(ctx, stack, cs).await;
    if let Ok(Some(s)) = ctx.aws.stack(stack).await
        && s.stack_status() == Some(&StackStatus::ReviewInProgress)
    {
        let _ = ctx.aws.cfn.delete_stack().stack_name(stack).send().await;
    }
}

async fn drop_change_set(ctx: &Ctx, stack: &str, cs: &str) {
    let _ = ctx
        .aws
        .cfn
        .delete_change_set()
        .stack_name(stack)
        .change_set_name(cs)
        .send()
        .await;
}

/// Deletes a stack (termination protection off first) and waits until it is gone.
pub(crate) async fn delete_and_wait_with(
    aws: &Aws,
    log: &Log,
    pipeline: &str,
    name: &str,
) -> Result<(), DeployError> {
    let api = |action: &'static str| {
        move |detail: String| DeployError::Api {
            stack: name.to_string(),
            action,
            detail,
        }
    };
    if let Ok(Some(s)) = aws.stack(name).await
        && s.enable_termination_protection() == Some(true)
    {
        aws.cfn
            .update_termination_protection()
            .stack_name(name)
            .enable_termination_protection(false)
            .send()
            .await
            .map_err(|e| api("UpdateTerminationProtection")(describe(&e)))?;
    }
    aws.cfn
        .delete_stack()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| api("DeleteStack")(describe(&e)))?;
    let mut backoff = Backoff::default();
    loop {
        match aws.stack(name).await.map_err(api("DescribeStacks"))? {
            None => return Ok(()),
            Some(s) => match s.stack_status() {
                Some(StackStatus::DeleteComplete) => return Ok(()),
                Some(StackStatus::DeleteFailed) => {
                    log.event(pipeline, name, "failed", "DELETE_FAILED");
                    return Err(DeployError::StackFailed {
                        stack: name.to_string(),
                        status: "DELETE_FAILED".into(),
                        first: Some(Failure {
                            logical_id: name.to_string(),
                            resource_type: "AWS::CloudFormation::Stack".into(),
                            reason: s.stack_status_reason().unwrap_or("no reason given").into(),
                        }),
                    });
                }
                _ => backoff.wait().await,
            },
        }
    }
}

async fn delete_and_wait(ctx: &Ctx, name: &str) -> Result<(), DeployError> {
    delete_and_wait_with(&ctx.aws, &ctx.log, &ctx.pipeline, name).await
}

/// The id of the newest event of a stack, to show only later ones.
async fn latest_event_id(ctx: &Ctx, name: &str) -> Option<String> {
    ctx.aws
        .cfn
        .describe_stack_events()
        .stack_name(name)
        .send()
        .await
        .ok()?
        .stack_events()
        .first()
        .and_then(|e| e.event_id().map(str::to_string))
}

/// Polls a stack until it leaves `*_IN_PROGRESS`, printing its new events.
/// Returns the final status and every event seen, oldest first.
async fn follow(
    ctx: &Ctx,
    name: &str,
    mut seen: Option<String>,
) -> Result<(StackStatus, Vec<StackEvent>), DeployError> {
    let mut backoff = Backoff::default();
    let mut all = Vec::new();
    let started = std::time::Instant::now();
    loop {
        let s = ctx
            .aws
            .stack(name)
            .await
            .map_err(|detail| DeployError::Api {
                stack: name.to_string(),
                action: "DescribeStacks",
                detail,
            })?;
        let status = s
            .as_ref()
            .and_then(|s| s.stack_status().cloned())
            .unwrap_or(StackStatus::DeleteComplete);
        // Events, newest first: take those after the last one seen.
        if let Ok(out) = ctx
            .aws
            .cfn
            .describe_stack_events()
            .stack_name(name)
            .send()
            .await
        {
            let mut fresh = Vec::new();
            for e in out.stack_events() {
                if e.event_id().is_some() && e.event_id().map(str::to_string) == seen {
                    break;
                }
                fresh.push(e.clone());
            }
            if let Some(e) = out.stack_events().first() {
                seen = e.event_id().map(str::to_string);
            }
            for e in fresh.into_iter().rev() {
                let mut text = format!(
                    "{} {} {}",
                    e.logical_resource_id().unwrap_or("?"),
                    e.resource_type().unwrap_or("?"),
                    e.resource_status().map(|s| s.as_str()).unwrap_or("?")
                );
                if let Some(r) = e.resource_status_reason() {
                    text.push_str(&format!(": {r}"));
                }
                ctx.log.event(&ctx.pipeline, name, "event", &text);
                all.push(e);
            }
        }
        if !status.as_str().ends_with("_IN_PROGRESS") {
            return Ok((status, all));
        }
        // An executed change set never leaves a stack in review: the endpoint
        // did not start it.
        if status == StackStatus::ReviewInProgress && started.elapsed().as_secs() > 30 {
            return Ok((status, all));
        }
        backoff.wait().await;
    }
}

/// The earliest resource failure among events (oldest first).
pub fn first_failed(events: &[StackEvent]) -> Option<Failure> {
    events
        .iter()
        .find(|e| {
            matches!(
                e.resource_status(),
                Some(
                    ResourceStatus::CreateFailed
                        | ResourceStatus::UpdateFailed
                        | ResourceStatus::DeleteFailed
                        | ResourceStatus::ImportFailed
                )
            ) && e.resource_type() != Some("AWS::CloudFormation::Stack")
        })
        .map(|e| Failure {
            logical_id: e.logical_resource_id().unwrap_or("?").to_string(),
            resource_type: e.resource_type().unwrap_or("?").to_string(),
            reason: e
                .resource_status_reason()
                .unwrap_or("no reason given")
                .to_string(),
        })
}

/// The first failure in a stack's recent events (for stacks found failed).
async fn first_failure(ctx: &Ctx, name: &str) -> Option<Failure> {
    let out = ctx
        .aws
        .cfn
        .describe_stack_events()
        .stack_name(name)
        .send()
        .await
        .ok()?;
    let mut events: Vec<StackEvent> = out.stack_events().to_vec();
    events.reverse();
    first_failed(&events)
}
