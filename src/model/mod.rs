//! The pipeline language: the Rust types behind a pipeline YAML file.
//!
//! In: a JSON value that passed the JSON Schema (see `schema`). Out: a typed
//! `Pipeline`. The JSON Schema in `schema/pipeline.schema.json` is generated
//! from these types, so the doc comments here are what editors show.
//!
//! Maps are `IndexMap`s: the order a user writes things in is the order pipec
//! renders them in, which keeps generated output stable and reviewable.
//! Steps and call syntax are in `steps`.

mod consumers;
mod environments;
mod iceberg;
mod steps;

pub use consumers::*;
pub use environments::*;
pub use iceberg::*;
pub use steps::*;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// A Glue data pipeline: zones, table schemas, stages, crawlers and the triggers
/// that chain them into one Glue workflow.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "pipec pipeline")]
pub struct Pipeline {
    /// Pipeline name: lowercase letters, digits and hyphens. Prefixes every stack
    /// (`<pipeline>-glue-jobs`) and every AWS resource name.
    pub pipeline: String,
    /// What the pipeline is for; shown in stack and workflow descriptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags put on every stack (and so on every resource that takes tags).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub tags: IndexMap<String, String>,
    /// Defaults applied to every stage unless the stage sets its own.
    #[serde(default)]
    pub defaults: StageDefaults,
    /// Data zones: one S3 bucket each (for example raw, silver, gold).
    pub zones: IndexMap<String, Zone>,
    /// Glue connections (JDBC databases reached inside a VPC).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub connections: IndexMap<String, Connection>,
    /// Table schemas, declared once and referenced by name from stages and crawlers.
    pub schemas: IndexMap<String, TableSchema>,
    /// The ETL steps, each one Glue job.
    pub stages: IndexMap<String, Stage>,
    /// Glue crawlers that keep tables' partitions and schemas in step with S3.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub crawlers: IndexMap<String, Crawler>,
    /// Triggers that start stages and crawlers: on demand, on a schedule, on an
    /// event, or when other stages and crawlers reach a state.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub triggers: IndexMap<String, Trigger>,
    /// Settings of the pipeline's Glue workflow.
    #[serde(default)]
    pub workflow: WorkflowSettings,
    /// Alerts on stage failures.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub alerts: IndexMap<String, Alert>,
    /// The Athena workgroup that queries the zones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub athena: Option<Athena>,
    /// Account-wide settings that pipec manages only when asked.
    #[serde(default)]
    pub catalog: CatalogSettings,
    /// Readers of the data: each gets an IAM role that reads exactly the
    /// zones or tables it names, and an Athena workgroup of its own.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub consumers: IndexMap<String, Consumer>,
    /// Environments the pipeline is deployed to (for example `dev`, `prod`),
    /// each overlaying the account, region, names, workers, schedules,
    /// alerts, log retention and tags. `pipec build` then writes
    /// `generated/<pipeline>/<environment>/` for each.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub environments: IndexMap<String, Environment>,
}

/// A data zone: an S3 bucket that holds tables.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    /// Bucket name. Default: `<pipeline>-<zone>-<account id>-<region>`, unique
    /// per account and region without any manual naming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// What the zone holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Days after which noncurrent object versions expire (buckets are versioned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration_days: Option<u32>,
}

/// A Glue JDBC connection. The credentials stay in AWS Secrets Manager.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// Database engine behind the JDBC URL.
    pub engine: Engine,
    /// JDBC URL, for example `jdbc:postgresql://db.example.internal:5432/survey`.
    pub url: String,
    /// Name or ARN of the Secrets Manager secret that holds `username` and `password`.
    pub secret: String,
    /// Subnet the Glue job's network interface is placed in.
    pub subnet: String,
    /// Security groups of that network interface.
    pub security_groups: Vec<String>,
    /// Availability zone of the subnet, for example `us-east-1a`.
    pub availability_zone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Postgresql,
    Redshift,
    Mysql,
}

