//! pipec's own replacement and data-loss gate, applied before anything runs.
//!
//! In: each stack of a run with its deployed template (GetTemplate; absent
//! for a new stack) and the template to deploy, and the flags the user gave
//! (`Allowed`). Out: the refusals, each naming the stack, the logical ID,
//! what changes and why it is refused, and the flag that allows it. The
//! rules come from `crate::impact`, so they hold where CloudFormation's
//! change sets carry no `Replacement` flags (moto), and nothing is
//! uploaded, created or executed for a pipeline when any of its stacks is
//! refused.

use crate::impact::{self, Change, DataFate, Effect, StackImpact, TableChange};

/// The flags that let a refused kind of change through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allowed {
    /// `--allow-data-loss`: replace or remove a bucket, KMS key, Glue
    /// database or table (a renamed zone or table).
    pub data_loss: bool,
    /// `--allow-breaking-schema`: partition keys changed, a table moved, a
    /// column narrowed, removed or renamed, a storage format changed.
    pub breaking_schema: bool,
}

/// A flag that allows a kind of refused change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flag {
    DataLoss,
    BreakingSchema,
}

impl Flag {
    pub fn name(self) -> &'static str {
        match self {
            Flag::DataLoss => "--allow-data-loss",
            Flag::BreakingSchema => "--allow-breaking-schema",
        }
    }
}

/// One refused change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The CloudFormation stack name.
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    /// What changes.
    pub what: String,
    /// Why that is refused.
    pub why: String,
    /// The flag that allows it; `None` when CloudFormation itself would
    /// reject the update.
    pub flag: Option<Flag>,
}

impl Refusal {
    pub fn message(&self) -> String {
        let allow = match self.flag {
            Some(f) => format!("; {} allows it", f.name()),
            None => "; no flag allows it: CloudFormation rejects this update".to_string(),
        };
        format!(
            "{}: {} ({}): {}: {}{allow}",
            self.stack, self.logical_id, self.resource_type, self.what, self.why
        )
    }
}

/// The refusals of one stack's impact under the given flags.
pub fn refusals(stack: &str, impact: &StackImpact, allowed: Allowed) -> Vec<Refusal> {
    let mut out = Vec::new();
    let refuse =
        |r: &impact::ResourceImpact, what: String, why: String, flag: Option<Flag>| Refusal {
            stack: stack.to_string(),
            logical_id: r.logical_id.clone(),
            resource_type: r.resource_type.clone(),
            what,
            why,
            flag,
        };
    for r in &impact.resources {
        match (r.change, r.data) {
            (Change::Removed, Some(fate)) => {
                // A resource of the same type added in the same stack is
                // most often the same one renamed (a zone or a table).
                let successor = impact
                    .resources
                    .iter()
                    .find(|a| a.change == Change::Added && a.resource_type == r.resource_type);
                let what = match successor {
                    Some(a) => format!(
                        "removed, and {} added in its place ({})",
                        a.logical_id,
                        match r.resource_type.as_str() {
                            "AWS::S3::Bucket" => "a renamed zone",
                            "AWS::Glue::Table" => "a renamed table",
                            _ => "renamed",
                        }
                    ),
                    None => "removed".to_string(),
                };
                out.push(refuse(r, what, fate_why(fate), Some(Flag::DataLoss)));
            }
            (Change::Replaced, Some(fate)) => {
                let props: Vec<&str> = r.replacing.iter().map(|p| p.property.as_str()).collect();
                out.push(refuse(
                    r,
                    format!(
                        "replaced, because {} cannot change in place ({})",
                        props.join(", "),
                        r.replacing.first().map(|p| p.doc.as_str()).unwrap_or("")
                    ),
                    format!(
                        "the new one starts empty, and the old one is {}",
                        fate.word()
                    ),
                    Some(Flag::DataLoss),
                ));
            }
            (Change::Rejected, _) => {
                let props: Vec<&str> = r
                    .replacing
                    .iter()
                    .filter(|p| p.effect == Effect::UpdateFails)
                    .map(|p| p.property.as_str())
                    .collect();
                out.push(refuse(
                    r,
                    format!("{} changed", props.join(", ")),
                    format!(
                        "these properties are immutable, so the update would fail ({})",
                        r.replacing.first().map(|p| p.doc.as_str()).unwrap_or("")
                    ),
                    None,
                ));
            }
            _ => {}
        }
        for c in r
            .table
            .iter()
            .filter(|c| c.grade() == impact::Grade::Breaking)
        {
            out.push(refuse(
                r,
                c.describe(),
                schema_why(c).to_string(),
                Some(Flag::BreakingSchema),
            ));
        }
    }
    out.retain(|r| match r.flag {
        Some(Flag::DataLoss) => !allowed.data_loss,
        Some(Flag::BreakingSchema) => !allowed.breaking_schema,
        None => true,
    });
    out
}

