//! The semantic phase: checks that need the whole pipeline, not one value.
//!
//! In: a `Pipeline` that passed the JSON Schema, and its `Document` for
//! locations. Out: a `ValidPipeline` (only this module can make one, so
//! renderers can only ever see checked input) or the diagnostics that stop it.
//!
//! The checks: references and duplicates, AWS naming rules and derived-name
//! lengths, CloudFormation logical ID clashes, Glue job settings, cron syntax,
//! Hive types, table locations, DQDL rules, sample files (`samples`), the
//! trigger graph (`graph`) and the columns of every frame at every step
//! (`columns`).

mod alerts;
mod arguments;
mod athena;
pub mod casts;
mod columns;
pub mod consumers;
mod crawlers;
mod environments;
mod error;
pub mod frames;
mod graph;
pub mod iceberg;
mod limits;
mod naming;
pub mod rules;
mod samples;
mod settings;
mod sql_steps;
mod stages;
mod tables;
pub mod text;
mod triggers;
pub mod workflows;
mod zones;

use alerts::{check_alerts, check_misc};
use arguments::check_arguments;
pub use columns::takes_frame;
use crawlers::check_crawlers;
pub use error::SemanticError;
pub use frames::{FrameColumns, StageFrames};
use naming::{check_file_name, check_names};
pub use settings::{Settings, settings};
use stages::check_stages;
use tables::check_tables;
pub use triggers::Node;
use triggers::check_triggers;
pub(crate) use triggers::{resolve_condition, resolve_name};
use zones::{check_connections, check_zones};

use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::names::{self, Kind};
use crate::prune::Excluded;
use crate::source::SourceFile;
use crate::yaml::{Document, push_pointer};
use indexmap::IndexMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A pipeline that passed every check. Renderers take only this type.
#[derive(Debug)]
pub struct ValidPipeline {
    pipeline: Pipeline,
    /// Directory of the pipeline file, against which user script paths resolve.
    base_dir: PathBuf,
    /// Contents of the users' own scripts by stage, read once here so that
    /// renderers stay pure.
    user_scripts: IndexMap<String, String>,
    /// File name of the pipeline (no directories), for generated-file headers.
    file_name: String,
    /// The columns of every frame of every Spark stage with generated code.
    frames: IndexMap<String, StageFrames>,
    /// The environment this pipeline was overlaid with, if any.
    environment: Option<crate::env::Chosen>,
}

impl ValidPipeline {
    /// The pipeline file's name without directories, such as `etl.yaml`.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
    /// The environment this pipeline is (`None` for a file's own pipeline).
    pub fn environment(&self) -> Option<&crate::env::Chosen> {
        self.environment.as_ref()
    }
    /// Records the environment whose overlay this pipeline is.
    pub(crate) fn set_environment(&mut self, env: crate::env::Chosen) {
        self.environment = Some(env);
    }
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }
    /// The columns of every frame of a Spark stage with generated code,
    /// after every step. Validation computed them; a stage without them
    /// (a Python shell stage, or one with its own script) is a bug in the
    /// caller.
    pub fn frames(&self, stage: &str) -> &StageFrames {
        self.frames
            .get(stage)
            .unwrap_or_else(|| panic!("stage `{stage}` has no generated Spark code"))
    }
    /// The sample files of a table (`samples`), as paths joined to the
    /// pipeline file's folder; validation checked that each is a regular
    /// file below it. Empty for an unknown table or one without samples.
    pub fn samples(&self, table: &str) -> Vec<PathBuf> {
        self.pipeline
            .schemas
            .get(table)
            .map(|t| t.samples.iter().map(|s| self.base_dir.join(s)).collect())
            .unwrap_or_default()
    }
    /// The text of a stage's own `script`, if it has one.
    pub fn user_script(&self, stage: &str) -> Option<&str> {
        self.user_scripts.get(stage).map(String::as_str)
    }
}

/// Builds a JSON pointer from reference tokens.
pub(crate) fn ptr(parts: &[&str]) -> String {
    parts
        .iter()
        .fold(String::new(), |acc, p| push_pointer(&acc, p))
}

/// Glue versions pipec accepts for Spark stages (older ones are past end of support).
pub use crate::glue::SPARK_GLUE_VERSIONS;
pub const DEFAULT_SPARK_GLUE_VERSION: &str = "5.0";
/// Python shell jobs run Python 3.9 on Glue version 3.0.
pub const PYTHON_SHELL_GLUE_VERSION: &str = "3.0";
/// CloudWatch Logs retention values.
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
pub(crate) struct Ctx<'a> {
    pub p: &'a Pipeline,
    doc: &'a Document,
    /// What the schema phase left out; references to it are not unknown.
    excluded: &'a Excluded,
    file: &'a SourceFile,
    pub diags: Vec<Diagnostic>,
    user_scripts: IndexMap<String, String>,
    frames: IndexMap<String, StageFrames>,
}

