//! Zones and connections: buckets, KMS keys, JDBC URLs and VPC settings.
//!
//! In: the `zones` and `connections` sections. Out: diagnostics for values
//! AWS would refuse and for credentials written into the file.

use super::*;

pub(super) fn check_zones(cx: &mut Ctx) {
    let p = cx.p;
    if p.zones.is_empty() {
        cx.empty_section(
            "zones",
            SemanticError::Missing {
                what: "a pipeline needs at least one zone".into(),
                hint: Some("for example `zones: {raw: {}}`"),
            },
        );
    }
    let mut buckets: HashMap<String, &String> = HashMap::new();
    for (name, zone) in &p.zones {
        let bucket = match &zone.bucket {
            Some(b) => {
                if let Err(reason) = rules::bucket_name(b) {
                    cx.at_value(
                        &ptr(&["zones", name, "bucket"]),
                        SemanticError::BadValue {
                            what: "bucket name",
                            value: b.clone(),
                            reason,
                        },
                    );
                }
                b.clone()
            }
            None => {
                let max = names::default_bucket_max_len(&p.pipeline, name);
                if max > 63 {
                    let derived = format!("{}-{name}-123456789012-ap-southeast-4", p.pipeline);
                    cx.at_key(
                        &ptr(&["zones", name]),
                        SemanticError::DerivedTooLong {
                            what: "default bucket name",
                            derived,
                            len: max,
                            max: 63,
                        },
                    );
                }
                names::default_bucket(&p.pipeline, name)
            }
        };
        if let Some(other) = buckets.get(&bucket) {
            cx.at_value(
                &ptr(&["zones", name, "bucket"]),
                SemanticError::Conflict {
                    what: format!("zones `{other}` and `{name}` use the same bucket"),
                    reason: "each zone needs a bucket of its own",
                },
            );
        } else {
            buckets.insert(bucket, name);
        }
        if zone.noncurrent_version_expiration_days == Some(0) {
            cx.at_value(
                &ptr(&["zones", name, "noncurrent_version_expiration_days"]),
                SemanticError::BadValue {
                    what: "expiration",
                    value: "0".into(),
                    reason: "it must be at least 1 day".into(),
                },
            );
        }
    }
}

pub(super) fn check_connections(cx: &mut Ctx) {
    for (name, c) in &cx.p.connections {
        let base = ptr(&["connections", name]);
        let prefix = match c.engine {
            Engine::Postgresql => "jdbc:postgresql://",
            Engine::Redshift => "jdbc:redshift://",
            Engine::Mysql => "jdbc:mysql://",
        };
        if !c.url.starts_with(prefix) {
            cx.at_value(
                &push_pointer(&base, "url"),
                SemanticError::BadValue {
                    what: "JDBC URL",
                    value: c.url.clone(),
                    reason: format!(
                        "a {} URL starts with `{prefix}`",
                        match c.engine {
                            Engine::Postgresql => "PostgreSQL",
                            Engine::Redshift => "Redshift",
                            Engine::Mysql => "MySQL",
                        }
                    ),
                },
            );
        }
        // The driver percent-decodes the URL, so `pass%77ord=` is `password=`.
        let decoded = rules::percent_decode(&c.url);
        if let Some(ch) = decoded
            .chars()
            .find(|ch| ch.is_control() || ch.is_whitespace() || text::invisible(*ch))
        {
            cx.at_value(
                &push_pointer(&base, "url"),
                SemanticError::BadValue {
                    what: "JDBC URL",
                    value: c.url.clone(),
                    reason: format!(
                        "it holds U+{:04X} (decoded); a URL takes no white space, control or invisible characters",
                        ch as u32
                    ),
                },
            );
        }
        if rules::jdbc_has_credentials(&decoded) {
            cx.at_value(&push_pointer(&base, "url"), SemanticError::Conflict {
                what: "this JDBC URL carries credentials".into(),
                reason: "credentials belong in the Secrets Manager secret named by `secret`, never in the pipeline",
            });
        }
        let secret_ok = if c.secret.starts_with("arn:") {
            c.secret.starts_with("arn:aws")
                && c.secret.contains(":secretsmanager:")
                && c.secret.contains(":secret:")
        } else {
            !c.secret.is_empty()
                && c.secret.len() <= 512
                && c.secret
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "/_+=.@-".contains(ch))
        };
        if !secret_ok {
            cx.at_value(
                &push_pointer(&base, "secret"),
                SemanticError::BadValue {
                    what: "secret",
                    value: c.secret.clone(),
                    reason:
                        "give a Secrets Manager secret name (letters, digits, /_+=.@-) or its ARN"
                            .into(),
                },
            );
        }
        if !aws_id(&c.subnet, "subnet-") {
            cx.at_value(
                &push_pointer(&base, "subnet"),
                SemanticError::BadValue {
                    what: "subnet",
                    value: c.subnet.clone(),
                    reason: "subnet IDs look like `subnet-0123456789abcdef0`".into(),
                },
            );
        }
        if c.security_groups.is_empty() {
            cx.at_value(
                &push_pointer(&base, "security_groups"),
                SemanticError::Missing {
                    what: "a connection needs at least one security group".into(),
                    hint: None,
                },
            );
        }
        for (i, sg) in c.security_groups.iter().enumerate() {
            if !aws_id(sg, "sg-") {
                cx.at_value(
                    &ptr(&["connections", name, "security_groups", &i.to_string()]),
                    SemanticError::BadValue {
                        what: "security group",
                        value: sg.clone(),
                        reason: "security group IDs look like `sg-0123456789abcdef0`".into(),
                    },
                );
            }
        }
        let az = &c.availability_zone;
        let az_ok = az.len() <= 20
            && az.split('-').count() >= 3
            && az.ends_with(|ch: char| ch.is_ascii_lowercase())
            && az
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-');
        if !az_ok {
            cx.at_value(
                &push_pointer(&base, "availability_zone"),
                SemanticError::BadValue {
                    what: "availability zone",
                    value: az.clone(),
                    reason: "availability zones look like `us-east-1a`".into(),
                },
            );
        }
    }
}

pub(super) fn aws_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|h| {
        matches!(h.len(), 8 | 17)
            && h.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}
