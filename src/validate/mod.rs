//! The semantic phase: checks that need the whole pipeline, not one value.
//!
//! In: a `Pipeline` that passed the JSON Schema, and its `Document` for
//! locations. Out: a `ValidPipeline` (only this module can make one, so
//! renderers can only ever see checked input) or the diagnostics that stop it.
//!
//! The checks: references and duplicates, AWS naming rules and derived-name
//! lengths, CloudFormation logical ID clashes, Glue job settings, cron syntax,
//! Hive types, table locations, DQDL rules, the trigger graph (`graph`) and
//! the columns of every frame at every step (`columns`).

mod athena;
mod columns;
mod error;
mod graph;
mod limits;
pub mod rules;
pub mod text;

pub use error::SemanticError;

use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::names::{self, Kind};
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
}

impl ValidPipeline {
    /// The pipeline file's name without directories, such as `etl.yaml`.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
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
pub const SPARK_GLUE_VERSIONS: [&str; 3] = ["3.0", "4.0", "5.0"];
pub const DEFAULT_SPARK_GLUE_VERSION: &str = "5.0";
/// Python shell jobs run Python 3.9 on Glue version 3.0.
pub const PYTHON_SHELL_GLUE_VERSION: &str = "3.0";
/// CloudWatch Logs retention values.
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
/// Job arguments pipec sets itself; users set them through stage settings instead.
const RESERVED_ARGUMENTS: [&str; 12] = [
    "--JOB_NAME",
    "--job-bookmark-option",
    "--enable-metrics",
    "--TempDir",
    "--enable-continuous-cloudwatch-log",
    "--enable-glue-datacatalog",
    "--job-language",
    "--extra-py-files",
    "--additional-python-modules",
    "--enable-job-insights",
    "--continuous-log-logGroup",
    "--enable-observability-metrics",
];
/// Glue's own special parameters that a stage must not set: they change where
/// code, libraries, logs and Spark settings come from, which pipec owns (its
/// IAM roles, log groups and formats are derived from them), or they are set
/// by Glue itself. From "Using job parameters in AWS Glue jobs"
/// (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html).
/// Users may still set the tuning parameters that change none of that:
/// `--enable-rename-algorithm-v2`, `--enable-s3-parquet-optimized-committer`,
/// `--executor-cores` and `--use-postgres-driver`.
const GLUE_INTERNAL_ARGUMENTS: [&str; 29] = [
    "--JOB_ID",
    "--JOB_RUN_ID",
    "--SECURITY_CONFIGURATION",
    "--RedshiftTempDir",
    "--scriptLocation",
    "--class",
    "--conf",
    "--custom-logGroup-prefix",
    "--custom-logStream-prefix",
    "--continuous-log-logStreamPrefix",
    "--continuous-log-conversionPattern",
    "--enable-continuous-log-filter",
    "--customer-driver-env-vars",
    "--customer-executor-env-vars",
    "--datalake-formats",
    "--disable-proxy-v2",
    "--enable-auto-scaling",
    "--auto-scale-within-microbatch",
    "--enable-lakeformation-fine-grained-access",
    "--enable-spark-ui",
    "--spark-event-logs-path",
    "--encryption-type",
    "--extra-files",
    "--extra-jars",
    "--user-jars-first",
    "--python-modules-installer-option",
    "--s3-py-modules",
    "--library-set",
    "--job-type",
];

/// Why a stage or a trigger action must not set job argument `key` (with its
/// `--`), if it must not.
fn reserved_argument(key: &str) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    if RESERVED_ARGUMENTS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(key))
        || ["--pipec_", "--pipec-", "--input-", "--output-"]
            .iter()
            .any(|p| lower.starts_with(p))
    {
        Some("set by pipec")
    } else if GLUE_INTERNAL_ARGUMENTS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(key))
    {
        Some("a Glue parameter that pipec owns")
    } else {
        None
    }
}

/// Checks the job arguments of a stage or a trigger action: their syntax, and
/// that none replaces one pipec or Glue owns.
fn check_arguments(cx: &mut Ctx, base: &[&str], args: &IndexMap<String, String>) {
    for k in args.keys() {
        let mut parts = base.to_vec();
        parts.push(k);
        let ap = ptr(&parts);
        let key = if k.starts_with("--") {
            k.clone()
        } else {
            format!("--{k}")
        };
        if key.len() < 3
            || !key[2..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            cx.at_key(
                &ap,
                SemanticError::BadName {
                    what: "argument",
                    name: k.clone(),
                    reason: "use letters, digits, `_` and `-`".into(),
                },
            );
        } else if let Some(owner) = reserved_argument(&key) {
            cx.at_key(&ap, SemanticError::ReservedArgument { key, owner });
        }
    }
}

pub(crate) struct Ctx<'a> {
    pub p: &'a Pipeline,
    doc: &'a Document,
    pub diags: Vec<Diagnostic>,
    user_scripts: IndexMap<String, String>,
}

impl Ctx<'_> {
    /// Reports at the key of the node (a name being declared).
    pub fn at_key(&mut self, pointer: &str, e: SemanticError) {
        let span = self.doc.locations.key(pointer);
        self.push(span, e);
    }
    /// Reports at the value of the node (a reference or setting).
    pub fn at_value(&mut self, pointer: &str, e: SemanticError) {
        let span = self.doc.locations.value(pointer);
        self.push(span, e);
    }
    fn push(&mut self, span: crate::source::Span, e: SemanticError) {
        self.diags.push(diagnostic(span, &e));
    }
    fn unknown(
        &mut self,
        pointer: &str,
        what: &'static str,
        name: &str,
        candidates: impl IntoIterator<Item = String>,
    ) {
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
    file_name: &str,
    base_dir: &Path,
) -> (Option<ValidPipeline>, Vec<Diagnostic>) {
    let mut cx = Ctx {
        p: &pipeline,
        doc,
        diags: Vec::new(),
        user_scripts: IndexMap::new(),
    };
    check_file_name(&mut cx, file_name);
    check_names(&mut cx);
    check_zones(&mut cx);
    check_connections(&mut cx);
    check_tables(&mut cx);
    athena::check(&mut cx);
    check_stages(&mut cx, base_dir);
    check_crawlers(&mut cx);
    check_triggers(&mut cx);
    graph::check(&mut cx);
    check_alerts(&mut cx);
    check_misc(&mut cx);
    limits::check(&mut cx, file_name);
    let diags = cx.diags;
    let user_scripts = cx.user_scripts;
    let ok = !diags.iter().any(Diagnostic::is_error);
    let valid = ok.then(|| ValidPipeline {
        pipeline,
        base_dir: base_dir.to_path_buf(),
        user_scripts,
        file_name: file_name.to_string(),
    });
    (valid, diags)
}

