//! The plan phase: what `deploy`, `diff` and `destroy` act on. No AWS here.
//!
//! In: either the committed output folder (`generated/`, read through each
//! pipeline's `manifest.yaml`) or a pipeline file (built in memory), plus the
//! `--pipeline` and `--stack` choices. Out: `Pipeline`s with their stacks
//! (template text, dependencies, termination protection), tags and scripts,
//! and the set of stacks to act on. Errors: `PlanError`.
//!
//! `generated/` is untrusted input (see `verify`): every path a manifest
//! names is read only from inside its pipeline's folder, every template and
//! script must match the manifest's sha256, names must be the ones pipec
//! derives, and the files are compared with what the manifest's `source:`
//! renders today (`Pipeline::findings`).

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Templates larger than this go through S3 (`TemplateURL`).
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// What can stop planning: always a usage or configuration problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    Read {
        path: String,
        detail: String,
    },
    Manifest {
        path: String,
        detail: String,
    },
    Invalid {
        path: String,
        errors: usize,
    },
    Render {
        detail: String,
    },
    NoPipelines {
        dir: String,
    },
    UnknownPipeline {
        name: String,
        known: Vec<String>,
    },
    /// `--pipeline` names another pipeline than the one FILE declares.
    OtherPipeline {
        file: String,
        declared: String,
        wanted: String,
    },
    /// The committed output was tampered with or does not hold together.
    Untrusted {
        path: String,
        detail: String,
    },
    UnknownStack {
        name: String,
        known: Vec<String>,
    },
    Cycle {
        pipeline: String,
    },
    /// Pipelines that declare environments, acted on without `--env`.
    NeedsEnvironment {
        /// Each pipeline with its environments.
        pipelines: Vec<(String, Vec<String>)>,
    },
    /// `--env NAME` that no chosen pipeline declares.
    UnknownEnvironment {
        env: String,
        known: Vec<String>,
    },
}

impl PlanError {
    pub fn message(&self) -> String {
        match self {
            PlanError::Read { path, detail } => format!("cannot read {path}: {detail}"),
            PlanError::Manifest { path, detail } => {
                format!("{path} is not a manifest pipec wrote: {detail}; run `pipec build` again")
            }
            PlanError::Invalid { path, errors } => {
                format!(
                    "{path}: {errors} error(s); nothing to deploy (see `pipec validate {path}`)"
                )
            }
            PlanError::Render { detail } => detail.clone(),
            PlanError::NoPipelines { dir } => format!(
                "no pipeline found under {dir}/ (no */manifest.yaml); run `pipec build FILE` or name a pipeline file"
            ),
            PlanError::UnknownPipeline { name, known } => {
                format!("no pipeline `{name}` here; known: {}", known.join(", "))
            }
            PlanError::OtherPipeline {
                file,
                declared,
                wanted,
            } => format!(
                "{file} declares pipeline `{declared}`, not `{wanted}`; drop --pipeline or name another file"
            ),
            PlanError::Untrusted { path, detail } => {
                format!("{path}: {detail}; nothing was read further")
            }
            PlanError::UnknownStack { name, known } => {
                format!("no stack `{name}`; stacks: {}", known.join(", "))
            }
            PlanError::Cycle { pipeline } => {
                format!("the stacks of pipeline `{pipeline}` depend on each other in a cycle")
            }
            PlanError::NeedsEnvironment { pipelines } => {
                let list: Vec<String> = pipelines
                    .iter()
                    .map(|(p, envs)| format!("`{p}` ({})", envs.join(", ")))
                    .collect();
                let first = pipelines
                    .first()
                    .and_then(|(_, e)| e.first())
                    .map(String::as_str)
                    .unwrap_or("NAME");
                format!(
                    "pipeline {} declares environments, so pipec acts on one at a time: add --env {first} (or --pipeline NAME for another pipeline)",
                    list.join(", ")
                )
            }
            PlanError::UnknownEnvironment { env, known } => {
                if known.is_empty() {
                    format!(
                        "no pipeline here declares environment `{env}` (none declares environments); drop --env"
                    )
                } else {
                    let hint = crate::suggest::did_you_mean(env, known.iter().map(String::as_str))
                        .map(|h| format!("; {h}"))
                        .unwrap_or_default();
                    format!(
                        "no pipeline here declares environment `{env}`; environments: {}{hint}",
                        known.join(", ")
                    )
                }
            }
        }
    }
}

