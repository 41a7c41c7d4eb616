//! The `glue-catalog` stack: the database, one table per zone table schema
//! (SerDe, formats and partition keys per format), and the crawlers with
//! their least-privilege roles.
//!
//! In: the pipeline's zone tables and crawlers. Out: resource groups for
//! `split` (a table is a group; a crawler and its role are a group).

use super::{Ctx, GroupList, Groups, depends, iam, resource, table_format, table_prefix};
use crate::model::{Format, SchemaChange, TableSchema};
use crate::names::{self, Kind};
use crate::render::cfn::{get_att, r#ref, sub};
use serde_json::{Value, json};

pub(super) fn render(cx: &Ctx) -> Groups {
    let p = cx.p;
    let db = cx.database();
    let database = resource(
        "AWS::Glue::Database",
        json!({
            "CatalogId": r#ref("AWS::AccountId"),
            "DatabaseInput": {
                "Name": db,
                "Description": format!("Tables of pipeline {}.", cx.name)
            }
        }),
        true,
    );
    let mut groups = GroupList::default();
    for (name, t) in &p.schemas {
        // An Iceberg table is created by its job through the catalog: a
        // stack-made one loses `table_type` and `metadata_location` on a
        // later update, and cannot be partitioned (see "Iceberg tables" in
        // the README).
        if t.zone.is_none() || t.format == Some(Format::Iceberg) {
            continue;
        }
        let id = names::logical_id(Kind::Table, name);
        let r = depends(
            resource("AWS::Glue::Table", table(cx, name, t), true),
            &["GlueDatabase"],
        );
        groups.push((format!("table {name}"), vec![(id, r)]));
    }
    for (name, c) in &p.crawlers {
        let id = names::logical_id(Kind::Crawler, name);
        let role_id = format!("{id}Role");
        let tables: Vec<&str> = c.tables.iter().map(String::as_str).collect();
        let mut statements = Vec::new();
        // Read access to each crawled table's prefix, bucket by bucket.
        let mut by_zone: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for tname in &tables {
            if let Some(t) = p.schemas.get(*tname)
                && let Some(z) = &t.zone
            {
                by_zone
                    .entry(z.as_str())
                    .or_default()
                    .push(table_prefix(tname, t));
            }
        }
        for (zone, prefixes) in &by_zone {
            statements.extend(iam::s3_read(
                &format!("Read{}", names::pascal(zone)),
                &cx.zone_bucket_sub(zone),
                prefixes,
            ));
        }
        if !by_zone.is_empty() {
            let buckets: Vec<String> = by_zone.keys().map(|z| cx.zone_bucket_sub(z)).collect();
            statements.push(iam::bucket_location(&buckets));
        }
        statements.push(iam::statement(
            "Catalog",
            &[
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
            iam::catalog_arns(cx, &tables),
        ));
        statements.push(iam::security_configuration_read());
        let log_groups = crate::contracts::iam::crawler_logs(cx.name, name);
        statements.extend(iam::logs("Logs", &log_groups));
        statements.push(iam::kms_use(cx));
        let role = resource(
            "AWS::IAM::Role",
            json!({
                "RoleName": names::crawler_role(cx.name, name),
                "Description": format!("Crawler {name} of pipeline {}: reads its tables' prefixes, updates their partitions.", cx.name),
                "AssumeRolePolicyDocument": iam::assume_role("glue.amazonaws.com"),
                "Policies": [{"PolicyName": "crawl", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]
            }),
            false,
        );
        let schema_change = match c.on_schema_change {
            SchemaChange::Log => "LOG",
            SchemaChange::UpdateTable => "UPDATE_IN_DATABASE",
        };
        let mut props = json!({
            "Name": names::glue_crawler(cx.name, name),
            "Role": get_att(&role_id, "Arn"),
            "DatabaseName": db,
            "Targets": {"CatalogTargets": [{"DatabaseName": db, "Tables": tables}]},
            // No RecrawlPolicy: Glue applies it to Amazon S3 targets only and
            // rejects CRAWL_NEW_FOLDERS_ONLY on any other target:
            // https://docs.aws.amazon.com/glue/latest/webapi/API_RecrawlPolicy.html
            // https://docs.aws.amazon.com/glue/latest/dg/incremental-crawls.html
            // DeleteBehavior LOG keeps the declared tables, the one value valid
            // for every target type:
            // https://docs.aws.amazon.com/glue/latest/webapi/API_SchemaChangePolicy.html
            "SchemaChangePolicy": {"UpdateBehavior": schema_change, "DeleteBehavior": "LOG"},
            "CrawlerSecurityConfiguration": names::security_configuration(cx.name),
            "Configuration": "{\"Version\":1.0,\"CrawlerOutput\":{\"Partitions\":{\"AddOrUpdateBehavior\":\"InheritFromTable\"}}}"
        });
        if let Some(d) = &c.description {
            props["Description"] = json!(d);
        }
        let crawler = resource("AWS::Glue::Crawler", props, false);
        let mut resources = vec![(role_id, role)];
        let retention = p.defaults.log_retention_days.unwrap_or(30);
        for g in log_groups.iter().filter(|g| g.own) {
            resources.push((
                format!("{id}Logs"),
                iam::log_group_resource(cx, &g.name, retention),
            ));
        }
        resources.push((id, crawler));
        groups.push((format!("crawler {name}"), resources));
    }
    Groups {
        description: cx.description("Glue Data Catalog: database, tables and crawlers"),
        shared: vec![("GlueDatabase".into(), database)],
        groups,
    }
}

/// The `TableInput` of a zone table: columns, partition keys, location and SerDe.
fn table(cx: &Ctx, name: &str, t: &TableSchema) -> Value {
    let format = table_format(t);
    let csv = (format == Format::Csv).then(|| t.csv.clone().unwrap_or_default());
    // Quoted CSV needs OpenCSVSerde, which Athena reads only as strings where
    // types are concerned (TIMESTAMP only as UNIX numbers, empty numeric
    // values fail), so such tables declare every column string:
    // https://docs.aws.amazon.com/athena/latest/ug/csv-serde.html
    let all_strings = csv.as_ref().is_some_and(|c| c.quoted);
    let columns: Vec<Value> = t
        .columns
        .iter()
        .filter(|(c, _)| !t.partition_keys.contains(c))
        .map(|(c, col)| {
            // CSV is read by position, so its catalog names can be Athena-safe.
            let name = if csv.is_some() {
                names::athena_column(c)
            } else {
                c.clone()
            };
            let ty = if all_strings { "string" } else { col.ty() };
            column(&name, ty, col.comment())
        })
        .collect();
    let partitions: Vec<Value> = t
        .partition_keys
        .iter()
        .filter_map(|k| {
            t.columns
                .get(k)
                .map(|col| column(k, col.ty(), col.comment()))
        })
        .collect();
    let (input, output, serde, serde_params, classification) = match format {
        // Iceberg tables are not in this stack (see `render`).
        Format::Parquet | Format::Iceberg => (
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
            json!({"serialization.format": "1"}),
            "parquet",
        ),
        Format::Orc => (
            "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
            "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
            "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
            json!({"serialization.format": "1"}),
            "orc",
        ),
        Format::Json => (
            "org.apache.hadoop.mapred.TextInputFormat",
            "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "org.openx.data.jsonserde.JsonSerDe",
            json!({"ignore.malformed.json": "true"}),
            "json",
        ),
        Format::Csv => {
            let csv = csv.clone().unwrap_or_default();
            if csv.quoted {
                // OpenCSVSerde reads only these three properties:
                // https://docs.aws.amazon.com/athena/latest/ug/csv-serde.html
                // Under `preset: rfc4180` escapeChar stays the table's
                // `escape`: opencsv refuses an escape equal to the quote, and
                // reads two quotes in a row as one quote whatever the escape
                // (opencsv feature request 72), so it reads doubled quotes as
                // Spark does with escape = quote.
                (
                    "org.apache.hadoop.mapred.TextInputFormat",
                    "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    "org.apache.hadoop.hive.serde2.OpenCSVSerde",
                    json!({"separatorChar": csv.delimiter, "quoteChar": csv.quote, "escapeChar": csv.escape}),
                    "csv",
                )
            } else {
                // LazySimpleSerDe reads the declared types and honours
                // serialization.null.format (as Spark's nullValue, "" makes
                // empty fields null):
                // https://docs.aws.amazon.com/athena/latest/ug/lazy-simple-serde.html
                let p = json!({
                    "field.delim": csv.delimiter,
                    "escape.delim": csv.escape,
                    "serialization.format": csv.delimiter,
                    "serialization.null.format": csv.null_value
                });
                (
                    "org.apache.hadoop.mapred.TextInputFormat",
                    "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                    p,
                    "csv",
                )
            }
        }
    };
    let mut params = json!({"classification": classification, "EXTERNAL": "TRUE"});
    if let Some(csv) = &csv
        && csv.header
    {
        params["skip.header.line.count"] = json!("1");
    }
    let location = cx.table_location_sub(name).unwrap_or_default();
    let mut input_props = json!({
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": params,
        "StorageDescriptor": {
            "Columns": columns,
            "Location": sub(&location),
            "InputFormat": input,
            "OutputFormat": output,
            "Compressed": false,
            "StoredAsSubDirectories": false,
            "SerdeInfo": {"SerializationLibrary": serde, "Parameters": serde_params}
        }
    });
    if let Some(d) = &t.description {
        input_props["Description"] = json!(d);
    }
    if !partitions.is_empty() {
        input_props["PartitionKeys"] = json!(partitions);
    }
    json!({
        "CatalogId": r#ref("AWS::AccountId"),
        "DatabaseName": cx.database(),
        "TableInput": input_props
    })
}

fn column(name: &str, ty: &str, comment: Option<&str>) -> Value {
    let mut c = json!({"Name": name, "Type": ty});
    if let Some(cm) = comment {
        c["Comment"] = json!(cm);
    }
    c
}
