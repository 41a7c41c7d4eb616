//! Planning one stack: a read-only look first, then its change set.
//!
//! In: a rendered stack. `inspect` reads (DescribeStacks, and GetTemplate
//! for a settled stack) and says what is due: nothing, a create or an
//! update, or why the stack cannot be deployed. `prepare` then cleans up
//! what an interrupted deploy left (a stack in REVIEW_IN_PROGRESS, stale
//! pipec change sets), creates the change set, waits for it and reads every
//! change: a `Prepared`, which is executed only once the whole run passed
//! the gate. Nothing here executes a change set.

use super::super::plan::{MAX_TEMPLATE_BODY, Stack};
use super::super::{Backoff, describe, is_settled};
use super::upload::{self, Uploads};
use super::{Ctx, DeployError, execute};
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, ResourceChange, StackStatus, Tag,
};
use std::collections::BTreeMap;

/// What a read-only look at a stack found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Deployed template and tags match: nothing to do.
    Unchanged,
    /// No stack yet. `review`: a stack left in REVIEW_IN_PROGRESS by a
    /// CREATE change set that never ran, deleted before the create.
    Create { review: bool },
    /// ROLLBACK_COMPLETE with `--recreate`: deleted, then created.
    Recreate,
    /// A settled stack whose template or tags differ (`deployed`: its
    /// template now, for the gate).
    Update { deployed: String },
}

impl Found {
    pub fn creates(&self) -> bool {
        matches!(self, Found::Create { .. } | Found::Recreate)
    }
}

/// A change set ready to execute.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Short name (`glue-jobs`).
    pub name: String,
    pub stack_name: String,
    pub creating: bool,
    /// Retained resources were imported into a new stack first; the change
    /// set is then an update, and the stack counts as created.
    pub adopted: bool,
    /// The change set's ARN, as CreateChangeSet returned it.
    pub change_set: String,
    pub changes: Vec<ResourceChange>,
    /// The deployed template (None for a create) and the new one: what
    /// pipec's own template rules compare.
    pub deployed: Option<String>,
    pub template: String,
    /// `N to add, N to modify, N to remove; IAM changes: ...`.
    pub summary: String,
}

fn api<'a>(name: &'a str, action: &'static str) -> impl Fn(String) -> DeployError + 'a {
    move |detail| DeployError::Api {
        stack: name.to_string(),
        action,
        detail,
    }
}

/// Looks at a stack without changing anything.
pub async fn inspect(ctx: &Ctx, stack: &Stack) -> Result<Found, DeployError> {
    let name = stack.stack_name.as_str();
    let Some(s) = ctx
        .aws
        .stack(name)
        .await
        .map_err(api(name, "DescribeStacks"))?
    else {
        return Ok(Found::Create { review: false });
    };
    let status = s.stack_status().cloned();
    match status {
        Some(StackStatus::RollbackComplete) | Some(StackStatus::RollbackFailed) => {
            if ctx.opts.recreate {
                Ok(Found::Recreate)
            } else {
                Err(DeployError::RolledBack {
                    stack: name.to_string(),
                    first: execute::first_failure(ctx, name).await,
                })
            }
        }
        Some(StackStatus::UpdateRollbackFailed) => Err(DeployError::UpdateRollbackFailed {
            stack: name.to_string(),
            first: execute::first_failure(ctx, name).await,
        }),
        Some(StackStatus::ReviewInProgress) => Ok(Found::Create { review: true }),
        Some(ref st) if st.as_str().ends_with("_IN_PROGRESS") => Err(DeployError::Busy {
            stack: name.to_string(),
            status: st.as_str().to_string(),
        }),
        Some(ref st) if is_settled(st) => {
            let tags: BTreeMap<String, String> = s
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            let deployed = ctx
                .aws
                .template(name)
                .await
                .map_err(api(name, "GetTemplate"))?
                .unwrap_or_default();
            // GetTemplate (Original) gives back the body as submitted, so
            // equal text is the common case; only other text is normalized.
            let same = tags == ctx.tags
                && s.parameters().is_empty()
                && (deployed == stack.template
                    || super::super::plan::normalize(&deployed)
                        == super::super::plan::normalize(&stack.template));
            Ok(if same {
                Found::Unchanged
            } else {
                Found::Update { deployed }
            })
        }
        other => Err(DeployError::BadState {
            stack: name.to_string(),
            status: other.map(|s| s.as_str().to_string()).unwrap_or_default(),
            reason: s.stack_status_reason().unwrap_or("no reason given").into(),
        }),
    }
}

