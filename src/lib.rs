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
pub fn load_bytes(name: &str, bytes: &[u8], base_dir: &Path) -> Loaded {
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
            return Loaded {
                file,
                diagnostics: vec![d],
                pipeline: None,
            };
        }
    };
    let file = SourceFile::new(name, text);
    let (pipeline, mut diagnostics) = check(&file, base_dir);
    diagnostic::arrange(&mut diagnostics);
    Loaded {
        file,
        diagnostics,
        pipeline,
    }
}

fn check(file: &SourceFile, base_dir: &Path) -> (Option<ValidPipeline>, Vec<Diagnostic>) {
    let (mut doc, mut diags) = match yaml::parse(file) {
        Ok(x) => x,
        Err(diags) => return (None, diags),
    };
    let schema_diags = schema::check(&doc);
    // User text is checked as data while the JSON tree is still whole.
    diags.extend(validate::check_text(&doc));
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
        return Ok(Loaded {
            file,
            diagnostics: vec![d],
            pipeline: None,
        });
    }
    let bytes = std::fs::read(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(load_bytes(&name, &bytes, base))
}
