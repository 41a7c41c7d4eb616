//! What a stage's Glue job needs for its Iceberg tables: the
//! `--datalake-formats` and `--conf` arguments that make `glue_catalog` the
//! Glue Data Catalog, the catalog calls on exactly those tables, and the
//! declared Iceberg schema as resource metadata for the deploy gate.
//!
//! In: a stage and the pipeline's tables. Out: `IcebergJob` (empty for a
//! stage without Iceberg tables). The job, not a stack, creates each table on
//! its first run (see "Iceberg tables" in the README).

use super::{Ctx, iam, resource, table_prefix};
use crate::model::{Format, Stage, Transform, WriteMode};
use crate::names::{self, Kind};
use crate::render::cfn::{get_att, sub};
use crate::validate::iceberg::format_version;
use serde_json::{Map, Value, json};

/// The IAM statements, job arguments and metadata of a stage's Iceberg tables.
#[derive(Default)]
pub(super) struct IcebergJob {
    pub statements: Vec<Value>,
    pub arguments: Vec<(String, Value)>,
    pub metadata: Option<Value>,
    /// The table optimizers' role, when a written table has one on.
    pub resources: Vec<(String, Value)>,
}

/// The Spark catalog name the scripts use (`ICEBERG_CATALOG` in the runtime).
pub const CATALOG: &str = "glue_catalog";

pub(super) fn job(cx: &Ctx, stage: &str, s: &Stage) -> IcebergJob {
    let p = cx.p;
    let is_iceberg = |t: &str| {
        p.schemas
            .get(t)
            .is_some_and(|t| t.format == Some(Format::Iceberg))
    };
    let mut read: Vec<&str> = s
        .inputs
        .iter()
        .map(|i| i.table())
        .filter(|t| is_iceberg(t))
        .collect();
    let mut written: Vec<&str> = Vec::new();
    for o in &s.outputs {
        if is_iceberg(&o.table) && !written.contains(&o.table.as_str()) {
            written.push(&o.table);
        }
    }
    read.retain(|t| !written.contains(t));
    let Some(first) = written.first().or(read.first()) else {
        return IcebergJob::default();
    };
    let mut out = IcebergJob::default();
    // The framework and the catalog, as "Using the Iceberg framework in AWS
    // Glue" documents them:
    // https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-format-iceberg.html
    // Every table is created with an explicit LOCATION, so the warehouse (the
    // first table's zone bucket) only satisfies the catalog's configuration.
    let zone = p.schemas[*first].zone.clone().unwrap_or_default();
    let warehouse = format!("s3://{}/", cx.zone_bucket_sub(&zone));
    let c = format!("spark.sql.catalog.{CATALOG}");
    let conf = [
        "spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
            .to_string(),
        format!("{c}=org.apache.iceberg.spark.SparkCatalog"),
        format!("{c}.warehouse={warehouse}"),
        format!("{c}.catalog-impl=org.apache.iceberg.aws.glue.GlueCatalog"),
        format!("{c}.io-impl=org.apache.iceberg.aws.s3.S3FileIO"),
    ]
    .join(" --conf ");
    out.arguments
        .push(("--datalake-formats".into(), json!("iceberg")));
    out.arguments.push(("--conf".into(), sub(&conf)));
    if !written.is_empty() {
        // Iceberg's GlueCatalog reads the database and table, creates the
        // table (CREATE TABLE) and commits each snapshot and schema change by
        // UpdateTable on its metadata location:
        // https://iceberg.apache.org/docs/latest/aws/#glue-catalog
        out.statements.push(iam::statement(
            "IcebergCatalog",
            &[
                "glue:GetDatabase",
                "glue:GetTable",
                "glue:CreateTable",
                "glue:UpdateTable",
            ],
            iam::catalog_arns(cx, &written),
        ));
    }
    let maintained: Vec<&str> = written
        .iter()
        .copied()
        .filter(|t| {
            p.schemas[*t]
                .iceberg
                .as_ref()
                .is_none_or(|i| i.maintenance.any())
        })
        .collect();
    if !maintained.is_empty() {
        optimizers(cx, stage, &maintained, &mut out);
    }
    let mut meta = Map::new();
    for t in &written {
        let table = &p.schemas[*t];
        let opts = table.iceberg.clone().unwrap_or_default();
        let partition: Vec<Value> = opts
            .partition
            .iter()
            .filter_map(|x| Transform::parse(x))
            .map(|tr| json!({"transform": tr.name(), "column": tr.column()}))
            .collect();
        let columns: Map<String, Value> = table
            .columns
            .iter()
            .map(|(n, c)| (n.clone(), json!(c.ty())))
            .collect();
        let modes: Vec<&str> = s
            .outputs
            .iter()
            .filter(|o| o.table == *t)
            .map(|o| match o.mode {
                WriteMode::Append => "append",
                WriteMode::Merge => "merge",
                _ => "overwrite",
            })
            .collect();
        meta.insert(
            (*t).to_string(),
            json!({
                "location": sub(&format!("s3://{}/{}", cx.zone_bucket_sub(table.zone.as_deref().unwrap_or_default()), table_prefix(t, table))),
                "format_version": format_version(table),
                "columns": columns,
                "partition": partition,
                "modes": modes,
            }),
        );
    }
    if !meta.is_empty() {
        out.metadata = Some(Value::Object(meta));
    }
    out
}

