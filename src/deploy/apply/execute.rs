//! Executing a change set that passed the gate, and following it.
//!
//! In: a `Prepared` change set. Out: the stack created or updated, its
//! events shown live, termination protection turned on where the stack
//! asks for it (once, after it ran: a no-op deploy never asks), or the
//! first failing resource. Also the deletes the other steps need: a
//! change set that will not run, and a whole stack.

use super::super::plan::Stack;
use super::super::{Aws, Backoff, Log, describe};
use super::prepare::Prepared;
use super::{Ctx, DeployError, Done, Failure};
use aws_sdk_cloudformation::types::{ResourceStatus, StackEvent, StackStatus};

/// Executes a change set and waits until its stack settles.
pub async fn execute(ctx: &Ctx, stack: &Stack, p: &Prepared) -> Result<Done, DeployError> {
    let name = p.stack_name.as_str();
    // A stack being created has no earlier events worth hiding.
    let seen = if p.creating {
        None
    } else {
        latest_event_id(ctx, name).await
    };
    ctx.log.event(&ctx.pipeline, name, "execute", &p.change_set);
    ctx.aws
        .cfn
        .execute_change_set()
        .stack_name(name)
        .change_set_name(&p.change_set)
        .send()
        .await
        .map_err(|e| DeployError::Api {
            stack: name.to_string(),
            action: "ExecuteChangeSet",
            detail: describe(&e),
        })?;
    let (final_stack, events) = follow(ctx, name, seen).await?;
    let status = final_stack
        .as_ref()
        .and_then(|s| s.stack_status().cloned())
        .unwrap_or(StackStatus::DeleteComplete);
    match status {
        StackStatus::CreateComplete | StackStatus::UpdateComplete => {
            let on = final_stack
                .as_ref()
                .and_then(|s| s.enable_termination_protection())
                == Some(true);
            protect(ctx, stack, on).await;
            ctx.log.event(&ctx.pipeline, name, "done", status.as_str());
            Ok(if p.creating || p.adopted {
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

/// The `Log::first_time` key of an endpoint without termination protection.
const NO_PROTECTION: &str = "termination-protection-unsupported";

/// Whether an UpdateTerminationProtection error means the endpoint lacks the
/// call (moto answers 500 with a body that is not XML) rather than a refusal.
pub fn protection_unsupported(detail: &str) -> bool {
    ["error parsing XML", "not yet implemented", "NotImplemented"]
        .iter()
        .any(|m| detail.contains(m))
}

/// Turns termination protection on when the stack wants it and lacks it
/// (`already`: as the last DescribeStacks showed). An endpoint without the
/// call is reported once per run, not per stack.
async fn protect(ctx: &Ctx, stack: &Stack, already: bool) {
    if !stack.termination_protection || already || ctx.log.said(NO_PROTECTION) {
        return;
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
}

/// Drops a change set that will not run; a stack that only exists for it
/// (REVIEW_IN_PROGRESS, made by a CREATE change set) goes too.
pub async fn discard(ctx: &Ctx, stack: &str, cs: &str) {
    drop_change_set(ctx, stack, cs).await;
    if let Ok(Some(s)) = ctx.aws.stack(stack).await
        && s.stack_status() == Some(&StackStatus::ReviewInProgress)
    {
        let id = s.stack_id().unwrap_or(stack).to_string();
        let _ = ctx.aws.cfn.delete_stack().stack_name(id).send().await;
    }
}

pub async fn drop_change_set(ctx: &Ctx, stack: &str, cs: &str) {
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

pub async fn delete_and_wait(ctx: &Ctx, name: &str) -> Result<(), DeployError> {
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
/// Returns the stack as last described (None: gone) and every event seen,
/// oldest first.
async fn follow(
    ctx: &Ctx,
    name: &str,
    mut seen: Option<String>,
) -> Result<
    (
        Option<aws_sdk_cloudformation::types::Stack>,
        Vec<StackEvent>,
    ),
    DeployError,
> {
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
            return Ok((s, all));
        }
        // An executed change set never leaves a stack in review: the endpoint
        // did not start it.
        if status == StackStatus::ReviewInProgress && started.elapsed().as_secs() > 30 {
            return Ok((s, all));
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
pub async fn first_failure(ctx: &Ctx, name: &str) -> Option<Failure> {
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