/// One stack as `build` rendered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// Short name (`glue-jobs`).
    pub name: String,
    /// CloudFormation name (`etl-glue-jobs`).
    pub stack_name: String,
    pub template: String,
    pub depends_on: Vec<String>,
    pub termination_protection: bool,
}

/// One job script and where it goes in the artifacts bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The stage, or `pipec_runtime` for the Spark scripts' shared runtime.
    pub stage: String,
    pub s3_key: String,
    pub text: String,
}

/// Everything pipec deploys for one pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub name: String,
    /// With `${AWS::AccountId}` and `${AWS::Region}` still in it.
    pub artifacts_bucket: String,
    pub tags: BTreeMap<String, String>,
    /// In dependency order (every stack after its dependencies).
    pub stacks: Vec<Stack>,
    pub scripts: Vec<Script>,
    /// Committed files that differ from what the source renders (empty when
    /// built in memory).
    pub findings: Vec<super::verify::Finding>,
    /// The environment these stacks are, for a pipeline that declares
    /// environments: its name, the file's pipeline name, and the account
    /// and region it must deploy to.
    pub environment: Option<crate::env::Chosen>,
}

impl Pipeline {
    /// Whether `--pipeline NAME` names this pipeline: its own name, or for
    /// an environment the file's pipeline name (`etl` for `etl-dev`).
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name
            || self
                .environment
                .as_ref()
                .is_some_and(|e| e.pipeline == name)
    }
}

#[derive(Deserialize)]
struct Manifest {
    pipeline: String,
    #[serde(default)]
    source: Option<String>,
    artifacts_bucket: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    stacks: Vec<ManifestStack>,
    #[serde(default)]
    scripts: Vec<ManifestScript>,
    /// The shared runtime the Spark scripts import, when there is one.
    #[serde(default)]
    runtime: Option<ManifestRuntime>,
    /// The environment, for a pipeline that declares environments.
    #[serde(default)]
    environment: Option<ManifestEnvironment>,
}

#[derive(Deserialize)]
struct ManifestEnvironment {
    name: String,
    pipeline: String,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

#[derive(Deserialize)]
struct ManifestRuntime {
    path: String,
    sha256: String,
    s3_key: String,
}

#[derive(Deserialize)]
struct ManifestStack {
    name: String,
    stack_name: String,
    template: String,
    sha256: String,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    termination_protection: bool,
}

#[derive(Deserialize)]
struct ManifestScript {
    stage: String,
    path: String,
    sha256: String,
    s3_key: String,
}

/// Where the stacks come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The committed output folder (`generated/`).
    Generated(PathBuf),
    /// A pipeline file, built in memory.
    File(PathBuf),
}

/// Loads the pipelines of a source, narrowed to `only_pipeline` when given.
/// A pipeline that declares environments needs `load_env`.
pub fn load(source: &Source, only_pipeline: Option<&str>) -> Result<Vec<Pipeline>, PlanError> {
    load_env(source, only_pipeline, None)
}

