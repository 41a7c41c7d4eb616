//! pipec: a declarative pipeline compiler for AWS Glue.
//!
//! In: a pipeline YAML file. Out: diagnostics, or a `ValidPipeline` that the
//! renderers turn into CloudFormation stacks and Glue job scripts.
//!
//! The phases, each a module with its own error type:
//! `yaml` (text -> located JSON) -> `schema` (JSON Schema) -> `model` (typed
//! pipeline) -> `validate` (semantic checks, `ValidPipeline`). `load` below
//! runs them in order and collects every diagnostic on the way. Schema
//! errors leave out only the parts they are in (`prune`); the semantic phase
//! checks the rest, so one run reports mistakes in unrelated places.

pub mod build;
pub mod cli;
pub mod contracts;
pub mod deploy;
pub mod diagnostic;
pub mod env;
pub mod glue;
pub mod graph;
pub mod impact;
pub mod model;
pub mod names;
pub mod prune;
pub mod render;
pub mod review;
pub mod run;
pub mod scalar_map;
pub mod schema;
pub mod source;
pub mod sql;
pub mod suggest;
pub mod synthetic;
pub mod validate;
pub mod yaml;

use diagnostic::Diagnostic;
use source::{SourceFile, Span};
use std::path::Path;
use std::sync::Arc;
use validate::ValidPipeline;

/// Largest pipeline file read. A 1,000-stage pipeline is about 400 KB.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// What checking one file produced.
#[derive(Debug)]
pub struct Loaded {
    pub file: Arc<SourceFile>,
    /// Every diagnostic, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// Present when there is no error (warnings allowed).
    pub pipeline: Option<ValidPipeline>,
}

impl Loaded {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
}

/// Checks a file's bytes through every phase. Never panics on any input.
/// The pipeline is the file's own; its environments are checked by
/// `load_bytes_envs`.
pub fn load_bytes(name: &str, bytes: &[u8], base_dir: &Path) -> Loaded {
    let l = load_bytes_envs(name, bytes, base_dir, Envs::Base);
    Loaded {
        file: l.file,
        diagnostics: l.diagnostics,
        pipeline: l.pipelines.into_iter().next(),
    }
}

/// Which pipelines of a file to check: its own, one of its environments, or
/// every environment it declares (its own when it declares none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envs<'a> {
    Base,
    One(&'a str),
    All,
}

impl<'a> Envs<'a> {
    /// `--env NAME` as a choice, with `otherwise` when it is not given.
    pub fn from_flag(env: Option<&'a str>, otherwise: Envs<'a>) -> Envs<'a> {
        env.map(Envs::One).unwrap_or(otherwise)
    }
}

/// What checking a file and its environments produced.
#[derive(Debug)]
pub struct LoadedEnvs {
    pub file: Arc<SourceFile>,
    /// Every diagnostic, sorted by position; an environment's own carry a
    /// note naming the environment.
    pub diagnostics: Vec<Diagnostic>,
    /// When there is no error: the file's pipeline, or one per chosen
    /// environment in file order.
    pub pipelines: Vec<ValidPipeline>,
    /// The environments the file declares, in file order.
    pub declared: Vec<String>,
    /// The pipeline's name as declared, when it could be read.
    pub name: Option<String>,
}

impl LoadedEnvs {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// What is wrong with `--env` for this file (a usage error), if anything.
    pub fn env_problem(&self, wanted: Option<&str>) -> Option<String> {
        let name = self.name.as_deref().unwrap_or("?");
        let wanted = wanted?;
        if self.declared.is_empty() {
            return Some(format!(
                "{}: pipeline `{name}` declares no environments; drop --env {wanted}",
                self.file.name
            ));
        }
        if self.declared.iter().any(|d| d == wanted) {
            return None;
        }
        let hint = suggest::did_you_mean(wanted, self.declared.iter().map(String::as_str))
            .map(|h| format!("; {h}"))
            .unwrap_or_default();
        Some(format!(
            "{}: pipeline `{name}` has no environment `{wanted}`; environments: {}{hint}",
            self.file.name,
            self.declared.join(", ")
        ))
    }
}

/// Checks a file's bytes, and the chosen environments' pipelines, each
/// validated in full after its overlay. Never panics on any input.
pub fn load_bytes_envs(name: &str, bytes: &[u8], base_dir: &Path, envs: Envs) -> LoadedEnvs {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(e) => {
            let lossy = String::from_utf8_lossy(bytes).into_owned();
            let good = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).len();
            let file = SourceFile::new(name, lossy);
            let pos = file.position(good);
            let d = Diagnostic::error(
                "encoding",
                Span::point(pos),
                "the file is not valid UTF-8: pipeline files are UTF-8 text",
            );
            return LoadedEnvs {
                file,
                diagnostics: vec![d],
                pipelines: Vec::new(),
                declared: Vec::new(),
                name: None,
            };
        }
    };
    let file = SourceFile::new(name, text);
    let mut c = check(&file, base_dir, envs);
    diagnostic::arrange(&mut c.diagnostics);
    LoadedEnvs {
        file,
        diagnostics: c.diagnostics,
        pipelines: c.pipelines,
        declared: c.declared,
        name: c.name,
    }
}

struct Checked {
    pipelines: Vec<ValidPipeline>,
    diagnostics: Vec<Diagnostic>,
    declared: Vec<String>,
    name: Option<String>,
}