/// Cleans up, creates the change set and reads it. `Ok(None)`: the change
/// set holds no change (the stack is unchanged after all).
pub async fn prepare(
    ctx: &Ctx,
    stack: &Stack,
    found: &Found,
    uploads: &Uploads,
) -> Result<Option<Prepared>, DeployError> {
    let name = stack.stack_name.as_str();
    match found {
        Found::Unchanged => return Ok(None),
        Found::Recreate => {
            ctx.log.event(
                &ctx.pipeline,
                name,
                "recreate",
                "deleting the rolled-back stack",
            );
            execute::delete_and_wait(ctx, name).await?;
        }
        Found::Create { review: true } => {
            ctx.log.event(
                &ctx.pipeline,
                name,
                "cleanup",
                "deleting the stack an interrupted deploy left in REVIEW_IN_PROGRESS",
            );
            clear_review(ctx, name).await?;
        }
        Found::Update { .. } => drop_stale_change_sets(ctx, name).await?,
        Found::Create { review: false } => {}
    }
    // Retained resources of a stack that is gone (after `destroy`) are
    // imported first, so the new stack adopts them instead of failing on
    // names that exist. The import is the one write before the gate: it
    // adopts, changes and deletes nothing, and is confirmed like the rest.
    let adopted = found.creates() && adopt_retained(ctx, stack).await?;
    // The stack's own scripts first: its jobs must find them once it runs.
    uploads.ensure_for(ctx, stack).await?;
    let creating = found.creates() && !adopted;
    ctx.log.event(
        &ctx.pipeline,
        name,
        "start",
        if creating { "create" } else { "update" },
    );
    let cs_name = super::super::changeset::name(name);
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
        req = req.template_url(upload::template(ctx, stack).await?);
    } else {
        req = req.template_body(&stack.template);
    }
    let arn = match req.send().await {
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
            return Err(api(name, "CreateChangeSet")(detail));
        }
    };
    pause_for_tests(ctx, name).await;
    let Some(changes) = wait_for_changes(ctx, name, &arn).await? else {
        ctx.log
            .event(&ctx.pipeline, name, "unchanged", "no changes");
        return Ok(None);
    };
    let summary = summarize(ctx, name, &changes);
    Ok(Some(Prepared {
        name: stack.name.clone(),
        stack_name: name.to_string(),
        creating,
        adopted,
        change_set: arn,
        changes,
        deployed: match found {
            Found::Update { deployed } => Some(deployed.clone()),
            _ => None,
        },
        template: stack.template.clone(),
        summary,
    }))
}

/// For tests only: `PIPEC_TEST_PAUSE_AFTER_CHANGE_SET_MS=N` makes deploy
/// print a `paused` event and wait N ms after each CreateChangeSet, so a
/// test can kill it there or start a second deploy meanwhile.
async fn pause_for_tests(ctx: &Ctx, name: &str) {
    let Some(ms) = std::env::var("PIPEC_TEST_PAUSE_AFTER_CHANGE_SET_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    ctx.log.event(
        &ctx.pipeline,
        name,
        "paused",
        &format!("{ms} ms after CreateChangeSet (PIPEC_TEST_PAUSE_AFTER_CHANGE_SET_MS)"),
    );
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// Waits for the change set, then reads every change. `None` when it holds
/// none (AWS fails such a change set with "didn't contain changes").
async fn wait_for_changes(
    ctx: &Ctx,
    name: &str,
    arn: &str,
) -> Result<Option<Vec<ResourceChange>>, DeployError> {
    let mut backoff = Backoff::default();
    let mut changes = Vec::new();
    loop {
        let out = ctx
            .aws
            .cfn
            .describe_change_set()
            .stack_name(name)
            .change_set_name(arn)
            .send()
            .await
            .map_err(|e| api(name, "DescribeChangeSet")(describe(&e)))?;
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
                        .change_set_name(arn)
                        .next_token(t)
                        .send()
                        .await
                        .map_err(|e| api(name, "DescribeChangeSet")(describe(&e)))?;
                    changes.extend(
                        more.changes()
                            .iter()
                            .filter_map(|c| c.resource_change().cloned()),
                    );
                    token = more.next_token().map(str::to_string);
                }
                return Ok(Some(changes));
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = out.status_reason().unwrap_or("no reason given").to_string();
                execute::discard(ctx, name, arn).await;
                if reason.contains("didn't contain changes") || reason.contains("No updates") {
                    return Ok(None);
                }
                return Err(DeployError::ChangeSetFailed {
                    stack: name.to_string(),
                    reason,
                });
            }
            _ => backoff.wait().await,
        }
    }
}

