//! Checks of the `environments:` key, on the pipeline as the file declares it.
//!
//! In: the check context of the base pipeline. Out: diagnostics for account
//! IDs, regions, stages an environment names, two environments that would
//! deploy the same stacks, and `paused` triggers without a schedule. Each
//! environment's overlaid pipeline is then validated in full on its own
//! (see `crate::load_path_envs`), which checks names, lengths and limits.

use super::{Ctx, SemanticError, ptr};

pub(crate) fn check(cx: &mut Ctx) {
    let p = cx.p;
    for (name, e) in &p.environments {
        if let Some(reason) = bad_name(name) {
            cx.at_key(
                &ptr(&["environments", name]),
                SemanticError::BadName {
                    what: "environment",
                    name: name.clone(),
                    reason: reason.to_string(),
                },
            );
        }
        if let Some(a) = &e.account
            && !(a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        {
            cx.at_value(
                &ptr(&["environments", name, "account"]),
                SemanticError::EnvironmentAccount {
                    env: name.clone(),
                    account: a.clone(),
                },
            );
        }
        if let Some(r) = &e.region
            && !is_region(r)
        {
            cx.at_value(
                &ptr(&["environments", name, "region"]),
                SemanticError::EnvironmentRegion {
                    env: name.clone(),
                    region: r.clone(),
                },
            );
        }
        for stage in e.stages.keys() {
            if !p.stages.contains_key(stage) {
                // The name is the key here, so the error points at it.
                cx.at_key(
                    &ptr(&["environments", name, "stages", stage]),
                    SemanticError::Unknown {
                        what: "stage",
                        name: stage.clone(),
                        candidates: p.stages.keys().cloned().collect(),
                    },
                );
            }
        }
    }
    // Stacks are named after the pipeline, per account and region: two
    // environments that may share both must not share the name.
    let named: Vec<(&String, String, _)> = p
        .environments
        .iter()
        .map(|(n, e)| {
            let full = format!(
                "{}{}{}",
                e.name_prefix.as_deref().unwrap_or(""),
                p.pipeline,
                e.name_suffix.as_deref().unwrap_or("")
            );
            (n, full, e)
        })
        .collect();
    for (i, (name, full, e)) in named.iter().enumerate() {
        let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        if let Some((other, _, _)) = named[..i].iter().find(|(_, f, o)| {
            f == full && same(&o.account, &e.account) && same(&o.region, &e.region)
        }) {
            cx.at_key(
                &ptr(&["environments", name]),
                SemanticError::EnvironmentClash {
                    env: (*name).clone(),
                    other: (*other).clone(),
                    name: full.clone(),
                },
            );
        }
    }
    for (name, t) in &p.triggers {
        if t.paused && t.schedule.is_none() {
            cx.at_value(
                &ptr(&["triggers", name, "paused"]),
                SemanticError::PausedNotScheduled {
                    trigger: name.clone(),
                },
            );
        }
    }
}

/// Why an environment name cannot name its output folder
/// (`generated/<pipeline>/<environment>/`), if it cannot.
fn bad_name(name: &str) -> Option<&'static str> {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if name.is_empty() || name.len() > 32 {
        Some("use 1 to 32 characters")
    } else if !name.chars().all(ok) || name.starts_with('-') {
        Some("use lowercase letters, digits and hyphens, starting with a letter or digit")
    } else if crate::build::OWNED.contains(&name) {
        Some("`stacks` and `scripts` are folders of the pipeline's own output")
    } else {
        None
    }
}

/// An AWS region name: letters, then words, then a number (`us-east-1`,
/// `us-gov-west-1`, `ap-southeast-4`).
fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.len() <= 2 && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::is_region;

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-west-2",
            "us-gov-west-1",
            "ap-southeast-4",
            "cn-north-1",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "useast1",
            "us--1",
            "u-east-1",
            "us-east-x",
            "us-east-1 ",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