/// The pipeline file's name is written into the header of every generated
/// file, so it is user text too: a line break in it would start a new line of
/// the generated YAML.
fn check_file_name(cx: &mut Ctx, file_name: &str) {
    let reason = if let Some(c) = file_name
        .chars()
        .find(|c| c.is_control() || text::invisible(*c))
    {
        Some(format!(
            "it holds U+{:04X}; generated files name their source in a one-line header",
            c as u32
        ))
    } else {
        text::dynamic_reference(file_name)
            .map(|found| format!("`{found}` would start a CloudFormation dynamic reference in every stack's Description"))
    };
    if let Some(reason) = reason {
        cx.push(
            crate::source::Span::default(),
            SemanticError::BadName {
                what: "pipeline file",
                name: file_name.to_string(),
                reason,
            },
        );
    }
}

/// Name syntax, derived-name lengths and logical ID clashes for every namespace.
fn check_names(cx: &mut Ctx) {
    let p = cx.p;
    if let Err(reason) = rules::pipeline_name(&p.pipeline) {
        cx.at_value(
            "/pipeline",
            SemanticError::BadName {
                what: "pipeline",
                name: p.pipeline.clone(),
                reason,
            },
        );
    }
    let artifacts = names::default_bucket_max_len(&p.pipeline, "artifacts");
    if artifacts > 63 {
        let derived = format!("{}-artifacts-123456789012-ap-southeast-4", p.pipeline);
        cx.at_value(
            "/pipeline",
            SemanticError::DerivedTooLong {
                what: "artifacts bucket name",
                derived,
                len: artifacts,
                max: 63,
            },
        );
    }
    if p.zones.contains_key("artifacts") {
        cx.at_key(
            "/zones/artifacts",
            SemanticError::Conflict {
                what: "a zone named `artifacts` would share the bucket of the job scripts".into(),
                reason: "choose another zone name",
            },
        );
    }
    let namespaces: [(Kind, &str, Vec<&String>, bool, usize); 7] = [
        (Kind::Zone, "zones", p.zones.keys().collect(), true, 24),
        (
            Kind::Table,
            "schemas",
            p.schemas.keys().collect(),
            false,
            128,
        ),
        (Kind::Stage, "stages", p.stages.keys().collect(), true, 64),
        (
            Kind::Crawler,
            "crawlers",
            p.crawlers.keys().collect(),
            true,
            64,
        ),
        (
            Kind::Trigger,
            "triggers",
            p.triggers.keys().collect(),
            true,
            64,
        ),
        (
            Kind::Connection,
            "connections",
            p.connections.keys().collect(),
            true,
            64,
        ),
        (Kind::Alert, "alerts", p.alerts.keys().collect(), true, 64),
    ];
    for (kind, section, list, hyphen, max) in namespaces {
        let mut ids: HashMap<String, &String> = HashMap::new();
        for name in list {
            let pointer = ptr(&[section, name]);
            let mut valid = true;
            if let Err(reason) = rules::identifier(name, hyphen, max) {
                cx.at_key(
                    &pointer,
                    SemanticError::BadName {
                        what: kind.word(),
                        name: name.clone(),
                        reason,
                    },
                );
                valid = false;
            }
            if kind == Kind::Zone && name.contains('_') {
                cx.at_key(
                    &pointer,
                    SemanticError::BadName {
                        what: "zone",
                        name: name.clone(),
                        reason: "zone names become bucket names, which do not allow `_`; use `-`"
                            .into(),
                    },
                );
                valid = false;
            }
            if !valid {
                continue;
            }
            let id = names::logical_id(kind, name);
            if let Some(other) = ids.get(&id) {
                cx.at_key(
                    &pointer,
                    SemanticError::LogicalIdClash {
                        what: kind.word(),
                        name: name.clone(),
                        other: (*other).clone(),
                        id: id.clone(),
                    },
                );
            } else {
                ids.insert(id, name);
            }
        }
    }
    // Stages and crawlers share the namespace of trigger actions and conditions.
    for name in p.crawlers.keys() {
        if p.stages.contains_key(name) {
            cx.at_key(
                &ptr(&["crawlers", name]),
                SemanticError::Conflict {
                    what: format!("crawler `{name}` has the name of a stage"),
                    reason: "triggers name stages and crawlers alike, so their names must differ",
                },
            );
        }
    }
    // Derived AWS names and their limits.
    for name in p.stages.keys() {
        let role = names::job_role(&p.pipeline, name);
        if role.len() > 64 {
            cx.at_key(
                &ptr(&["stages", name]),
                SemanticError::DerivedTooLong {
                    what: "IAM role name",
                    len: role.len(),
                    derived: role,
                    max: 64,
                },
            );
        }
    }
    for name in p.crawlers.keys() {
        let role = names::crawler_role(&p.pipeline, name);
        if role.len() > 64 {
            cx.at_key(
                &ptr(&["crawlers", name]),
                SemanticError::DerivedTooLong {
                    what: "IAM role name",
                    len: role.len(),
                    derived: role,
                    max: 64,
                },
            );
        }
    }
}

fn check_zones(cx: &mut Ctx) {
    let p = cx.p;
    if p.zones.is_empty() {
        cx.at_value(
            "/zones",
            SemanticError::Missing {
                what: "a pipeline needs at least one zone".into(),
                hint: Some("for example `zones: {raw: {}}`"),
            },
        );
    }
    let mut buckets: HashMap<String, &String> = HashMap::new();
    for (name, zone) in &p.zones {
        let bucket = match &zone.bucket {
            Some(b) => {
                if let Err(reason) = rules::bucket_name(b) {
                    cx.at_value(
                        &ptr(&["zones", name, "bucket"]),
                        SemanticError::BadValue {
                            what: "bucket name",
                            value: b.clone(),
                            reason,
                        },
                    );
                }
                b.clone()
            }
            None => {
                let max = names::default_bucket_max_len(&p.pipeline, name);
                if max > 63 {
                    let derived = format!("{}-{name}-123456789012-ap-southeast-4", p.pipeline);
                    cx.at_key(
                        &ptr(&["zones", name]),
                        SemanticError::DerivedTooLong {
                            what: "default bucket name",
                            derived,
                            len: max,
                            max: 63,
                        },
                    );
                }
                names::default_bucket(&p.pipeline, name)
            }
        };
        if let Some(other) = buckets.get(&bucket) {
            cx.at_value(
                &ptr(&["zones", name, "bucket"]),
                SemanticError::Conflict {
                    what: format!("zones `{other}` and `{name}` use the same bucket"),
                    reason: "each zone needs a bucket of its own",
                },
            );
        } else {
            buckets.insert(bucket, name);
        }
        if zone.noncurrent_version_expiration_days == Some(0) {
            cx.at_value(
                &ptr(&["zones", name, "noncurrent_version_expiration_days"]),
                SemanticError::BadValue {
                    what: "expiration",
                    value: "0".into(),
                    reason: "it must be at least 1 day".into(),
                },
            );
        }
    }
}