/// A table: its columns and where it lives (a zone prefix, or a JDBC table).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableSchema {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Zone whose bucket holds the table's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Prefix of the table inside the zone bucket. Default: the table name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// File format of a zone table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// CSV reading options (only with `format: csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvOptions>,
    /// Glue connection of a JDBC table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// Table name in the JDBC database, optionally schema-qualified (`public.respondents`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jdbc_table: Option<String>,
    /// Columns in file order, name to Hive/Glue type (`string`, `bigint`,
    /// `decimal(10,2)`, `array<string>`, ...) or to `{type, comment}`.
    pub columns: IndexMap<String, Column>,
    /// Columns that partition the table; each must also be listed in `columns`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_keys: Vec<String>,
    /// Sample files of the table for local runs (`pipec run --local`), relative
    /// to the pipeline file: a first local run reads them in place of data
    /// that a stage or an upstream system would have written. Never deployed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<String>,
    /// Data-quality rules (DQDL) checked whenever a stage writes this table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<Quality>,
    /// Iceberg options (only with `format: iceberg`): partition transforms,
    /// properties, merge keys and maintenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iceberg: Option<IcebergOptions>,
}

/// A column type, or a type with a comment.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Column {
    Type(String),
    Full(ColumnFull),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnFull {
    /// Hive/Glue type.
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Column {
    pub fn ty(&self) -> &str {
        match self {
            Column::Type(t) => t,
            Column::Full(f) => &f.ty,
        }
    }
    pub fn comment(&self) -> Option<&str> {
        match self {
            Column::Type(_) => None,
            Column::Full(f) => f.comment.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
    Parquet,
    Orc,
    /// An Apache Iceberg table in the Glue Data Catalog, written through the
    /// catalog by the stage's job (see `iceberg`).
    Iceberg,
}

/// How a CSV file is laid out.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// Whether the first line holds column names (it is skipped; `columns` name them).
    #[serde(default = "default_true")]
    pub header: bool,
    /// Field delimiter: one character.
    #[serde(default = "default_comma")]
    pub delimiter: String,
    /// Quote character: one character.
    #[serde(default = "default_quote")]
    pub quote: String,
    /// Escape character inside quoted fields: one character.
    #[serde(default = "default_backslash")]
    pub escape: String,
    /// Text that stands for a missing value, for example `NA`.
    #[serde(default)]
    pub null_value: String,
    /// `rfc4180`: quotes inside quoted values are doubled (`"say ""hi"""`), as
    /// Python's csv module and most exporters write them, and quoted values
    /// may hold line breaks. Spark then reads with `escape` set to `quote`
    /// and `multiLine`. Without a preset, `escape` (default `\\`) escapes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<CsvPreset>,
    /// Whether values may be enclosed in `quote` characters (default true).
    /// Athena reads quoted CSV with OpenCSVSerde, which pipec declares as all
    /// strings; set `false` for files that never quote, and Athena reads the
    /// declared types and `null_value` with LazySimpleSerDe.
    #[serde(default = "default_true")]
    pub quoted: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: true,
            delimiter: ",".into(),
            quote: "\"".into(),
            escape: "\\".into(),
            null_value: String::new(),
            preset: None,
            quoted: true,
        }
    }
}