/// The role Glue's table optimizers assume for the maintained tables, the
/// job's grants to set them up and pass that role, and its ARN as argument.
/// The role's policy is the one "Table optimization prerequisites" lists,
/// narrowed to these tables and prefixes:
/// https://docs.aws.amazon.com/glue/latest/dg/optimization-prerequisites.html
fn optimizers(cx: &Ctx, stage: &str, tables: &[&str], out: &mut IcebergJob) {
    let p = cx.p;
    let id = format!("{}OptimizerRole", names::logical_id(Kind::Stage, stage));
    let mut by_zone: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for t in tables {
        let table = &p.schemas[*t];
        if let Some(z) = &table.zone {
            by_zone.entry(z).or_default().push(table_prefix(t, table));
        }
    }
    let mut statements = Vec::new();
    for (zone, prefixes) in &by_zone {
        statements.extend(iam::s3_write(
            &format!("Optimize{}", names::pascal(zone)),
            &cx.zone_bucket_sub(zone),
            prefixes,
        ));
    }
    statements.push(iam::statement(
        "Catalog",
        &["glue:GetTable", "glue:UpdateTable"],
        iam::catalog_arns(cx, tables),
    ));
    statements.push(iam::statement(
        "Logs",
        &["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        [
            "iceberg-compaction",
            "iceberg-retention",
            "iceberg-orphan-file-deletion",
        ]
        .iter()
        .map(|g| {
            format!(
                "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws-glue/{g}/logs:*"
            )
        })
        .collect(),
    ));
    statements.push(iam::kms_use(cx));
    let role = resource(
        "AWS::IAM::Role",
        json!({
            "Description": format!("Glue table optimizers of the Iceberg tables stage {stage} of pipeline {} writes.", cx.name),
            "AssumeRolePolicyDocument": iam::assume_role("glue.amazonaws.com"),
            "Policies": [{"PolicyName": "optimizers", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]
        }),
        false,
    );
    out.statements.push(iam::statement(
        "IcebergOptimizers",
        &["glue:CreateTableOptimizer", "glue:UpdateTableOptimizer"],
        iam::catalog_arns(cx, tables),
    ));
    out.statements.push(json!({
        "Sid": "PassOptimizerRole",
        "Effect": "Allow",
        "Action": ["iam:PassRole"],
        "Resource": [get_att(&id, "Arn")],
        "Condition": {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}
    }));
    out.arguments.push((
        format!("--{}", crate::validate::iceberg::OPTIMIZER_ROLE_ARG),
        get_att(&id, "Arn"),
    ));
    out.resources.push((id, role));
}