fn check_connections(cx: &mut Ctx) {
    for (name, c) in &cx.p.connections {
        let base = ptr(&["connections", name]);
        let prefix = match c.engine {
            Engine::Postgresql => "jdbc:postgresql://",
            Engine::Redshift => "jdbc:redshift://",
            Engine::Mysql => "jdbc:mysql://",
        };
        if !c.url.starts_with(prefix) {
            cx.at_value(
                &push_pointer(&base, "url"),
                SemanticError::BadValue {
                    what: "JDBC URL",
                    value: c.url.clone(),
                    reason: format!("a {:?} URL starts with `{prefix}`", c.engine).to_lowercase(),
                },
            );
        }
        // The driver percent-decodes the URL, so `pass%77ord=` is `password=`.
        let decoded = rules::percent_decode(&c.url);
        if let Some(ch) = decoded
            .chars()
            .find(|ch| ch.is_control() || ch.is_whitespace() || text::invisible(*ch))
        {
            cx.at_value(
                &push_pointer(&base, "url"),
                SemanticError::BadValue {
                    what: "JDBC URL",
                    value: c.url.clone(),
                    reason: format!(
                        "it holds U+{:04X} (decoded); a URL takes no white space, control or invisible characters",
                        ch as u32
                    ),
                },
            );
        }
        if rules::jdbc_has_credentials(&decoded) {
            cx.at_value(&push_pointer(&base, "url"), SemanticError::Conflict {
                what: "this JDBC URL carries credentials".into(),
                reason: "credentials belong in the Secrets Manager secret named by `secret`, never in the pipeline",
            });
        }
        let secret_ok = if c.secret.starts_with("arn:") {
            c.secret.starts_with("arn:aws")
                && c.secret.contains(":secretsmanager:")
                && c.secret.contains(":secret:")
        } else {
            !c.secret.is_empty()
                && c.secret.len() <= 512
                && c.secret
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "/_+=.@-".contains(ch))
        };
        if !secret_ok {
            cx.at_value(
                &push_pointer(&base, "secret"),
                SemanticError::BadValue {
                    what: "secret",
                    value: c.secret.clone(),
                    reason:
                        "give a Secrets Manager secret name (letters, digits, /_+=.@-) or its ARN"
                            .into(),
                },
            );
        }
        if !aws_id(&c.subnet, "subnet-") {
            cx.at_value(
                &push_pointer(&base, "subnet"),
                SemanticError::BadValue {
                    what: "subnet",
                    value: c.subnet.clone(),
                    reason: "subnet IDs look like `subnet-0123456789abcdef0`".into(),
                },
            );
        }
        if c.security_groups.is_empty() {
            cx.at_value(
                &push_pointer(&base, "security_groups"),
                SemanticError::Missing {
                    what: "a connection needs at least one security group".into(),
                    hint: None,
                },
            );
        }
        for (i, sg) in c.security_groups.iter().enumerate() {
            if !aws_id(sg, "sg-") {
                cx.at_value(
                    &ptr(&["connections", name, "security_groups", &i.to_string()]),
                    SemanticError::BadValue {
                        what: "security group",
                        value: sg.clone(),
                        reason: "security group IDs look like `sg-0123456789abcdef0`".into(),
                    },
                );
            }
        }
        let az = &c.availability_zone;
        let az_ok = az.len() <= 20
            && az.split('-').count() >= 3
            && az.ends_with(|ch: char| ch.is_ascii_lowercase())
            && az
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-');
        if !az_ok {
            cx.at_value(
                &push_pointer(&base, "availability_zone"),
                SemanticError::BadValue {
                    what: "availability zone",
                    value: az.clone(),
                    reason: "availability zones look like `us-east-1a`".into(),
                },
            );
        }
    }
}

fn aws_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|h| {
        matches!(h.len(), 8 | 17)
            && h.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}

/// A table's resolved location, for overlap checks: (zone, prefix with a trailing `/`).
fn table_location(name: &str, t: &TableSchema) -> Option<(String, String)> {
    let zone = t.zone.clone()?;
    let mut path = t.path.clone().unwrap_or_else(|| name.to_string());
    if !path.ends_with('/') {
        path.push('/');
    }
    Some((zone, path))
}

