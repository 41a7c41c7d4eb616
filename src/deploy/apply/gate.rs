//! The gate: one check over every change set of a run, before any executes.
//!
//! In: the prepared change sets of the run (`Prepared`: changes as
//! CloudFormation reported them, and the deployed and new templates) and
//! `--allow-replace`. Out: one `Refusal` per stack that must not run. A
//! single refusal stops the whole run: every change set is deleted and no
//! stack changes, so a refused catalog change never leaves the jobs
//! deployed against tables that are not there.

use super::super::STATEFUL_TYPES;
use super::Options;
use super::prepare::Prepared;
use aws_sdk_cloudformation::types::{ChangeAction, Replacement};

/// A stack whose change set must not run, and what it would lose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub stack_name: String,
    /// `replace ZoneRawBucket (AWS::S3::Bucket)`, one per resource.
    pub resources: Vec<String>,
}

/// Checks every prepared change set; empty when all may run.
pub fn gate(prepared: &[Prepared], opts: &Options) -> Vec<Refusal> {
    let mut out = Vec::new();
    for p in prepared {
        let mut resources = replacement_flags(p);
        // pipec's own rules plug in here: from `p.deployed` and
        // `p.template` they find what CloudFormation's flags miss (moto
        // gives none): a changed partition key, a moved table path, a
        // narrowed column type, a renamed zone or table. Each adds its
        // findings to `resources`, with the flag that allows it.
        resources.dedup();
        if !resources.is_empty() && !opts.allow_replace {
            out.push(Refusal {
                stack_name: p.stack_name.clone(),
                resources,
            });
        }
    }
    out
}

/// Data-holding resources a change set would replace or remove, from
/// CloudFormation's `Action` and `Replacement` flags.
fn replacement_flags(p: &Prepared) -> Vec<String> {
    let mut out = Vec::new();
    for c in &p.changes {
        let ty = c.resource_type().unwrap_or("?");
        if !STATEFUL_TYPES.contains(&ty) {
            continue;
        }
        let replace = matches!(
            c.replacement(),
            Some(Replacement::True) | Some(Replacement::Conditional)
        );
        let word = match c.action() {
            Some(ChangeAction::Remove) => "remove",
            Some(ChangeAction::Modify) if replace => "replace",
            _ => continue,
        };
        out.push(format!(
            "{word} {} ({ty})",
            c.logical_resource_id().unwrap_or("?")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::ResourceChange;

    fn prepared(changes: Vec<ResourceChange>) -> Prepared {
        Prepared {
            name: "glue-catalog".into(),
            stack_name: "demo-glue-catalog".into(),
            creating: false,
            adopted: false,
            change_set: "arn".into(),
            changes,
            deployed: Some("Resources: {}\n".into()),
            template: "Resources: {}\n".into(),
            summary: String::new(),
        }
    }

    fn change(action: ChangeAction, ty: &str, replacement: Option<Replacement>) -> ResourceChange {
        ResourceChange::builder()
            .action(action)
            .logical_resource_id("R")
            .resource_type(ty)
            .set_replacement(replacement)
            .build()
    }

    #[test]
    fn stateful_replacements_and_removals_are_refused_unless_allowed() {
        let all = vec![
            prepared(vec![change(
                ChangeAction::Modify,
                "AWS::S3::Bucket",
                Some(Replacement::True),
            )]),
            prepared(vec![change(ChangeAction::Remove, "AWS::Glue::Table", None)]),
            prepared(vec![change(
                ChangeAction::Modify,
                "AWS::KMS::Key",
                Some(Replacement::Conditional),
            )]),
            prepared(vec![change(
                ChangeAction::Modify,
                "AWS::S3::Bucket",
                Some(Replacement::False),
            )]),
            prepared(vec![change(ChangeAction::Remove, "AWS::SNS::Topic", None)]),
            prepared(vec![change(ChangeAction::Add, "AWS::Glue::Database", None)]),
        ];
        let refused = gate(&all, &Options::default());
        let words: Vec<&str> = refused.iter().map(|r| r.resources[0].as_str()).collect();
        assert_eq!(
            words,
            [
                "replace R (AWS::S3::Bucket)",
                "remove R (AWS::Glue::Table)",
                "replace R (AWS::KMS::Key)"
            ]
        );
        let allowed = Options {
            allow_replace: true,
            ..Options::default()
        };
        assert!(gate(&all, &allowed).is_empty());
    }
}
