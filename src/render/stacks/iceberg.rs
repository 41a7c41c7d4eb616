//! What a stage's Glue job needs for its Iceberg tables: the
//! `--datalake-formats` and `--conf` arguments that make `glue_catalog` the
//! Glue Data Catalog, the catalog calls on exactly those tables, and the
//! declared Iceberg schema as resource metadata for the deploy gate.
//!
//! In: a stage and the pipeline's tables. Out: `IcebergJob` (empty for a
//! stage without Iceberg tables). The job, not a stack, creates each table on
//! its first run (see "Iceberg tables" in the README).

use super::{Ctx, iam, table_prefix};
use crate::model::{Format, Stage, Transform, WriteMode};
use crate::render::cfn::sub;
use crate::validate::iceberg::format_version;
use serde_json::{Map, Value, json};

/// The IAM statements, job arguments and metadata of a stage's Iceberg tables.
#[derive(Default)]
pub(super) struct IcebergJob {
    pub statements: Vec<Value>,
    pub arguments: Vec<(String, Value)>,
    pub metadata: Option<Value>,
}

/// The Spark catalog name the scripts use (`ICEBERG_CATALOG` in the runtime).
pub const CATALOG: &str = "glue_catalog";

pub(super) fn job(cx: &Ctx, _stage: &str, s: &Stage) -> IcebergJob {
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
