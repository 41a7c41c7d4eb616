//! The IAM actions each Glue feature that pipec enables needs, and the exact
//! CloudWatch log groups Glue writes for a job or a crawler.
//!
//! In: a pipeline and one of its stages or crawlers. Out: the features it uses
//! (`stage_features`, `crawler_features`), the actions those features need
//! (`NEEDS`, `actions`) and its log groups (`job_logs`, `crawler_logs`). The
//! stack renderers build the roles themselves; a test checks every rendered
//! role against this table, so a feature without its actions, or an action
//! without a feature, is caught. Consumers' roles (`consumers:`) have their
//! features too (`consumer_features`), with the action lists the consumers
//! stack grants.

use crate::model::{self, Crawler, Pipeline, Stage, StageKind};
use crate::names;
use crate::validate::settings;
use std::collections::BTreeSet;

/// A Glue feature that a job or crawler role must be allowed to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feature {
    /// The job reads its own script from the artifacts bucket.
    Script,
    /// A generated Spark script's job reads the pipeline's shared runtime
    /// (`--extra-py-files`) from the artifacts bucket.
    Runtime,
    /// The job's `--TempDir` prefix in the artifacts bucket.
    TempDir,
    /// Reading the S3 prefixes of the tables a stage or crawler reads.
    TableRead,
    /// Writing (and overwriting) the S3 prefixes of the tables a stage writes.
    TableWrite,
    /// S3 clients ask a bucket for its region before they use it.
    BucketLocation,
    /// A job reads the catalog entries of the tables it reads or writes.
    CatalogRead,
    /// A crawler updates its tables and their partitions.
    CatalogCrawl,
    /// A job creates and commits to the Iceberg tables it writes, through
    /// Iceberg's GlueCatalog.
    IcebergCatalog,
    /// A job sets up the Glue table optimizers of the Iceberg tables it
    /// writes, passing them their role.
    IcebergOptimizers,
    /// A Spark job's own log groups.
    JobLogs,
    /// Job run insights: extra log streams in the job's log groups.
    JobInsights,
    /// A Python shell job's logs, in the groups Glue shares between them.
    PythonShellLogs,
    /// A crawler's logs.
    CrawlerLogs,
    /// The security configuration encrypts S3 data, logs and bookmarks with
    /// the pipeline's KMS key.
    SecurityConfiguration,
    /// A crawler reads the security configuration it names.
    CrawlerSecurityConfiguration,
    /// Job bookmarks, encrypted client-side by the security configuration.
    Bookmarks,
    /// Glue job metrics (`--enable-metrics`).
    Metrics,
    /// A JDBC connection whose network interface Glue places in a VPC.
    VpcConnection,
    /// The connection's credentials in Secrets Manager.
    Secret,
    /// Glue Data Quality results publishing (`enableDataQualityResultsPublishing`).
    DataQualityResults,
    /// Glue Data Quality metrics in CloudWatch (`enableDataQualityCloudWatchMetrics`).
    DataQualityMetrics,
    /// The script publishes the values its casts lost (`CastInvalidValues`)
    /// in CloudWatch namespace `pipec`.
    CastMetrics,
    /// A consumer reads the objects of the tables it is given.
    ConsumerTableRead,
    /// A consumer's queries read the catalog entries of its tables.
    ConsumerCatalogRead,
    /// A consumer runs queries in its own Athena workgroup.
    ConsumerQuery,
    /// Athena writes a consumer's results under its prefix, and reads them back.
    ConsumerResults,
    /// A consumer reads data encrypted with the pipeline's key, through S3
    /// and Glue only.
    ConsumerDecrypt,
}

/// The Glue catalog reads Athena makes for a query over a table.
pub const CONSUMER_CATALOG_ACTIONS: &[&str] = &[
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
];

/// Running queries and reading their results in one workgroup.
pub const CONSUMER_QUERY_ACTIONS: &[&str] = &[
    "athena:GetWorkGroup",
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:GetQueryResultsStream",
    "athena:GetQueryRuntimeStatistics",
    "athena:BatchGetQueryExecution",
    "athena:ListQueryExecutions",
];

/// The object actions on a consumer's results prefix (listing is separate,
/// under an `s3:prefix` condition).
pub const CONSUMER_RESULTS_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
];