/// Loads the pipelines of a source, narrowed to `only_pipeline` when given,
/// in environment `env` (`--env`). Without `env`, a chosen pipeline that
/// declares environments is refused (`NeedsEnvironment`): which account to
/// change is never guessed. With it, only pipelines that declare it remain.
pub fn load_env(
    source: &Source,
    only_pipeline: Option<&str>,
    env: Option<&str>,
) -> Result<Vec<Pipeline>, PlanError> {
    let mut pipelines = match source {
        Source::File(path) => vec![from_file(path, env)?],
        Source::Generated(dir) => from_generated(dir)?,
    };
    if let (Source::File(path), Some(name)) = (source, only_pipeline)
        && !pipelines[0].is_named(name)
    {
        let p = &pipelines[0];
        return Err(PlanError::OtherPipeline {
            file: path.display().to_string(),
            declared: p
                .environment
                .as_ref()
                .map_or(&p.name, |e| &e.pipeline)
                .clone(),
            wanted: name.to_string(),
        });
    }
    if let Some(name) = only_pipeline {
        let mut known: Vec<String> = pipelines
            .iter()
            .map(|p| match &p.environment {
                Some(e) => e.pipeline.clone(),
                None => p.name.clone(),
            })
            .collect();
        known.dedup();
        pipelines.retain(|p| p.is_named(name));
        if pipelines.is_empty() {
            return Err(PlanError::UnknownPipeline {
                name: name.to_string(),
                known,
            });
        }
    }
    match env {
        Some(env) => {
            let mut known: Vec<String> = pipelines
                .iter()
                .filter_map(|p| p.environment.as_ref().map(|e| e.name.clone()))
                .collect();
            known.sort();
            known.dedup();
            pipelines.retain(|p| p.environment.as_ref().is_some_and(|e| e.name == env));
            if pipelines.is_empty() {
                return Err(PlanError::UnknownEnvironment {
                    env: env.to_string(),
                    known,
                });
            }
        }
        None => {
            let mut with: Vec<(String, Vec<String>)> = Vec::new();
            for p in &pipelines {
                if let Some(e) = &p.environment {
                    match with.iter_mut().find(|(n, _)| *n == e.pipeline) {
                        Some((_, envs)) => envs.push(e.name.clone()),
                        None => with.push((e.pipeline.clone(), vec![e.name.clone()])),
                    }
                }
            }
            if !with.is_empty() {
                return Err(PlanError::NeedsEnvironment { pipelines: with });
            }
        }
    }
    Ok(pipelines)
}

/// Every pipeline and every environment `generated/` holds, with no
/// `--pipeline` or `--env` choice (for listings and tests).
pub fn load_every(dir: &Path) -> Result<Vec<Pipeline>, PlanError> {
    from_generated(dir)
}

/// The file's own pipeline, environments or not: for what changes no
/// account (`pipec graph`).
pub fn load_file_base(path: &Path) -> Result<Pipeline, PlanError> {
    from_file_as(path, None, true)
}

fn from_file(path: &Path, env: Option<&str>) -> Result<Pipeline, PlanError> {
    from_file_as(path, env, false)
}

fn from_file_as(path: &Path, env: Option<&str>, base: bool) -> Result<Pipeline, PlanError> {
    let shown = path.display().to_string();
    let choice = crate::Envs::from_flag(env, crate::Envs::Base);
    let loaded = crate::load_path_envs(path, choice).map_err(|e| PlanError::Read {
        path: shown.clone(),
        detail: e.to_string(),
    })?;
    if loaded.errors() == 0 {
        if env.is_none() && !base && !loaded.declared.is_empty() {
            let name = loaded.name.clone().unwrap_or_default();
            return Err(PlanError::NeedsEnvironment {
                pipelines: vec![(name, loaded.declared.clone())],
            });
        }
        if let Some(problem) = loaded.env_problem(env) {
            return Err(PlanError::Render { detail: problem });
        }
    }
    let Some(valid) = loaded.pipelines.first() else {
        return Err(PlanError::Invalid {
            path: shown,
            errors: loaded.errors(),
        });
    };
    let rendered = crate::render::render(valid).map_err(|e| PlanError::Render {
        detail: e.message(),
    })?;
    let files = rendered.files;
    let name = format!("{shown} (built in memory)");
    let (p, _) = from_files(&name, |rel| {
        files.get(rel).cloned().ok_or_else(|| PlanError::Manifest {
            path: name.clone(),
            detail: format!("`{rel}` was not rendered"),
        })
    })?;
    Ok(p)
}

