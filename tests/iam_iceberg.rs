//! IAM of Iceberg jobs: no stage role can create, commit to or write the
//! catalog entry or the S3 prefix (data and metadata) of an Iceberg table it
//! does not write, and every writer can do all of that on its own tables.
//!
//! A pipeline of several Iceberg tables in two zones, some sharing a bucket,
//! with stages that each write one and read another, is rendered; each
//! role's statements are matched with IAM's glob semantics.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

const PIPELINE: &str = r#"
pipeline: lake
zones:
  silver: {}
  gold: {}
schemas:
  a: {zone: silver, format: iceberg, columns: {id: bigint}, iceberg: {keys: [id]}}
  ab: {zone: silver, format: iceberg, columns: {id: bigint}}
  b: {zone: gold, format: iceberg, path: b/, columns: {id: bigint}}
  c: {zone: gold, format: iceberg, path: b_other/, columns: {id: bigint}}
stages:
  write-a:
    inputs: [b]
    outputs: [{table: a, mode: merge}]
  write-ab:
    inputs: [a]
    outputs: [{table: ab, mode: append}]
  write-b:
    inputs: [c]
    outputs: [{table: b}]
  write-c:
    inputs: [ab]
    outputs: [{table: c, mode: append}]
triggers:
  go: {start: [write-a, write-ab, write-b, write-c]}
"#;

/// `${AWS::...}` pseudo-parameters replaced with fixed values.
fn resolve(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("Fn::Sub") => {
            let s = m["Fn::Sub"].as_str().unwrap_or_default();
            Value::String(
                s.replace("${AWS::Partition}", "aws")
                    .replace("${AWS::Region}", REGION)
                    .replace("${AWS::AccountId}", ACCOUNT),
            )
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), resolve(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(resolve).collect()),
        other => other.clone(),
    }
}

/// IAM's glob: `*` any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

fn allows(statements: &[Value], action: &str, arn: &str) -> bool {
    statements.iter().any(|s| {
        s["Effect"] == "Allow"
            && strings(&s["Action"]).iter().any(|a| glob(a, action))
            && strings(&s["Resource"]).iter().any(|r| glob(r, arn))
    })
}

fn roles() -> BTreeMap<String, Vec<Value>> {
    let loaded = pipec::load_bytes("lake.yaml", PIPELINE.as_bytes(), Path::new("."));
    let v = loaded
        .pipeline
        .unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
    let files = pipec::render::render(&v).unwrap().files;
    let mut out = BTreeMap::new();
    for (name, body) in files.iter().filter(|(k, _)| k.starts_with("stacks/")) {
        let file = pipec::source::SourceFile::new(name.clone(), body.clone());
        let (doc, _) = pipec::yaml::parse(&file).unwrap();
        for (id, r) in doc.value["Resources"].as_object().unwrap() {
            if r["Type"] != "AWS::IAM::Role" {
                continue;
            }
            let mut v = Vec::new();
            for p in r["Properties"]["Policies"].as_array().unwrap() {
                v.extend(
                    resolve(&p["PolicyDocument"])["Statement"]
                        .as_array()
                        .unwrap()
                        .clone(),
                );
            }
            out.insert(id.clone(), v);
        }
    }
    out
}

#[test]
fn no_iceberg_job_touches_another_tables_catalog_entry_or_prefix() {
    let roles = roles();
    // (table, bucket zone, prefix)
    let tables = [
        ("a", "silver", "a/"),
        ("ab", "silver", "ab/"),
        ("b", "gold", "b/"),
        ("c", "gold", "b_other/"),
    ];
    // Each stage's job role and its table optimizers' role.
    let writers = [
        ("StageWriteARole", "a"),
        ("StageWriteAOptimizerRole", "a"),
        ("StageWriteAbRole", "ab"),
        ("StageWriteAbOptimizerRole", "ab"),
        ("StageWriteBRole", "b"),
        ("StageWriteBOptimizerRole", "b"),
        ("StageWriteCRole", "c"),
        ("StageWriteCOptimizerRole", "c"),
    ];
    let mut checked = 0;
    for (role, own) in writers {
        let st = roles
            .get(role)
            .unwrap_or_else(|| panic!("{role} rendered: {:?}", roles.keys()));
        for (t, zone, prefix) in tables {
            let table_arn = format!("arn:aws:glue:{REGION}:{ACCOUNT}:table/lake/{t}");
            let bucket = format!("lake-{zone}-{ACCOUNT}-{REGION}");
            let keys = [
                format!("{prefix}data/id_bucket=1/00000-1-x.parquet"),
                format!("{prefix}metadata/00001-abc.metadata.json"),
                format!("{prefix}metadata/snap-1-1-x.avro"),
            ];
            let optimizer = role.contains("Optimizer");
            for action in [
                "glue:CreateTable",
                "glue:UpdateTable",
                "glue:DeleteTable",
                "glue:CreateTableOptimizer",
            ] {
                let may = allows(st, action, &table_arn);
                // The job creates its table and its optimizers; the optimizers' role only commits.
                let should = t == own
                    && match action {
                        "glue:UpdateTable" => true,
                        "glue:DeleteTable" => false,
                        _ => !optimizer,
                    };
                assert_eq!(may, should, "{role} {action} on table {t}");
                checked += 1;
            }
            for key in &keys {
                for action in ["s3:PutObject", "s3:DeleteObject"] {
                    let may = allows(st, action, &format!("arn:aws:s3:::{bucket}/{key}"));
                    assert_eq!(may, t == own, "{role} {action} on {bucket}/{key}");
                    checked += 1;
                }
            }
        }
        // Nothing beyond the pipeline's database, and no table of another database.
        assert!(!allows(
            st,
            "glue:UpdateTable",
            &format!("arn:aws:glue:{REGION}:{ACCOUNT}:table/other/{own}")
        ));
        assert!(!allows(
            st,
            "glue:CreateDatabase",
            &format!("arn:aws:glue:{REGION}:{ACCOUNT}:database/lake")
        ));
    }
    assert!(checked > 100, "only {checked} checks");
}
