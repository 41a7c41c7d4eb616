//! Consumers: the readers named under `consumers:`.
//!
//! In: the `consumers` section, with the zones and tables it names. Out:
//! diagnostics for names, reads that resolve to nothing or to a JDBC table,
//! ambiguous names, trust principals IAM would refuse, and derived names
//! over AWS limits; and `tables`, the zone tables each consumer reads,
//! which the renderer grants and nothing more.

use super::*;

/// The most consumers one pipeline may have (see `check`).
pub const MAX_CONSUMERS: usize = 50;

/// The zone tables a consumer reads, in the order the pipeline declares
/// them, each once. A zone gives every table declared in it; unknown names
/// and JDBC tables give nothing (validation reports them).
pub fn tables<'a>(p: &'a Pipeline, c: &Consumer) -> Vec<&'a str> {
    let mut zones: Vec<&str> = Vec::new();
    let mut named: Vec<&str> = Vec::new();
    for item in &c.read {
        match item {
            ReadItem::Zone(z) => zones.push(&z.zone),
            ReadItem::Table(t) => named.push(&t.table),
            ReadItem::Name(n) if p.schemas.contains_key(n) => named.push(n),
            ReadItem::Name(n) => zones.push(n),
        }
    }
    p.schemas
        .iter()
        .filter(|(name, t)| {
            t.zone
                .as_deref()
                .is_some_and(|z| zones.contains(&z) || named.contains(&name.as_str()))
        })
        .map(|(name, _)| name.as_str())
        .collect()
}

/// What a principal of a consumer names, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An AWS account: `123456789012` or `arn:<partition>:iam::<id>:root`.
    Account(String),
    /// An IAM role or user ARN, as written.
    Arn(String),
    /// A role of the account the pipeline is deployed to: `role/<path><name>`.
    OwnRole(String),
}

/// Reads a trust principal, or says why IAM would refuse it. IAM names:
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html
/// and principals in trust policies:
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
pub fn principal(s: &str) -> Result<Principal, String> {
    let account = |a: &str| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit());
    if account(s) {
        return Ok(Principal::Account(s.to_string()));
    }
    if let Some(path) = s.strip_prefix("role/") {
        iam_path_and_name(path, 64)?;
        return Ok(Principal::OwnRole(path.to_string()));
    }
    let Some(rest) = s.strip_prefix("arn:") else {
        return Err(
            "give an account ID (12 digits), `role/NAME` for a role of the deploying account, or an IAM role or user ARN"
                .into(),
        );
    };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let [partition, service, region, acct, resource] = parts[..] else {
        return Err("an IAM ARN looks like `arn:aws:iam::123456789012:role/NAME`".into());
    };
    if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov") {
        return Err(format!("`{partition}` is not an AWS partition"));
    }
    if service != "iam" || !region.is_empty() {
        return Err(
            "a trust principal is an IAM ARN (`arn:aws:iam::ACCOUNT:...`, with no region)".into(),
        );
    }
    if !account(acct) {
        return Err(format!("`{acct}` is not an account ID (12 digits)"));
    }
    if resource == "root" {
        return Ok(Principal::Account(acct.to_string()));
    }
    let (path, max) = if let Some(p) = resource.strip_prefix("role/") {
        (p, 64)
    } else if let Some(p) = resource.strip_prefix("user/") {
        (p, 64)
    } else {
        return Err("the ARN must name `root`, a `role/...` or a `user/...`".into());
    };
    iam_path_and_name(path, max)?;
    Ok(Principal::Arn(s.to_string()))
}

/// An IAM path and name after `role/` or `user/`: `team/analyst`. No
/// wildcards, which a trust policy's Principal does not take.
fn iam_path_and_name(s: &str, max: usize) -> Result<(), String> {
    let name_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    let (path, name) = s.rsplit_once('/').unwrap_or(("", s));
    if name.is_empty() || name.len() > max || !name.chars().all(name_char) {
        return Err(format!(
            "an IAM name has 1 to {max} letters, digits and `+=,.@_-` (no wildcards)"
        ));
    }
    let segments_ok = path
        .split('/')
        .all(|seg| !seg.is_empty() && seg.chars().all(name_char));
    if path.len() > 510 || (!path.is_empty() && !segments_ok) {
        return Err(
            "an IAM path is segments of letters, digits and `+=,.@_-` separated by `/`".into(),
        );
    }
    Ok(())
}

