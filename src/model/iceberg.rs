//! The Iceberg parts of the language: a table's `iceberg:` block (partition
//! transforms, table properties, merge keys, maintenance) and an output's
//! `merge:` block.
//!
//! In: the JSON value of those blocks. Out: typed options that validation
//! checks and the renderers read. Transforms stay text here; validation parses
//! them with `Transform::parse` and reports where they are wrong.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Iceberg table options (only with `format: iceberg`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IcebergOptions {
    /// Partition transforms, in order: a column name (identity),
    /// `years(col)`, `months(col)`, `days(col)`, `hours(col)`,
    /// `bucket(N, col)` or `truncate(N, col)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition: Vec<String>,
    /// Iceberg table properties from an allow-list: `format-version` (`1`,
    /// `2` default, `3` on Glue 5.1 and later), `write.distribution-mode`,
    /// `write.merge.mode`, `write.update.mode`, `write.delete.mode`,
    /// `write.parquet.compression-codec`, `write.target-file-size-bytes`,
    /// `history.expire.max-snapshot-age-ms`, `history.expire.min-snapshots-to-keep`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub properties: IndexMap<String, String>,
    /// Key columns: the default `on` of a `mode: merge` output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Glue Data Catalog table optimizers: each is on unless turned off.
    #[serde(default)]
    pub maintenance: Maintenance,
}

/// Table optimizers of an Iceberg table (compaction, snapshot retention,
/// orphan file deletion), with AWS's default settings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Maintenance {
    /// Compact small data files. Default true.
    #[serde(default = "yes")]
    pub compaction: bool,
    /// Expire old snapshots. Default true.
    #[serde(default = "yes")]
    pub snapshot_retention: bool,
    /// Days a snapshot is kept before it may expire. Default 5.
    #[serde(default = "five")]
    pub snapshot_retention_days: u32,
    /// Snapshots always kept, however old. Default 1.
    #[serde(default = "one")]
    pub snapshots_to_keep: u32,
    /// Delete files no snapshot refers to. Default true.
    #[serde(default = "yes")]
    pub orphan_file_deletion: bool,
    /// Days an unreferenced file is kept before it is deleted. Default 3.
    #[serde(default = "three")]
    pub orphan_file_retention_days: u32,
}

impl Default for Maintenance {
    fn default() -> Self {
        Maintenance {
            compaction: true,
            snapshot_retention: true,
            snapshot_retention_days: 5,
            snapshots_to_keep: 1,
            orphan_file_deletion: true,
            orphan_file_retention_days: 3,
        }
    }
}

impl Maintenance {
    /// Whether any optimizer is on.
    pub fn any(&self) -> bool {
        self.compaction || self.snapshot_retention || self.orphan_file_deletion
    }
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}
fn three() -> u32 {
    3
}
fn five() -> u32 {
    5
}

/// How a `mode: merge` output matches and changes rows.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeOptions {
    /// Columns that identify a row. Default: the table's `iceberg.keys`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on: Vec<String>,
    /// Several source rows with the same key: `error` (default) stops the
    /// stage, `{latest_by: COL}` keeps the row with the greatest `COL`.
    #[serde(default)]
    pub duplicates: Duplicates,
    /// Spark SQL predicate over the source frame: a matched row for which it
    /// holds is deleted from the table (and such a row is never inserted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_when: Option<String>,
}

/// What a merge does with duplicate source keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Duplicates {
    Policy(DuplicatePolicy),
    LatestBy(LatestBy),
}

impl Default for Duplicates {
    fn default() -> Self {
        Duplicates::Policy(DuplicatePolicy::Error)
    }
}

impl Duplicates {
    /// The order column of `latest_by`, if that is the policy.
    pub fn latest_by(&self) -> Option<&str> {
        match self {
            Duplicates::LatestBy(l) => Some(&l.latest_by),
            Duplicates::Policy(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DuplicatePolicy {
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatestBy {
    /// Column whose greatest value wins among rows of one key.
    pub latest_by: String,
}

/// A parsed partition transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transform {
    Identity(String),
    Years(String),
    Months(String),
    Days(String),
    Hours(String),
    Bucket(u32, String),
    Truncate(u32, String),
}

impl Transform {
    /// Parses `col`, `days(col)`, `bucket(16, col)`, ...; None when the text
    /// is none of them.
    pub fn parse(text: &str) -> Option<Transform> {
        let t = text.trim();
        let Some(open) = t.find('(') else {
            return (!t.is_empty() && !t.contains(')')).then(|| Transform::Identity(t.into()));
        };
        let inner = t[open + 1..].strip_suffix(')')?;
        let name = t[..open].trim().to_ascii_lowercase();
        let args: Vec<&str> = inner.split(',').map(str::trim).collect();
        let one = |f: fn(String) -> Transform| match args.as_slice() {
            [c] if !c.is_empty() => Some(f((*c).to_string())),
            _ => None,
        };
        let two = |f: fn(u32, String) -> Transform| match args.as_slice() {
            [n, c] if !c.is_empty() => n
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| f(n, (*c).to_string())),
            _ => None,
        };
        match name.as_str() {
            "years" | "year" => one(Transform::Years),
            "months" | "month" => one(Transform::Months),
            "days" | "day" => one(Transform::Days),
            "hours" | "hour" => one(Transform::Hours),
            "bucket" => two(Transform::Bucket),
            "truncate" => two(Transform::Truncate),
            "identity" => one(Transform::Identity),
            _ => None,
        }
    }

    pub fn column(&self) -> &str {
        match self {
            Transform::Identity(c)
            | Transform::Years(c)
            | Transform::Months(c)
            | Transform::Days(c)
            | Transform::Hours(c)
            | Transform::Bucket(_, c)
            | Transform::Truncate(_, c) => c,
        }
    }

    /// The transform's name as Iceberg's partition spec and Spark DDL spell it.
    pub fn name(&self) -> String {
        match self {
            Transform::Identity(_) => "identity".into(),
            Transform::Years(_) => "years".into(),
            Transform::Months(_) => "months".into(),
            Transform::Days(_) => "days".into(),
            Transform::Hours(_) => "hours".into(),
            Transform::Bucket(n, _) => format!("bucket[{n}]"),
            Transform::Truncate(n, _) => format!("truncate[{n}]"),
        }
    }

    /// The number argument of `bucket` and `truncate`.
    pub fn width(&self) -> Option<u32> {
        match self {
            Transform::Bucket(n, _) | Transform::Truncate(n, _) => Some(*n),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms() {
        assert_eq!(
            Transform::parse("id"),
            Some(Transform::Identity("id".into()))
        );
        assert_eq!(
            Transform::parse("days(ts)"),
            Some(Transform::Days("ts".into()))
        );
        assert_eq!(
            Transform::parse("bucket(16, id)"),
            Some(Transform::Bucket(16, "id".into()))
        );
        assert_eq!(Transform::parse("bucket(0, id)"), None);
        assert_eq!(Transform::parse("bucket(id)"), None);
        assert_eq!(Transform::parse("weeks(ts)"), None);
        assert_eq!(Transform::parse("days(ts"), None);
        assert_eq!(Transform::parse(""), None);
    }
}
