//! CloudFormation stacks of a pipeline.
//!
//! In: a `ValidPipeline` and the content hashes of its job scripts. Out: the
//! stacks (`basic-infra`, `glue-connections`, `glue-catalog`, `data-quality`,
//! `glue-jobs`, `glue-workflow`, `alerts`), each a template with the stacks it
//! depends on.
//!
//! Stacks never import each other's outputs. A value one stack needs from
//! another is a physical name both compute from the pipeline (`names`), or,
//! for the KMS key ARN, an SSM parameter read through a dynamic reference.
//! So removing a consumer can never be blocked by an export in use.
//!
//! Stacks over CloudFormation's limits are split into numbered parts by a
//! stable hash of each resource group's name (see `split`).

mod catalog;
mod extras;
mod iam;
mod infra;
mod jobs;

pub use jobs::{log_group, script_key};
mod workflow;

use super::cfn::Template;
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
    pub template: Value,
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

/// Renders every stack of the pipeline.
pub fn render(v: &ValidPipeline, script_hashes: &BTreeMap<String, String>) -> Vec<Stack> {
    let p = v.pipeline();
    let cx = Ctx {
        v,
        p,
        name: &p.pipeline,
        script_hashes,
    };
    let mut stacks = vec![Stack {
        name: "basic-infra".into(),
        template: infra::render(&cx).into_value(),
        depends_on: vec![],
        termination_protection: true,
    }];
    let has_connections = !p.connections.is_empty();
    if has_connections {
        stacks.push(Stack {
            name: "glue-connections".into(),
            template: extras::connections(&cx).into_value(),
            depends_on: vec!["basic-infra".into()],
            termination_protection: false,
        });
    }
    let catalog = split(
        "glue-catalog",
        catalog::render(&cx),
        vec!["basic-infra".into()],
    );
    let catalog_names: Vec<String> = catalog.iter().map(|s| s.name.clone()).collect();
    stacks.extend(catalog);
    if p.schemas
        .values()
        .any(|t| t.quality.is_some() && t.zone.is_some())
    {
        stacks.push(Stack {
            name: "data-quality".into(),
            template: extras::data_quality(&cx).into_value(),
            depends_on: catalog_names.clone(),
            termination_protection: false,
        });
    }
    let mut job_deps = vec!["basic-infra".to_string()];
    if has_connections {
        job_deps.push("glue-connections".into());
    }
    let jobs = split("glue-jobs", jobs::render(&cx), job_deps);
    let job_names: Vec<String> = jobs.iter().map(|s| s.name.clone()).collect();
    stacks.extend(jobs);
    let mut wf_deps = catalog_names;
    wf_deps.extend(job_names);
    stacks.extend(split("glue-workflow", workflow::render(&cx), wf_deps));
    if !p.alerts.is_empty() {
        stacks.push(Stack {
            name: "alerts".into(),
            template: extras::alerts(&cx).into_value(),
            depends_on: vec!["basic-infra".into()],
            termination_protection: false,
        });
    }
    stacks
}

/// Resources of a stack, grouped so that a group always stays in one stack
/// (a stage's job, role and log group travel together).
pub(crate) struct Groups {
    pub description: String,
    /// Resources every part needs (for example the workflow itself): they go
    /// to the first part, and later parts depend on it.
    pub shared: Vec<(String, Value)>,
    pub groups: Vec<(String, Vec<(String, Value)>)>,
}

/// Puts groups into one stack when they fit, else into parts `<base>-1..K` by a
/// stable hash of the group name. K is a power of two, so adding one stage
/// moves no other stage unless the pipeline crosses a power-of-two size.
fn split(base: &str, g: Groups, depends_on: Vec<String>) -> Vec<Stack> {
    // Sizes are measured once per group; parts are then sums of them.
    let size = |rs: &[(String, Value)]| -> usize {
        rs.iter()
            .map(|(id, r)| id.len() + serde_json::to_string(r).map(|s| s.len()).unwrap_or(0))
            .sum()
    };
    let shared_size = (g.shared.len(), size(&g.shared));
    let group_sizes: Vec<(usize, usize)> = g.groups.iter().map(|(_, rs)| (rs.len(), size(rs))).collect();
    let total = group_sizes.iter().fold(shared_size, |a, b| (a.0 + b.0, a.1 + b.1));
    // The JSON size underestimates YAML by indentation; keep a wide margin.
    let fits = |(count, bytes): (usize, usize)| count <= MAX_RESOURCES && bytes * 2 <= MAX_TEMPLATE_BYTES;
    let shared_ids: Vec<String> = g.shared.iter().map(|(id, _)| id.clone()).collect();
    let assemble = |desc: String, resources: Vec<(String, Value)>| -> Value {
        let present: Vec<String> = resources.iter().map(|(id, _)| id.clone()).collect();
        let mut t = Template::new(desc);
        for (id, mut r) in resources {
            // A DependsOn on a shared resource in the first part becomes a
            // dependency between stacks instead.
            if let Some(m) = r.as_object_mut()
                && let Some(Value::Array(on)) = m.get_mut("DependsOn")
            {
                on.retain(|d| {
                    d.as_str().is_none_or(|d| present.iter().any(|p| p == d) || !shared_ids.iter().any(|s| s == d))
                });
                if on.is_empty() {
                    m.remove("DependsOn");
                }
            }
            t.insert_raw(&id, r);
        }
        t.into_value()
    };
    if fits(total) {
        let mut all = g.shared;
        for (_, rs) in g.groups {
            all.extend(rs);
        }
        return vec![Stack {
            name: base.into(),
            template: assemble(g.description, all),
            depends_on,
            termination_protection: false,
        }];
    }
    let hashes: Vec<u64> = g.groups.iter().map(|(name, _)| stable_hash(name)).collect();
    let mut k = 2usize;
    let assignment = loop {
        let mut sums = vec![(0usize, 0usize); k];
        sums[0] = shared_size;
        for (h, (c, b)) in hashes.iter().zip(&group_sizes) {
            let part = &mut sums[(h % k as u64) as usize];
            part.0 += c;
            part.1 += b;
        }
        if sums.iter().all(|s| fits(*s)) || k >= 1024 {
            break k;
        }
        k *= 2;
    };
    let mut parts: Vec<Vec<(String, Value)>> = vec![Vec::new(); assignment];
    parts[0].extend(g.shared);
    for ((_, rs), h) in g.groups.into_iter().zip(hashes) {
        parts[(h % assignment as u64) as usize].extend(rs);
    }
    parts
        .into_iter()
        .enumerate()
        .map(|(i, rs)| {
            let mut deps = depends_on.clone();
            if i > 0 && !shared_ids.is_empty() {
                deps.push(format!("{base}-1"));
            }
            Stack {
                name: format!("{base}-{}", i + 1),
                template: assemble(format!("{} (part {} of {assignment})", g.description, i + 1), rs),
                depends_on: deps,
                termination_protection: false,
            }
        })
        .collect()
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