pub(super) fn check(cx: &mut Ctx) {
    let p = cx.p;
    let mut ids: HashMap<String, &String> = HashMap::new();
    // Each role names the key by a dynamic reference, and the results bucket
    // its log bucket by one; CloudFormation takes 60 in a template:
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references.html
    if p.consumers.len() > MAX_CONSUMERS {
        cx.at_key(
            "/consumers",
            SemanticError::Conflict {
                what: format!(
                    "{} consumers are more than the {MAX_CONSUMERS} one consumers stack holds",
                    p.consumers.len()
                ),
                reason: "each consumer's role names the pipeline's key through a dynamic reference, and CloudFormation allows 60 in one template; give several teams one consumer",
            },
        );
    }
    if !p.consumers.is_empty() && p.zones.contains_key("consumers") {
        cx.at_key(
            "/zones/consumers",
            SemanticError::Conflict {
                what: "a zone named `consumers` would share the bucket of the consumers' query results".into(),
                reason: "choose another zone name",
            },
        );
    }
    for (name, c) in &p.consumers {
        let base = ptr(&["consumers", name]);
        if let Err(reason) = rules::identifier(name, true, 64) {
            cx.at_key(
                &base,
                SemanticError::BadName {
                    what: "consumer",
                    name: name.clone(),
                    reason,
                },
            );
            continue;
        }
        let id = names::logical_id(Kind::Consumer, name);
        if let Some(other) = ids.get(&id) {
            cx.at_key(
                &base,
                SemanticError::LogicalIdClash {
                    what: "consumer",
                    name: name.clone(),
                    other: (*other).clone(),
                    id: id.clone(),
                },
            );
        } else {
            ids.insert(id, name);
        }
        let role = names::consumer_role(&p.pipeline, name);
        if role.len() > 64 {
            cx.at_key(
                &base,
                SemanticError::DerivedTooLong {
                    what: "IAM role name",
                    len: role.len(),
                    derived: role,
                    max: 64,
                },
            );
        }
        let workgroup = names::consumer_workgroup(&p.pipeline, name);
        let pipeline_workgroup = p
            .athena
            .as_ref()
            .map(|a| a.workgroup.clone().unwrap_or_else(|| p.pipeline.clone()));
        if pipeline_workgroup.as_deref() == Some(workgroup.as_str()) {
            cx.at_key(
                &base,
                SemanticError::Conflict {
                    what: format!("consumer `{name}`'s workgroup `{workgroup}` is the pipeline's Athena workgroup"),
                    reason: "each consumer queries in a workgroup of its own; rename the consumer or `athena.workgroup`",
                },
            );
        }
        check_reads(cx, name, c);
        check_principals(cx, name, c);
        if let Some(limit) = &c.scan_limit {
            let reason = match rules::byte_size(limit) {
                Err(reason) => Some(reason),
                Ok(n) if n < 10_000_000 => {
                    Some("Athena's smallest per-query limit is 10 MB".into())
                }
                Ok(_) => None,
            };
            if let Some(reason) = reason {
                cx.at_value(
                    &push_pointer(&base, "scan_limit"),
                    SemanticError::BadValue {
                        what: "scan limit",
                        value: limit.clone(),
                        reason,
                    },
                );
            }
        }
        if c.results_retention_days == Some(0) {
            cx.at_value(
                &push_pointer(&base, "results_retention_days"),
                SemanticError::BadValue {
                    what: "retention",
                    value: "0".into(),
                    reason: "keep results at least 1 day".into(),
                },
            );
        }
        // The workgroup's Description takes 1,024 characters:
        // https://docs.aws.amazon.com/athena/latest/APIReference/API_CreateWorkGroup.html
        if let Some(d) = &c.description {
            let len = d.chars().count();
            if len > 900 {
                cx.at_value(
                    &push_pointer(&base, "description"),
                    SemanticError::TooLong {
                        what: "consumer description",
                        len,
                        max: 900,
                        unit: "characters",
                        hint: Some("it goes into the workgroup's Description with pipec's own words (1,024 in all)".into()),
                    },
                );
            }
        }
    }
}