fn from_generated(dir: &Path) -> Result<Vec<Pipeline>, PlanError> {
    let shown = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| PlanError::Read {
        path: shown.clone(),
        detail: e.to_string(),
    })?;
    let top: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    // A pipeline's folder, or the folders of its environments one below.
    let mut dirs: Vec<PathBuf> = Vec::new();
    for t in &top {
        if std::fs::symlink_metadata(t.join("manifest.yaml")).is_ok() {
            dirs.push(t.clone());
        } else if std::fs::symlink_metadata(t).is_ok_and(|m| m.is_dir())
            && let Ok(subs) = std::fs::read_dir(t)
        {
            dirs.extend(
                subs.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| std::fs::symlink_metadata(p.join("manifest.yaml")).is_ok()),
            );
        }
    }
    dirs.sort();
    if dirs.is_empty() {
        return Err(PlanError::NoPipelines { dir: shown });
    }
    let mut out: Vec<Pipeline> = Vec::new();
    for d in &dirs {
        let name = d.join("manifest.yaml").display().to_string();
        let read = std::cell::RefCell::new(BTreeMap::new());
        let (mut p, source) = from_files(&name, |rel| {
            let text = super::verify::read_inside(d, rel).map_err(|r| {
                if r.is_untrusted() {
                    PlanError::Untrusted {
                        path: name.clone(),
                        detail: r.message(),
                    }
                } else {
                    PlanError::Manifest {
                        path: name.clone(),
                        detail: r.message(),
                    }
                }
            })?;
            read.borrow_mut().insert(rel.to_string(), text.clone());
            Ok(text)
        })?;
        let folder = d.file_name().map(|f| f.to_string_lossy().into_owned());
        if let Some(e) = &p.environment {
            // `generated/<pipeline>/<environment>/` and nothing else.
            let parent = d
                .parent()
                .and_then(Path::file_name)
                .map(|f| f.to_string_lossy().into_owned());
            if folder.as_deref() != Some(e.name.as_str())
                || parent.as_deref() != Some(e.pipeline.as_str())
            {
                return Err(PlanError::Untrusted {
                    path: name,
                    detail: format!(
                        "the manifest is for environment `{}` of pipeline `{}`, but its folder is {}",
                        e.name,
                        e.pipeline,
                        d.display()
                    ),
                });
            }
        } else if folder.as_deref() != Some(p.name.as_str()) {
            return Err(PlanError::Untrusted {
                path: name,
                detail: format!(
                    "the manifest is for pipeline `{}`, but its folder is named `{}`",
                    p.name,
                    folder.unwrap_or_default()
                ),
            });
        }
        let env = p.environment.as_ref().map(|e| e.name.as_str());
        p.findings =
            super::verify::check_rendered(d, source.as_deref(), &p.name, env, &read.borrow());
        out.push(p);
    }
    Ok(out)
}

