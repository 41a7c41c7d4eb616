//! What can go wrong in `pipec deploy`, and every message it prints.
//!
//! In: the facts of a failure (stack, state, first failing resource, lock
//! holder). Out: `DeployError::message`, one sentence or two with what to do,
//! and `DeployError::outcome`, which `cli::Exit` turns into an exit code.

use super::super::Outcome;

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

/// What can go wrong deploying a pipeline or one of its stacks.
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
    /// The gate refused the change sets of this stack (`resources`: what
    /// would be lost, each with the rule that found it).
    Refused {
        stack: String,
        resources: Vec<String>,
    },
    /// pipec's own gate (`gate::Refusal::message` each) refused the run
    /// before anything was uploaded, created or executed.
    Gated {
        stack: String,
        refusals: Vec<String>,
    },
    /// Re-adopting retained resources failed (`adopt::AdoptError::message`).
    Adopt {
        detail: String,
        unreachable: bool,
    },
    /// Changes are due, and there is neither a terminal nor `--yes`.
    NeedsYes {
        stacks: Vec<String>,
    },
    /// The user answered no at the confirmation.
    Declined {
        stacks: Vec<String>,
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
    /// Not run, because the run stopped before it (refusal, lock, another
    /// stack's error while planning). The reason is reported once, apart.
    NotRun {
        stack: String,
    },
    /// Another deploy of the pipeline holds the lock.
    Locked {
        pipeline: String,
        holder: String,
    },
    /// The lock could not be read or written.
    Lock {
        pipeline: String,
        detail: String,
    },
    /// Committed files differ from what their source renders (`finding`).
    Edited {
        findings: Vec<String>,
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
                "stack {stack}: refused: the change would replace or remove data-holding resources ({}); no stack of this run was changed. Run again with --allow-data-loss if losing them is intended",
                resources.join(", ")
            ),
            DeployError::Gated { stack, refusals } => format!(
                "stack {stack}: refused, and no stack of this run was changed:\n  - {}",
                refusals.join("\n  - ")
            ),
            DeployError::Adopt { detail, .. } => detail.clone(),
            DeployError::NeedsYes { stacks } => format!(
                "about to change {}; there is no terminal to confirm: run again with --yes. Nothing was uploaded or changed",
                stacks.join(", ")
            ),
            DeployError::Declined { stacks } => format!(
                "declined: the change sets of {} were deleted; nothing was changed",
                stacks.join(", ")
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
            DeployError::NotRun { stack } => {
                format!("stack {stack} not deployed: the run stopped before it")
            }
            DeployError::Locked { pipeline, holder } => format!(
                "refused: pipeline {pipeline} is being deployed by {holder}; nothing was changed. Wait for that deploy to end and run again; if it died, run again with --break-lock"
            ),
            DeployError::Lock { pipeline, detail } => {
                format!("cannot take the deploy lock of pipeline {pipeline}: {detail}")
            }
            DeployError::Edited { findings } => format!(
                "refused: the committed files are not what their pipeline renders, and deploy sends what was reviewed or nothing:\n  - {}\nNothing was deployed. Run `pipec build` and commit the result, or run again with --allow-edited to deploy the files as they are",
                findings.join("\n  - ")
            ),
        }
    }

    /// Exit 2 for a missing `--yes` and for an endpoint that stopped
    /// answering (a connection problem, not a failed stack); 1 otherwise.
    pub fn outcome(&self) -> Outcome {
        match self {
            DeployError::NeedsYes { .. } => Outcome::Usage,
            DeployError::Adopt { unreachable, .. } if *unreachable => Outcome::Usage,
            DeployError::Api { detail, .. }
            | DeployError::Upload { detail, .. }
            | DeployError::Lock { detail, .. }
                if super::super::is_unreachable(detail) =>
            {
                Outcome::Usage
            }
            _ => Outcome::Failed,
        }
    }

    /// Not run because of something else (counted as skipped, reported by
    /// that other error).
    pub fn is_skip(&self) -> bool {
        matches!(
            self,
            DeployError::DependencyFailed { .. } | DeployError::NotRun { .. }
        )
    }
}