impl CsvOptions {
    /// The escape character Spark reads with: the quote itself under RFC 4180.
    pub fn spark_escape(&self) -> &str {
        match self.preset {
            Some(CsvPreset::Rfc4180) => &self.quote,
            None => &self.escape,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CsvPreset {
    Rfc4180,
}

fn default_true() -> bool {
    true
}
fn default_comma() -> String {
    ",".into()
}
fn default_quote() -> String {
    "\"".into()
}
fn default_backslash() -> String {
    "\\".into()
}

/// Data-quality rules in DQDL, for example `IsComplete "id"` or `ColumnValues "price" > 0`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Quality {
    /// DQDL rules, one per item.
    pub rules: Vec<String>,
    /// `fail` stops the stage when a rule fails; `warn` only reports.
    #[serde(default)]
    pub on_failure: OnFailure,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    #[default]
    Fail,
    Warn,
}

/// Job settings; each may be set in `defaults` and overridden per stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageDefaults {
    /// Glue version. Spark: `3.0`, `4.0`, `5.0` (default), `5.1`, `6.0`. Python shell: `3.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glue_version: Option<String>,
    /// Spark worker type. Default `G.1X`. G.12X, G.16X and R.1X to R.8X
    /// (memory-optimized) need Glue 4.0 or later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_type: Option<WorkerType>,
    /// Number of Spark workers. Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// DPUs: Python shell `0.0625` or `1`; not together with `worker_type`/`workers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capacity: Option<f64>,
    /// Minutes before the run is stopped. Default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_minutes: Option<u32>,
    /// Retries after a failed run. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Job bookmarks: `enable` processes only new data on each run. Default `disable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookmarks: Option<Bookmarks>,
    /// Concurrent runs allowed. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_runs: Option<u32>,
    /// Whether the job publishes Glue job metrics. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<bool>,
    /// Days CloudWatch keeps the job logs. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_retention_days: Option<u32>,
    /// Spark stages: `flex` runs on spare capacity at a lower price, for jobs
    /// that may start late (Glue 3.0+, G.1X or G.2X workers). Default `standard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_class: Option<ExecutionClass>,
    /// Spark stages: Glue adds and removes workers as the job needs, up to
    /// `workers` (Glue 3.0+). Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_scaling: Option<bool>,
    /// Queue a run that would exceed the account's limits instead of failing
    /// it (the job's `JobRunQueuingEnabled`). Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_run_queuing: Option<bool>,
    /// Spark stages: what a `cast` does with values that were not null and do
    /// not convert, unless the cast sets `on_invalid`. Default `warn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cast_on_invalid: Option<OnInvalid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum WorkerType {
    #[serde(rename = "G.025X")]
    G025X,
    #[serde(rename = "G.1X")]
    G1X,
    #[serde(rename = "G.2X")]
    G2X,
    #[serde(rename = "G.4X")]
    G4X,
    #[serde(rename = "G.8X")]
    G8X,
    #[serde(rename = "G.12X")]
    G12X,
    #[serde(rename = "G.16X")]
    G16X,
    #[serde(rename = "R.1X")]
    R1X,
    #[serde(rename = "R.2X")]
    R2X,
    #[serde(rename = "R.4X")]
    R4X,
    #[serde(rename = "R.8X")]
    R8X,
    #[serde(rename = "Standard")]
    Standard,
}

/// How Glue schedules a job's runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionClass {
    #[default]
    Standard,
    Flex,
}

impl ExecutionClass {
    /// The value of `ExecutionClass` on `AWS::Glue::Job`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionClass::Standard => "STANDARD",
            ExecutionClass::Flex => "FLEX",
        }
    }
}

impl WorkerType {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerType::G025X => "G.025X",
            WorkerType::G1X => "G.1X",
            WorkerType::G2X => "G.2X",
            WorkerType::G4X => "G.4X",
            WorkerType::G8X => "G.8X",
            WorkerType::G12X => "G.12X",
            WorkerType::G16X => "G.16X",
            WorkerType::R1X => "R.1X",
            WorkerType::R2X => "R.2X",
            WorkerType::R4X => "R.4X",
            WorkerType::R8X => "R.8X",
            WorkerType::Standard => "Standard",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Bookmarks {
    Enable,
    Disable,
    Pause,
}

/// One ETL step: a Glue job that reads inputs, transforms them and writes outputs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `spark` (default) or `python-shell`.
    #[serde(default)]
    pub kind: StageKind,
    /// Python shell only: download a file over HTTPS (and unzip it) into a table's location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<Download>,
    /// Your own script instead of generated code, relative to the pipeline file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Tables the stage reads. Each becomes a frame named after the table (or `as`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Input>,
    /// Transforms that build the `main` frame, starting from the first input.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// More named frames, for stages that write several tables (each from another frame).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub frames: IndexMap<String, Frame>,
    /// Tables the stage writes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Output>,
    /// Job settings; unset ones come from `defaults`.
    #[serde(flatten)]
    pub settings: StageDefaults,
    /// Extra job arguments (`--key: value`), passed to the script as data.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub arguments: IndexMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StageKind {
    #[default]
    Spark,
    PythonShell,
}

