//! `pipec review`: what a change to `generated/` means, from git alone (no
//! AWS).
//!
//! In: two versions of the output folder (`tree`: a git revision and the
//! working tree). Out: a `Review` (`compare`): per pipeline, per stack the
//! resources added, removed, replaced and modified (`impact`), IAM grants
//! added and removed with widening flagged (`impact::iam`), the data at
//! risk, table schema changes graded for readers, per stage the script's
//! diff, and the workflow graph with changed nodes marked. `render` writes
//! it as text, Markdown (a pull-request comment) or JSON; `Concern`s are
//! what `--fail-on` can fail on.

pub mod compare;
pub mod render;
pub mod tree;

pub use compare::{Review, compare};

/// What `--fail-on` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Concern {
    /// A role or policy grants more than before.
    IamWidening,
    /// A bucket, key, database or table removed or replaced, a deletion
    /// policy that no longer keeps data, or a partition-key change.
    DataLoss,
    /// A table change that breaks its readers (a column removed, renamed or
    /// narrowed, a moved location, a changed partition key, a table removed).
    BreakingSchema,
}

impl Concern {
    pub fn name(self) -> &'static str {
        match self {
            Concern::IamWidening => "iam-widening",
            Concern::DataLoss => "data-loss",
            Concern::BreakingSchema => "breaking-schema",
        }
    }

    pub const ALL: [Concern; 3] = [
        Concern::IamWidening,
        Concern::DataLoss,
        Concern::BreakingSchema,
    ];
}

/// What stops a review. Wording lives in `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewError {
    /// A git command failed (not a repository, no such path).
    Git { command: String, detail: String },
    /// `--base` names no commit.
    UnknownRevision { rev: String },
    /// A file of the output folder cannot be read.
    Read { path: String, detail: String },
    /// A file is larger than pipec reads.
    TooLarge { path: String },
    /// A committed file is not what pipec writes (a manifest or template
    /// that does not parse).
    Malformed { path: String, detail: String },
}

impl ReviewError {
    pub fn message(&self) -> String {
        match self {
            ReviewError::Git { command, detail } => format!("`{command}` failed: {detail}"),
            ReviewError::UnknownRevision { rev } => format!(
                "--base `{rev}` is not a commit in this repository; name a branch, tag or commit (for example origin/main)"
            ),
            ReviewError::Read { path, detail } => format!("cannot read {path}: {detail}"),
            ReviewError::TooLarge { path } => format!(
                "{path} is larger than {} MB, more than pipec ever writes",
                crate::MAX_FILE_BYTES / (1024 * 1024)
            ),
            ReviewError::Malformed { path, detail } => {
                format!("{path} is not a file pipec wrote: {detail}")
            }
        }
    }
}

impl std::fmt::Display for ReviewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// Where the two versions come from.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--base`: a branch, tag or commit.
    pub base: String,
    /// `--head`: a second revision; `None` is the working tree.
    pub head: Option<String>,
    /// The output folder, relative to the current directory.
    pub generated: std::path::PathBuf,
    /// `--env`: only that environment's folders (`<pipeline>/<env>/`).
    pub env: Option<String>,
}

/// Reads both versions and compares them. The base is where `--base` and
/// the head forked, as a pull request shows it.
pub fn load(opts: &Options) -> Result<Review, ReviewError> {
    let head_commit = opts.head.as_deref().map(tree::commit).transpose()?;
    let base = tree::base_commit(&opts.base, head_commit.as_deref().unwrap_or("HEAD"))?;
    let base_tree = tree::from_git(
        &base,
        &opts.generated,
        &format!("{} ({})", opts.base, tree::short(&base)),
    )?;
    let head_tree = match (&head_commit, &opts.head) {
        (Some(c), Some(name)) => {
            tree::from_git(c, &opts.generated, &format!("{name} ({})", tree::short(c)))?
        }
        _ => tree::from_dir(&opts.generated)?,
    };
    match &opts.env {
        Some(env) => compare(&only_env(base_tree, env), &only_env(head_tree, env)),
        None => compare(&base_tree, &head_tree),
    }
}

/// The files of one environment's folders, `<pipeline>/<env>/...`.
fn only_env(mut t: tree::Tree, env: &str) -> tree::Tree {
    t.files
        .retain(|path, _| path.split('/').nth(1) == Some(env) && path.matches('/').count() >= 2);
    t
}
