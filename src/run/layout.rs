//! Where a local run keeps its data: zones, JDBC stand-ins, the local catalog
//! and each run's logs, all under one root directory.
//!
//! In: the pipeline and an optional root. Out: paths. Nothing is created here;
//! the runner creates what it writes.

use crate::model::{Pipeline, TableSchema};
use std::path::{Path, PathBuf};

/// The default root, relative to the working directory: `.pipec/local/`,
/// one folder per pipeline below it. `.pipec/` is git-ignored.
pub const DEFAULT_ROOT: &str = ".pipec/local";

/// The environment variable that moves the root, as `--local-dir` does.
pub const ROOT_ENV: &str = "PIPEC_LOCAL_DIR";

/// The local directories of one pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalLayout {
    /// `<root>/<pipeline>/`.
    dir: PathBuf,
}

impl LocalLayout {
    /// The layout of `pipeline` under `root` (`--local-dir`), else under
    /// `$PIPEC_LOCAL_DIR`, else under `.pipec/local`.
    pub fn new(pipeline: &str, root: Option<&Path>) -> LocalLayout {
        let root = match root {
            Some(r) => r.to_path_buf(),
            None => std::env::var_os(ROOT_ENV)
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT)),
        };
        LocalLayout {
            dir: root.join(pipeline),
        }
    }

    /// The pipeline's folder: `<root>/<pipeline>/`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A zone's directory: `<root>/<pipeline>/<zone>/`, the local bucket.
    pub fn zone(&self, zone: &str) -> PathBuf {
        self.dir.join(zone)
    }

    /// A file table's location: its zone's directory joined with its `path`
    /// (default: the table's name), as the S3 location is the bucket joined
    /// with it. None for a JDBC table.
    pub fn table(&self, name: &str, table: &TableSchema) -> Option<PathBuf> {
        let zone = table.zone.as_deref()?;
        let path = table.path.as_deref().unwrap_or(name);
        Some(self.zone(zone).join(path.trim_matches('/')))
    }

    /// The local stand-in of a JDBC table, written as Parquet when no
    /// database is given for its connection:
    /// `<root>/<pipeline>/jdbc/<connection>/<jdbc_table>/`.
    pub fn jdbc_standin(&self, connection: &str, jdbc_table: &str) -> PathBuf {
        self.jdbc_connection(connection).join(jdbc_table)
    }

    /// The folder of one connection's stand-ins,
    /// `<root>/<pipeline>/jdbc/<connection>/`: the runtime joins the JDBC
    /// table's name to it, as `jdbc_standin` does.
    pub fn jdbc_connection(&self, connection: &str) -> PathBuf {
        self.dir.join("jdbc").join(connection)
    }

    /// The local Glue Data Catalog that local crawlers write and
    /// `pipec query --local` reads.
    pub fn catalog(&self) -> PathBuf {
        self.dir.join("catalog.json")
    }

    /// The folder of one run's logs, one file per node and attempt.
    pub fn run_logs(&self, run_id: &str) -> PathBuf {
        self.dir.join("runs").join(run_id)
    }
}

/// The layout of a validated pipeline's file tables, in declaration order:
/// table name and local location.
pub fn table_locations(p: &Pipeline, layout: &LocalLayout) -> Vec<(String, PathBuf)> {
    p.schemas
        .iter()
        .filter_map(|(name, t)| layout.table(name, t).map(|l| (name.clone(), l)))
        .collect()
}
