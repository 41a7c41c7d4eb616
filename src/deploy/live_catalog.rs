//! `pipec review --live`: every declared Glue table against the deployed
//! Glue Data Catalog, graded with the rules of `impact::tables`.
//!
//! In: a planned pipeline (its stack templates declare the tables) and AWS
//! clients. Read only: one STS GetCallerIdentity (to fill in the account in
//! locations) and one Glue GetTable per table. Out: one line (or JSON
//! object) per table, and `Outcome::Failed` when any table is missing or
//! differs in a way that breaks its readers: the declaration is the
//! contract, the catalog is checked against it.
//! GetTable: <https://docs.aws.amazon.com/glue/latest/webapi/API_GetTable.html>

use super::plan::Pipeline;
use super::{Aws, Outcome, describe};
use crate::impact::Grade;
use crate::impact::tables::{self, TableChange};
use aws_sdk_glue::error::ProvideErrorMetadata;
use serde_json::{Value, json};

/// One declared table: its database, name and template properties.
struct Declared {
    database: String,
    name: String,
    properties: Value,
}

/// The declared tables of every stack, with `${AWS::AccountId}`,
/// `${AWS::Region}` and `${AWS::Partition}` filled in.
fn declared(p: &Pipeline, account: &str, region: &str) -> Vec<Declared> {
    let mut out = Vec::new();
    for s in &p.stacks {
        let file = crate::source::SourceFile::new(&s.name, s.template.clone());
        let Ok((doc, _)) = crate::yaml::parse(&file) else {
            continue;
        };
        let Some(resources) = doc.value.get("Resources").and_then(Value::as_object) else {
            continue;
        };
        for r in resources.values() {
            if r.get("Type").and_then(Value::as_str) != Some("AWS::Glue::Table") {
                continue;
            }
            let props = resolve(r.get("Properties").unwrap_or(&Value::Null), account, region);
            let db = props.get("DatabaseName").and_then(Value::as_str);
            let name = props.pointer("/TableInput/Name").and_then(Value::as_str);
            if let (Some(db), Some(name)) = (db, name) {
                out.push(Declared {
                    database: db.to_string(),
                    name: name.to_string(),
                    properties: props.clone(),
                });
            }
        }
    }
    out
}

/// Substitutes the pseudo parameters pipec's templates use.
fn resolve(v: &Value, account: &str, region: &str) -> Value {
    let partition = if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    let sub = |s: &str| {
        s.replace("${AWS::AccountId}", account)
            .replace("${AWS::Region}", region)
            .replace("${AWS::Partition}", partition)
    };
    match v {
        Value::Object(m) if m.len() == 1 => match (m.get("Fn::Sub"), m.get("Ref")) {
            (Some(Value::String(s)), _) => Value::String(sub(s)),
            (_, Some(Value::String(r))) if r == "AWS::AccountId" => Value::String(account.into()),
            (_, Some(Value::String(r))) if r == "AWS::Region" => Value::String(region.into()),
            _ => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), resolve(x, account, region)))
                    .collect(),
            ),
        },
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), resolve(x, account, region)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| resolve(x, account, region)).collect()),
        v => v.clone(),
    }
}

