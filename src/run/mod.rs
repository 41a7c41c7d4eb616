//! `pipec run` and `pipec query`: a pipeline's workflow run as a whole.
//!
//! In: a `ValidPipeline` (from a file, or from the manifests in `generated/`).
//! Out: node states as the run goes (`status`), a summary at the end, and an
//! exit code. `layout` maps zones and tables to local directories for a local
//! run; `status` holds the states and reports that local and AWS runs share,
//! and how they are printed.

pub mod catalog;
pub mod crawl;
pub mod layout;
pub mod query;
pub mod status;