/// Builds a pipeline from its manifest and the files it names, checking that
/// they hold together: no name twice, the names pipec derives, and every
/// file's sha256 as recorded. Also returns the manifest's `source:`.
fn from_files(
    name: &str,
    read: impl Fn(&str) -> Result<String, PlanError>,
) -> Result<(Pipeline, Option<String>), PlanError> {
    let bad = |detail: String| PlanError::Manifest {
        path: name.to_string(),
        detail,
    };
    let untrusted = |detail: String| PlanError::Untrusted {
        path: name.to_string(),
        detail,
    };
    let text = read("manifest.yaml")?;
    let value = parse_yaml(name, &text).ok_or_else(|| bad("not valid YAML".into()))?;
    let m: Manifest = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    if m.artifacts_bucket != crate::names::artifacts_bucket(&m.pipeline) {
        return Err(untrusted(format!(
            "artifacts bucket `{}` is not the one pipec names for pipeline `{}`",
            m.artifacts_bucket, m.pipeline
        )));
    }
    if m.tags.get("pipec:pipeline") != Some(&m.pipeline) {
        return Err(untrusted(format!(
            "the stack tag `pipec:pipeline` must be `{}`",
            m.pipeline
        )));
    }
    let mut seen = BTreeSet::new();
    let mut stacks = Vec::new();
    for s in m.stacks {
        if !seen.insert(s.name.clone()) {
            return Err(untrusted(format!("stack `{}` is listed twice", s.name)));
        }
        let expected = crate::names::stack(&m.pipeline, &s.name);
        if s.stack_name != expected {
            return Err(untrusted(format!(
                "stack `{}` is aimed at CloudFormation stack `{}`; pipec names it `{expected}`",
                s.name, s.stack_name
            )));
        }
        let template = read(&s.template)?;
        check_sha(&s.template, &template, &s.sha256).map_err(untrusted)?;
        stacks.push(Stack {
            name: s.name,
            stack_name: s.stack_name,
            template,
            depends_on: s.depends_on,
            termination_protection: s.termination_protection,
        });
    }
    let mut seen = BTreeSet::new();
    let mut scripts = Vec::new();
    for s in m.scripts {
        if !seen.insert(s.stage.clone()) {
            return Err(untrusted(format!(
                "the script of stage `{}` is listed twice",
                s.stage
            )));
        }
        let text = read(&s.path)?;
        check_sha(&s.path, &text, &s.sha256).map_err(untrusted)?;
        // Keys are content addresses: a key that does not carry the hash
        // would let an edited script pass as one already uploaded.
        let key = crate::render::stacks::script_key(&s.stage, &s.sha256);
        if s.s3_key != key {
            return Err(untrusted(format!(
                "the S3 key `{}` of script `{}` is not its content address `{key}`",
                s.s3_key, s.path
            )));
        }
        scripts.push(Script {
            text,
            stage: s.stage,
            s3_key: s.s3_key,
        });
    }
    if let Some(r) = m.runtime {
        let text = read(&r.path)?;
        check_sha(&r.path, &text, &r.sha256).map_err(untrusted)?;
        let key = crate::render::stacks::runtime_key(&r.sha256);
        if r.s3_key != key {
            return Err(untrusted(format!(
                "the S3 key `{}` of the runtime `{}` is not its content address `{key}`",
                r.s3_key, r.path
            )));
        }
        // Validation refuses a stage of this name, so it is listed once.
        scripts.push(Script {
            text,
            stage: crate::render::scripts::RUNTIME_MODULE.to_string(),
            s3_key: r.s3_key,
        });
    }
    let stacks = topo_sort(&m.pipeline, stacks)?;
    Ok((
        Pipeline {
            name: m.pipeline,
            artifacts_bucket: m.artifacts_bucket,
            tags: m.tags,
            stacks,
            scripts,
            findings: Vec::new(),
            environment: m.environment.map(|e| crate::env::Chosen {
                name: e.name,
                pipeline: e.pipeline,
                account: e.account,
                region: e.region,
            }),
        },
        m.source,
    ))
}

/// The manifest's sha256 of a file against the file's bytes.
fn check_sha(path: &str, text: &str, recorded: &str) -> Result<(), String> {
    let actual = crate::render::sha256_hex(text);
    if actual == recorded {
        Ok(())
    } else {
        Err(format!(
            "the sha256 of {path} is {actual}, but the manifest records {recorded}: the file was changed after `pipec build`"
        ))
    }
}

