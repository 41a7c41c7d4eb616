//! The closing line of a deploy: what happened to each stack, counted.
//!
//! In: the results of one pipeline's stacks. Out: the counts created,
//! updated, unchanged, failed and skipped (not run because another failed
//! or the run was refused), over real stacks only: script uploads are not a
//! stack and are never counted.

use super::{DeployError, Done, Results};

/// How many stacks ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Counts {
    pub fn of(results: &Results) -> Counts {
        let mut c = Counts::default();
        for r in results.values() {
            match r {
                Ok(Done::Created) => c.created += 1,
                Ok(Done::Updated) => c.updated += 1,
                Ok(Done::Unchanged) => c.unchanged += 1,
                Err(e) if DeployError::is_skip(e) => c.skipped += 1,
                Err(_) => c.failed += 1,
            }
        }
        c
    }

    /// `2 updated, 4 unchanged`: the non-zero counts, always in this order;
    /// `nothing selected` when there are none.
    pub fn line(&self) -> String {
        let parts: Vec<String> = [
            (self.created, "created"),
            (self.updated, "updated"),
            (self.unchanged, "unchanged"),
            (self.failed, "failed"),
            (self.skipped, "skipped"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| format!("{n} {w}"))
        .collect();
        if parts.is_empty() {
            "nothing selected".into()
        } else {
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_say_what_happened_to_each_stack() {
        let mut r = Results::new();
        r.insert("a".into(), Ok(Done::Created));
        r.insert("b".into(), Ok(Done::Unchanged));
        r.insert(
            "c".into(),
            Err(DeployError::ChangeSetFailed {
                stack: "c".into(),
                reason: "x".into(),
            }),
        );
        r.insert(
            "d".into(),
            Err(DeployError::DependencyFailed {
                stack: "d".into(),
                dependency: "c".into(),
            }),
        );
        r.insert("e".into(), Err(DeployError::NotRun { stack: "e".into() }));
        let c = Counts::of(&r);
        assert_eq!(c.line(), "1 created, 1 unchanged, 1 failed, 2 skipped");
        assert_eq!(Counts::default().line(), "nothing selected");
    }
}