fn check_tables(cx: &mut Ctx) {
    let p = cx.p;
    if p.schemas.is_empty() {
        cx.at_value(
            "/schemas",
            SemanticError::Missing {
                what: "a pipeline needs at least one table schema".into(),
                hint: None,
            },
        );
    }
    let mut locations: Vec<(String, String, &String)> = Vec::new();
    for (name, t) in &p.schemas {
        let base = ptr(&["schemas", name]);
        match (&t.zone, &t.connection) {
            (Some(_), Some(_)) => cx.at_key(
                &push_pointer(&base, "connection"),
                SemanticError::Conflict {
                    what: format!("table `{name}` has both `zone` and `connection`"),
                    reason: "a table lives either in a zone (S3) or in a JDBC database",
                },
            ),
            (None, None) => cx.at_key(
                &base,
                SemanticError::Missing {
                    what: format!("table `{name}` needs a `zone` (S3) or a `connection` (JDBC)"),
                    hint: None,
                },
            ),
            _ => {}
        }
        if let Some(z) = &t.zone {
            if !p.zones.contains_key(z) {
                cx.unknown(
                    &push_pointer(&base, "zone"),
                    "zone",
                    z,
                    p.zones.keys().cloned(),
                );
            }
            if let Some(path) = &t.path
                && let Err(reason) = rules::s3_prefix(path)
            {
                cx.at_value(
                    &push_pointer(&base, "path"),
                    SemanticError::BadValue {
                        what: "path",
                        value: path.clone(),
                        reason,
                    },
                );
            }
            if t.jdbc_table.is_some() {
                cx.at_key(
                    &push_pointer(&base, "jdbc_table"),
                    SemanticError::Conflict {
                        what: "`jdbc_table` is for JDBC tables".into(),
                        reason: "this table is in a zone; remove `jdbc_table`",
                    },
                );
            }
            if let Some(loc) = table_location(name, t) {
                locations.push((loc.0, loc.1, name));
            }
        }
        if let Some(c) = &t.connection {
            if !p.connections.contains_key(c) {
                cx.unknown(
                    &push_pointer(&base, "connection"),
                    "connection",
                    c,
                    p.connections.keys().cloned(),
                );
            }
            match &t.jdbc_table {
                None => cx.at_key(
                    &base,
                    SemanticError::Missing {
                        what: format!(
                            "JDBC table `{name}` needs `jdbc_table`, its name in the database"
                        ),
                        hint: Some("for example `jdbc_table: public.respondents`"),
                    },
                ),
                Some(j) => {
                    let ok = !j.is_empty()
                        && j.split('.').count() <= 3
                        && j.split('.').all(|part| {
                            !part.is_empty()
                                && part
                                    .chars()
                                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
                        });
                    if !ok {
                        cx.at_value(
                            &push_pointer(&base, "jdbc_table"),
                            SemanticError::BadValue {
                                what: "JDBC table",
                                value: j.clone(),
                                reason:
                                    "use `table` or `schema.table` with letters, digits and `_`"
                                        .into(),
                            },
                        );
                    }
                }
            }
            for (key, set) in [
                ("path", t.path.is_some()),
                ("format", t.format.is_some()),
                ("csv", t.csv.is_some()),
                ("partition_keys", !t.partition_keys.is_empty()),
            ] {
                if set {
                    cx.at_key(
                        &push_pointer(&base, key),
                        SemanticError::Conflict {
                            what: format!("`{key}` is for zone tables"),
                            reason: "this table is in a JDBC database",
                        },
                    );
                }
            }
        }
        if t.csv.is_some() && t.format != Some(Format::Csv) {
            cx.at_key(
                &push_pointer(&base, "csv"),
                SemanticError::Conflict {
                    what: "`csv` options need `format: csv`".into(),
                    reason: "they describe how a CSV file is read",
                },
            );
        }
        if let Some(csv) = &t.csv {
            for (key, v) in [
                ("delimiter", &csv.delimiter),
                ("quote", &csv.quote),
                ("escape", &csv.escape),
            ] {
                if v.chars().count() != 1 {
                    cx.at_value(
                        &ptr(&["schemas", name, "csv", key]),
                        SemanticError::BadValue {
                            what: key,
                            value: v.clone(),
                            reason: "it must be exactly one character".into(),
                        },
                    );
                }
            }
        }
        if t.columns.is_empty() {
            cx.at_value(
                &push_pointer(&base, "columns"),
                SemanticError::Missing {
                    what: format!("table `{name}` declares no columns"),
                    hint: None,
                },
            );
        }
        let mut seen: HashMap<String, &String> = HashMap::new();
        for (col, c) in &t.columns {
            let cp = ptr(&["schemas", name, "columns", col]);
            if let Err(reason) = rules::column_name(col) {
                cx.at_key(
                    &cp,
                    SemanticError::BadName {
                        what: "column",
                        name: col.clone(),
                        reason,
                    },
                );
            }
            if let Some(other) = seen.get(&col.to_lowercase()) {
                cx.at_key(&cp, SemanticError::ColumnClash { column: col.clone(), reason: format!("clashes with `{other}`: Glue and Spark compare column names without case"), hint: None });
            } else {
                seen.insert(col.to_lowercase(), col);
            }
            if let Err(reason) = rules::hive_type(c.ty()) {
                let tp = match c {
                    Column::Type(_) => cp.clone(),
                    Column::Full(_) => push_pointer(&cp, "type"),
                };
                cx.at_value(
                    &tp,
                    SemanticError::BadValue {
                        what: "type",
                        value: c.ty().to_string(),
                        reason,
                    },
                );
            }
        }
        let mut pk_seen = Vec::new();
        for (i, k) in t.partition_keys.iter().enumerate() {
            let kp = ptr(&["schemas", name, "partition_keys", &i.to_string()]);
            match t.columns.get(k) {
                None => cx.at_value(
                    &kp,
                    SemanticError::UnknownTableColumn {
                        column: k.clone(),
                        table: name.clone(),
                        candidates: t.columns.keys().cloned().collect(),
                    },
                ),
                Some(c) if !rules::is_primitive(c.ty()) => cx.at_value(
                    &kp,
                    SemanticError::BadValue {
                        what: "partition key",
                        value: k.clone(),
                        reason: format!("partition keys need a primitive type, not `{}`", c.ty()),
                    },
                ),
                _ => {}
            }
            if pk_seen.contains(&k) {
                cx.at_value(
                    &kp,
                    SemanticError::Duplicate {
                        what: "partition key",
                        name: k.clone(),
                    },
                );
            }
            pk_seen.push(k);
        }
        if !t.partition_keys.is_empty() && t.partition_keys.len() == t.columns.len() {
            cx.at_value(
                &push_pointer(&base, "partition_keys"),
                SemanticError::Conflict {
                    what: "every column is a partition key".into(),
                    reason: "a table needs at least one column that is not a partition key",
                },
            );
        }
        if let Some(q) = &t.quality {
            if q.rules.is_empty() {
                cx.at_value(
                    &ptr(&["schemas", name, "quality", "rules"]),
                    SemanticError::Missing {
                        what: "`quality` needs at least one rule".into(),
                        hint: None,
                    },
                );
            }
            for (i, rule) in q.rules.iter().enumerate() {
                let rp = ptr(&["schemas", name, "quality", "rules", &i.to_string()]);
                if rules::dqdl_several_rules(rule) {
                    cx.at_value(&rp, SemanticError::SeveralRules { rule: rule.clone() });
                    continue;
                }
                match rules::dqdl_rule(rule) {
                    Err(reason) => cx.at_value(
                        &rp,
                        SemanticError::BadValue {
                            what: "DQDL rule",
                            value: rule.clone(),
                            reason,
                        },
                    ),
                    Ok(cols) => {
                        for col in cols {
                            if !t.columns.keys().any(|c| c.eq_ignore_ascii_case(&col)) {
                                cx.at_value(
                                    &rp,
                                    SemanticError::UnknownTableColumn {
                                        column: col,
                                        table: name.clone(),
                                        candidates: t.columns.keys().cloned().collect(),
                                    },
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    // Two tables whose prefixes nest would write into each other, and the
    // IAM grant on one prefix would reach the other's objects.
    let pairs: Vec<(&str, &str)> = locations
        .iter()
        .map(|(z, p, _)| (z.as_str(), p.as_str()))
        .collect();
    for (i, j) in rules::nested_locations(&pairs) {
        let (za, pa, a) = &locations[i];
        let (_, pb, b) = &locations[j];
        cx.at_value(
            &ptr(&["schemas", a, "path"]),
            SemanticError::SharedLocation {
                table: (*a).clone(),
                other: (*b).clone(),
                location: format!("zone `{za}` prefix `{}`", pa.min(pb)),
            },
        );
    }
}

/// A stage's settings after applying the pipeline defaults.
pub struct Settings {
    pub glue_version: String,
    pub worker_type: Option<WorkerType>,
    pub workers: Option<u32>,
    pub max_capacity: Option<f64>,
    pub timeout_minutes: u32,
    pub retries: u32,
    pub bookmarks: Bookmarks,
    pub max_concurrent_runs: u32,
    pub metrics: bool,
    pub log_retention_days: u32,
}

/// Resolves a stage's settings: the stage's own, then `defaults`, then pipec's.
pub fn settings(p: &Pipeline, s: &Stage) -> Settings {
    let d = &p.defaults;
    let o = &s.settings;
    let shell = s.kind == StageKind::PythonShell;
    let glue_version = o
        .glue_version
        .clone()
        .or_else(|| if shell { None } else { d.glue_version.clone() })
        .unwrap_or_else(|| {
            if shell {
                PYTHON_SHELL_GLUE_VERSION
            } else {
                DEFAULT_SPARK_GLUE_VERSION
            }
            .to_string()
        });
    let (worker_type, workers, max_capacity) = if shell {
        (
            o.worker_type,
            o.workers,
            o.max_capacity.or(d.max_capacity).or(Some(0.0625)),
        )
    } else if o.max_capacity.is_some() {
        (o.worker_type, o.workers, o.max_capacity)
    } else {
        (
            o.worker_type.or(d.worker_type).or(Some(WorkerType::G1X)),
            o.workers.or(d.workers).or(Some(2)),
            None,
        )
    };
    Settings {
        glue_version,
        worker_type,
        workers,
        max_capacity,
        timeout_minutes: o.timeout_minutes.or(d.timeout_minutes).unwrap_or(60),
        retries: o.retries.or(d.retries).unwrap_or(0),
        bookmarks: o.bookmarks.or(d.bookmarks).unwrap_or(Bookmarks::Disable),
        max_concurrent_runs: o.max_concurrent_runs.or(d.max_concurrent_runs).unwrap_or(1),
        metrics: o.metrics.or(d.metrics).unwrap_or(true),
        log_retention_days: o.log_retention_days.or(d.log_retention_days).unwrap_or(30),
    }
}

fn check_settings(cx: &mut Ctx, base: &str, s: &Stage) {
    let st = settings(cx.p, s);
    let shell = s.kind == StageKind::PythonShell;
    let own = &s.settings;
    // Point at the stage's own setting when it has one, else at `defaults`.
    let at = |key: &str, own_set: bool| {
        if own_set {
            push_pointer(base, key)
        } else {
            ptr(&["defaults", key])
        }
    };
    if shell {
        if st.glue_version != PYTHON_SHELL_GLUE_VERSION {
            cx.at_value(&at("glue_version", own.glue_version.is_some()), SemanticError::Glue { reason: format!("Python shell stages run on Glue version {PYTHON_SHELL_GLUE_VERSION}, not {}", st.glue_version), hint: None });
        }
        if own.worker_type.is_some() || own.workers.is_some() {
            cx.at_key(
                &at(
                    if own.worker_type.is_some() {
                        "worker_type"
                    } else {
                        "workers"
                    },
                    true,
                ),
                SemanticError::Glue {
                    reason: "Python shell stages take `max_capacity` (0.0625 or 1), not workers"
                        .into(),
                    hint: None,
                },
            );
        }
        if let Some(mc) = st.max_capacity
            && mc != 0.0625
            && mc != 1.0
        {
            cx.at_value(
                &at("max_capacity", own.max_capacity.is_some()),
                SemanticError::Glue {
                    reason: format!("Python shell max_capacity is 0.0625 or 1, not {mc}"),
                    hint: None,
                },
            );
        }
        if st.bookmarks == Bookmarks::Enable && own.bookmarks.is_some() {
            cx.at_value(
                &at("bookmarks", true),
                SemanticError::Glue {
                    reason: "job bookmarks work with Spark stages only".into(),
                    hint: None,
                },
            );
        }
    } else {
        if !SPARK_GLUE_VERSIONS.contains(&st.glue_version.as_str()) {
            let hint = if ["0.9", "1.0", "2.0"].contains(&st.glue_version.as_str()) {
                Some(format!(
                    "Glue {} is past end of support; use 5.0",
                    st.glue_version
                ))
            } else {
                Some(format!("{DEFAULT_SPARK_GLUE_VERSION} is the newest"))
            };
            cx.at_value(
                &at("glue_version", own.glue_version.is_some()),
                SemanticError::Glue {
                    reason: format!(
                        "Glue version `{}` is not one of {}",
                        st.glue_version,
                        SPARK_GLUE_VERSIONS.join(", ")
                    ),
                    hint,
                },
            );
        }
        if own.max_capacity.is_some() {
            cx.at_key(&at("max_capacity", true), SemanticError::Glue { reason: "Spark stages on Glue 2.0 and later take `worker_type` and `workers`, not `max_capacity`".into(), hint: Some("remove `max_capacity` and set `workers`".into()) });
        }
        if let Some(wt) = st.worker_type {
            let (key_set, wt_at) = (
                own.worker_type.is_some(),
                at("worker_type", own.worker_type.is_some()),
            );
            let _ = key_set;
            match wt {
                WorkerType::G025X => cx.at_value(
                    &wt_at,
                    SemanticError::Glue {
                        reason: "G.025X workers are for streaming jobs only".into(),
                        hint: Some("use G.1X".into()),
                    },
                ),
                WorkerType::Standard => cx.at_value(
                    &wt_at,
                    SemanticError::Glue {
                        reason: "Standard workers belong to Glue 1.0 and older".into(),
                        hint: Some("use G.1X".into()),
                    },
                ),
                _ => {}
            }
            if let Some(n) = st.workers {
                let max = match wt {
                    WorkerType::G1X => 299,
                    WorkerType::G2X => 149,
                    _ => u32::MAX,
                };
                let w_at = at("workers", own.workers.is_some());
                if n < 2 {
                    cx.at_value(&w_at, SemanticError::Glue { reason: format!("a Spark stage needs at least 2 workers (a driver and an executor), not {n}"), hint: None });
                } else if n > max {
                    cx.at_value(
                        &w_at,
                        SemanticError::Glue {
                            reason: format!(
                                "Glue allows at most {max} {} workers, not {n}",
                                wt.as_str()
                            ),
                            hint: None,
                        },
                    );
                }
            }
        }
    }
    if st.timeout_minutes == 0 || st.timeout_minutes > 10080 {
        cx.at_value(
            &at("timeout_minutes", own.timeout_minutes.is_some()),
            SemanticError::Glue {
                reason: format!(
                    "a Glue job timeout is 1 to 10080 minutes (7 days), not {}",
                    st.timeout_minutes
                ),
                hint: None,
            },
        );
    }
    if st.retries > 10 {
        cx.at_value(
            &at("retries", own.retries.is_some()),
            SemanticError::Glue {
                reason: format!("Glue allows at most 10 retries, not {}", st.retries),
                hint: None,
            },
        );
    }
    if st.max_concurrent_runs == 0 {
        cx.at_value(
            &at("max_concurrent_runs", own.max_concurrent_runs.is_some()),
            SemanticError::Glue {
                reason: "max_concurrent_runs must be at least 1".into(),
                hint: None,
            },
        );
    }
    if !LOG_RETENTION_DAYS.contains(&st.log_retention_days) {
        let near = LOG_RETENTION_DAYS
            .iter()
            .min_by_key(|d| d.abs_diff(st.log_retention_days))
            .copied()
            .unwrap_or(30);
        cx.at_value(&at("log_retention_days", own.log_retention_days.is_some()), SemanticError::BadValue { what: "log retention", value: st.log_retention_days.to_string(), reason: "CloudWatch Logs keeps logs for 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 days".into() });
        let _ = near;
    }
}

fn check_stages(cx: &mut Ctx, base_dir: &Path) {
    let p = cx.p;
    if p.stages.is_empty() {
        cx.at_value(
            "/stages",
            SemanticError::Missing {
                what: "a pipeline needs at least one stage".into(),
                hint: None,
            },
        );
    }
    for (name, s) in &p.stages {
        let base = ptr(&["stages", name]);
        check_settings(cx, &base, s);
        check_arguments(cx, &["stages", name, "arguments"], &s.arguments);
        let shell = s.kind == StageKind::PythonShell;
        if let Some(script) = &s.script {
            let sp = push_pointer(&base, "script");
            if Path::new(script).is_absolute() || script.split(['/', '\\']).any(|c| c == "..") {
                cx.at_value(
                    &sp,
                    SemanticError::BadValue {
                        what: "script path",
                        value: script.clone(),
                        reason: "give a path inside the repository, relative to the pipeline file"
                            .into(),
                    },
                );
            } else if !script.ends_with(".py") {
                cx.at_value(
                    &sp,
                    SemanticError::BadValue {
                        what: "script path",
                        value: script.clone(),
                        reason: "Glue runs Python scripts (`.py`)".into(),
                    },
                );
            } else {
                let full = base_dir.join(script);
                match std::fs::read_to_string(&full) {
                    Ok(text) => {
                        cx.user_scripts.insert(name.clone(), text);
                    }
                    Err(e) => cx.at_value(
                        &sp,
                        SemanticError::BadValue {
                            what: "script path",
                            value: script.clone(),
                            reason: if full.is_file() {
                                format!("cannot read {}: {e}", full.display())
                            } else {
                                format!("no such file next to the pipeline ({})", full.display())
                            },
                        },
                    ),
                }
            }
            for (key, set) in [
                ("steps", !s.steps.is_empty()),
                ("frames", !s.frames.is_empty()),
                ("download", s.download.is_some()),
            ] {
                if set {
                    cx.at_key(&push_pointer(&base, key), SemanticError::Conflict { what: format!("`{key}` and `script` cannot be used together"), reason: "pipec generates code from steps only when you do not bring your own script" });
                }
            }
        }
        if let Some(d) = &s.download {
            let dp = push_pointer(&base, "download");
            if !shell {
                cx.at_key(
                    &dp,
                    SemanticError::Conflict {
                        what: "`download` runs in a Python shell stage".into(),
                        reason: "add `kind: python-shell` to this stage",
                    },
                );
            }
            if !d.url.starts_with("https://")
                || d.url.len() <= "https://".len()
                || d.url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                cx.at_value(
                    &push_pointer(&dp, "url"),
                    SemanticError::BadValue {
                        what: "URL",
                        value: d.url.clone(),
                        reason: "downloads use an `https://` URL".into(),
                    },
                );
            }
            if !d.members.is_empty() && !d.unzip {
                cx.at_key(
                    &push_pointer(&dp, "members"),
                    SemanticError::Conflict {
                        what: "`members` selects files inside a zip archive".into(),
                        reason: "set `unzip: true` too",
                    },
                );
            }
            match p.schemas.get(&d.to) {
                None => cx.unknown(
                    &push_pointer(&dp, "to"),
                    "table",
                    &d.to,
                    p.schemas.keys().cloned(),
                ),
                Some(t) if t.zone.is_none() => cx.at_value(
                    &push_pointer(&dp, "to"),
                    SemanticError::Conflict {
                        what: format!("table `{}` is a JDBC table", d.to),
                        reason: "downloads land in a zone table",
                    },
                ),
                _ => {}
            }
        }
        if shell {
            for (key, set) in [
                ("steps", !s.steps.is_empty()),
                ("frames", !s.frames.is_empty()),
            ] {
                if set {
                    cx.at_key(
                        &push_pointer(&base, key),
                        SemanticError::Conflict {
                            what: format!("`{key}` need a Spark stage"),
                            reason: "Python shell stages run `download` or your own `script`",
                        },
                    );
                }
            }
            if s.download.is_none() && s.script.is_none() {
                cx.at_key(
                    &base,
                    SemanticError::Missing {
                        what: format!("Python shell stage `{name}` needs `download` or `script`"),
                        hint: None,
                    },
                );
            }
        } else if s.script.is_none() {
            if s.inputs.is_empty() {
                cx.at_key(
                    &base,
                    SemanticError::Missing {
                        what: format!("stage `{name}` reads nothing: add `inputs`"),
                        hint: Some("or bring your own code with `script`"),
                    },
                );
            }
            if s.outputs.is_empty() {
                cx.at_key(
                    &base,
                    SemanticError::Missing {
                        what: format!("stage `{name}` writes nothing: add `outputs`"),
                        hint: None,
                    },
                );
            }
        }
        // Inputs and outputs exist; frame names are unique.
        let mut frames_seen: HashMap<&str, usize> = HashMap::new();
        for (i, input) in s.inputs.iter().enumerate() {
            let ip = ptr(&["stages", name, "inputs", &i.to_string()]);
            let tp = match input {
                Input::Table(_) => ip.clone(),
                Input::Aliased(_) => push_pointer(&ip, "table"),
            };
            if !p.schemas.contains_key(input.table()) {
                cx.unknown(&tp, "table", input.table(), p.schemas.keys().cloned());
            }
            if let Input::Aliased(a) = input
                && let Err(reason) = rules::frame_name(&a.alias)
            {
                cx.at_value(
                    &push_pointer(&ip, "as"),
                    SemanticError::BadName {
                        what: "frame",
                        name: a.alias.clone(),
                        reason,
                    },
                );
            }
            if frames_seen.insert(input.frame(), i).is_some() {
                cx.at_value(
                    &ip,
                    SemanticError::Duplicate {
                        what: "input frame",
                        name: input.frame().to_string(),
                    },
                );
            }
        }
        let mut written: HashMap<&str, usize> = HashMap::new();
        for (i, o) in s.outputs.iter().enumerate() {
            let op = ptr(&["stages", name, "outputs", &i.to_string()]);
            match p.schemas.get(&o.table) {
                None => cx.unknown(
                    &push_pointer(&op, "table"),
                    "table",
                    &o.table,
                    p.schemas.keys().cloned(),
                ),
                Some(t) => {
                    if t.connection.is_some() && o.compression.is_some() {
                        cx.at_key(
                            &push_pointer(&op, "compression"),
                            SemanticError::Conflict {
                                what: "`compression` is for files".into(),
                                reason: "this output is a JDBC table",
                            },
                        );
                    }
                    if let (Some(c), Some(f)) = (
                        o.compression,
                        t.format.or(t.zone.as_ref().map(|_| Format::Parquet)),
                    ) {
                        let ok = match f {
                            Format::Parquet => matches!(
                                c,
                                Compression::None
                                    | Compression::Snappy
                                    | Compression::Gzip
                                    | Compression::Zstd
                                    | Compression::Lz4
                            ),
                            Format::Orc => matches!(
                                c,
                                Compression::None
                                    | Compression::Snappy
                                    | Compression::Zstd
                                    | Compression::Lz4
                            ),
                            Format::Csv | Format::Json => matches!(
                                c,
                                Compression::None
                                    | Compression::Gzip
                                    | Compression::Bzip2
                                    | Compression::Snappy
                                    | Compression::Lz4
                            ),
                        };
                        if !ok {
                            cx.at_value(
                                &push_pointer(&op, "compression"),
                                SemanticError::Conflict {
                                    what: format!(
                                        "{c:?} compression does not apply to {f:?} files"
                                    )
                                    .to_lowercase(),
                                    reason: "choose one the format supports",
                                },
                            );
                        }
                    }
                    if o.mode == WriteMode::Overwrite
                        && s.inputs.iter().any(|inp| inp.table() == o.table)
                    {
                        cx.at_value(
                            &push_pointer(&op, "table"),
                            SemanticError::ReadsAndOverwrites {
                                table: o.table.clone(),
                            },
                        );
                    }
                }
            }
            if let Some(prev) = written.insert(o.table.as_str(), i) {
                let _ = prev;
                cx.at_value(
                    &push_pointer(&op, "table"),
                    SemanticError::Duplicate {
                        what: "output table",
                        name: o.table.clone(),
                    },
                );
            }
            if o.files == Some(0) {
                cx.at_value(
                    &push_pointer(&op, "files"),
                    SemanticError::BadValue {
                        what: "files",
                        value: "0".into(),
                        reason: "write at least 1 file".into(),
                    },
                );
            }
        }
        if !shell && s.script.is_none() {
            columns::check_stage(cx, name, s);
        }
    }
}

fn check_crawlers(cx: &mut Ctx) {
    let p = cx.p;
    for (name, c) in &p.crawlers {
        if c.tables.is_empty() {
            cx.at_value(
                &ptr(&["crawlers", name, "tables"]),
                SemanticError::Missing {
                    what: "a crawler needs at least one table".into(),
                    hint: None,
                },
            );
        }
        let mut seen = Vec::new();
        for (i, t) in c.tables.iter().enumerate() {
            let tp = ptr(&["crawlers", name, "tables", &i.to_string()]);
            match p.schemas.get(t) {
                None => cx.unknown(&tp, "table", t, p.schemas.keys().cloned()),
                Some(s) if s.zone.is_none() => cx.at_value(
                    &tp,
                    SemanticError::Conflict {
                        what: format!("table `{t}` is a JDBC table"),
                        reason: "pipec's crawlers keep S3 zone tables up to date",
                    },
                ),
                _ => {}
            }
            if seen.contains(&t) {
                cx.at_value(
                    &tp,
                    SemanticError::Duplicate {
                        what: "crawled table",
                        name: t.clone(),
                    },
                );
            }
            seen.push(t);
        }
    }
}

/// What a trigger action or condition names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node<'a> {
    Stage(&'a str),
    Crawler(&'a str),
}

impl Node<'_> {
    pub fn describe(&self) -> String {
        match self {
            Node::Stage(s) => format!("stage {s}"),
            Node::Crawler(c) => format!("crawler {c}"),
        }
    }
}

/// Resolves a plain name to a stage or a crawler.
pub(crate) fn resolve_name<'a>(p: &'a Pipeline, name: &str) -> Option<Node<'a>> {
    if let Some((k, _)) = p.stages.get_key_value(name) {
        return Some(Node::Stage(k));
    }
    p.crawlers
        .get_key_value(name)
        .map(|(k, _)| Node::Crawler(k))
}

fn stage_and_crawler_names(p: &Pipeline) -> Vec<String> {
    p.stages.keys().chain(p.crawlers.keys()).cloned().collect()
}

/// Resolves a name given as plain text (`extract`): a stage or a crawler.
fn resolve_plain<'a>(cx: &mut Ctx<'a>, pointer: &str, name: &str) -> Option<Node<'a>> {
    let r = resolve_name(cx.p, name);
    if r.is_none() {
        cx.unknown(
            pointer,
            "stage or crawler",
            name,
            stage_and_crawler_names(cx.p),
        );
    }
    r
}

/// Resolves `{stage: ...}` or `{crawler: ...}` in an action or condition
/// (`what`), reporting a missing, doubled or unknown name.
fn resolve_keyed<'a>(
    cx: &mut Ctx<'a>,
    pointer: &str,
    stage: Option<&String>,
    crawler: Option<&String>,
    what: &str,
) -> Option<Node<'a>> {
    let p = cx.p;
    match (stage, crawler) {
        (Some(s), None) => match p.stages.get_key_value(s) {
            Some((k, _)) => Some(Node::Stage(k)),
            None => {
                cx.unknown(
                    &push_pointer(pointer, "stage"),
                    "stage",
                    s,
                    p.stages.keys().cloned(),
                );
                None
            }
        },
        (None, Some(c)) => match p.crawlers.get_key_value(c) {
            Some((k, _)) => Some(Node::Crawler(k)),
            None => {
                cx.unknown(
                    &push_pointer(pointer, "crawler"),
                    "crawler",
                    c,
                    p.crawlers.keys().cloned(),
                );
                None
            }
        },
        _ => {
            cx.at_value(
                pointer,
                SemanticError::Missing {
                    what: format!("{what} names exactly one `stage` or `crawler`"),
                    hint: None,
                },
            );
            None
        }
    }
}

/// Resolves one trigger action, reporting what is wrong with it.
pub(crate) fn resolve_action<'a>(
    cx: &mut Ctx<'a>,
    pointer: &str,
    a: &'a Action,
) -> Option<Node<'a>> {
    match a {
        Action::Name(n) => resolve_plain(cx, pointer, n),
        Action::Full(f) => {
            if f.crawler.is_some() && (!f.arguments.is_empty() || f.timeout_minutes.is_some()) {
                cx.at_value(
                    pointer,
                    SemanticError::Conflict {
                        what: "`arguments` and `timeout_minutes` apply to stages".into(),
                        reason: "a crawler run takes neither",
                    },
                );
            }
            resolve_keyed(
                cx,
                pointer,
                f.stage.as_ref(),
                f.crawler.as_ref(),
                "an action",
            )
        }
    }
}