/// The CloudWatch namespace of pipec's own metrics.
pub const METRICS_NAMESPACE: &str = "pipec";

/// What one feature needs: the actions, on which resources, and the AWS page
/// that says so.
pub struct Need {
    pub feature: Feature,
    pub actions: &'static [&'static str],
    pub scope: &'static str,
    pub doc: &'static str,
}

/// The contract table: feature -> actions -> resource scope, with the page of
/// each. Action names and resource types are those of the Service
/// Authorization Reference for each service.
pub const NEEDS: &[Need] = &[
    Need {
        feature: Feature::Script,
        actions: &["s3:GetObject"],
        scope: "the script's content-addressed object in the artifacts bucket",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/create-an-iam-role.html",
    },
    Need {
        feature: Feature::Runtime,
        actions: &["s3:GetObject"],
        scope: "the shared runtime's content-addressed object in the artifacts bucket",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-python-libraries.html",
    },
    Need {
        feature: Feature::TempDir,
        actions: &[
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:AbortMultipartUpload",
            "s3:ListBucket",
        ],
        scope: "objects under tmp/<stage>/ of the artifacts bucket; listing only under that prefix",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html",
    },
    Need {
        feature: Feature::TableRead,
        actions: &["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
        scope: "objects under each read table's prefix; listing under an s3:prefix condition",
        doc: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html",
    },
    Need {
        feature: Feature::TableWrite,
        actions: &[
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:AbortMultipartUpload",
            "s3:ListBucket",
        ],
        scope: "objects under each written table's prefix; listing under an s3:prefix condition",
        doc: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html",
    },
    Need {
        feature: Feature::BucketLocation,
        actions: &["s3:GetBucketLocation"],
        scope: "the bucket ARN, without an s3:prefix condition (the call carries none)",
        doc: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html",
    },
    Need {
        feature: Feature::CatalogRead,
        actions: &["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
        scope: "the catalog, the pipeline's database and the stage's tables",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/glue-specifying-resource-arns.html",
    },
    Need {
        feature: Feature::IcebergCatalog,
        actions: &[
            "glue:GetDatabase",
            "glue:GetTable",
            "glue:CreateTable",
            "glue:UpdateTable",
        ],
        scope: "the catalog, the pipeline's database and the Iceberg tables the stage writes",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-format-iceberg.html",
    },
    Need {
        feature: Feature::IcebergOptimizers,
        actions: &[
            "glue:CreateTableOptimizer",
            "glue:UpdateTableOptimizer",
            "iam:PassRole",
        ],
        scope: "the Iceberg tables the stage writes, and passing the stage's optimizer role to Glue",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/optimization-prerequisites.html",
    },
    Need {
        feature: Feature::CatalogCrawl,
        actions: &[
            "glue:GetDatabase",
            "glue:GetTable",
            "glue:UpdateTable",
            "glue:GetPartition",
            "glue:GetPartitions",
            "glue:BatchGetPartition",
            "glue:CreatePartition",
            "glue:BatchCreatePartition",
            "glue:UpdatePartition",
            "glue:BatchUpdatePartition",
        ],
        scope: "the catalog, the pipeline's database and the crawled tables",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/glue-specifying-resource-arns.html",
    },
    Need {
        feature: Feature::JobLogs,
        actions: &[
            "logs:CreateLogGroup",
            "logs:AssociateKmsKey",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
        scope: "the job's own log groups (see job_logs) and their streams",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html",
    },
    Need {
        feature: Feature::JobInsights,
        actions: &["logs:CreateLogStream", "logs:PutLogEvents"],
        scope: "streams in the job's own log groups",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/monitor-job-insights.html",
    },
    Need {
        feature: Feature::PythonShellLogs,
        actions: &[
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
        scope: "/aws-glue/python-jobs/output and /aws-glue/python-jobs/error, shared by all Python shell jobs",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/add-job-python.html",
    },
    Need {
        feature: Feature::CrawlerLogs,
        actions: &[
            "logs:CreateLogGroup",
            "logs:AssociateKmsKey",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
        scope: "the crawler's log stream in its groups (see crawler_logs)",
        doc: "https://docs.aws.amazon.com/glue/latest/webapi/API_CrawlerHistory.html",
    },
    Need {
        feature: Feature::SecurityConfiguration,
        actions: &[
            "kms:Decrypt",
            "kms:Encrypt",
            "kms:GenerateDataKey",
            "kms:DescribeKey",
        ],
        scope: "the pipeline's key, matched by its alias (kms:ResourceAliases)",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/encryption-security-configuration.html",
    },
    Need {
        feature: Feature::CrawlerSecurityConfiguration,
        actions: &["glue:GetSecurityConfiguration"],
        scope: "* (the action has no resource type)",
        doc: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsglue.html",
    },
    Need {
        feature: Feature::Bookmarks,
        actions: &["kms:Decrypt", "kms:GenerateDataKey"],
        scope: "the pipeline's key, matched by its alias",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/console-security-configurations.html",
    },
    Need {
        feature: Feature::Metrics,
        actions: &["cloudwatch:PutMetricData"],
        scope: "* under cloudwatch:namespace = Glue (the action has no resource type)",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/monitoring-awsglue-with-cloudwatch-metrics.html",
    },
    Need {
        feature: Feature::VpcConnection,
        actions: &[
            "glue:GetConnection",
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:CreateTags",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeVpcEndpoints",
            "ec2:DescribeVpcAttribute",
            "ec2:DescribeRouteTables",
        ],
        scope: "the connection; network interfaces in the declared subnet and security groups; Describe* on * in the region",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/create-service-policy.html",
    },
    Need {
        feature: Feature::Secret,
        actions: &[
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret",
        ],
        scope: "the connection's secret",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/connection-properties.html",
    },
    Need {
        feature: Feature::DataQualityResults,
        actions: &["glue:PublishDataQuality"],
        scope: "dataQualityRuleset/* (the only resource type; an ETL job's ruleset has no name)",
        doc: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsglue.html",
    },
    Need {
        feature: Feature::DataQualityMetrics,
        actions: &["cloudwatch:PutMetricData"],
        scope: "* under cloudwatch:namespace = Glue Data Quality",
        doc: "https://docs.aws.amazon.com/glue/latest/dg/data-quality-alerts.html",
    },
    Need {
        feature: Feature::CastMetrics,
        actions: &["cloudwatch:PutMetricData"],
        scope: "* under cloudwatch:namespace = pipec (the action has no resource type)",
        doc: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html",
    },
    Need {
        feature: Feature::ConsumerTableRead,
        actions: &["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
        scope: "objects under each given table's prefix; listing under an s3:prefix condition",
        doc: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html",
    },
    Need {
        feature: Feature::ConsumerCatalogRead,
        actions: CONSUMER_CATALOG_ACTIONS,
        scope: "the catalog, the pipeline's database and each given table",
        doc: "https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html",
    },
    Need {
        feature: Feature::ConsumerQuery,
        actions: CONSUMER_QUERY_ACTIONS,
        scope: "the consumer's own workgroup",
        doc: "https://docs.aws.amazon.com/athena/latest/ug/example-policies-workgroup.html",
    },
    Need {
        feature: Feature::ConsumerResults,
        actions: &[
            "s3:GetObject",
            "s3:PutObject",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
            "s3:ListBucket",
        ],
        scope: "objects under the consumer's prefix of the consumers bucket; listing only there",
        doc: "https://docs.aws.amazon.com/athena/latest/ug/querying.html",
    },
    Need {
        feature: Feature::ConsumerDecrypt,
        actions: &["kms:Decrypt"],
        scope: "the pipeline's key by its ARN, under kms:ViaService s3 and glue of the region",
        doc: "https://docs.aws.amazon.com/athena/latest/ug/encryption.html",
    },
];

/// The features a consumer's role needs: all of them, since every consumer
/// reads at least one zone table (validation refuses one that reads none).
pub fn consumer_features() -> BTreeSet<Feature> {
    use Feature::*;
    [
        ConsumerTableRead,
        ConsumerCatalogRead,
        ConsumerQuery,
        ConsumerResults,
        ConsumerDecrypt,
        BucketLocation,
    ]
    .into()
}

/// Every action the given features need.
pub fn actions(features: &BTreeSet<Feature>) -> BTreeSet<&'static str> {
    NEEDS
        .iter()
        .filter(|n| features.contains(&n.feature))
        .flat_map(|n| n.actions.iter().copied())
        .collect()
}

/// Whether a stage's generated script evaluates Data Quality rules on Glue,
/// which publishes results and metrics (see `templates/quality.py.j2`).
pub fn publishes_data_quality(p: &Pipeline, s: &Stage) -> bool {
    s.kind == StageKind::Spark
        && s.script.is_none()
        && s.outputs.iter().any(|o| {
            p.schemas
                .get(&o.table)
                .is_some_and(|t| t.zone.is_some() && t.quality.is_some())
        })
}

/// Whether a stage's generated script counts what its casts lose and so
/// publishes `CastInvalidValues` on Glue: a generated Spark stage with a cast
/// whose policy is not `null` (see `templates/spark_job.py.j2`).
pub fn publishes_cast_metrics(p: &Pipeline, s: &Stage) -> bool {
    if s.kind != StageKind::Spark || s.script.is_some() {
        return false;
    }
    let default = settings(p, s).cast_on_invalid;
    s.steps
        .iter()
        .chain(s.frames.values().flat_map(|f| f.steps.iter()))
        .any(|step| match step {
            model::Step::Cast(map) => map
                .values()
                .any(|c| c.on_invalid().unwrap_or(default) != model::OnInvalid::Null),
            _ => false,
        })
}

/// Whether a stage's job imports the pipeline's shared runtime: every Spark
/// stage whose script pipec generates (see `render::scripts`).
pub fn uses_runtime(s: &Stage) -> bool {
    s.kind == StageKind::Spark && s.script.is_none()
}

/// The features a stage's role needs, read from what the stage declares.
pub fn stage_features(p: &Pipeline, s: &Stage) -> BTreeSet<Feature> {
    use Feature::*;
    let st = settings(p, s);
    let shell = s.kind == StageKind::PythonShell;
    let mut f: BTreeSet<Feature> = [Script, TempDir, BucketLocation, SecurityConfiguration].into();
    let mut tables: Vec<(&str, bool)> = s.inputs.iter().map(|i| (i.table(), false)).collect();
    tables.extend(s.outputs.iter().map(|o| (o.table.as_str(), true)));
    if let Some(d) = &s.download {
        tables.push((d.to.as_str(), true));
    }
    for (name, write) in tables {
        let Some(t) = p.schemas.get(name) else {
            continue;
        };
        if t.zone.is_some() {
            f.insert(if write { TableWrite } else { TableRead });
            f.insert(CatalogRead);
        }
        if write && t.format == Some(model::Format::Iceberg) {
            f.insert(IcebergCatalog);
            if t.iceberg.as_ref().is_none_or(|i| i.maintenance.any()) {
                f.insert(IcebergOptimizers);
            }
        }
        if t.connection.is_some() {
            f.insert(VpcConnection);
            f.insert(Secret);
        }
    }
    if shell {
        f.insert(PythonShellLogs);
    } else {
        f.insert(JobLogs);
        f.insert(JobInsights);
        if st.metrics {
            f.insert(Metrics);
        }
        if st.bookmarks != model::Bookmarks::Disable {
            f.insert(Bookmarks);
        }
    }
    if uses_runtime(s) {
        f.insert(Runtime);
    }
    if publishes_data_quality(p, s) {
        f.insert(DataQualityResults);
        f.insert(DataQualityMetrics);
    }
    if publishes_cast_metrics(p, s) {
        f.insert(CastMetrics);
    }
    f
}

/// The features a crawler's role needs.
pub fn crawler_features(p: &Pipeline, c: &Crawler) -> BTreeSet<Feature> {
    use Feature::*;
    let mut f: BTreeSet<Feature> = [
        CatalogCrawl,
        CrawlerLogs,
        SecurityConfiguration,
        CrawlerSecurityConfiguration,
    ]
    .into();
    if c.tables
        .iter()
        .any(|t| p.schemas.get(t).is_some_and(|t| t.zone.is_some()))
    {
        f.insert(TableRead);
        f.insert(BucketLocation);
    }
    f
}

/// One CloudWatch log group that Glue writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroup {
    pub name: String,
    /// The logical ID suffix of the group pipec creates for it.
    pub id: &'static str,
    /// Only this job or crawler writes it, so pipec creates it (with retention
    /// and the pipeline's key) and lets Glue associate the key. A shared group
    /// belongs to the account; pipec neither creates nor re-keys it.
    pub own: bool,
    /// The log stream the role may write, when Glue names it predictably.
    pub stream: Option<String>,
}

/// The log arguments of a job and the groups Glue then writes.
pub struct JobLogs {
    pub arguments: Vec<(&'static str, String)>,
    pub groups: Vec<LogGroup>,
}

/// The prefix of a stage's own log groups.
pub fn job_log_prefix(pipeline: &str, stage: &str) -> String {
    format!("/aws-glue/jobs/{pipeline}/{stage}")
}

/// Whether a Glue version is 5.0 or later, where continuous logging gave way
/// to real-time logging with `--custom-logGroup-prefix`.
pub fn realtime_logging(glue_version: &str) -> bool {
    glue_version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .is_some_and(|m| m >= 5)
}

fn own(name: String, id: &'static str) -> LogGroup {
    LogGroup {
        name,
        id,
        own: true,
        stream: None,
    }
}

/// The log groups of a stage's job. pipec's security configuration always
/// encrypts CloudWatch logs, which changes the names Glue uses on 4.0 and
/// earlier.
pub fn job_logs(pipeline: &str, stage_name: &str, p: &Pipeline, s: &Stage) -> JobLogs {
    let st = settings(p, s);
    if s.kind == StageKind::PythonShell {
        // Python shell jobs log to these two groups, one stream per run, and
        // take no log arguments. AWS's Python shell page
        // (https://docs.aws.amazon.com/glue/latest/dg/add-job-python.html)
        // does not name them; they are the groups Glue uses in practice
        // (README checklist).
        let shared = |n: &str| LogGroup {
            name: format!("/aws-glue/python-jobs/{n}"),
            id: "",
            own: false,
            stream: None,
        };
        return JobLogs {
            arguments: Vec::new(),
            groups: vec![shared("output"), shared("error")],
        };
    }
    let prefix = job_log_prefix(pipeline, stage_name);
    if realtime_logging(&st.glue_version) {
        // Glue 5.0: `--custom-logGroup-prefix` moves /aws-glue/jobs/output and
        // /error to <prefix>/output and <prefix>/error:
        // https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html
        return JobLogs {
            arguments: vec![("--custom-logGroup-prefix", prefix.clone())],
            groups: vec![
                own(format!("{prefix}/output"), "Output"),
                own(format!("{prefix}/error"), "Error"),
            ],
        };
    }
    let sc = names::security_configuration(pipeline);
    let role = names::job_role(pipeline, stage_name);
    // Glue 4.0 and earlier: continuous logs go to the custom group with the
    // security configuration's name appended ("Security configuration with
    // continuous logging",
    // https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging-enable.html),
    // and the output and error logs to /aws-glue/jobs-<role>-<configuration>/
    // (JobRun LogGroupName,
    // https://docs.aws.amazon.com/glue/latest/webapi/API_JobRun.html).
    JobLogs {
        arguments: vec![
            ("--enable-continuous-cloudwatch-log", "true".to_string()),
            ("--continuous-log-logGroup", prefix.clone()),
        ],
        groups: vec![
            own(format!("{prefix}-{sc}"), "Continuous"),
            own(format!("/aws-glue/jobs-{role}-{sc}/output"), "Output"),
            own(format!("/aws-glue/jobs-{role}-{sc}/error"), "Error"),
        ],
    }
}

/// The log groups of a crawler. A crawler writes one stream, named after the
/// crawler, into /aws-glue/crawlers; with a security configuration that
/// encrypts logs, into a group named after its role and the configuration,
/// as for jobs (JobRun LogGroupName above). The exact
/// `/aws-glue/crawlers-role/<role>-<configuration>` form is what Glue creates
/// in practice; AWS's pages do not spell it out (README checklist).
pub fn crawler_logs(pipeline: &str, crawler: &str) -> Vec<LogGroup> {
    let sc = names::security_configuration(pipeline);
    let role = names::crawler_role(pipeline, crawler);
    let stream = Some(names::glue_crawler(pipeline, crawler));
    vec![
        LogGroup {
            name: format!("/aws-glue/crawlers-role/{role}-{sc}"),
            id: "",
            own: true,
            stream: stream.clone(),
        },
        LogGroup {
            name: "/aws-glue/crawlers".into(),
            id: "",
            own: false,
            stream,
        },
    ]
}
