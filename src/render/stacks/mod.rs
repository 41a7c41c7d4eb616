//! CloudFormation stacks of a pipeline.
//!
//! In: a `ValidPipeline` and the content hashes of its job scripts. Out: the
//! stacks (`basic-infra`, `glue-connections`, `glue-catalog`, `data-quality`,
//! `glue-jobs`, `glue-workflow`, `alerts`, `consumers`), each a template with
//! the stacks it depends on.
//!
//! Stacks never import each other's outputs. A value one stack needs from
//! another is a physical name both compute from the pipeline (`names`), or,
//! for the KMS key ARN, an SSM parameter read through a dynamic reference.
//! So removing a consumer can never be blocked by an export in use.
//!
//! Stacks over CloudFormation's limits are split into numbered parts by a
//! stable hash of each resource group's name (see `split`).

mod catalog;
pub mod consumers;
mod extras;
mod iam;
mod iceberg;
mod infra;
mod jobs;

pub use jobs::{runtime_key, script_key};
mod workflow;

use super::cfn::Template;
use super::emit;
use crate::model::{Format, Pipeline, TableSchema};
use crate::names;
use crate::validate::ValidPipeline;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One rendered stack.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Short name, such as `glue-jobs` or `glue-jobs-2`; the CloudFormation
    /// stack is `<pipeline>-<name>`.
    pub name: String,
    /// The template as YAML, without the generated-file header.
    pub body: String,
    /// Short names of the stacks that must be deployed first.
    pub depends_on: Vec<String>,
    pub termination_protection: bool,
}

/// Largest number of resources pipec puts in one stack (CloudFormation allows 500).
pub const MAX_RESOURCES: usize = 450;
/// Largest template pipec writes (CloudFormation allows 1 MB through S3).
pub const MAX_TEMPLATE_BYTES: usize = 900_000;

/// What stack renderers share: the pipeline and the names derived from it.
pub(crate) struct Ctx<'a> {
    pub v: &'a ValidPipeline,
    pub p: &'a Pipeline,
    pub name: &'a str,
    /// sha256 of each stage's script, by stage.
    pub script_hashes: &'a BTreeMap<String, String>,
    /// sha256 of the shared runtime of the Spark scripts, when there is one.
    pub runtime_hash: Option<&'a str>,
}

impl Ctx<'_> {
    pub fn description(&self, what: &str) -> String {
        let base = format!("{} {what}. {}", self.name, super::header(self.v));
        match &self.p.description {
            Some(d) => format!("{base} Pipeline: {d}"),
            None => base,
        }
    }

    /// The bucket name of a zone as a value: literal, or `Fn::Sub` of the default.
    pub fn zone_bucket(&self, zone: &str) -> Value {
        match self.p.zones.get(zone).and_then(|z| z.bucket.clone()) {
            Some(b) => Value::String(b),
            None => super::cfn::sub(&names::default_bucket(self.name, zone)),
        }
    }

    /// The bucket name of a zone inside a larger `Fn::Sub` string.
    pub fn zone_bucket_sub(&self, zone: &str) -> String {
        match self.p.zones.get(zone).and_then(|z| z.bucket.clone()) {
            Some(b) => b,
            None => names::default_bucket(self.name, zone),
        }
    }

    pub fn artifacts_bucket_sub(&self) -> String {
        names::artifacts_bucket(self.name)
    }

    /// `s3://bucket/prefix/` of a zone table, as a `Fn::Sub` string.
    pub fn table_location_sub(&self, table: &str) -> Option<String> {
        let t = self.p.schemas.get(table)?;
        let zone = t.zone.as_ref()?;
        Some(format!(
            "s3://{}/{}",
            self.zone_bucket_sub(zone),
            table_prefix(table, t)
        ))
    }

    pub fn database(&self) -> String {
        names::glue_database(self.name)
    }

    /// The KMS key ARN, resolved from the SSM parameter basic-infra writes.
    pub fn kms_key_arn(&self) -> Value {
        Value::String(format!("{{{{resolve:ssm:{}}}}}", kms_parameter(self.name)))
    }
}

/// The SSM parameter that holds the pipeline's KMS key ARN.
pub fn kms_parameter(pipeline: &str) -> String {
    format!("/pipec/{pipeline}/kms-key-arn")
}

/// The prefix of a zone table inside its bucket, always ending in `/`.
pub fn table_prefix(name: &str, t: &TableSchema) -> String {
    let mut p = t.path.clone().unwrap_or_else(|| name.to_string());
    if !p.ends_with('/') {
        p.push('/');
    }
    p
}

/// The format of a zone table (Parquet unless it says otherwise).
pub fn table_format(t: &TableSchema) -> Format {
    t.format.unwrap_or(Format::Parquet)
}