/// Resolves one trigger condition to the node it watches and its state.
pub(crate) fn resolve_condition<'a>(
    cx: &mut Ctx<'a>,
    pointer: &str,
    c: &'a Condition,
) -> Option<(Node<'a>, State)> {
    match c {
        Condition::Succeeded(n) => resolve_plain(cx, pointer, n).map(|n| (n, State::Succeeded)),
        Condition::Full(f) => {
            let node = resolve_keyed(
                cx,
                pointer,
                f.stage.as_ref(),
                f.crawler.as_ref(),
                "a condition",
            )?;
            let ok = match node {
                Node::Stage(_) => matches!(
                    f.state,
                    State::Succeeded | State::Failed | State::Timeout | State::Stopped
                ),
                Node::Crawler(_) => {
                    matches!(f.state, State::Succeeded | State::Failed | State::Cancelled)
                }
            };
            if !ok {
                let allowed = match node {
                    Node::Stage(_) => "succeeded, failed, timeout or stopped",
                    Node::Crawler(_) => "succeeded, failed or cancelled",
                };
                cx.at_value(
                    &push_pointer(pointer, "state"),
                    SemanticError::BadValue {
                        what: "state",
                        value: format!("{:?}", f.state).to_lowercase(),
                        reason: format!(
                            "a {} ends {allowed}",
                            if matches!(node, Node::Stage(_)) {
                                "stage"
                            } else {
                                "crawler"
                            }
                        ),
                    },
                );
            }
            Some((node, f.state))
        }
    }
}

