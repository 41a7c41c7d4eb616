//! Change-set names, unique per stack and run.
//!
//! In: a stack name. Out: a `ChangeSetName` made of the stack name, this
//! run's ID (start time and process ID) and a counter, so two stacks, two
//! deploys in one process or two processes in the same millisecond never
//! share one. Later calls use the ARN CreateChangeSet returns, not the name.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// ChangeSetName: 1 to 128 characters, `[a-zA-Z][-a-zA-Z0-9]*`:
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
pub const MAX_LEN: usize = 128;

static COUNTER: AtomicU64 = AtomicU64::new(0);
static RUN: OnceLock<String> = OnceLock::new();

fn base36(mut n: u128) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// This process's run ID: its start in milliseconds and its process ID.
pub fn run_id() -> &'static str {
    RUN.get_or_init(|| {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        format!("{}-{}", base36(ms), base36(u128::from(std::process::id())))
    })
}

/// A fresh change-set name for one stack: `pipec-<run>-<n>-<stack>`, cut to
/// 128 characters at the stack name's end, so the unique part always stays.
pub fn name(stack: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let head = format!("pipec-{}-{}", run_id(), base36(u128::from(n)));
    // Stack names are already `[a-zA-Z][-a-zA-Z0-9]*`; anything else is
    // dropped so the name stays valid whatever it is given.
    let tail: String = stack
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(MAX_LEN.saturating_sub(head.len() + 1))
        .collect();
    if tail.is_empty() {
        head
    } else {
        format!("{head}-{tail}")
    }
}

/// Whether a name keeps CloudFormation's ChangeSetName rules.
pub fn is_valid(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= MAX_LEN
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_distinct_and_valid_even_when_made_at_once() {
        let stacks = ["demo-glue-jobs", "demo-glue-catalog", "demo-glue-jobs"];
        let names: Vec<String> = (0..300).map(|i| name(stacks[i % 3])).collect();
        let unique: BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        assert!(names.iter().all(|n| is_valid(n)), "{names:?}");
        assert!(names[0].ends_with("-demo-glue-jobs"), "{}", names[0]);
    }

    #[test]
    fn long_or_odd_stack_names_still_give_valid_names() {
        let long = "a".repeat(300);
        let n = name(&long);
        assert!(is_valid(&n) && n.len() == MAX_LEN, "{n}");
        assert!(is_valid(&name("x_y.z")));
        assert!(is_valid(&name("")));
    }
}