/// Renders every stack of the pipeline, handing each to `sink` as soon as it
/// is assembled, so that a large pipeline never holds all its stacks at once.
pub fn render(
    v: &ValidPipeline,
    script_hashes: &BTreeMap<String, String>,
    runtime_hash: Option<&str>,
    sink: &mut dyn FnMut(Stack),
) {
    let p = v.pipeline();
    let cx = Ctx {
        v,
        p,
        name: &p.pipeline,
        script_hashes,
        runtime_hash,
    };
    sink(Stack {
        name: "basic-infra".into(),
        body: emit::to_yaml(&infra::render(&cx).into_value()),
        depends_on: vec![],
        termination_protection: true,
    });
    let has_connections = !p.connections.is_empty();
    if has_connections {
        sink(Stack {
            name: "glue-connections".into(),
            body: emit::to_yaml(&extras::connections(&cx).into_value()),
            depends_on: vec!["basic-infra".into()],
            termination_protection: false,
        });
    }
    let catalog_names = split(
        "glue-catalog",
        catalog::render(&cx),
        vec!["basic-infra".into()],
        sink,
    );
    if p.schemas
        .values()
        .any(|t| t.quality.is_some() && t.zone.is_some())
    {
        sink(Stack {
            name: "data-quality".into(),
            body: emit::to_yaml(&extras::data_quality(&cx).into_value()),
            depends_on: catalog_names.clone(),
            termination_protection: false,
        });
    }
    let mut job_deps = vec!["basic-infra".to_string()];
    if has_connections {
        job_deps.push("glue-connections".into());
    }
    let job_names = split("glue-jobs", jobs::render(&cx), job_deps, sink);
    let mut consumer_deps = vec!["basic-infra".to_string()];
    consumer_deps.extend(catalog_names.iter().cloned());
    let mut wf_deps = catalog_names;
    wf_deps.extend(job_names);
    split("glue-workflow", workflow::render(&cx), wf_deps, sink);
    if !p.alerts.is_empty() {
        sink(Stack {
            name: "alerts".into(),
            body: emit::to_yaml(&extras::alerts(&cx).into_value()),
            depends_on: vec!["basic-infra".into()],
            termination_protection: false,
        });
    }
    if !p.consumers.is_empty() {
        sink(Stack {
            name: "consumers".into(),
            body: emit::to_yaml(&consumers::render(&cx).into_value()),
            depends_on: consumer_deps,
            termination_protection: false,
        });
    }
}

/// Resources of a stack, grouped so that a group always stays in one stack
/// (a stage's job, role and log group travel together).
pub(crate) struct Groups {
    pub description: String,
    /// Resources every part needs (for example the workflow itself): they go
    /// to the first part, and later parts depend on it.
    pub shared: Vec<(String, Value)>,
    pub groups: GroupList,
}

/// Resource groups, each emitted to YAML the moment it is added, so that a
/// 1,000-stage pipeline never holds all its resources as values at once.
#[derive(Default)]
pub(crate) struct GroupList {
    items: Vec<Emitted>,
    /// Where each group is emitted before it is copied out at its exact
    /// size: a growing buffer per group would hold up to twice its text.
    scratch: String,
}

struct Emitted {
    /// Stable hash of the group's name, which picks its part when splitting.
    hash: u64,
    count: usize,
    /// The resources as they appear under `Resources:`.
    text: String,
}

impl GroupList {
    pub fn push(&mut self, (name, resources): (String, Vec<(String, Value)>)) {
        self.scratch.clear();
        let count = resources.len();
        for (id, r) in resources {
            emit::entry(&mut self.scratch, &id, &r, 2);
        }
        self.items.push(Emitted {
            hash: stable_hash(&name),
            count,
            text: self.scratch.as_str().to_owned(),
        });
    }
}