fn check_triggers(cx: &mut Ctx) {
    let p = cx.p;
    let mut starters: Vec<&String> = Vec::new();
    for (name, t) in &p.triggers {
        let base = ptr(&["triggers", name]);
        let kinds = [t.schedule.is_some(), t.when.is_some(), t.event.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if kinds > 1 {
            cx.at_key(
                &base,
                SemanticError::Conflict {
                    what: format!("trigger `{name}` mixes `schedule`, `when` and `event`"),
                    reason: "a Glue trigger is scheduled, conditional or event-driven, not several",
                },
            );
        }
        if let Some(s) = &t.schedule
            && let Err(reason) = rules::glue_cron(s)
        {
            cx.at_value(
                &push_pointer(&base, "schedule"),
                SemanticError::BadValue {
                    what: "schedule",
                    value: s.clone(),
                    reason,
                },
            );
        }
        if let Some(w) = &t.when
            && w.all.is_empty() == w.any.is_empty()
        {
            cx.at_value(
                &push_pointer(&base, "when"),
                SemanticError::Missing {
                    what: "`when` takes either `all` or `any`, with at least one condition".into(),
                    hint: Some("for example `when: {all: [extract]}`"),
                },
            );
        }
        if let Some(e) = &t.event {
            let ep = push_pointer(&base, "event");
            if let Some(n) = e.batch_size
                && !(1..=100).contains(&n)
            {
                cx.at_value(
                    &push_pointer(&ep, "batch_size"),
                    SemanticError::Glue {
                        reason: format!("an event batch holds 1 to 100 events, not {n}"),
                        hint: None,
                    },
                );
            }
            if let Some(n) = e.batch_window_seconds
                && !(1..=900).contains(&n)
            {
                cx.at_value(
                    &push_pointer(&ep, "batch_window_seconds"),
                    SemanticError::Glue {
                        reason: format!("an event batch window is 1 to 900 seconds, not {n}"),
                        hint: None,
                    },
                );
            }
            match &e.zone {
                Some(z) if !p.zones.contains_key(z) => cx.unknown(
                    &push_pointer(&ep, "zone"),
                    "zone",
                    z,
                    p.zones.keys().cloned(),
                ),
                None if e.prefix.is_some() => cx.at_key(
                    &push_pointer(&ep, "prefix"),
                    SemanticError::Missing {
                        what: "`prefix` needs the `zone` it is in".into(),
                        hint: None,
                    },
                ),
                _ => {}
            }
            if let Some(pre) = &e.prefix
                && let Err(reason) = rules::s3_prefix(pre)
            {
                cx.at_value(
                    &push_pointer(&ep, "prefix"),
                    SemanticError::BadValue {
                        what: "prefix",
                        value: pre.clone(),
                        reason,
                    },
                );
            }
        }
        if t.when.is_none() {
            starters.push(name);
        }
        if t.start.is_empty() {
            cx.at_value(
                &push_pointer(&base, "start"),
                SemanticError::Missing {
                    what: format!("trigger `{name}` starts nothing"),
                    hint: None,
                },
            );
        }
        let mut seen = Vec::new();
        for (i, a) in t.start.iter().enumerate() {
            let index = i.to_string();
            let ap = ptr(&["triggers", name, "start", &index]);
            if let Action::Full(f) = a {
                check_arguments(
                    cx,
                    &["triggers", name, "start", &index, "arguments"],
                    &f.arguments,
                );
            }
            if let Some(node) = resolve_action(cx, &ap, a) {
                if seen.contains(&node) {
                    cx.at_value(
                        &ap,
                        SemanticError::Duplicate {
                            what: "action",
                            name: node.describe(),
                        },
                    );
                }
                seen.push(node);
            }
        }
    }
    if starters.len() > 1 {
        let first = starters[0].clone();
        for other in &starters[1..] {
            cx.at_key(&ptr(&["triggers", other]), SemanticError::Conflict {
                what: format!("triggers `{first}` and `{other}` both start the workflow"),
                reason: "a Glue workflow has one start trigger (on demand, scheduled or event); make the others conditional",
            });
        }
    }
}

fn check_alerts(cx: &mut Ctx) {
    let p = cx.p;
    for (name, a) in &p.alerts {
        for (i, s) in a.stages.iter().enumerate() {
            if !p.stages.contains_key(s) {
                cx.unknown(
                    &ptr(&["alerts", name, "stages", &i.to_string()]),
                    "stage",
                    s,
                    p.stages.keys().cloned(),
                );
            }
        }
        for (i, e) in a.email.iter().enumerate() {
            let ok = e.split_once('@').is_some_and(|(u, d)| {
                !u.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
            }) && !e.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                cx.at_value(
                    &ptr(&["alerts", name, "email", &i.to_string()]),
                    SemanticError::BadValue {
                        what: "e-mail address",
                        value: e.clone(),
                        reason: "it should look like `team@example.com`".into(),
                    },
                );
            }
        }
    }
}

