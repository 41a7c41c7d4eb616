//! Alerts and the remaining top-level settings.
//!
//! In: `alerts`, `athena`, `catalog`, `tags` and `workflow`. Out: diagnostics
//! for values AWS would refuse.

use super::*;

pub(super) fn check_alerts(cx: &mut Ctx) {
    let p = cx.p;
    for (name, a) in &p.alerts {
        for (i, s) in a.stages.iter().enumerate() {
            if !p.stages.contains_key(s) {
                cx.unknown(
                    &ptr(&["alerts", name, "stages", &i.to_string()]),
                    "stage",
                    s,
                    p.stages.keys().cloned(),
                );
            }
        }
        for (i, e) in a.email.iter().enumerate() {
            let ok = e.split_once('@').is_some_and(|(u, d)| {
                !u.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
            }) && !e.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                cx.at_value(
                    &ptr(&["alerts", name, "email", &i.to_string()]),
                    SemanticError::BadValue {
                        what: "e-mail address",
                        value: e.clone(),
                        reason: "it should look like `team@example.com`".into(),
                    },
                );
            }
        }
    }
}

pub(super) fn check_misc(cx: &mut Ctx) {
    let p = cx.p;
    if p.tags.len() > 50 {
        cx.at_value(
            "/tags",
            SemanticError::BadValue {
                what: "tags",
                value: format!("{} tags", p.tags.len()),
                reason: "AWS allows at most 50 tags per resource".into(),
            },
        );
    }
    if let Some(mc) = p.defaults.max_capacity
        && mc != 0.0625
        && mc != 1.0
    {
        cx.at_value("/defaults/max_capacity", SemanticError::Glue {
            reason: format!("`max_capacity` in defaults applies to Python shell stages, which take 0.0625 or 1, not {mc}"),
            hint: Some("Spark stages take `worker_type` and `workers`".into()),
        });
    }
    if p.workflow.max_concurrent_runs == Some(0) {
        cx.at_value(
            "/workflow/max_concurrent_runs",
            SemanticError::Glue {
                reason: "max_concurrent_runs must be at least 1".into(),
                hint: None,
            },
        );
    }
    if let Some(a) = &p.athena {
        if let Some(w) = &a.workgroup
            && (w.is_empty()
                || w.len() > 128
                || !w
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)))
        {
            cx.at_value(
                "/athena/workgroup",
                SemanticError::BadName {
                    what: "workgroup",
                    name: w.clone(),
                    reason: "use 1 to 128 letters, digits, `.`, `_` and `-`".into(),
                },
            );
        }
        if let Some(limit) = &a.scan_limit {
            match rules::byte_size(limit) {
                Err(reason) => cx.at_value(
                    "/athena/scan_limit",
                    SemanticError::BadValue {
                        what: "scan limit",
                        value: limit.clone(),
                        reason,
                    },
                ),
                Ok(n) if n < 10_000_000 => cx.at_value(
                    "/athena/scan_limit",
                    SemanticError::BadValue {
                        what: "scan limit",
                        value: limit.clone(),
                        reason: "Athena's smallest per-query limit is 10 MB".into(),
                    },
                ),
                Ok(_) => {}
            }
        }
        if let Some(d) = a.results_retention_days
            && d == 0
        {
            cx.at_value(
                "/athena/results_retention_days",
                SemanticError::BadValue {
                    what: "retention",
                    value: "0".into(),
                    reason: "keep results at least 1 day".into(),
                },
            );
        }
    }
}
