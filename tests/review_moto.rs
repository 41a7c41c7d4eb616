//! `pipec review --live` against a `moto_server` this test starts itself
//! (127.0.0.1, port 0). moto skips `AWS::Glue::*` in CloudFormation but its
//! Glue Data Catalog API works, so the test registers the etl example's
//! tables as its `glue-catalog` stack declares them (boto3 from the venv),
//! then changes them behind pipec's back with UpdateTable and DeleteTable.

use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

#[path = "support/moto.rs"]
mod moto;
use moto::{Moto, root};

const ACCOUNT: &str = "123456789012";

fn python() -> PathBuf {
    std::env::var_os("PIPEC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv"))
        .join("bin/python")
}

/// Runs a boto3 Glue script against moto; `tables` is available as JSON.
fn glue(moto: &Moto, script: &str, data: &Value) {
    let program = format!(
        "import json, sys, boto3\nglue = boto3.client('glue', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\ndata = json.load(sys.stdin)\n{script}\n"
    );
    let mut child = Command::new(python())
        .args(["-c", &program, &moto.url])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the venv's python runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(data.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "boto3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Substitutes the pseudo parameters as CloudFormation would in moto.
fn resolve(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("Fn::Sub") => json!(
            m["Fn::Sub"]
                .as_str()
                .unwrap()
                .replace("${AWS::AccountId}", ACCOUNT)
                .replace("${AWS::Region}", "us-east-1")
                .replace("${AWS::Partition}", "aws")
        ),
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), resolve(x))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(resolve).collect()),
        v => v.clone(),
    }
}

/// The etl example's TableInputs, as its committed glue-catalog stack declares them.
fn declared_tables() -> Vec<Value> {
    let text =
        std::fs::read_to_string(root().join("generated/etl/dev/stacks/glue-catalog.yaml")).unwrap();
    let file = pipec::source::SourceFile::new("glue-catalog.yaml", text);
    let (doc, _) = pipec::yaml::parse(&file).unwrap();
    doc.value["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Glue::Table")
        .map(|r| resolve(&r["Properties"]["TableInput"]))
        .collect()
}

fn live(moto: &Moto, format: &str) -> (Option<i32>, String) {
    let out = moto.pipec(&[
        "review",
        "--live",
        "pipelines/etl.yaml",
        "--env",
        "dev",
        "--format",
        format,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code(), format!("{stdout}{stderr}"))
}

#[test]
fn review_live_detects_a_column_changed_behind_pipecs_back() {
    let moto = Moto::start();
    let tables = declared_tables();
    assert_eq!(tables.len(), 3);

    // Nothing deployed: every table is missing, which breaks its readers.
    let (code, text) = live(&moto, "text");
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(
        text.matches("not in the Glue Data Catalog").count(),
        3,
        "{text}"
    );

    glue(
        &moto,
        "glue.create_database(DatabaseInput={'Name': 'etl_dev'})\nfor t in data:\n    glue.create_table(DatabaseName='etl_dev', TableInput=t)",
        &json!(tables),
    );
    let (code, text) = live(&moto, "text");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(text.matches(": as declared").count(), 3, "{text}");
    assert!(
        text.contains(
            "3 tables checked in account 123456789012, us-east-1: no breaking difference"
        ),
        "{text}"
    );

    // A column added in the catalog: compatible for readers, exit 0.
    let update = "t = glue.get_table(DatabaseName='etl_dev', Name=data['table'])['Table']\nsd = t['StorageDescriptor']\n";
    glue(
        &moto,
        &format!(
            "{update}sd['Columns'].append({{'Name': 'note', 'Type': 'string'}})\nglue.update_table(DatabaseName='etl_dev', TableInput={{'Name': t['Name'], 'StorageDescriptor': sd, 'PartitionKeys': t.get('PartitionKeys', []), 'TableType': t.get('TableType', 'EXTERNAL_TABLE'), 'Parameters': t.get('Parameters', {{}})}})"
        ),
        &json!({"table": "orders_clean"}),
    );
    let (code, text) = live(&moto, "text");
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("table etl_dev.orders_clean: compatible"),
        "{text}"
    );
    assert!(
        text.contains("compatible: column note (string) added"),
        "{text}"
    );

    // A column's type changed behind pipec's back: breaking, exit 1.
    glue(
        &moto,
        &format!(
            "{update}for c in sd['Columns']:\n    if c['Name'] == 'quantity':\n        c['Type'] = 'string'\nglue.update_table(DatabaseName='etl_dev', TableInput={{'Name': t['Name'], 'StorageDescriptor': sd, 'PartitionKeys': t.get('PartitionKeys', []), 'TableType': t.get('TableType', 'EXTERNAL_TABLE'), 'Parameters': t.get('Parameters', {{}})}})"
        ),
        &json!({"table": "orders_by_country"}),
    );
    let (code, text) = live(&moto, "text");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("table etl_dev.orders_by_country: breaking"),
        "{text}"
    );
    assert!(
        text.contains("column quantity changed from int to string"),
        "{text}"
    );
    assert!(
        text.contains("table etl_dev.orders_raw: as declared"),
        "{text}"
    );

    let (code, text) = live(&moto, "json");
    assert_eq!(code, Some(1));
    let rows: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    let gold = rows
        .iter()
        .find(|r| r["table"] == "orders_by_country")
        .unwrap();
    assert_eq!(gold["state"], "differs");
    assert_eq!(gold["breaking"], true);
    assert_eq!(gold["changes"][0]["detail"]["kind"], "column-narrowed");

    // A table dropped behind pipec's back.
    glue(
        &moto,
        "glue.delete_table(DatabaseName='etl_dev', Name=data['table'])",
        &json!({"table": "orders_raw"}),
    );
    let (code, text) = live(&moto, "text");
    assert_eq!(code, Some(1));
    assert!(
        text.contains("table etl_dev.orders_raw: breaking: not in the Glue Data Catalog"),
        "{text}"
    );
}