/// Puts groups into one stack when they fit, else into parts `<base>-1..K` by a
/// stable hash of the group name. K is a power of two, so adding one stage
/// moves no other stage unless the pipeline crosses a power-of-two size.
/// Each stack goes to `sink` as soon as it is assembled, and each group's text
/// is freed once its part is; returns the names of the stacks.
fn split(
    base: &str,
    g: Groups,
    depends_on: Vec<String>,
    sink: &mut dyn FnMut(Stack),
) -> Vec<String> {
    let shared_ids: Vec<String> = g.shared.iter().map(|(id, _)| id.clone()).collect();
    // Groups arrive emitted; parts are sums of their exact sizes.
    let shared_count = g.shared.len();
    let mut shared_text = String::new();
    for (id, r) in &g.shared {
        emit::entry(&mut shared_text, id, r, 2);
    }
    let items = g.groups.items;
    let fits = |count: usize, bytes: usize| count <= MAX_RESOURCES && bytes <= MAX_TEMPLATE_BYTES;
    let total = items
        .iter()
        .fold((shared_count, shared_text.len()), |a, e| {
            (a.0 + e.count, a.1 + e.text.len())
        });
    // The template's head; its resources are appended to it.
    let head = |desc: String, bytes: usize| -> String {
        let head = Template::new(desc).into_value();
        let mut out = String::new();
        for key in ["AWSTemplateFormatVersion", "Description"] {
            emit::entry(&mut out, key, &head[key], 0);
        }
        out.push_str("Resources:\n");
        out.reserve_exact(bytes);
        out
    };
    if fits(total.0, total.1) {
        let mut body = head(g.description, total.1);
        body.push_str(&shared_text);
        for e in items {
            body.push_str(&e.text);
        }
        sink(Stack {
            name: base.into(),
            body,
            depends_on,
            termination_protection: false,
        });
        return vec![base.to_string()];
    }
    let mut k = 2usize;
    let mut sums;
    loop {
        sums = vec![(0usize, 0usize); k];
        sums[0] = (shared_count, shared_text.len());
        for e in &items {
            let part = &mut sums[(e.hash % k as u64) as usize];
            part.0 += e.count;
            part.1 += e.text.len();
        }
        if sums.iter().all(|s| fits(s.0, s.1)) || k >= 1024 {
            break;
        }
        k *= 2;
    }
    // The groups of each part, in their original order.
    let mut members: Vec<Vec<String>> = vec![Vec::new(); k];
    for e in items {
        members[(e.hash % k as u64) as usize].push(e.text);
    }
    let mut names = Vec::with_capacity(k);
    for (i, groups) in members.into_iter().enumerate() {
        let desc = format!("{} (part {} of {k})", g.description, i + 1);
        let mut body = head(desc, sums[i].1);
        if i == 0 {
            body.push_str(&shared_text);
        }
        for t in groups {
            body.push_str(&t);
        }
        let mut deps = depends_on.clone();
        if i > 0 && !shared_ids.is_empty() {
            deps.push(format!("{base}-1"));
            // Later parts reach the shared resources through the stack order.
            // The head has no `DependsOn` lines, so the whole body is stripped.
            body = strip_shared_depends_text(&body, &shared_ids);
        }
        let name = format!("{base}-{}", i + 1);
        sink(Stack {
            name: name.clone(),
            body,
            depends_on: deps,
            termination_protection: false,
        });
        names.push(name);
    }
    names
}

/// Drops `DependsOn` entries that name shared resources (which live in part 1): `    - Shared` lines under `    DependsOn:`,
/// and the `DependsOn:` line itself when nothing is left under it.
fn strip_shared_depends_text(text: &str, shared: &[String]) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < lines.len() {
        if lines[i] == "    DependsOn:" {
            let mut kept = Vec::new();
            let mut j = i + 1;
            while j < lines.len() && lines[j].starts_with("    - ") {
                let name = &lines[j]["    - ".len()..];
                if !shared.iter().any(|s| s == name) {
                    kept.push(lines[j]);
                }
                j += 1;
            }
            if !kept.is_empty() {
                out.push_str(lines[i]);
                out.push('\n');
                for k in kept {
                    out.push_str(k);
                    out.push('\n');
                }
            }
            i = j;
            continue;
        }
        out.push_str(lines[i]);
        out.push('\n');
        i += 1;
    }
    out
}

/// FNV-1a: a hash that is the same on every machine and every run.
fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// A resource as a value, for groups. Stateful ones pass `retain`.
pub(crate) fn resource(ty: &str, properties: Value, retain: bool) -> Value {
    resource_with_policy(ty, properties, retain.then_some("Retain"))
}

/// A resource with explicit deletion and replacement policies.
pub(crate) fn resource_with_policy(ty: &str, properties: Value, policy: Option<&str>) -> Value {
    let mut r = serde_json::Map::new();
    r.insert("Type".into(), ty.into());
    if let Some(policy) = policy {
        r.insert("DeletionPolicy".into(), policy.into());
        r.insert("UpdateReplacePolicy".into(), policy.into());
    }
    r.insert("Properties".into(), properties);
    Value::Object(r)
}

/// Adds `DependsOn` to a resource value.
pub(crate) fn depends(mut r: Value, on: &[&str]) -> Value {
    if let Value::Object(m) = &mut r {
        let list: Vec<Value> = on.iter().map(|s| json!(s)).collect();
        // CloudFormation's conventional order puts DependsOn after Type.
        let mut out = serde_json::Map::new();
        for (k, v) in std::mem::take(m) {
            let is_type = k == "Type";
            out.insert(k, v);
            if is_type {
                out.insert("DependsOn".into(), Value::Array(list.clone()));
            }
        }
        *m = out;
    }
    r
}
