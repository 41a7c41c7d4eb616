//! The `environments:` key: what each environment changes in the pipeline.
//!
//! In: the `environments` map of a pipeline file. Out: typed `Environment`s.
//! What an environment means for the pipeline (the overlay) is `crate::env`;
//! the checks of the values are `validate::environments`.

use super::WorkerType;
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One environment (for example `dev` or `prod`): the pipeline as deployed
/// to one account and region. Each key overlays the pipeline; the rest
/// stays as the file declares it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// The AWS account ID (12 digits) this environment deploys to. `deploy`,
    /// `diff`, `destroy` and `run` refuse to act when the credentials belong
    /// to another account (checked with STS GetCallerIdentity first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The AWS region this environment deploys to, for example `eu-west-1`;
    /// used when `--region` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Put before the pipeline name in every stack and resource name
    /// (`dev-` makes `dev-etl-glue-jobs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// Put after the pipeline name in every stack and resource name
    /// (`-dev` makes `etl-dev-glue-jobs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_suffix: Option<String>,
    /// Stage settings over the pipeline's `defaults`. A stage's own setting
    /// still wins over them; set it under `stages` to change it here.
    #[serde(default, skip_serializing_if = "EnvSettings::is_empty")]
    pub defaults: EnvSettings,
    /// Stage settings over a stage's own, by stage name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub stages: IndexMap<String, EnvSettings>,
    /// Whether scheduled triggers run (`active`, the default) or are created
    /// paused (`paused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedules: Option<Schedules>,
    /// E-mail addresses that replace those of every alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_emails: Option<Vec<String>>,
    /// Tags added to the pipeline's tags (a key given here wins).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub tags: IndexMap<String, String>,
}

/// The stage settings an environment may change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvSettings {
    /// Glue worker type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_type: Option<WorkerType>,
    /// Number of workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// Days the job's CloudWatch log groups keep their events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_retention_days: Option<u32>,
}

impl EnvSettings {
    pub fn is_empty(&self) -> bool {
        self.worker_type.is_none() && self.workers.is_none() && self.log_retention_days.is_none()
    }
}

/// Whether an environment's scheduled triggers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Schedules {
    Active,
    Paused,
}
