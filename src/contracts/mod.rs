//! The contract layer: rules AWS documents for the resources pipec emits and
//! that cfn-lint does not check (Glue versions, argument names, crawler and
//! trigger combinations, Athena's reading of CSV tables, key policies).
//!
//! In: one parsed, rendered CloudFormation template (`serde_json::Value`).
//! Out: the `Violation`s found. Rules are data: each names the resource type
//! and property paths it covers and the AWS page it rests on, so a test can
//! show which emitted resource type or job argument has no rule yet.
//! `iam` is the IAM side: per Glue feature, the actions a role needs and the
//! log groups Glue writes, derived from the pipeline's stages and crawlers.
//! `consumers` holds the rules of the consumers stack (workgroups, trust,
//! read-policy condition keys).

mod catalog;
mod consumers;
pub mod iam;
mod infra;
mod jobs;
mod workflow;

pub use jobs::{ARGUMENTS, Argument, JobKind};

use serde_json::{Map, Value};

/// One documented AWS rule over one resource type.
pub struct Rule {
    /// Short stable name, such as `crawler-recrawl-s3-only`.
    pub id: &'static str,
    /// The CloudFormation resource type the rule applies to.
    pub resource_type: &'static str,
    /// Property paths the rule reads, `/`-separated below `Properties`.
    pub covers: &'static [&'static str],
    /// The AWS documentation page the rule rests on.
    pub doc: &'static str,
    /// Returns one message per breach in one resource.
    pub check: fn(&Resource) -> Vec<String>,
}

/// A resource under check, with the template around it for rules that look
/// at neighbours (a topic targeted by a rule, a bucket that receives logs).
pub struct Resource<'a> {
    pub id: &'a str,
    pub props: &'a Value,
    pub template: &'a Value,
}

impl Resource<'_> {
    /// The property at a `/`-separated path, if present.
    pub fn get(&self, path: &str) -> Option<&Value> {
        path.split('/').try_fold(self.props, |v, k| v.get(k))
    }
    pub fn str(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(Value::as_str)
    }
    /// Every resource of the template with its logical ID and type.
    pub fn others(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        resources(self.template)
    }
}

/// A rule a template breaks.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub rule: &'static str,
    pub resource: String,
    pub message: String,
    pub doc: &'static str,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} [{}; see {}]",
            self.resource, self.message, self.rule, self.doc
        )
    }
}

/// Every rule, in a fixed order.
pub fn rules() -> Vec<&'static Rule> {
    let mut all: Vec<&'static Rule> = Vec::new();
    all.extend(jobs::RULES.iter());
    all.extend(catalog::RULES.iter());
    all.extend(workflow::RULES.iter());
    all.extend(infra::RULES.iter());
    all.extend(consumers::RULES.iter());
    all
}

/// The (resource type, property path) pairs the rules cover.
pub fn coverage() -> Vec<(&'static str, &'static str)> {
    rules()
        .iter()
        .flat_map(|r| r.covers.iter().map(move |p| (r.resource_type, *p)))
        .collect()
}

/// Runs every rule over every resource of a template.
pub fn check(template: &Value) -> Vec<Violation> {
    let all = rules();
    let mut out = Vec::new();
    for (id, ty, props) in resources(template) {
        let r = Resource {
            id,
            props,
            template,
        };
        for rule in all.iter().filter(|rule| rule.resource_type == ty) {
            for message in (rule.check)(&r) {
                out.push(Violation {
                    rule: rule.id,
                    resource: id.to_string(),
                    message,
                    doc: rule.doc,
                });
            }
        }
    }
    out
}

static EMPTY: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| Value::Object(Map::new()));

/// (logical ID, type, properties) of each resource of a template.
pub fn resources(template: &Value) -> impl Iterator<Item = (&str, &str, &Value)> {
    template
        .get("Resources")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(id, r)| {
            (
                id.as_str(),
                r.get("Type").and_then(Value::as_str).unwrap_or(""),
                r.get("Properties").unwrap_or(&EMPTY),
            )
        })
}

/// A Glue version such as `4.0` as comparable numbers.
pub(crate) fn version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The strings of a value that is a string or a list of strings.
pub(crate) fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The logical ID a `Ref` or `Fn::GetAtt` points at.
pub(crate) fn target(v: Option<&Value>) -> Option<&str> {
    let v = v?;
    if let Some(r) = v.get("Ref").and_then(Value::as_str) {
        return Some(r);
    }
    match v.get("Fn::GetAtt") {
        Some(Value::Array(a)) => a.first().and_then(Value::as_str),
        Some(Value::String(s)) => s.split('.').next(),
        _ => None,
    }
}