impl Ctx<'_> {
    /// Reports at the key of the node (a name being declared).
    pub fn at_key(&mut self, pointer: &str, e: SemanticError) {
        let span = self.doc.locations.key(pointer);
        self.push(span, pointer, e);
    }
    /// Reports at the value of the node (a reference or setting).
    pub fn at_value(&mut self, pointer: &str, e: SemanticError) {
        let span = self.doc.locations.value(pointer);
        self.push(span, pointer, e);
    }
    /// Reports a problem in the Spark SQL text held by the scalar at
    /// `pointer`, at its line and column inside the scalar.
    pub fn at_sql(&mut self, pointer: &str, text: &str, place: &str, e: &crate::sql::SqlError) {
        let span = match self.doc.locations.scalar(pointer) {
            Some((span, kind)) => {
                crate::scalar_map::inside(self.file, span, kind, text, e.offset, e.len)
            }
            None => self.doc.locations.value(pointer),
        };
        let err = SemanticError::Sql {
            place: place.to_string(),
            message: e.message.clone(),
            hint: e.hint.clone(),
        };
        self.push(span, pointer, err);
    }
    /// Every diagnostic is placed in the data too, so that follow-ons of
    /// its error can be folded into it. The empty pointer (the whole file)
    /// would claim every follow-on, so it places nothing.
    fn push(&mut self, span: crate::source::Span, pointer: &str, e: SemanticError) {
        let d = diagnostic(span, &e);
        self.diags.push(if pointer.is_empty() {
            d
        } else {
            d.about(pointer)
        });
    }
    /// Reports a follow-on at the key of `pointer`: a conclusion that errors
    /// under `causes` can make false. See `diagnostic::arrange`.
    pub fn follow_on(&mut self, pointer: &str, e: SemanticError, causes: Vec<String>) {
        let span = self.doc.locations.key(pointer);
        self.diags
            .push(diagnostic(span, &e).about(pointer).following(causes));
    }
    /// Reports that a required section is empty, unless the schema phase
    /// emptied it: then its errors say what is wrong.
    pub fn empty_section(&mut self, section: &str, e: SemanticError) {
        if self.excluded.pointers(section).is_empty() {
            self.at_value(&push_pointer("", section), e);
        }
    }
    /// The parts of the file whose errors can make the trigger graph's
    /// conclusions false: the stages, crawlers and triggers that the schema
    /// phase left out, then any error in the triggers.
    pub fn graph_causes(&self) -> Vec<String> {
        let mut v = self.excluded.pointers("stages");
        v.extend(self.excluded.pointers("crawlers"));
        v.extend(self.excluded.pointers("triggers"));
        v.push("/triggers".to_string());
        v
    }
    fn unknown(
        &mut self,
        pointer: &str,
        what: &'static str,
        name: &str,
        candidates: impl IntoIterator<Item = String>,
    ) {
        let sections: &[&str] = match what {
            "table" => &["schemas"],
            "stage" => &["stages"],
            "crawler" => &["crawlers"],
            "stage or crawler" => &["stages", "crawlers"],
            "zone" => &["zones"],
            "connection" => &["connections"],
            "zone or table" => &["zones", "schemas"],
            _ => &[],
        };
        // A name the schema phase left out exists; its error is reported.
        if sections.iter().any(|s| self.excluded.hides(s, name)) {
            return;
        }
        self.at_value(
            pointer,
            SemanticError::Unknown {
                what,
                name: name.to_string(),
                candidates: candidates.into_iter().collect(),
            },
        );
    }
}

/// A semantic error as a diagnostic at `span`.
pub(crate) fn diagnostic(span: crate::source::Span, e: &SemanticError) -> Diagnostic {
    let msg = e.message();
    let d = if e.is_warning() {
        Diagnostic::warning(e.code(), span, msg)
    } else {
        Diagnostic::error(e.code(), span, msg)
    };
    d.with_hint(e.hint())
}

/// Checks every string and key of the parsed document as data (see `text`).
/// Runs on the JSON tree, before the typed model replaces it.
pub fn check_text(doc: &Document) -> Vec<Diagnostic> {
    text::check(doc)
}

/// Runs every semantic check. Returns the valid pipeline when no check found
/// an error, and all diagnostics (warnings included) either way.
pub fn validate(
    pipeline: Pipeline,
    doc: &Document,
    file: &SourceFile,
    file_name: &str,
    base_dir: &Path,
    excluded: &Excluded,
) -> (Option<ValidPipeline>, Vec<Diagnostic>) {
    let mut cx = Ctx {
        p: &pipeline,
        doc,
        excluded,
        file,
        diags: Vec::new(),
        user_scripts: IndexMap::new(),
        frames: IndexMap::new(),
    };
    check_file_name(&mut cx, file_name);
    check_names(&mut cx);
    check_zones(&mut cx);
    check_connections(&mut cx);
    check_tables(&mut cx);
    iceberg::check_tables(&mut cx);
    samples::check(&mut cx, base_dir);
    athena::check(&mut cx);
    check_stages(&mut cx, base_dir);
    check_crawlers(&mut cx);
    check_triggers(&mut cx);
    graph::check(&mut cx);
    check_alerts(&mut cx);
    consumers::check(&mut cx);
    check_misc(&mut cx);
    limits::check(&mut cx);
    environments::check(&mut cx);
    limits::check_whole(&mut cx);
    let diags = cx.diags;
    let user_scripts = cx.user_scripts;
    let frames = cx.frames;
    let ok = !diags.iter().any(Diagnostic::is_error);
    let valid = ok.then(|| ValidPipeline {
        pipeline,
        base_dir: base_dir.to_path_buf(),
        user_scripts,
        file_name: file_name.to_string(),
        frames,
        environment: None,
    });
    (valid, diags)
}