fn check_misc(cx: &mut Ctx) {
    let p = cx.p;
    if p.tags.len() > 50 {
        cx.at_value(
            "/tags",
            SemanticError::BadValue {
                what: "tags",
                value: format!("{} tags", p.tags.len()),
                reason: "AWS allows at most 50 tags per resource".into(),
            },
        );
    }
    if let Some(mc) = p.defaults.max_capacity
        && mc != 0.0625
        && mc != 1.0
    {
        cx.at_value("/defaults/max_capacity", SemanticError::Glue {
            reason: format!("`max_capacity` in defaults applies to Python shell stages, which take 0.0625 or 1, not {mc}"),
            hint: Some("Spark stages take `worker_type` and `workers`".into()),
        });
    }
    if p.workflow.max_concurrent_runs == Some(0) {
        cx.at_value(
            "/workflow/max_concurrent_runs",
            SemanticError::Glue {
                reason: "max_concurrent_runs must be at least 1".into(),
                hint: None,
            },
        );
    }
    if let Some(a) = &p.athena {
        if let Some(w) = &a.workgroup
            && (w.is_empty()
                || w.len() > 128
                || !w
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)))
        {
            cx.at_value(
                "/athena/workgroup",
                SemanticError::BadName {
                    what: "workgroup",
                    name: w.clone(),
                    reason: "use 1 to 128 letters, digits, `.`, `_` and `-`".into(),
                },
            );
        }
        if let Some(limit) = &a.scan_limit {
            match rules::byte_size(limit) {
                Err(reason) => cx.at_value(
                    "/athena/scan_limit",
                    SemanticError::BadValue {
                        what: "scan limit",
                        value: limit.clone(),
                        reason,
                    },
                ),
                Ok(n) if n < 10_000_000 => cx.at_value(
                    "/athena/scan_limit",
                    SemanticError::BadValue {
                        what: "scan limit",
                        value: limit.clone(),
                        reason: "Athena's smallest per-query limit is 10 MB".into(),
                    },
                ),
                Ok(_) => {}
            }
        }
        if let Some(d) = a.results_retention_days
            && d == 0
        {
            cx.at_value(
                "/athena/results_retention_days",
                SemanticError::BadValue {
                    what: "retention",
                    value: "0".into(),
                    reason: "keep results at least 1 day".into(),
                },
            );
        }
    }
}