fn fate_why(fate: DataFate) -> String {
    match fate {
        DataFate::Orphaned => "its DeletionPolicy is Retain, so it stays with its data but the pipeline no longer manages or uses it, and a later create of the same name fails until it is removed".into(),
        DataFate::Lost => "its DeletionPolicy is Delete, so CloudFormation deletes it and the data in it".into(),
    }
}

fn schema_why(c: &TableChange) -> &'static str {
    match c {
        TableChange::PartitionKeysChanged { .. } => {
            "the data already written is laid out by the old keys, so readers and crawlers no longer find it"
        }
        TableChange::LocationMoved { .. } => {
            "the table stops reading the data at the old path, which stays where it is"
        }
        TableChange::ColumnNarrowed { .. } => {
            "values already written may not fit the new type, so reading them fails or gives nulls"
        }
        TableChange::ColumnRemoved { .. } | TableChange::ColumnRenamed { .. } => {
            "queries and jobs that read the old column break"
        }
        TableChange::FormatChanged { .. } => {
            "the files already written are in the old format and no longer read"
        }
        TableChange::ColumnAdded { .. } | TableChange::ColumnWidened { .. } => "",
    }
}

/// The refusals of the stacks of one run, from each stack's deployed
/// template (`None`: not deployed) and the one to deploy. Pure: the deploy
/// calls it after its read-only look, before any lock, upload or change set.
/// A deployed template pipec cannot read is itself a refusal.
pub fn check(stacks: &[(&str, Option<&str>, &str)], allowed: Allowed) -> Vec<Refusal> {
    let mut out = Vec::new();
    for &(stack, old, new) in stacks {
        match impact::compare(old, new) {
            Ok(i) => out.extend(refusals(stack, &i, allowed)),
            Err(e) if !allowed.data_loss => out.push(Refusal {
                stack: stack.to_string(),
                logical_id: "-".into(),
                resource_type: "template".into(),
                what: e.message(),
                why: "pipec cannot tell what the change does to the data".into(),
                flag: Some(Flag::DataLoss),
            }),
            Err(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "Resources:
  ZoneRawBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    Properties: {BucketName: etl-raw}
  TableOrders:
    Type: AWS::Glue::Table
    Properties:
      TableInput:
        Name: orders
        PartitionKeys: [{Name: country, Type: string}]
";

    #[test]
    fn each_kind_is_refused_until_its_flag_is_given() {
        let new = OLD
            .replace("ZoneRawBucket", "ZoneBronzeBucket")
            .replace("etl-raw", "etl-bronze")
            .replace("country", "region");
        let i = impact::compare(Some(OLD), &new).unwrap();
        let all = refusals("etl-x", &i, Allowed::default());
        let flags: Vec<_> = all.iter().map(|r| r.flag).collect();
        assert_eq!(flags, [Some(Flag::BreakingSchema), Some(Flag::DataLoss)]);
        assert!(
            all[1]
                .message()
                .contains("ZoneBronzeBucket added in its place")
        );
        assert!(all[1].message().contains("--allow-data-loss"));
        let data = Allowed {
            data_loss: true,
            ..Allowed::default()
        };
        assert_eq!(refusals("etl-x", &i, data).len(), 1);
        let both = Allowed {
            data_loss: true,
            breaking_schema: true,
        };
        assert!(refusals("etl-x", &i, both).is_empty());
    }
}
