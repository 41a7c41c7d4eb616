//! `pipec run` and `pipec query`: a pipeline's workflow run as a whole.
//!
//! In: a `ValidPipeline` (from a file, or from the manifests in `generated/`).
//! Out: node states as the run goes (`status`), a summary at the end, and an
//! exit code. `layout` maps zones and tables to local directories for a local
//! run; `status` holds the states and reports that local and AWS runs share,
//! and how they are printed. `plan` turns the pipeline into nodes and
//! triggers, `engine` runs them (pure), `local` executes them on this machine
//! through `driver` (one JVM per Glue version) and `venv` (the Python), and
//! `display` shows the run.

pub mod catalog;
pub mod crawl;
pub mod display;
pub mod driver;
pub mod engine;
pub mod layout;
pub mod local;
pub mod plan;
pub mod query;
pub mod status;
pub mod venv;
