//! Names: syntax, derived-name lengths and logical ID clashes.
//!
//! In: the whole pipeline and its file name. Out: diagnostics for names AWS
//! would refuse or that would collide once pipec derives resource names.

use super::*;

/// The pipeline file's name is written into the header of every generated
/// file, so it is user text too: a line break in it would start a new line of
/// the generated YAML.
pub(super) fn check_file_name(cx: &mut Ctx, file_name: &str) {
    let reason = if let Some(c) = file_name
        .chars()
        .find(|c| c.is_control() || text::invisible(*c))
    {
        Some(format!(
            "it holds U+{:04X}; generated files name their source in a one-line header",
            c as u32
        ))
    } else {
        text::dynamic_reference(file_name)
            .map(|found| format!("`{found}` would start a CloudFormation dynamic reference in every stack's Description"))
    };
    if let Some(reason) = reason {
        cx.push(
            crate::source::Span::default(),
            "",
            SemanticError::BadName {
                what: "pipeline file",
                name: file_name.to_string(),
                reason,
            },
        );
    }
}

/// Name syntax, derived-name lengths and logical ID clashes for every namespace.
pub(super) fn check_names(cx: &mut Ctx) {
    let p = cx.p;
    if let Err(reason) = rules::pipeline_name(&p.pipeline) {
        cx.at_value(
            "/pipeline",
            SemanticError::BadName {
                what: "pipeline",
                name: p.pipeline.clone(),
                reason,
            },
        );
    }
    let artifacts = names::default_bucket_max_len(&p.pipeline, "artifacts");
    if artifacts > 63 {
        let derived = format!("{}-artifacts-123456789012-ap-southeast-4", p.pipeline);
        cx.at_value(
            "/pipeline",
            SemanticError::DerivedTooLong {
                what: "artifacts bucket name",
                derived,
                len: artifacts,
                max: 63,
            },
        );
    }
    if p.zones.contains_key("artifacts") {
        cx.at_key(
            "/zones/artifacts",
            SemanticError::Conflict {
                what: "a zone named `artifacts` would share the bucket of the job scripts".into(),
                reason: "choose another zone name",
            },
        );
    }
    // The Spark scripts' shared runtime is written as scripts/pipec_runtime.py.
    for name in p.stages.keys() {
        if name.eq_ignore_ascii_case(names::RUNTIME_MODULE) {
            cx.at_key(
                &ptr(&["stages", name]),
                SemanticError::Conflict {
                    what: format!(
                        "a stage named `{name}` would share the file of the runtime that every generated Spark script imports"
                    ),
                    reason: "choose another stage name",
                },
            );
        }
    }
    let namespaces: [(Kind, &str, Vec<&String>, bool, usize); 7] = [
        (Kind::Zone, "zones", p.zones.keys().collect(), true, 24),
        (
            Kind::Table,
            "schemas",
            p.schemas.keys().collect(),
            false,
            128,
        ),
        (Kind::Stage, "stages", p.stages.keys().collect(), true, 64),
        (
            Kind::Crawler,
            "crawlers",
            p.crawlers.keys().collect(),
            true,
            64,
        ),
        (
            Kind::Trigger,
            "triggers",
            p.triggers.keys().collect(),
            true,
            64,
        ),
        (
            Kind::Connection,
            "connections",
            p.connections.keys().collect(),
            true,
            64,
        ),
        (Kind::Alert, "alerts", p.alerts.keys().collect(), true, 64),
    ];
    for (kind, section, list, hyphen, max) in namespaces {
        let mut ids: HashMap<String, &String> = HashMap::new();
        for name in list {
            let pointer = ptr(&[section, name]);
            let mut valid = true;
            if let Err(reason) = rules::identifier(name, hyphen, max) {
                cx.at_key(
                    &pointer,
                    SemanticError::BadName {
                        what: kind.word(),
                        name: name.clone(),
                        reason,
                    },
                );
                valid = false;
            }
            if kind == Kind::Zone && name.contains('_') {
                cx.at_key(
                    &pointer,
                    SemanticError::BadName {
                        what: "zone",
                        name: name.clone(),
                        reason: "zone names become bucket names, which do not allow `_`; use `-`"
                            .into(),
                    },
                );
                valid = false;
            }
            if !valid {
                continue;
            }
            let id = names::logical_id(kind, name);
            if let Some(other) = ids.get(&id) {
                cx.at_key(
                    &pointer,
                    SemanticError::LogicalIdClash {
                        what: kind.word(),
                        name: name.clone(),
                        other: (*other).clone(),
                        id: id.clone(),
                    },
                );
            } else {
                ids.insert(id, name);
            }
        }
    }
    // Stages and crawlers share the namespace of trigger actions and conditions.
    for name in p.crawlers.keys() {
        if p.stages.contains_key(name) {
            cx.at_key(
                &ptr(&["crawlers", name]),
                SemanticError::Conflict {
                    what: format!("crawler `{name}` has the name of a stage"),
                    reason: "triggers name stages and crawlers alike, so their names must differ",
                },
            );
        }
    }
    // Derived AWS names and their limits.
    for name in p.stages.keys() {
        let role = names::job_role(&p.pipeline, name);
        if role.len() > 64 {
            cx.at_key(
                &ptr(&["stages", name]),
                SemanticError::DerivedTooLong {
                    what: "IAM role name",
                    len: role.len(),
                    derived: role,
                    max: 64,
                },
            );
        }
    }
    for name in p.crawlers.keys() {
        let role = names::crawler_role(&p.pipeline, name);
        if role.len() > 64 {
            cx.at_key(
                &ptr(&["crawlers", name]),
                SemanticError::DerivedTooLong {
                    what: "IAM role name",
                    len: role.len(),
                    derived: role,
                    max: 64,
                },
            );
        }
    }
}
