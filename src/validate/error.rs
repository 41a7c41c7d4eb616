//! The semantic phase's error type. Every message of the phase is worded here.
//!
//! In: what a check found. Out: the message and hint of a `Diagnostic`.

/// One semantic problem. Checks build these; `message` and `hint` word them.
#[derive(Debug, Clone, PartialEq)]
pub enum SemanticError {
    /// A name that breaks a naming rule.
    BadName {
        what: &'static str,
        name: String,
        reason: String,
    },
    /// A reference to something not declared.
    Unknown {
        what: &'static str,
        name: String,
        candidates: Vec<String>,
    },
    /// The same name declared twice in one namespace.
    Duplicate { what: &'static str, name: String },
    /// Two names that become the same CloudFormation logical ID.
    LogicalIdClash {
        what: &'static str,
        name: String,
        other: String,
        id: String,
    },
    /// A name pipec derives (IAM role, bucket, ...) that would break an AWS limit.
    DerivedTooLong {
        what: &'static str,
        derived: String,
        len: usize,
        max: usize,
    },
    /// A value that breaks a rule of its own.
    BadValue {
        what: &'static str,
        value: String,
        reason: String,
    },
    /// Settings that do not go together.
    Conflict { what: String, reason: &'static str },
    /// Something required in this situation is missing.
    Missing {
        what: String,
        hint: Option<&'static str>,
    },
    /// A cycle in the trigger graph, named in full.
    Cycle { path: Vec<String> },
    /// A stage that no trigger can ever start.
    NeverStarts { stage: String, why: String },
    /// A crawler no trigger starts: it runs only by hand.
    CrawlerNeverStarts { crawler: String },
    /// The trigger graph cannot be cut into Glue workflows of at most 100 nodes.
    WorkflowSplit { reason: String, hint: &'static str },
    /// A column that does not exist at this point of a stage.
    UnknownColumn {
        column: String,
        frame: String,
        candidates: Vec<String>,
    },
    /// A column a table declaration refers to but does not declare.
    UnknownTableColumn {
        column: String,
        table: String,
        candidates: Vec<String>,
    },
    /// Two columns that would share one name.
    ColumnClash {
        column: String,
        reason: String,
        hint: Option<String>,
    },
    /// Two frames a union by name joins whose columns differ.
    UnionMismatch {
        frame: String,
        other: String,
        /// Columns of `frame` that `other` lacks.
        lacks: Vec<String>,
        /// Columns of `other` that `frame` lacks.
        extra: Vec<String>,
    },
    /// A frame written to a table lacks some of the table's columns.
    MissingColumns {
        table: String,
        frame: String,
        columns: Vec<String>,
    },
    /// A frame has columns a table does not, which are therefore not written.
    ExtraColumns {
        table: String,
        frame: String,
        columns: Vec<String>,
    },
    /// A stage overwrites a table it also reads.
    ReadsAndOverwrites { table: String },
    /// An Iceberg partition transform that is malformed or does not apply
    /// to its column's type.
    IcebergTransform { transform: String, reason: String },
    /// An Iceberg table property outside the allow-list, or a bad value.
    IcebergProperty { key: String, reason: String },
    /// An Iceberg format version the Iceberg of a writing stage's Glue
    /// version cannot write.
    IcebergFormatVersion {
        version: String,
        stage: String,
        glue_version: String,
        iceberg: &'static str,
    },
    /// `mode: merge` on a table that is not an Iceberg table.
    MergeNotIceberg { table: String },
    /// `mode: merge` with no key columns to match on.
    MergeWithoutKeys { table: String },
    /// A worker type the stage's Glue version does not offer.
    WorkerTypeVersion {
        worker_type: &'static str,
        glue_version: String,
        since: &'static str,
    },
    /// `execution_class: flex` where Glue does not run FLEX.
    FlexUnsupported { what: String },
    /// A Spark-only job setting on a Python shell stage.
    SparkOnlySetting { key: &'static str },
    /// A Glue setting outside what Glue accepts.
    Glue {
        reason: String,
        hint: Option<String>,
    },
    /// A result that depends on the order Spark happens to process rows in.
    Nondeterministic { what: String, hint: &'static str },
    /// Two tables in the same place.
    SharedLocation {
        table: String,
        other: String,
        location: String,
    },
    /// User text that holds a CloudFormation dynamic reference (`{{resolve:`).
    DynamicReference { found: String },
    /// A map key that CloudFormation would read as an intrinsic function.
    IntrinsicKey { key: String },
    /// A control character in user text (NUL, ESC, ...).
    ControlCharacter { what: &'static str, ch: char },
    /// An invisible or bidirectional character in a name.
    InvisibleCharacter { name: String, ch: char },
    /// A value longer than the AWS field it is written to allows.
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
        unit: &'static str,
        hint: Option<String>,
    },
    /// A character the AWS field a value is written to does not take.
    BadCharacter {
        what: &'static str,
        ch: char,
        allowed: &'static str,
    },
    /// A tag key with a prefix that AWS or pipec owns.
    ReservedTag { key: String, prefix: &'static str },
    /// A job argument that pipec or Glue itself owns.
    ReservedArgument { key: String, owner: &'static str },
    /// One DQDL string that holds several rules.
    SeveralRules { rule: String },
    /// A typed column of a quoted CSV table, which Athena sees as string.
    AthenaReadsString {
        table: String,
        column: String,
        ty: String,
        reason: &'static str,
    },
    /// A `cast` option that does not fit the cast it is on.
    CastOption {
        option: &'static str,
        column: String,
        reason: String,
    },
    /// Two CSV columns whose Athena-safe catalog names are the same.
    AthenaColumnClash {
        column: String,
        other: String,
        catalog: String,
    },
    /// A problem in Spark SQL text, worded by `src/sql/error.rs`; `place`
    /// says where the text is (`filter`, `derived column \`x\``, ...).
    Sql {
        place: String,
        message: String,
        hint: Option<String>,
    },
    /// An aggregate function where Spark computes row by row.
    AggregateInRowStep { place: String },
    /// A filter condition whose type is not boolean.
    FilterNotBoolean { ty: String },
    /// A `sql` step's declared `columns` that differ from what its query returns.
    SqlColumnsDiffer { differences: Vec<String> },
    /// `samples` on a JDBC table, which a local run reads from its stand-in.
    SampleOnJdbcTable { table: String },
    /// A sample path that is absolute or leaves the pipeline's folder.
    SamplePath { path: String, reason: String },
    /// A sample path that is not a readable regular file (missing, a folder, a symlink).
    SampleFile { path: String, reason: String },
    /// A CSV sample whose header is not the table's columns in order.
    SampleHeader {
        table: String,
        path: String,
        expected: Vec<String>,
        found: Vec<String>,
    },
    /// A headerless CSV sample whose first record has another number of fields.
    SampleColumnCount {
        table: String,
        path: String,
        expected: usize,
        found: usize,
    },
    /// A consumer's `read` that gives no table: empty, or a zone without tables.
    ConsumerReadsNothing { consumer: String, why: String },
    /// A consumer's `read` item that names both a zone and a table.
    ConsumerReadAmbiguous { name: String },
    /// A consumer given a JDBC table, which has no S3 prefix to grant.
    ConsumerJdbcTable { consumer: String, table: String },
    /// A consumer's trust principal that IAM would refuse.
    ConsumerPrincipal { value: String, reason: String },
    /// An environment's `account` that is not a 12-digit AWS account ID.
    EnvironmentAccount { env: String, account: String },
    /// An environment's `region` that is not an AWS region name.
    EnvironmentRegion { env: String, region: String },
    /// Two environments that would deploy the same stacks to one account and region.
    EnvironmentClash {
        env: String,
        other: String,
        name: String,
    },
    /// `paused` on a trigger that has no schedule.
    PausedNotScheduled { trigger: String },
}

impl SemanticError {
    /// The check's name, for tools to filter on: the variant's name in
    /// kebab case, one code per variant (`tests/cases.rs` relies on it to
    /// find each variant's fixture).
    pub fn code(&self) -> &'static str {
        match self {
            SemanticError::BadName { .. } => "bad-name",
            SemanticError::Unknown { .. } => "unknown",
            SemanticError::Duplicate { .. } => "duplicate",
            SemanticError::LogicalIdClash { .. } => "logical-id-clash",
            SemanticError::DerivedTooLong { .. } => "derived-too-long",
            SemanticError::BadValue { .. } => "bad-value",
            SemanticError::Conflict { .. } => "conflict",
            SemanticError::Missing { .. } => "missing",
            SemanticError::Cycle { .. } => "cycle",
            SemanticError::NeverStarts { .. } => "never-starts",
            SemanticError::CrawlerNeverStarts { .. } => "crawler-never-starts",
            SemanticError::WorkflowSplit { .. } => "workflow-split",
            SemanticError::UnknownColumn { .. } => "unknown-column",
            SemanticError::UnknownTableColumn { .. } => "unknown-table-column",
            SemanticError::ColumnClash { .. } => "column-clash",
            SemanticError::UnionMismatch { .. } => "union-mismatch",
            SemanticError::MissingColumns { .. } => "missing-columns",
            SemanticError::ExtraColumns { .. } => "extra-columns",
            SemanticError::ReadsAndOverwrites { .. } => "reads-and-overwrites",
            SemanticError::IcebergTransform { .. } => "iceberg-transform",
            SemanticError::IcebergProperty { .. } => "iceberg-property",
            SemanticError::IcebergFormatVersion { .. } => "iceberg-format-version",
            SemanticError::MergeNotIceberg { .. } => "merge-not-iceberg",
            SemanticError::MergeWithoutKeys { .. } => "merge-without-keys",
            SemanticError::Sql { .. } => "sql",
            SemanticError::AggregateInRowStep { .. } => "aggregate-in-row-step",
            SemanticError::FilterNotBoolean { .. } => "filter-not-boolean",
            SemanticError::SqlColumnsDiffer { .. } => "sql-columns-differ",
            SemanticError::Glue { .. } => "glue",
            SemanticError::WorkerTypeVersion { .. } => "worker-type-version",
            SemanticError::FlexUnsupported { .. } => "flex-unsupported",
            SemanticError::SparkOnlySetting { .. } => "spark-only-setting",
            SemanticError::Nondeterministic { .. } => "nondeterministic",
            SemanticError::SharedLocation { .. } => "shared-location",
            SemanticError::DynamicReference { .. } => "dynamic-reference",
            SemanticError::IntrinsicKey { .. } => "intrinsic-key",
            SemanticError::ControlCharacter { .. } => "control-character",
            SemanticError::InvisibleCharacter { .. } => "invisible-character",
            SemanticError::TooLong { .. } => "too-long",
            SemanticError::BadCharacter { .. } => "bad-character",
            SemanticError::ReservedTag { .. } => "reserved-tag",
            SemanticError::ReservedArgument { .. } => "reserved-argument",
            SemanticError::SeveralRules { .. } => "several-rules",
            SemanticError::AthenaReadsString { .. } => "athena-reads-string",
            SemanticError::AthenaColumnClash { .. } => "athena-column-clash",
            SemanticError::CastOption { .. } => "cast-option",
            SemanticError::SampleOnJdbcTable { .. } => "sample-on-jdbc-table",
            SemanticError::SamplePath { .. } => "sample-path",
            SemanticError::SampleFile { .. } => "sample-file",
            SemanticError::SampleHeader { .. } => "sample-header",
            SemanticError::SampleColumnCount { .. } => "sample-column-count",
            SemanticError::ConsumerReadsNothing { .. } => "consumer-reads-nothing",
            SemanticError::ConsumerReadAmbiguous { .. } => "consumer-read-ambiguous",
            SemanticError::ConsumerJdbcTable { .. } => "consumer-jdbc-table",
            SemanticError::ConsumerPrincipal { .. } => "consumer-principal",
            SemanticError::EnvironmentAccount { .. } => "environment-account",
            SemanticError::EnvironmentRegion { .. } => "environment-region",
            SemanticError::EnvironmentClash { .. } => "environment-clash",
            SemanticError::PausedNotScheduled { .. } => "paused-not-scheduled",
        }
    }

    /// Warnings do not make a pipeline invalid.
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            SemanticError::CrawlerNeverStarts { .. }
                | SemanticError::ExtraColumns { .. }
                | SemanticError::Nondeterministic { .. }
                | SemanticError::AthenaReadsString { .. }
        )
    }

    pub fn message(&self) -> String {
        match self {
            SemanticError::BadName { what, name, reason } => {
                format!("{what} name `{}` is not valid: {reason}", visible(name))
            }
            SemanticError::Unknown { what, name, .. } => format!("unknown {what} `{name}`"),
            SemanticError::Duplicate { what, name } => format!("{what} `{name}` appears twice"),
            SemanticError::LogicalIdClash {
                what,
                name,
                other,
                id,
            } => format!(
                "{what}s `{name}` and `{other}` both become the CloudFormation logical ID `{id}`"
            ),
            SemanticError::DerivedTooLong {
                what,
                derived,
                len,
                max,
            } => format!(
                "the {what} `{derived}` would have {len} characters; AWS allows at most {max}"
            ),
            SemanticError::BadValue {
                what,
                value,
                reason,
            } if value.is_empty() => format!("{what} is empty: {reason}"),
            SemanticError::BadValue {
                what,
                value,
                reason,
            } => {
                format!("{what} `{}` is not valid: {reason}", visible(value))
            }
            SemanticError::Conflict { what, reason } => format!("{what}: {reason}"),
            SemanticError::Missing { what, .. } => what.clone(),
            SemanticError::Cycle { path } => {
                format!("the triggers form a cycle: {}", path.join(" -> "))
            }
            SemanticError::NeverStarts { stage, why } => {
                format!("stage `{stage}` can never start: {why}")
            }
            SemanticError::WorkflowSplit { reason, .. } => format!(
                "this pipeline needs more than one Glue workflow (AWS supports 100 jobs, crawlers and triggers in one), and it cannot be cut here: {reason}"
            ),
            SemanticError::CrawlerNeverStarts { crawler } => format!(
                "crawler `{crawler}` is started by no trigger, so it runs only when started by hand"
            ),
            SemanticError::UnknownColumn { column, frame, .. } => {
                format!("column `{column}` does not exist in frame `{frame}` at this step")
            }
            SemanticError::UnknownTableColumn { column, table, .. } => {
                format!("table `{table}` has no column `{column}`")
            }
            SemanticError::ColumnClash { column, reason, .. } => {
                format!("column `{column}` {reason}")
            }
            SemanticError::UnionMismatch {
                frame,
                other,
                lacks,
                extra,
            } => {
                let mut parts = Vec::new();
                if !lacks.is_empty() {
                    parts.push(format!(
                        "frame `{other}` lacks {} of `{frame}`",
                        columns_word(lacks)
                    ));
                }
                if !extra.is_empty() {
                    parts.push(format!(
                        "`{frame}` lacks {} of `{other}`",
                        columns_word(extra)
                    ));
                }
                format!("union by name: {}", parts.join("; "))
            }
            SemanticError::MissingColumns {
                table,
                frame,
                columns,
            } => format!(
                "frame `{frame}` lacks column{} {} of table `{table}`",
                if columns.len() == 1 { "" } else { "s" },
                quote_list(columns)
            ),
            SemanticError::ExtraColumns {
                table,
                frame,
                columns,
            } => format!(
                "frame `{frame}` has column{} {} that table `{table}` does not declare; {} not written",
                if columns.len() == 1 { "" } else { "s" },
                quote_list(columns),
                if columns.len() == 1 {
                    "it is"
                } else {
                    "they are"
                }
            ),
            SemanticError::ReadsAndOverwrites { table } => format!(
                "this stage reads table `{table}` and overwrites it: Spark would delete the input before reading it"
            ),
            SemanticError::IcebergTransform { transform, reason } => {
                format!("partition transform `{transform}`: {reason}")
            }
            SemanticError::IcebergProperty { key, reason } => {
                format!("Iceberg table property `{key}`: {reason}")
            }
            SemanticError::IcebergFormatVersion {
                version,
                stage,
                glue_version,
                iceberg,
            } => format!(
                "Iceberg format version {version} needs Iceberg 1.8 or later, and stage `{stage}` writes this table on Glue {glue_version}, which ships Iceberg {iceberg}"
            ),
            SemanticError::MergeNotIceberg { table } => {
                format!("`mode: merge` needs an Iceberg table, and table `{table}` is not one")
            }
            SemanticError::MergeWithoutKeys { table } => {
                format!("this merge into table `{table}` has no key columns to match rows on")
            }
            SemanticError::Glue { reason, .. } => reason.clone(),
            SemanticError::WorkerTypeVersion {
                worker_type,
                glue_version,
                since,
            } => format!(
                "{worker_type} workers need Glue {since} or later, and this stage runs on Glue {glue_version}"
            ),
            SemanticError::FlexUnsupported { what } => {
                format!("the FLEX execution class does not run {what}")
            }
            SemanticError::SparkOnlySetting { key } => {
                format!(
                    "`{key}` applies to Spark stages; a Python shell stage runs on one fixed capacity"
                )
            }
            SemanticError::Sql { place, message, .. } => format!("{message} (in {place})"),
            SemanticError::AggregateInRowStep { place } => {
                format!("{place} calls an aggregate function, but it is computed row by row")
            }
            SemanticError::FilterNotBoolean { ty } => {
                format!("a filter condition must be boolean, and this one is `{ty}`")
            }
            SemanticError::SqlColumnsDiffer { differences } => format!(
                "the declared `columns` differ from what the query returns: {}",
                differences.join("; ")
            ),
            SemanticError::Nondeterministic { what, .. } => {
                format!(
                    "{what} depends on the order Spark happens to read rows in, so reruns may differ"
                )
            }
            SemanticError::SharedLocation {
                table,
                other,
                location,
            } => format!(
                "tables `{table}` and `{other}` overlap at {location}: writing one would overwrite the other"
            ),
            SemanticError::DynamicReference { found } => format!(
                "`{found}` starts a CloudFormation dynamic reference, which pipeline text must not hold"
            ),
            SemanticError::IntrinsicKey { key } => format!(
                "key `{key}` would be read by CloudFormation as an intrinsic function, not as data"
            ),
            SemanticError::ControlCharacter { what, ch } => format!(
                "{what} holds the control character {}, which AWS does not accept here",
                codepoint(*ch)
            ),
            SemanticError::InvisibleCharacter { name, ch } => format!(
                "name `{}` holds the invisible or bidirectional character {}",
                visible(name),
                codepoint(*ch)
            ),
            SemanticError::TooLong {
                what,
                len,
                max,
                unit,
                ..
            } => format!("{what} has {len} {unit}; AWS allows at most {max}"),
            SemanticError::BadCharacter { what, ch, allowed } => format!(
                "{what} holds {}, but AWS allows only {allowed} there",
                codepoint(*ch)
            ),
            SemanticError::ReservedTag { key, prefix } => {
                format!("tag key `{key}` starts with `{prefix}`, which is reserved")
            }
            SemanticError::ReservedArgument { key, owner } => {
                format!("argument `{key}` is {owner}, so the pipeline must not set it")
            }
            SemanticError::SeveralRules { rule } => format!(
                "`{rule}` holds more than one DQDL rule: Glue would count them apart, the local evaluator as one"
            ),
            SemanticError::AthenaReadsString {
                table,
                column,
                ty,
                reason,
            } => format!(
                "Athena reads column `{column}` ({ty}) of quoted CSV table `{table}` as string: {reason}"
            ),
            SemanticError::AthenaColumnClash {
                column,
                other,
                catalog,
            } => {
                format!(
                    "columns `{column}` and `{other}` both become the Athena column `{catalog}`"
                )
            }
            SemanticError::CastOption {
                option,
                column,
                reason,
            } => format!("`{option}` does not fit the cast of `{column}`: it {reason}"),
            SemanticError::SampleOnJdbcTable { table } => {
                format!("table `{table}` is a JDBC table: samples are files of zone tables")
            }
            SemanticError::SamplePath { path, reason } => {
                format!("sample path `{}` is not valid: {reason}", visible(path))
            }
            SemanticError::SampleFile { path, reason } => {
                format!("sample `{}` cannot be used: {reason}", visible(path))
            }
            SemanticError::SampleHeader {
                table,
                path,
                expected,
                found,
            } => {
                let (e, f) = (expected.len(), found.len());
                let first = expected
                    .iter()
                    .zip(found)
                    .position(|(a, b)| a != b)
                    .unwrap_or(e.min(f));
                let detail = match (expected.get(first), found.get(first)) {
                    (Some(want), Some(got)) => format!(
                        "column {} is `{}` where the table declares `{}`",
                        first + 1,
                        visible(got),
                        visible(want)
                    ),
                    _ => format!(
                        "it has {f} column{}, the table {e}",
                        if f == 1 { "" } else { "s" }
                    ),
                };
                format!(
                    "the header of sample `{}` does not match table `{table}`: {detail}",
                    visible(path)
                )
            }
            SemanticError::SampleColumnCount {
                table,
                path,
                expected,
                found,
            } => format!(
                "the first record of sample `{}` has {found} field{}, but table `{table}` declares {expected} column{}",
                visible(path),
                if *found == 1 { "" } else { "s" },
                if *expected == 1 { "" } else { "s" },
            ),
            SemanticError::ConsumerReadsNothing { consumer, why } => {
                format!("consumer `{consumer}` is given nothing to read: {why}")
            }
            SemanticError::ConsumerReadAmbiguous { name } => {
                format!("`{name}` is both a zone and a table")
            }
            SemanticError::ConsumerJdbcTable { consumer, table } => format!(
                "consumer `{consumer}` cannot be given JDBC table `{table}`: it has no S3 prefix or Athena table to grant"
            ),
            SemanticError::ConsumerPrincipal { value, reason } => {
                format!("principal `{}` is not valid: {reason}", visible(value))
            }
            SemanticError::EnvironmentAccount { env, account } => format!(
                "environment `{env}`: `{}` is not an AWS account ID (12 digits)",
                visible(account)
            ),
            SemanticError::EnvironmentRegion { env, region } => format!(
                "environment `{env}`: `{}` is not an AWS region name",
                visible(region)
            ),
            SemanticError::EnvironmentClash { env, other, name } => format!(
                "environments `{other}` and `{env}` both name the pipeline `{name}` and may share an account and region, so they would deploy the same stacks"
            ),
            SemanticError::PausedNotScheduled { trigger } => format!(
                "trigger `{trigger}` is paused but has no schedule: only scheduled triggers can be paused"
            ),
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            SemanticError::Unknown { name, candidates, what } => {
                crate::suggest::did_you_mean(name, candidates.iter().map(String::as_str)).or_else(
                    || {
                        if candidates.is_empty() {
                            Some(format!("no {what} is declared"))
                        } else if candidates.len() <= 8 {
                            Some(format!("declared: {}", candidates.join(", ")))
                        } else {
                            None
                        }
                    },
                )
            }
            SemanticError::UnknownColumn { column, candidates, .. }
            | SemanticError::UnknownTableColumn { column, candidates, .. } => {
                crate::suggest::did_you_mean(column, candidates.iter().map(String::as_str))
                    .or_else(|| {
                        (candidates.len() <= 12).then(|| {
                            format!("columns here: {}", candidates.join(", "))
                        })
                    })
            }
            SemanticError::LogicalIdClash { .. } => {
                Some("names that differ only in `-`/`_` collide; rename one".into())
            }
            SemanticError::DerivedTooLong { what, .. } if *what == "default bucket name" => Some(
                "the account ID and the longest region name are counted; shorten the pipeline or zone name, or set `bucket`".into(),
            ),
            SemanticError::DerivedTooLong { .. } => {
                Some("shorten the pipeline name or this name".into())
            }
            SemanticError::Missing { hint, .. } => hint.map(str::to_string),
            SemanticError::WorkflowSplit { hint, .. } => Some((*hint).to_string()),
            SemanticError::Cycle { .. } => {
                Some("a Glue workflow is a graph without cycles; remove one of these conditions".into())
            }
            SemanticError::ColumnClash { hint, .. } | SemanticError::Glue { hint, .. } => hint.clone(),
            SemanticError::WorkerTypeVersion { since, .. } => {
                Some(format!("set `glue_version` to {since} or later, or use G.1X to G.8X workers"))
            }
            SemanticError::FlexUnsupported { .. } => Some(
                "FLEX runs Spark stages on Glue 3.0 or later with G.1X or G.2X workers; remove `execution_class` or change those".into(),
            ),
            SemanticError::SparkOnlySetting { .. } => Some("remove it from this stage".into()),
            SemanticError::Nondeterministic { hint, .. } => Some((*hint).to_string()),
            SemanticError::Sql { hint, .. } => hint.clone(),
            SemanticError::AggregateInRowStep { .. } => Some(
                "use an `aggregate` step, or a `window` step for a value per row".into(),
            ),
            SemanticError::FilterNotBoolean { .. } => {
                Some("compare it, for example `amount > 0` or `flag = 'Y'`".into())
            }
            SemanticError::SqlColumnsDiffer { .. } => Some(
                "correct `columns`, or remove it: pipec derives the columns from the query".into(),
            ),
            SemanticError::UnionMismatch { .. } => Some(
                "set `allow_missing: true` to fill the missing columns with nulls, or select the same columns in both frames".into(),
            ),
            SemanticError::MissingColumns { .. } => {
                Some("derive or rename them before writing, or change the table's schema".into())
            }
            SemanticError::ReadsAndOverwrites { .. } => {
                Some("write to another table, or use `mode: append`".into())
            }
            SemanticError::IcebergTransform { .. } => Some(
                "transforms: `col`, `years(col)`, `months(col)`, `days(col)` (date or timestamp), `hours(col)` (timestamp), `bucket(N, col)`, `truncate(N, col)` (N at least 1)".into(),
            ),
            SemanticError::IcebergProperty { .. } => Some(
                "allowed: format-version, write.distribution-mode, write.merge.mode, write.update.mode, write.delete.mode, write.parquet.compression-codec, write.target-file-size-bytes, history.expire.max-snapshot-age-ms, history.expire.min-snapshots-to-keep".into(),
            ),
            SemanticError::IcebergFormatVersion { .. } => Some(
                "use `format-version: 2`, or run the writing stages on Glue 5.1 or later (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-format-iceberg.html)".into(),
            ),
            SemanticError::MergeNotIceberg { .. } => Some(
                "set `format: iceberg` on the table, or write with `mode: append` or `overwrite`".into(),
            ),
            SemanticError::MergeWithoutKeys { .. } => Some(
                "set `merge: {on: [...]}` on the output, or `iceberg: {keys: [...]}` on the table".into(),
            ),
            SemanticError::DynamicReference { .. } => Some(
                "CloudFormation resolves `{{resolve:...}}` in every property it deploys, so a secret (secretsmanager, ssm-secure) would be copied into configuration anyone with read access sees; remove it".into(),
            ),
            SemanticError::IntrinsicKey { .. } => Some(
                "`Ref`, `Condition` and `Fn::...` keys are CloudFormation syntax; rename the key".into(),
            ),
            SemanticError::ControlCharacter { .. } => Some(
                "only tab, newline and carriage return are allowed in text; remove the character".into(),
            ),
            SemanticError::InvisibleCharacter { .. } => Some(
                "such characters hide or reorder text for a reviewer; names take visible characters only".into(),
            ),
            SemanticError::TooLong { hint, .. } => hint.clone(),
            SemanticError::ReservedTag { prefix, .. } if *prefix == "aws:" => {
                Some("AWS reserves the `aws:` prefix for its own tags".into())
            }
            SemanticError::ReservedTag { .. } => Some(
                "pipec's own tags mark the stacks it owns; deploy and destroy rely on them".into(),
            ),
            SemanticError::ReservedArgument { .. } => Some(
                "pipec sets these from the stage's inputs, outputs and settings; use another argument name".into(),
            ),
            SemanticError::SeveralRules { .. } => Some(
                "write one rule per list item: split it into two entries of `rules`".into(),
            ),
            SemanticError::AthenaReadsString { .. } => Some(
                "if the files never quote values, set `csv: {quoted: false}`; otherwise declare it `string` and cast it in a stage".into(),
            ),
            SemanticError::AthenaColumnClash { .. } => Some(
                "Athena names are lower case with underscores; rename one of the columns".into(),
            ),
            SemanticError::CastOption { option: "format", .. } => Some(
                "`format` is for text cast to `date` or `timestamp`; remove it or change the type".into(),
            ),
            SemanticError::CastOption { .. } => Some(
                "`clean` is for text cast to a number (`int`, `bigint`, `double`, `decimal(p,s)`, ...); remove it or change the type".into(),
            ),
            SemanticError::SampleOnJdbcTable { .. } => Some(
                "remove `samples`; a local run reads the table from its stand-in, which a stage writes".into(),
            ),
            SemanticError::SamplePath { .. } => Some(
                "keep sample files in the repository, for example `samples/<pipeline>/<table>.csv` next to the pipeline".into(),
            ),
            SemanticError::SampleFile { .. } => Some(
                "a sample is a regular file in the repository; a symbolic link could point outside it".into(),
            ),
            SemanticError::SampleHeader { expected, .. } => Some(format!(
                "the header must name the declared columns in order: {}",
                expected.join(",")
            )),
            SemanticError::SampleColumnCount { .. } => Some(
                "columns of a headerless CSV file are read by position; give every record one field per declared column".into(),
            ),
            SemanticError::ConsumerReadsNothing { .. } => Some(
                "name zones or tables in `read`, for example `read: [gold]`; a role that reads nothing is a mistake waiting to be widened".into(),
            ),
            SemanticError::ConsumerReadAmbiguous { name } => Some(format!(
                "write `{{zone: {name}}}` or `{{table: {name}}}`"
            )),
            SemanticError::ConsumerJdbcTable { .. } => Some(
                "give the consumer a zone table that a stage writes from it instead".into(),
            ),
            SemanticError::ConsumerPrincipal { .. } => Some(
                "for example `123456789012`, `role/analyst` or `arn:aws:iam::123456789012:role/analyst`; IAM refuses a trust policy whose principal does not exist, so create the role first".into(),
            ),
            SemanticError::EnvironmentAccount { .. } => Some(
                "write the account ID as a quoted string of 12 digits, for example \"123456789012\" (leading zeros count)".into(),
            ),
            SemanticError::EnvironmentRegion { .. } => Some(
                "a region is written like `us-east-1` or `eu-central-2`".into(),
            ),
            SemanticError::EnvironmentClash { .. } => Some(
                "give one of them a `name_prefix` or `name_suffix`, or another `account` or `region`".into(),
            ),
            SemanticError::PausedNotScheduled { .. } => Some(
                "remove `paused`, or give the trigger a `schedule`".into(),
            ),
            _ => None,
        }
    }
}

/// Text as a message shows it: control and invisible characters as `\u{202e}`,
/// so that a message cannot hide or reorder what it quotes.
fn visible(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || super::text::invisible(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A character as `U+202E`, which shows what an invisible character is.
fn codepoint(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// "column `a`" or "columns `a`, `b`".
fn columns_word(items: &[String]) -> String {
    format!(
        "column{} {}",
        if items.len() == 1 { "" } else { "s" },
        quote_list(items)
    )
}

fn quote_list(items: &[String]) -> String {
    items
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