/// Download a file over HTTPS into the location of a table (unzipping it if asked).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Download {
    /// HTTPS URL of the file.
    pub url: String,
    /// Unpack a zip archive and keep its members (all, or those matching `members`).
    #[serde(default)]
    pub unzip: bool,
    /// Glob patterns of archive members to keep, for example `*.csv`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Table whose location receives the file(s).
    pub to: String,
}

/// A table read by a stage: its name, or `{table, as, input_file_column}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Input {
    Table(String),
    Aliased(AliasedInput),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AliasedInput {
    pub table: String,
    /// Frame name for this input inside the stage. Default: the table name.
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Add a `string` column of this name holding the file each row was read
    /// from (Spark's `input_file_name()`), for lineage. Zone tables only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_file_column: Option<String>,
}

impl Input {
    pub fn table(&self) -> &str {
        match self {
            Input::Table(t) => t,
            Input::Aliased(a) => &a.table,
        }
    }
    pub fn frame(&self) -> &str {
        match self {
            Input::Table(t) => t,
            Input::Aliased(a) => a.alias.as_deref().unwrap_or(&a.table),
        }
    }
    pub fn input_file_column(&self) -> Option<&str> {
        match self {
            Input::Table(_) => None,
            Input::Aliased(a) => a.input_file_column.as_deref(),
        }
    }
}

/// A named frame: transforms applied to another frame.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Frame {
    /// Input or earlier frame this frame starts from.
    pub from: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
}

/// A table written by a stage.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// Table written. Its schema decides the columns written and their types.
    pub table: String,
    /// Frame written. Default `main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `overwrite` (default; only the partitions written are replaced), `append`,
    /// `error` when data already exists, or `merge` (Iceberg tables: update
    /// matched rows, insert the others, delete those `merge.delete_when` picks).
    #[serde(default)]
    pub mode: WriteMode,
    /// How `mode: merge` matches rows and treats duplicate source keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeOptions>,
    /// Compression of Parquet/ORC/JSON/CSV files. Default `snappy` (Parquet, ORC), none otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// Output file count hint: repartition to this many files before writing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WriteMode {
    #[default]
    Overwrite,
    Append,
    Error,
    Merge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Snappy,
    Gzip,
    Zstd,
    Lz4,
    Bzip2,
}

/// A Glue crawler over declared tables.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Crawler {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tables the crawler keeps up to date (new partitions, schema changes).
    pub tables: Vec<String>,
    /// What to do when the crawler finds a changed schema. Default `log`.
    #[serde(default)]
    pub on_schema_change: SchemaChange,
    /// Kept for compatibility and ignored: pipec's crawlers target catalog
    /// tables, and Glue applies a recrawl policy to Amazon S3 targets only.
    #[serde(default)]
    pub recrawl: Recrawl,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SchemaChange {
    #[default]
    Log,
    UpdateTable,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Recrawl {
    #[default]
    NewFoldersOnly,
    Everything,
}

/// A trigger. Its kind follows from what it has: `schedule` (scheduled),
/// `when` (conditional), `event` (EventBridge), or none of them (on demand).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Glue cron expression: `cron(Minutes Hours Day-of-month Month Day-of-week Year)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Conditions on stages and crawlers: `{all: [...]}` or `{any: [...]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    /// Start on EventBridge events, optionally batched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventTrigger>,
    /// Stages and crawlers to start.
    pub start: Vec<Action>,
    /// A scheduled trigger that is created inactive: its schedule does not
    /// run until the trigger is started (environments set it with `schedules: paused`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
}