fn check(file: &SourceFile, base_dir: &Path, envs: Envs) -> Checked {
    let (doc, diags) = match yaml::parse(file) {
        Ok(x) => x,
        Err(diags) => {
            return Checked {
                pipelines: Vec::new(),
                diagnostics: diags,
                declared: Vec::new(),
                name: None,
            };
        }
    };
    let declared = env::names(&doc.value);
    let name = doc
        .value
        .get("pipeline")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    let wanted: Vec<String> = match envs {
        Envs::Base => Vec::new(),
        Envs::One(n) => declared.iter().filter(|d| *d == n).cloned().collect(),
        Envs::All => declared.clone(),
    };
    // Each environment's document, made before the file's own consumes it.
    let overlays: Vec<(env::Chosen, Span, yaml::Document)> = wanted
        .iter()
        .filter_map(|n| {
            let chosen = env::chosen(&doc.value, n)?;
            let at = doc.locations.key(&yaml::push_pointer("/environments", n));
            let d = env::overlay(&doc.value, &doc.locations, n)?;
            Some((chosen, at, d))
        })
        .collect();
    let (base, mut diags) = check_doc(file, base_dir, doc, diags, true);
    let unknown_env = matches!(envs, Envs::One(_)) && wanted.is_empty();
    let done = |pipelines, diagnostics| Checked {
        pipelines,
        diagnostics,
        declared: declared.clone(),
        name: name.clone(),
    };
    if unknown_env {
        return done(Vec::new(), diags);
    }
    if wanted.is_empty() {
        return done(base.into_iter().collect(), diags);
    }
    let mut failed = base.is_none();
    drop(base);
    // Every chosen environment is validated in full, also when the file's
    // own pipeline has errors (one run, every mistake); what the file's own
    // pipeline already reported is not repeated.
    let seen: std::collections::HashSet<(Span, String)> =
        diags.iter().map(|d| (d.span, d.message.clone())).collect();
    let mut pipelines = Vec::new();
    for (chosen, at, d) in overlays {
        let (valid, env_diags) = check_doc(file, base_dir, d, Vec::new(), false);
        for e in env_diags {
            if seen.contains(&(e.span, e.message.clone())) {
                continue;
            }
            let note = format!("in environment `{}`", chosen.name);
            diags.push(e.with_note(at, note));
        }
        match valid {
            Some(mut v) => {
                v.set_environment(chosen);
                pipelines.push(v);
            }
            None => failed = true,
        }
    }
    done(if failed { Vec::new() } else { pipelines }, diags)
}

/// Runs the schema, model and semantic phases over one parsed document.
/// `text` checks every string as data (once per file: an environment's
/// values are the file's own).
fn check_doc(
    file: &SourceFile,
    base_dir: &Path,
    mut doc: yaml::Document,
    mut diags: Vec<Diagnostic>,
    text: bool,
) -> (Option<ValidPipeline>, Vec<Diagnostic>) {
    let schema_diags = schema::check(&doc);
    // User text is checked as data while the JSON tree is still whole.
    if text {
        diags.extend(validate::check_text(&doc));
    }
    // The typed model replaces the JSON tree; only the locations stay.
    let mut value = std::mem::take(&mut doc.value);
    if let serde_json::Value::Object(o) = &mut value {
        o.retain(|k, _| !k.starts_with("x-"));
    }
    let excluded = if schema_diags.is_empty() {
        Some(prune::Excluded::default())
    } else {
        prune::prune(&mut value, &schema_diags).filter(|_| schema::passes(&value))
    };
    diags.extend(schema_diags);
    let Some(excluded) = excluded else {
        return (None, diags);
    };
    let pipeline: model::Pipeline = match serde_json::from_value(value) {
        Ok(p) => p,
        Err(e) => {
            // The schema is generated from the model, so this means the two disagree.
            diags.push(Diagnostic::error(
                "schema",
                Span::default(),
                format!("the pipeline does not fit pipec's model: {e}"),
            ));
            return (None, diags);
        }
    };
    let had_errors = diags.iter().any(Diagnostic::is_error);
    let file_name = Path::new(&file.name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (valid, sem) = validate::validate(pipeline, &doc, file, &file_name, base_dir, &excluded);
    // A value an earlier phase already rejected (say, a `!Ref` tag) is not
    // reported again by later phases: one error per place, the first phase's.
    let earlier: std::collections::HashSet<Span> = diags.iter().map(|d| d.span).collect();
    diags.extend(sem.into_iter().filter(|d| !earlier.contains(&d.span)));
    (if had_errors { None } else { valid }, diags)
}

/// Reads and checks a file. `Err` is an I/O problem (exit code 2), not bad input.
pub fn load_path(path: &Path) -> std::io::Result<Loaded> {
    let l = load_path_envs(path, Envs::Base)?;
    Ok(Loaded {
        file: l.file,
        diagnostics: l.diagnostics,
        pipeline: l.pipelines.into_iter().next(),
    })
}

/// Reads and checks a file and the chosen environments (see `Envs`). `Err`
/// is an I/O problem (exit code 2), not bad input.
pub fn load_path_envs(path: &Path, envs: Envs) -> std::io::Result<LoadedEnvs> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(std::io::Error::other("is a directory"));
    }
    if meta.len() > MAX_FILE_BYTES {
        let file = SourceFile::new(name, String::new());
        let d = Diagnostic::error(
            "size",
            Span::default(),
            format!(
                "the file has {} bytes; pipeline files are limited to {} MiB",
                meta.len(),
                MAX_FILE_BYTES / 1024 / 1024
            ),
        );
        return Ok(LoadedEnvs {
            file,
            diagnostics: vec![d],
            pipelines: Vec::new(),
            declared: Vec::new(),
            name: None,
        });
    }
    let bytes = std::fs::read(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(load_bytes_envs(&name, &bytes, base, envs))
}