fn check_reads(cx: &mut Ctx, name: &str, c: &Consumer) {
    let p = cx.p;
    let base = ptr(&["consumers", name, "read"]);
    if c.read.is_empty() {
        cx.at_value(
            &base,
            SemanticError::ConsumerReadsNothing {
                consumer: name.to_string(),
                why: "`read` is empty".into(),
            },
        );
        return;
    }
    let zone_tables = |z: &str| {
        p.schemas
            .values()
            .filter(|t| t.zone.as_deref() == Some(z))
            .count()
    };
    let mut seen: Vec<String> = Vec::new();
    for (i, item) in c.read.iter().enumerate() {
        let item_at = ptr(&["consumers", name, "read", &i.to_string()]);
        // An explicit item is reported at its name, not at its braces.
        let at = match item {
            ReadItem::Zone(_) => push_pointer(&item_at, "zone"),
            ReadItem::Table(_) => push_pointer(&item_at, "table"),
            ReadItem::Name(_) => item_at.clone(),
        };
        let (zone, table) = match item {
            ReadItem::Zone(z) => (Some(z.zone.as_str()), None),
            ReadItem::Table(t) => (None, Some(t.table.as_str())),
            ReadItem::Name(n) => {
                let is_zone = p.zones.contains_key(n);
                let is_table = p.schemas.contains_key(n);
                match (is_zone, is_table) {
                    (true, true) => {
                        cx.at_value(
                            &at,
                            SemanticError::ConsumerReadAmbiguous { name: n.clone() },
                        );
                        continue;
                    }
                    (true, false) => (Some(n.as_str()), None),
                    (false, true) => (None, Some(n.as_str())),
                    (false, false) => {
                        let candidates = p.zones.keys().chain(p.schemas.keys()).cloned();
                        cx.unknown(&at, "zone or table", n, candidates);
                        continue;
                    }
                }
            }
        };
        let key = match (zone, table) {
            (Some(z), _) => format!("zone {z}"),
            (_, Some(t)) => format!("table {t}"),
            _ => continue,
        };
        if seen.contains(&key) {
            cx.at_value(
                &at,
                SemanticError::Duplicate {
                    what: "read item",
                    name: key
                        .split_once(' ')
                        .map(|(_, n)| n.to_string())
                        .unwrap_or_default(),
                },
            );
            continue;
        }
        seen.push(key);
        if let Some(z) = zone {
            if !p.zones.contains_key(z) {
                cx.unknown(&at, "zone", z, p.zones.keys().cloned());
            } else if zone_tables(z) == 0 {
                cx.at_value(
                    &at,
                    SemanticError::ConsumerReadsNothing {
                        consumer: name.to_string(),
                        why: format!("zone `{z}` holds no table"),
                    },
                );
            }
        }
        if let Some(t) = table {
            match p.schemas.get(t) {
                None => cx.unknown(&at, "table", t, p.schemas.keys().cloned()),
                Some(s) if s.zone.is_none() => cx.at_value(
                    &at,
                    SemanticError::ConsumerJdbcTable {
                        consumer: name.to_string(),
                        table: t.to_string(),
                    },
                ),
                Some(_) => {}
            }
        }
    }
}

fn check_principals(cx: &mut Ctx, name: &str, c: &Consumer) {
    if c.principals.is_empty() {
        cx.at_value(
            &ptr(&["consumers", name, "principals"]),
            SemanticError::Missing {
                what: format!(
                    "consumer `{name}` needs at least one principal who may assume its role"
                ),
                hint: Some("for example `principals: [role/analyst]` or an IAM role ARN"),
            },
        );
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, s) in c.principals.iter().enumerate() {
        let at = ptr(&["consumers", name, "principals", &i.to_string()]);
        if seen.contains(&s.as_str()) {
            cx.at_value(
                &at,
                SemanticError::Duplicate {
                    what: "principal",
                    name: s.clone(),
                },
            );
            continue;
        }
        seen.push(s);
        if let Err(reason) = principal(s) {
            cx.at_value(
                &at,
                SemanticError::ConsumerPrincipal {
                    value: s.clone(),
                    reason,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals() {
        assert_eq!(
            principal("123456789012"),
            Ok(Principal::Account("123456789012".into()))
        );
        assert_eq!(
            principal("arn:aws:iam::123456789012:root"),
            Ok(Principal::Account("123456789012".into()))
        );
        assert!(matches!(
            principal("arn:aws:iam::123456789012:role/team/analyst"),
            Ok(Principal::Arn(_))
        ));
        assert!(matches!(
            principal("arn:aws-cn:iam::123456789012:user/ana"),
            Ok(Principal::Arn(_))
        ));
        assert_eq!(
            principal("role/analyst"),
            Ok(Principal::OwnRole("analyst".into()))
        );
        for bad in [
            "*",
            "12345678901",
            "arn:aws:iam::123456789012:role/*",
            "arn:aws:iam::123456789012:role/a?b",
            "arn:aws:sts::123456789012:assumed-role/a/b",
            "arn:aws:iam:us-east-1:123456789012:role/a",
            "arn:aws:iam::12345678901x:role/a",
            "arn:evil:iam::123456789012:role/a",
            "arn:aws:iam::123456789012:group/g",
            "role/",
            "role/a//b",
            &format!("role/{}", "a".repeat(65)),
            "analyst",
        ] {
            assert!(principal(bad).is_err(), "{bad}");
        }
    }
}
