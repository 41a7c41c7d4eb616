//! The `consumers:` section: the readers of a pipeline's data.
//!
//! In: the section as it passed the JSON Schema. Out: typed `Consumer`s,
//! each naming what it reads (zones or tables) and who may assume its role.
//! `validate::consumers` checks them and `render::stacks::consumers` turns
//! them into a role and an Athena workgroup each.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A reader of the pipeline's data, such as a team of analysts. pipec
/// creates an IAM role for it that can read exactly the tables it is given
/// (their S3 prefixes and catalog entries, and the pipeline's KMS key for
/// decryption only), and an Athena workgroup of its own whose results only
/// that role can write.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consumer {
    /// Who the consumer is; shown in the role's and workgroup's descriptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What the consumer reads: zone or table names (`gold`, `orders_by_country`),
    /// or `{zone: NAME}` / `{table: NAME}` where a name is both. A zone gives
    /// every table declared in it.
    pub read: Vec<ReadItem>,
    /// Who may assume the consumer's role: an IAM role ARN
    /// (`arn:aws:iam::123456789012:role/analyst`), a role of the account
    /// the pipeline is deployed to (`role/analyst`), an IAM user ARN, or an
    /// AWS account (`123456789012`, or its `:root` ARN), whose own IAM
    /// policies then decide who of it may.
    pub principals: Vec<String>,
    /// Most data one query of this consumer may scan, for example `1 GB`
    /// (at least `10 MB`). Default: the pipeline's `athena.scan_limit`,
    /// else none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_limit: Option<String>,
    /// Days the consumer's query results are kept. Default: the pipeline's
    /// `athena.results_retention_days`, else 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_retention_days: Option<u32>,
}

/// One thing a consumer reads: a zone or table name, or one said explicitly.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ReadItem {
    Name(String),
    Zone(ReadZone),
    Table(ReadTable),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadZone {
    /// Every table of this zone.
    pub zone: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadTable {
    /// This table.
    pub table: String,
}