/// Prints each change and returns the one-line summary.
fn summarize(ctx: &Ctx, name: &str, changes: &[ResourceChange]) -> String {
    use aws_sdk_cloudformation::types::{ChangeAction, Replacement};
    let (mut add, mut modify, mut remove) = (0, 0, 0);
    let mut iam = Vec::new();
    for c in changes {
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
    ctx.log.event(&ctx.pipeline, name, "change-set", &summary);
    summary
}

/// Deletes a stack that only exists for a CREATE change set that never ran
/// (REVIEW_IN_PROGRESS), and waits until it is gone. moto can hold several
/// stacks of one name in review (field notes), so this repeats.
async fn clear_review(ctx: &Ctx, name: &str) -> Result<(), DeployError> {
    for _ in 0..10 {
        match ctx
            .aws
            .stack(name)
            .await
            .map_err(api(name, "DescribeStacks"))?
        {
            Some(s) if s.stack_status() == Some(&StackStatus::ReviewInProgress) => {
                let id = s.stack_id().unwrap_or(name).to_string();
                execute::delete_and_wait(ctx, &id).await?;
            }
            _ => return Ok(()),
        }
    }
    Err(DeployError::BadState {
        stack: name.to_string(),
        status: "REVIEW_IN_PROGRESS".into(),
        reason: "the stack stayed in review after 10 deletes".into(),
    })
}

/// Deletes change sets an earlier pipec run left on a stack (killed between
/// CreateChangeSet and ExecuteChangeSet); others' change sets stay.
async fn drop_stale_change_sets(ctx: &Ctx, name: &str) -> Result<(), DeployError> {
    let out = ctx
        .aws
        .cfn
        .list_change_sets()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| api(name, "ListChangeSets")(describe(&e)))?;
    for cs in out.summaries() {
        let Some(cs_name) = cs.change_set_name() else {
            continue;
        };
        // moto lists every stack's change sets, executed ones too; AWS
        // lists this stack's, and removes them once one is executed.
        let executed = cs
            .execution_status()
            .is_some_and(|x| x.as_str().starts_with("EXECUTE_") || x.as_str() == "OBSOLETE");
        if !cs_name.starts_with("pipec-") || cs.stack_name() != Some(name) || executed {
            continue;
        }
        let id = cs.change_set_id().unwrap_or(cs_name);
        ctx.log.event(
            &ctx.pipeline,
            name,
            "cleanup",
            &format!("deleting change set {cs_name}, left by an earlier pipec run"),
        );
        execute::drop_change_set(ctx, name, id).await;
    }
    Ok(())
}

/// The hook before a stack is created: when retained resources of its
/// template still exist (after a `destroy`), `adopt` checks they are this
/// pipeline's and imports them into the new stack, which the caller then
/// updates to the whole template. True when it imported anything.
async fn adopt_retained(ctx: &Ctx, stack: &Stack) -> Result<bool, DeployError> {
    static PROMPT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let name = stack.stack_name.as_str();
    let err = |e: super::super::adopt::AdoptError| DeployError::Adopt {
        detail: e.message(),
        unreachable: e.unreachable(),
    };
    let found =
        super::super::adopt::find(&ctx.aws, &ctx.pipeline, name, &stack.template, &ctx.account)
            .await
            .map_err(err)?;
    if found.is_empty() {
        return Ok(false);
    }
    let list: Vec<&str> = found.iter().map(|f| f.display.as_str()).collect();
    ctx.log
        .event(&ctx.pipeline, name, "adopt", &list.join(", "));
    if !ctx.opts.yes {
        let _guard = PROMPT.lock().await;
        match super::super::confirm(&format!(
            "Import the retained {} into the new stack {name}?",
            list.join(", ")
        )) {
            None => {
                return Err(DeployError::NeedsYes {
                    stacks: vec![name.to_string()],
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
    super::super::adopt::import(&ctx.aws, name, &stack.template, &found, &ctx.tags)
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