/// Orders stacks so that each comes after its dependencies; unknown
/// dependencies are a manifest error.
fn topo_sort(pipeline: &str, stacks: Vec<Stack>) -> Result<Vec<Stack>, PlanError> {
    let names: BTreeSet<String> = stacks.iter().map(|s| s.name.clone()).collect();
    for s in &stacks {
        for d in &s.depends_on {
            if !names.contains(d) {
                return Err(PlanError::Manifest {
                    path: pipeline.to_string(),
                    detail: format!("stack `{}` depends on unknown stack `{d}`", s.name),
                });
            }
        }
    }
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut rest = stacks;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let before = rest.len();
        let (ready, wait): (Vec<Stack>, Vec<Stack>) = rest
            .into_iter()
            .partition(|s| s.depends_on.iter().all(|d| done.contains(d)));
        for s in ready {
            done.insert(s.name.clone());
            out.push(s);
        }
        rest = wait;
        if rest.len() == before {
            return Err(PlanError::Cycle {
                pipeline: pipeline.to_string(),
            });
        }
    }
    Ok(out)
}

impl Pipeline {
    pub fn stack(&self, name: &str) -> Option<&Stack> {
        self.stacks.iter().find(|s| s.name == name)
    }

    /// Finds a stack by short or CloudFormation name.
    pub fn find(&self, name: &str) -> Option<&Stack> {
        self.stacks
            .iter()
            .find(|s| s.name == name || s.stack_name == name)
    }

    /// The stack that creates the artifacts bucket (it outputs `ArtifactsBucketName`).
    pub fn bucket_stack(&self) -> Option<&Stack> {
        self.stacks
            .iter()
            .find(|s| s.template.contains("ArtifactsBucketName:"))
    }

    /// The artifacts bucket's real name.
    pub fn bucket(&self, account: &str, region: &str) -> String {
        self.artifacts_bucket
            .replace("${AWS::AccountId}", account)
            .replace("${AWS::Region}", region)
    }

    /// Stacks whose templates name a job script key (they need the uploads first).
    pub fn uses_scripts(&self, stack: &Stack) -> bool {
        self.scripts
            .iter()
            .any(|s| stack.template.contains(&s.s3_key))
    }

    /// Short names of the stacks to act on. Empty `wanted`: every stack. With
    /// `wanted`, each named stack plus (unless `only`) its dependencies, or,
    /// for `reverse` (destroy), plus the stacks that depend on it.
    pub fn select(
        &self,
        wanted: &[String],
        only: bool,
        reverse: bool,
    ) -> Result<BTreeSet<String>, PlanError> {
        if wanted.is_empty() {
            return Ok(self.stacks.iter().map(|s| s.name.clone()).collect());
        }
        let mut out = BTreeSet::new();
        for w in wanted {
            let Some(s) = self.find(w) else {
                return Err(PlanError::UnknownStack {
                    name: w.clone(),
                    known: self.stacks.iter().map(|s| s.name.clone()).collect(),
                });
            };
            out.insert(s.name.clone());
        }
        if only {
            return Ok(out);
        }
        loop {
            let before = out.len();
            for s in &self.stacks {
                if reverse {
                    if s.depends_on.iter().any(|d| out.contains(d)) {
                        out.insert(s.name.clone());
                    }
                } else if out.contains(&s.name) {
                    out.extend(s.depends_on.iter().cloned());
                }
            }
            if out.len() == before {
                return Ok(out);
            }
        }
    }
}

/// Narrows pipelines by `--stack`: a name matches a pipeline when it names one
/// of its stacks. Pipelines with no matching stack are dropped; a name that
/// matches nothing anywhere is an error.
pub fn narrow(pipelines: Vec<Pipeline>, wanted: &[String]) -> Result<Vec<Pipeline>, PlanError> {
    if wanted.is_empty() {
        return Ok(pipelines);
    }
    for w in wanted {
        if !pipelines.iter().any(|p| p.find(w).is_some()) {
            let mut known: Vec<String> = pipelines
                .iter()
                .flat_map(|p| p.stacks.iter().map(|s| s.stack_name.clone()))
                .collect();
            known.sort();
            return Err(PlanError::UnknownStack {
                name: w.clone(),
                known,
            });
        }
    }
    Ok(pipelines
        .into_iter()
        .filter(|p| wanted.iter().any(|w| p.find(w).is_some()))
        .collect())
}