/// The catalog's table in the shape of template properties, with only the
/// parts `impact::tables` grades.
fn live_properties(t: &aws_sdk_glue::types::Table) -> Value {
    let cols = |cs: &[aws_sdk_glue::types::Column]| -> Vec<Value> {
        cs.iter()
            .map(|c| json!({"Name": c.name(), "Type": c.r#type().unwrap_or_default()}))
            .collect()
    };
    let mut input = json!({"Name": t.name()});
    if let Some(tt) = t.table_type() {
        input["TableType"] = json!(tt);
    }
    if let Some(sd) = t.storage_descriptor() {
        let mut d = json!({"Columns": cols(sd.columns())});
        if let Some(l) = sd.location() {
            d["Location"] = json!(l);
        }
        if let Some(f) = sd.input_format() {
            d["InputFormat"] = json!(f);
        }
        if let Some(f) = sd.output_format() {
            d["OutputFormat"] = json!(f);
        }
        if let Some(lib) = sd.serde_info().and_then(|s| s.serialization_library()) {
            d["SerdeInfo"] = json!({"SerializationLibrary": lib});
        }
        input["StorageDescriptor"] = d;
    }
    if !t.partition_keys().is_empty() {
        input["PartitionKeys"] = json!(cols(t.partition_keys()));
    }
    json!({"TableInput": input})
}

/// Keeps in the declaration only what the catalog returned a value for,
/// for the format properties: a catalog that omits one says nothing.
fn comparable(declared: &Value, live: &Value) -> Value {
    let mut d = declared.clone();
    for path in [
        "/TableInput/TableType",
        "/TableInput/StorageDescriptor/InputFormat",
        "/TableInput/StorageDescriptor/OutputFormat",
        "/TableInput/StorageDescriptor/SerdeInfo/SerializationLibrary",
    ] {
        if live.pointer(path).is_none()
            && let Some((parent, key)) = path.rsplit_once('/')
            && let Some(Value::Object(m)) = d.pointer_mut(parent)
        {
            m.remove(key);
        }
    }
    d
}

/// What one table's check found.
enum Finding {
    Same,
    Missing,
    Differs(Vec<TableChange>),
}

pub async fn run(aws: &Aws, p: &Pipeline, json_out: bool) -> Outcome {
    let account = match aws.account().await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Usage;
        }
    };
    let tables = declared(p, &account, &aws.region);
    let mut outcome = Outcome::Done;
    for t in &tables {
        let found = match aws
            .glue
            .get_table()
            .database_name(&t.database)
            .name(&t.name)
            .send()
            .await
        {
            Ok(out) => match out.table() {
                Some(live) => {
                    let live = live_properties(live);
                    let changes = tables::compare(&comparable(&t.properties, &live), &live);
                    if changes.is_empty() {
                        Finding::Same
                    } else {
                        Finding::Differs(changes)
                    }
                }
                None => Finding::Missing,
            },
            Err(e) if e.code() == Some("EntityNotFoundException") => Finding::Missing,
            Err(e) => {
                eprintln!(
                    "error: cannot read table {}.{} from the Glue Data Catalog: {}",
                    t.database,
                    t.name,
                    describe(&e)
                );
                return Outcome::Usage;
            }
        };
        let breaking = match &found {
            Finding::Same => false,
            Finding::Missing => true,
            Finding::Differs(c) => c.iter().any(|c| c.grade() == Grade::Breaking),
        };
        if breaking {
            outcome = Outcome::Failed;
        }
        if json_out {
            let (state, changes) = match &found {
                Finding::Same => ("same", Vec::new()),
                Finding::Missing => ("missing", Vec::new()),
                Finding::Differs(c) => ("differs", c.clone()),
            };
            println!(
                "{}",
                json!({
                    "pipeline": p.name, "database": t.database, "table": t.name,
                    "state": state, "breaking": breaking,
                    "changes": changes.iter().map(|c| json!({
                        "grade": c.grade(), "change": c.describe(), "detail": c
                    })).collect::<Vec<_>>()
                })
            );
            continue;
        }
        match &found {
            Finding::Same => println!("table {}.{}: as declared", t.database, t.name),
            Finding::Missing => println!(
                "table {}.{}: breaking: not in the Glue Data Catalog (deploy the glue-catalog stack)",
                t.database, t.name
            ),
            Finding::Differs(changes) => {
                let word = if breaking { "breaking" } else { "compatible" };
                println!(
                    "table {}.{}: {word}: the catalog differs from the declaration",
                    t.database, t.name
                );
                for c in changes {
                    let g = match c.grade() {
                        Grade::Breaking => "breaking",
                        Grade::Compatible => "compatible",
                    };
                    println!("  {g}: {}", c.describe());
                }
            }
        }
    }
    if !json_out {
        let n = tables.len();
        println!(
            "{} table{} checked in account {account}, {}: {}",
            n,
            if n == 1 { "" } else { "s" },
            aws.region,
            if outcome == Outcome::Done {
                "no breaking difference"
            } else {
                "breaking differences found"
            }
        );
    }
    outcome
}
