//! Contracts of the Data Catalog resources: crawlers (recrawl policy and
//! delete behaviour per target type, configuration JSON), tables as Athena
//! reads them (column names, the CSV SerDes), the database, JDBC
//! connections, Data Quality rulesets and catalog encryption.
//!
//! In: one resource. Out: messages for `contracts::check`.

use super::{Resource, Rule};
use serde_json::Value;

const OPEN_CSV: &str = "org.apache.hadoop.hive.serde2.OpenCSVSerde";
const LAZY_SIMPLE: &str = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe";

/// Target kinds of a crawler other than Amazon S3.
fn non_s3_targets(r: &Resource) -> Vec<String> {
    r.get("Targets")
        .and_then(Value::as_object)
        .map(|t| {
            t.iter()
                .filter(|(k, v)| *k != "S3Targets" && v.as_array().is_some_and(|a| !a.is_empty()))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn recrawl_s3_only(r: &Resource) -> Vec<String> {
    match r.str("RecrawlPolicy/RecrawlBehavior") {
        Some(b @ ("CRAWL_NEW_FOLDERS_ONLY" | "CRAWL_EVENT_MODE")) => non_s3_targets(r)
            .into_iter()
            .map(|t| format!("recrawl behaviour {b} applies to Amazon S3 targets only, and this crawler has {t}"))
            .collect(),
        _ => Vec::new(),
    }
}

fn catalog_delete_behavior(r: &Resource) -> Vec<String> {
    let catalog = r
        .get("Targets/CatalogTargets")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    match r.str("SchemaChangePolicy/DeleteBehavior") {
        // LOG is valid for every target; the other values act on tables the
        // crawler does not own when it crawls declared catalog tables.
        Some(b) if catalog && b != "LOG" => vec![format!(
            "a crawler over catalog tables must log deletions (LOG), not {b}"
        )],
        _ => Vec::new(),
    }
}

fn crawler_configuration(r: &Resource) -> Vec<String> {
    let Some(text) = r.str("Configuration") else {
        return Vec::new();
    };
    match serde_json::from_str::<Value>(text) {
        Ok(v) if v.get("Version").and_then(Value::as_f64) == Some(1.0) => Vec::new(),
        Ok(_) => vec!["the crawler configuration must say \"Version\": 1.0".into()],
        Err(e) => vec![format!("the crawler configuration is not JSON: {e}")],
    }
}

fn serde<'a>(r: &'a Resource) -> Option<&'a str> {
    r.str("TableInput/StorageDescriptor/SerdeInfo/SerializationLibrary")
}

fn columns<'a>(r: &'a Resource) -> Vec<&'a Value> {
    r.get("TableInput/StorageDescriptor/Columns")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn athena_column_names(r: &Resource) -> Vec<String> {
    // Text tables are read by position, so their names can always be safe.
    if !matches!(serde(r), Some(OPEN_CSV | LAZY_SIMPLE)) {
        return Vec::new();
    }
    columns(r)
        .into_iter()
        .filter_map(|c| c.get("Name").and_then(Value::as_str))
        .filter(|n| {
            !n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(|n| format!("column `{n}` is not Athena-safe (lower case, digits and `_` only)"))
        .collect()
}

fn open_csv_strings(r: &Resource) -> Vec<String> {
    if serde(r) != Some(OPEN_CSV) {
        return Vec::new();
    }
    let mut out: Vec<String> = columns(r)
        .into_iter()
        .filter(|c| c.get("Type").and_then(Value::as_str) != Some("string"))
        .map(|c| {
            format!(
                "OpenCSVSerde column `{}` is declared `{}`; Athena misreads TIMESTAMP not in UNIX form and empty numeric values, so declare it string",
                c.get("Name").and_then(Value::as_str).unwrap_or("?"),
                c.get("Type").and_then(Value::as_str).unwrap_or("?")
            )
        })
        .collect();
    if let Some(p) = r
        .get("TableInput/StorageDescriptor/SerdeInfo/Parameters")
        .and_then(Value::as_object)
    {
        for k in p.keys() {
            if !["separatorChar", "quoteChar", "escapeChar"].contains(&k.as_str()) {
                out.push(format!("OpenCSVSerde ignores the SerDe parameter `{k}`"));
            }
        }
    }
    out
}

fn database_name(r: &Resource) -> Vec<String> {
    match r.str("DatabaseInput/Name") {
        Some(n)
            if !n
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') =>
        {
            vec![format!(
                "database name `{n}` is not Athena-safe (lower case, digits and `_` only)"
            )]
        }
        _ => Vec::new(),
    }
}

fn jdbc_connection(r: &Resource) -> Vec<String> {
    if r.str("ConnectionInput/ConnectionType") != Some("JDBC") {
        return Vec::new();
    }
    let mut out = Vec::new();
    if !r
        .str("ConnectionInput/ConnectionProperties/JDBC_CONNECTION_URL")
        .is_some_and(|u| u.starts_with("jdbc:"))
    {
        out.push("a JDBC connection needs a `jdbc:` JDBC_CONNECTION_URL".into());
    }
    let props = r.get("ConnectionInput/ConnectionProperties");
    let secret = props.and_then(|p| p.get("SECRET_ID")).is_some();
    let user = props.and_then(|p| p.get("USERNAME")).is_some();
    if !secret && !user {
        out.push("a JDBC connection needs SECRET_ID (or USERNAME and PASSWORD)".into());
    }
    let pcr = "ConnectionInput/PhysicalConnectionRequirements";
    for key in ["SubnetId", "AvailabilityZone"] {
        if r.get(&format!("{pcr}/{key}")).is_none() {
            out.push(format!("a JDBC connection in a VPC needs {key}"));
        }
    }
    if r.get(&format!("{pcr}/SecurityGroupIdList"))
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        out.push("a JDBC connection in a VPC needs at least one security group".into());
    }
    out
}

fn dq_ruleset(r: &Resource) -> Vec<String> {
    let mut out = Vec::new();
    if !r
        .str("Ruleset")
        .is_some_and(|s| s.trim_start().starts_with("Rules = ["))
    {
        out.push("a DQDL ruleset starts with `Rules = [`".into());
    }
    for key in ["TargetTable/DatabaseName", "TargetTable/TableName"] {
        if r.get(key).is_none() {
            out.push(format!("the ruleset names no {key}"));
        }
    }
    out
}

fn catalog_encryption(r: &Resource) -> Vec<String> {
    let s = "DataCatalogEncryptionSettings";
    let mut out = Vec::new();
    if r.get(&format!(
        "{s}/ConnectionPasswordEncryption/ReturnConnectionPasswordEncrypted"
    ))
    .and_then(Value::as_bool)
        == Some(true)
        && r.get(&format!("{s}/ConnectionPasswordEncryption/KmsKeyId"))
            .is_none()
    {
        out.push("encrypted connection passwords need a KmsKeyId".into());
    }
    if r.str(&format!("{s}/EncryptionAtRest/CatalogEncryptionMode")) == Some("SSE-KMS")
        && r.get(&format!("{s}/EncryptionAtRest/SseAwsKmsKeyId"))
            .is_none()
    {
        out.push("SSE-KMS catalog encryption needs SseAwsKmsKeyId".into());
    }
    out
}

pub(super) static RULES: [Rule; 10] = [
    Rule {
        id: "crawler-recrawl-s3-only",
        resource_type: "AWS::Glue::Crawler",
        covers: &["RecrawlPolicy/RecrawlBehavior", "Targets"],
        doc: "https://docs.aws.amazon.com/glue/latest/webapi/API_RecrawlPolicy.html",
        check: recrawl_s3_only,
    },
    Rule {
        id: "crawler-catalog-delete-behavior",
        resource_type: "AWS::Glue::Crawler",
        covers: &[
            "SchemaChangePolicy/DeleteBehavior",
            "Targets/CatalogTargets",
        ],
        doc: "https://docs.aws.amazon.com/glue/latest/webapi/API_SchemaChangePolicy.html",
        check: catalog_delete_behavior,
    },
    Rule {
        id: "crawler-configuration-json",
        resource_type: "AWS::Glue::Crawler",
        covers: &["Configuration"],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/crawler-configuration.html",
        check: crawler_configuration,
    },
    Rule {
        id: "athena-column-names",
        resource_type: "AWS::Glue::Table",
        covers: &["TableInput/StorageDescriptor/Columns"],
        doc: "https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html",
        check: athena_column_names,
    },
    Rule {
        id: "athena-open-csv-strings",
        resource_type: "AWS::Glue::Table",
        covers: &[
            "TableInput/StorageDescriptor/SerdeInfo",
            "TableInput/StorageDescriptor/Columns",
        ],
        doc: "https://docs.aws.amazon.com/athena/latest/ug/csv-serde.html",
        check: open_csv_strings,
    },
    Rule {
        id: "athena-database-name",
        resource_type: "AWS::Glue::Database",
        covers: &["DatabaseInput/Name"],
        doc: "https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html",
        check: database_name,
    },
    Rule {
        id: "jdbc-connection-in-vpc",
        resource_type: "AWS::Glue::Connection",
        covers: &[
            "ConnectionInput/ConnectionProperties",
            "ConnectionInput/PhysicalConnectionRequirements",
        ],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/connection-JDBC-VPC.html",
        check: jdbc_connection,
    },
    Rule {
        id: "dq-ruleset-shape",
        resource_type: "AWS::Glue::DataQualityRuleset",
        covers: &["Ruleset", "TargetTable"],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/dqdl.html",
        check: dq_ruleset,
    },
    Rule {
        id: "catalog-encryption-keys",
        resource_type: "AWS::Glue::DataCatalogEncryptionSettings",
        covers: &["DataCatalogEncryptionSettings"],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/encrypt-glue-data-catalog.html",
        check: catalog_encryption,
    },
    Rule {
        id: "athena-text-serde",
        resource_type: "AWS::Glue::Table",
        covers: &["TableInput/StorageDescriptor/SerdeInfo/Parameters"],
        doc: "https://docs.aws.amazon.com/athena/latest/ug/lazy-simple-serde.html",
        check: lazy_simple_params,
    },
];

fn lazy_simple_params(r: &Resource) -> Vec<String> {
    if serde(r) != Some(LAZY_SIMPLE) {
        return Vec::new();
    }
    match r.str("TableInput/StorageDescriptor/SerdeInfo/Parameters/field.delim") {
        // LazySimpleSerDe's default delimiter is \x01, not a comma.
        Some(d) if d.chars().count() == 1 => Vec::new(),
        _ => vec!["LazySimpleSerDe needs a one-character `field.delim`".into()],
    }
}