/// The `--stack` names that belong to one pipeline.
pub fn wanted_in(p: &Pipeline, wanted: &[String]) -> Vec<String> {
    wanted
        .iter()
        .filter(|w| p.find(w).is_some())
        .cloned()
        .collect()
}

fn parse_yaml(name: &str, text: &str) -> Option<serde_json::Value> {
    let file = crate::source::SourceFile::new(name, text);
    crate::yaml::parse(&file).ok().map(|(doc, _)| doc.value)
}

/// A template reduced to what CloudFormation sees: parsed and re-emitted in
/// one canonical layout, so comments and formatting alone are no difference.
/// Text that does not parse is compared with comment lines dropped.
pub fn normalize(template: &str) -> String {
    match parse_yaml("template", template) {
        Some(v) if v.is_object() => crate::render::emit::to_yaml(&v),
        _ => template
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(|l| format!("{}\n", l.trim_end()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_ignores_comments_and_layout() {
        let a = "# Generated\nResources:\n  A: {Type: AWS::SNS::Topic}\n";
        let b = "{\"Resources\": {\"A\": {\"Type\": \"AWS::SNS::Topic\"}}}";
        assert_eq!(normalize(a), normalize(b));
        assert_ne!(normalize(a), normalize("Resources: {}\n"));
    }

    #[test]
    fn committed_generated_output_loads_in_dependency_order() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
        let ps = load_every(&dir).unwrap();
        assert!(ps.len() >= 5);
        let etl = ps.iter().find(|p| p.name == "etl-dev").unwrap();
        assert_eq!(
            etl.environment.as_ref().unwrap().account.as_deref(),
            Some("123456789012")
        );
        let prod = ps.iter().find(|p| p.name == "etl-prod").unwrap();
        assert_eq!(
            prod.environment.as_ref().unwrap().region.as_deref(),
            Some("eu-west-1")
        );
        // Without --env a pipeline with environments is refused; with it,
        // `--pipeline` takes the file's pipeline name.
        let env = |e: Option<&str>| load_env(&Source::Generated(dir.clone()), Some("etl"), e);
        assert!(matches!(env(None), Err(PlanError::NeedsEnvironment { .. })));
        assert_eq!(env(Some("prod")).unwrap()[0].name, "etl-prod");
        assert!(matches!(
            env(Some("stg")),
            Err(PlanError::UnknownEnvironment { .. })
        ));
        assert_eq!(
            load(&Source::Generated(dir.clone()), Some("leads"))
                .unwrap()
                .len(),
            1
        );
        assert_eq!(etl.stacks[0].name, "basic-infra");
        // The committed output is what its sources render: nothing edited.
        for p in &ps {
            assert!(p.findings.is_empty(), "{}: {:?}", p.name, p.findings);
        }
        assert_eq!(etl.bucket_stack().unwrap().name, "basic-infra");
        let sel = etl
            .select(&["etl-dev-glue-workflow".into()], false, false)
            .unwrap();
        assert!(sel.contains("glue-jobs") && sel.contains("basic-infra"));
        assert!(!sel.contains("alerts"));
        let only = etl.select(&["glue-workflow".into()], true, false).unwrap();
        assert_eq!(only.len(), 1);
        let rev = etl.select(&["glue-catalog".into()], false, true).unwrap();
        assert!(rev.contains("data-quality") && rev.contains("glue-workflow"));
        assert!(etl.uses_scripts(etl.stack("glue-jobs").unwrap()));
        assert_eq!(
            etl.bucket("123456789012", "us-east-1"),
            "etl-dev-artifacts-123456789012-us-east-1"
        );
        let normalized = normalize(&etl.stacks[0].template);
        assert!(!normalized.contains("# Generated"));
    }
}