impl Trigger {
    pub fn kind(&self) -> TriggerKind {
        if self.schedule.is_some() {
            TriggerKind::Scheduled
        } else if self.when.is_some() {
            TriggerKind::Conditional
        } else if self.event.is_some() {
            TriggerKind::Event
        } else {
            TriggerKind::OnDemand
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    OnDemand,
    Scheduled,
    Conditional,
    Event,
}

/// All conditions (`all`) or at least one (`any`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct When {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any: Vec<Condition>,
}

/// A stage or crawler name (meaning: it succeeded), or `{stage|crawler, state}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Condition {
    Succeeded(String),
    Full(FullCondition),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FullCondition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crawler: Option<String>,
    /// Stages: succeeded, failed, timeout, stopped. Crawlers: succeeded, failed, cancelled.
    #[serde(default)]
    pub state: State,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Succeeded,
    Failed,
    Timeout,
    Stopped,
    Cancelled,
}

impl State {
    pub fn glue(self) -> &'static str {
        match self {
            State::Succeeded => "SUCCEEDED",
            State::Failed => "FAILED",
            State::Timeout => "TIMEOUT",
            State::Stopped => "STOPPED",
            State::Cancelled => "CANCELLED",
        }
    }
}

/// EventBridge-driven start with optional batching.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventTrigger {
    /// Start after this many events. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    /// ... or after this many seconds since the first event. Default 900.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_window_seconds: Option<u32>,
    /// Start when objects are created under this zone's bucket (optionally under `prefix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// A stage or crawler to start: its name, or `{stage, arguments, timeout_minutes}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Action {
    Name(String),
    Full(FullAction),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FullAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crawler: Option<String>,
    /// Job arguments for this start (stages only).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub arguments: IndexMap<String, String>,
    /// Timeout of this run in minutes (stages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_minutes: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Concurrent workflow runs allowed. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_runs: Option<u32>,
    /// Run properties shared by the workflow's jobs.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub properties: IndexMap<String, String>,
}

/// Notify on stage runs that end badly.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    /// Stages watched. Default: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
    /// Glue job states that raise the alert. Default: FAILED, TIMEOUT.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<AlertState>,
    /// E-mail addresses subscribed to the alert topic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum AlertState {
    Failed,
    Timeout,
    Stopped,
}

/// The Athena workgroup for querying the zones.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Athena {
    /// Workgroup name. Default: the pipeline name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workgroup: Option<String>,
    /// Most data one query may scan, for example `10 GB` (at least `10 MB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_limit: Option<String>,
    /// Days query results are kept. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_retention_days: Option<u32>,
}

/// Account-and-region-wide Glue settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogSettings {
    /// Manage Data Catalog encryption for the account and region. Off by default:
    /// it is one setting per account and region, so only one pipeline may own it.
    #[serde(default)]
    pub manage_encryption: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys() {
        assert_eq!(
            OrderKey::parse("Event Time desc nulls last"),
            OrderKey {
                column: "Event Time".into(),
                descending: true,
                nulls_first: Some(false)
            }
        );
        assert_eq!(OrderKey::parse("id").column, "id");
    }

    #[test]
    fn calls() {
        assert_eq!(
            Call::parse("sum(dep_delay)"),
            Some(Call {
                function: "sum".into(),
                args: vec!["dep_delay".into()],
                by: None,
            })
        );
        let last = Call::parse("last(price) by Invoice Date desc").unwrap();
        assert_eq!(last.args, vec!["price"]);
        assert_eq!(last.by.as_ref().unwrap().column, "Invoice Date");
        assert!(last.by.unwrap().descending);
        assert!(Call::parse("last(price) desc").is_none());
        assert!(Call::parse("last(price) by").is_none());
        assert_eq!(Call::parse("row_number()").unwrap().args.len(), 0);
        assert_eq!(Call::parse("lag(x, 2)").unwrap().args, vec!["x", "2"]);
        assert!(Call::parse("sum dep").is_none());
    }
}
