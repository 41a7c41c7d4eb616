//! Consumer roles reach exactly what their consumers are given.
//!
//! For every consumer of every example and good fixture, and of random
//! pipelines (zones, tables with random paths, consumers with random `read`
//! lists), every S3, Glue, Athena and KMS resource of the consumer's role
//! belongs to its declared tables, its own workgroup and results prefix, or
//! the pipeline's key; and no object of any other table, no listing of
//! another prefix and no other consumer's results are allowed. The set of
//! tables each role reaches is compared with one computed here from the
//! `read` list alone.

use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

fn parse_yaml(name: &str, body: &str) -> Value {
    let file = pipec::source::SourceFile::new(name.to_string(), body.to_string());
    let (doc, diags) = pipec::yaml::parse(&file).unwrap_or_else(|d| panic!("{name}: {d:?}"));
    assert!(diags.is_empty(), "{name}: {diags:?}");
    doc.value
}

/// `Fn::Sub` strings and literals, with the pseudo parameters of account
/// 123456789012 in us-east-1. Consumer policies use no other intrinsic.
fn resolve(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("Fn::Sub") => {
            let s = m["Fn::Sub"].as_str().expect("Fn::Sub of a string");
            assert!(
                !s.replace("${AWS::Partition}", "")
                    .replace("${AWS::Region}", "")
                    .replace("${AWS::AccountId}", "")
                    .contains("${"),
                "unexpected substitution in {s}"
            );
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

/// IAM string matching: `*` any run of characters, `?` any one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let mut reach = vec![false; t.len() + 1];
    reach[0] = true;
    for c in &p {
        let mut next = vec![false; t.len() + 1];
        if *c == '*' {
            let mut on = false;
            for j in 0..=t.len() {
                on |= reach[j];
                next[j] = on;
            }
        } else {
            for j in 0..t.len() {
                if reach[j] && (*c == '?' || *c == t[j]) {
                    next[j + 1] = true;
                }
            }
        }
        reach = next;
    }
    reach[t.len()]
}

/// Whether an Allow statement lets `action` act on `arn` with the request's
/// `s3:prefix`. Other conditions are ignored, which errs toward access.
fn allows(statements: &[Value], action: &str, arn: &str, prefix: Option<&str>) -> bool {
    statements.iter().any(|s| {
        s["Effect"] == "Allow"
            && strings(&s["Action"]).iter().any(|a| glob(a, action))
            && strings(&s["Resource"]).iter().any(|r| glob(r, arn))
            && match s["Condition"]["StringLike"].get("s3:prefix") {
                Some(like) => prefix.is_some_and(|p| strings(like).iter().any(|l| glob(l, p))),
                None => true,
            }
    })
}

/// The resolved statements of each consumer role, by consumer name.
fn consumer_roles(v: &pipec::validate::ValidPipeline) -> Vec<(String, Vec<Value>)> {
    let files = pipec::render::render(v).unwrap().files;
    let p = v.pipeline();
    let Some(body) = files.get("stacks/consumers.yaml") else {
        assert!(
            p.consumers.is_empty(),
            "{}: consumers but no stack",
            p.pipeline
        );
        return Vec::new();
    };
    let t = parse_yaml("consumers.yaml", body);
    p.consumers
        .keys()
        .map(|name| {
            let id = pipec::names::logical_id(pipec::names::Kind::Consumer, name);
            let role = &t["Resources"][format!("{id}Role")];
            assert_eq!(role["Type"], "AWS::IAM::Role", "{name}");
            let policies = role["Properties"]["Policies"].as_array().unwrap();
            let st = policies
                .iter()
                .flat_map(|p| {
                    resolve(&p["PolicyDocument"])["Statement"]
                        .as_array()
                        .unwrap()
                        .clone()
                })
                .collect();
            (name.clone(), st)
        })
        .collect()
}

fn bucket_of(p: &pipec::model::Pipeline, zone: &str) -> String {
    match p.zones[zone].bucket.clone() {
        Some(b) => b,
        None => format!("{}-{zone}-{ACCOUNT}-{REGION}", p.pipeline),
    }
}

fn prefix_of(name: &str, t: &pipec::model::TableSchema) -> String {
    pipec::render::stacks::table_prefix(name, t)
}

/// The tables a consumer is given, computed from its `read` list alone.
fn expected_tables(p: &pipec::model::Pipeline, c: &pipec::model::Consumer) -> BTreeSet<String> {
    use pipec::model::ReadItem;
    let mut out = BTreeSet::new();
    for item in &c.read {
        let (zone, table) = match item {
            ReadItem::Zone(z) => (Some(z.zone.clone()), None),
            ReadItem::Table(t) => (None, Some(t.table.clone())),
            ReadItem::Name(n) if p.zones.contains_key(n) => (Some(n.clone()), None),
            ReadItem::Name(n) => (None, Some(n.clone())),
        };
        if let Some(z) = zone {
            for (name, t) in &p.schemas {
                if t.zone.as_deref() == Some(z.as_str()) {
                    out.insert(name.clone());
                }
            }
        }
        if let Some(t) = table {
            out.insert(t);
        }
    }
    out
}

/// Every way a consumer role may overreach, as messages; empty when it
/// reaches exactly its tables, its workgroup, its results and the key.
fn overreach(v: &pipec::validate::ValidPipeline) -> Vec<String> {
    consumer_roles(v)
        .into_iter()
        .flat_map(|(name, st)| check_role(v.pipeline(), &name, &st))
        .collect()
}

/// The overreach of one consumer's statements.
fn check_role(p: &pipec::model::Pipeline, name: &str, st: &[Value]) -> Vec<String> {
    let db = pipec::names::glue_database(&p.pipeline);
    let results_bucket = format!("{}-consumers-{ACCOUNT}-{REGION}", p.pipeline);
    let mut out = Vec::new();
    {
        let name = name.to_string();
        let c = &p.consumers[&name];
        let given = expected_tables(p, c);
        let own_results = format!("{name}/");
        // Allowed resources: exactly these ARNs, and no others.
        let mut objects: BTreeSet<String> = BTreeSet::new();
        let mut buckets: BTreeSet<String> = BTreeSet::new();
        let mut listing: BTreeSet<(String, String)> = BTreeSet::new();
        let mut glue: BTreeSet<String> = [
            format!("arn:aws:glue:{REGION}:{ACCOUNT}:catalog"),
            format!("arn:aws:glue:{REGION}:{ACCOUNT}:database/{db}"),
        ]
        .into();
        for t in &given {
            let s = &p.schemas[t];
            let zone = s.zone.as_deref().expect("a zone table");
            let b = bucket_of(p, zone);
            let prefix = prefix_of(t, s);
            objects.insert(format!("arn:aws:s3:::{b}/{prefix}*"));
            buckets.insert(format!("arn:aws:s3:::{b}"));
            listing.insert((b.clone(), prefix.clone()));
            listing.insert((b.clone(), format!("{prefix}*")));
            glue.insert(format!("arn:aws:glue:{REGION}:{ACCOUNT}:table/{db}/{t}"));
        }
        objects.insert(format!("arn:aws:s3:::{results_bucket}/{own_results}*"));
        buckets.insert(format!("arn:aws:s3:::{results_bucket}"));
        listing.insert((results_bucket.clone(), own_results.clone()));
        listing.insert((results_bucket.clone(), format!("{own_results}*")));
        let workgroup = format!(
            "arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{}",
            pipec::names::consumer_workgroup(&p.pipeline, &name)
        );
        let key = format!("{{{{resolve:ssm:/pipec/{}/kms-key-arn}}}}", p.pipeline);
        for s in st {
            if s["Effect"] != "Allow" {
                continue;
            }
            let actions = strings(&s["Action"]);
            for r in strings(&s["Resource"]) {
                let ok = if r.starts_with("arn:aws:s3:::") {
                    let bucket = r.trim_start_matches("arn:aws:s3:::");
                    if r.contains('/') {
                        objects.contains(&r)
                    } else {
                        // A bucket ARN: listing only under granted prefixes.
                        let like = strings(&s["Condition"]["StringLike"]["s3:prefix"]);
                        buckets.contains(&r)
                            && (actions == ["s3:GetBucketLocation"]
                                || (actions == ["s3:ListBucket"]
                                    && !like.is_empty()
                                    && like.iter().all(|l| {
                                        listing.contains(&(bucket.to_string(), l.clone()))
                                    })))
                    }
                } else if r.starts_with("arn:aws:glue:") {
                    glue.contains(&r)
                } else if r.starts_with("arn:aws:athena:") {
                    r == workgroup
                } else {
                    r == key && actions == ["kms:Decrypt"]
                };
                if !ok {
                    out.push(format!(
                        "{}: {name}: {actions:?} on {r} is not what it was given",
                        p.pipeline
                    ));
                }
            }
        }
        // And through the policy's own matching: no object of any other table,
        // no listing of its prefix, no other consumer's results.
        for (t, s) in &p.schemas {
            let Some(zone) = &s.zone else { continue };
            let b = bucket_of(p, zone);
            let prefix = prefix_of(t, s);
            let obj = format!("arn:aws:s3:::{b}/{prefix}part-00000.parquet");
            let may_read = allows(st, "s3:GetObject", &obj, None);
            let may_list = allows(
                st,
                "s3:ListBucket",
                &format!("arn:aws:s3:::{b}"),
                Some(&prefix),
            );
            let may_catalog = allows(
                st,
                "glue:GetTable",
                &format!("arn:aws:glue:{REGION}:{ACCOUNT}:table/{db}/{t}"),
                None,
            );
            let given_t = given.contains(t);
            for (what, may) in [
                ("read", may_read),
                ("list", may_list),
                ("look up", may_catalog),
            ] {
                if may != given_t {
                    out.push(format!(
                        "{}: {name} {} {what} table {t}",
                        p.pipeline,
                        if may { "may" } else { "may not" }
                    ));
                }
            }
            for a in ["s3:PutObject", "s3:DeleteObject"] {
                if allows(st, a, &obj, None) {
                    out.push(format!("{}: {name} may {a} in table {t}", p.pipeline));
                }
            }
        }
        for other in p.consumers.keys().filter(|o| **o != name) {
            let arn = format!("arn:aws:s3:::{results_bucket}/{other}/q.csv");
            for a in ["s3:GetObject", "s3:PutObject"] {
                if allows(st, a, &arn, None) {
                    out.push(format!(
                        "{}: {name} may {a} the results of {other}",
                        p.pipeline
                    ));
                }
            }
        }
    }
    out
}

fn load(path: &Path) -> pipec::validate::ValidPipeline {
    let loaded = pipec::load_path(path).unwrap();
    loaded
        .pipeline
        .unwrap_or_else(|| panic!("{}: {:?}", path.display(), loaded.diagnostics))
}

#[test]
fn every_consumer_of_the_examples_and_fixtures_reaches_only_its_tables() {
    let mut consumers = 0;
    let mut files = yaml_files("pipelines");
    files.extend(yaml_files("tests/cases/good"));
    for path in files {
        let v = load(&path);
        consumers += v.pipeline().consumers.len();
        let bad = overreach(&v);
        assert!(bad.is_empty(), "{}:\n{}", path.display(), bad.join("\n"));
    }
    assert!(consumers >= 4, "only {consumers} consumers checked");
}

#[test]
fn the_check_catches_a_widened_policy() {
    // A role given the whole gold bucket reaches tables it was not given.
    let v = load(&root().join("tests/cases/good/consumers.yaml"));
    let p = v.pipeline();
    let (name, st) = consumer_roles(&v).remove(1);
    assert_eq!(name, "finance");
    assert!(check_role(p, &name, &st).is_empty());
    let mut wide = st.clone();
    wide.push(
        serde_json::json!({"Effect": "Allow", "Action": ["s3:GetObject"],
        "Resource": [format!("arn:aws:s3:::shop-gold-{ACCOUNT}-{REGION}/*")]}),
    );
    let found = check_role(p, &name, &wide);
    assert!(
        found
            .iter()
            .any(|m| m.contains("may read table sales_daily")),
        "{found:?}"
    );
    // Another consumer's results, and a listing of the whole bucket.
    let mut other = st.clone();
    other.push(
        serde_json::json!({"Effect": "Allow", "Action": ["s3:PutObject"],
        "Resource": [format!("arn:aws:s3:::shop-consumers-{ACCOUNT}-{REGION}/analysts/*")]}),
    );
    other.push(
        serde_json::json!({"Effect": "Allow", "Action": ["s3:ListBucket"],
        "Resource": [format!("arn:aws:s3:::shop-silver-{ACCOUNT}-{REGION}")]}),
    );
    let found = check_role(p, &name, &other);
    assert!(
        found.iter().any(|m| m.contains("results of analysts")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|m| m.contains("may list table customers")),
        "{found:?}"
    );
}

/// A random pipeline: 2 to 4 zones, tables with random literal paths
/// (nested prefixes are refused by validation), and 1 to 3 consumers each
/// reading random zones and tables.
#[derive(Debug, Clone)]
struct Shape {
    /// Per table: its zone and path.
    tables: Vec<(usize, String)>,
    zones: usize,
    /// Per consumer: zones and tables read.
    consumers: Vec<(Vec<usize>, Vec<usize>)>,
}

fn shape() -> impl Strategy<Value = Shape> {
    let seg = prop::sample::select(vec!["a", "b", "ab", "hr", "sales", "2024", "x-y", "d.e"]);
    (2..5usize)
        .prop_flat_map(move |zones| {
            let table = (0..zones, prop::collection::vec(seg.clone(), 1..3));
            (
                Just(zones),
                prop::collection::vec(table, 2..7),
                prop::collection::vec(
                    (
                        prop::collection::vec(0..zones, 0..2),
                        prop::collection::vec(0..6usize, 0..3),
                    ),
                    1..4,
                ),
            )
        })
        .prop_map(|(zones, tables, consumers)| {
            let n = tables.len();
            let tables = tables
                .into_iter()
                .map(|(z, segs)| (z, format!("{}/", segs.join("/"))))
                .collect();
            let consumers = consumers
                .into_iter()
                .map(|(zs, ts)| {
                    let mut ts: Vec<usize> = ts.into_iter().filter(|t| *t < n).collect();
                    ts.sort();
                    ts.dedup();
                    let mut zs = zs;
                    zs.sort();
                    zs.dedup();
                    (zs, ts)
                })
                .collect();
            Shape {
                tables,
                zones,
                consumers,
            }
        })
}

fn shape_yaml(s: &Shape) -> String {
    let mut y = String::from("pipeline: prop\nzones:\n");
    for z in 0..s.zones {
        y.push_str(&format!("  z{z}: {{}}\n"));
    }
    y.push_str(
        "schemas:\n  src: {zone: z0, path: src-only/, format: csv, columns: {id: string}}\n",
    );
    for (i, (z, path)) in s.tables.iter().enumerate() {
        y.push_str(&format!(
            "  t{i}: {{zone: z{z}, path: \"{path}\", columns: {{id: string}}}}\n"
        ));
    }
    let outs: Vec<String> = (0..s.tables.len())
        .map(|i| format!("{{table: t{i}}}"))
        .collect();
    y.push_str(&format!(
        "stages:\n  fan-out:\n    inputs: [src]\n    outputs: [{}]\ntriggers:\n  start: {{start: [fan-out]}}\nconsumers:\n",
        outs.join(", ")
    ));
    for (i, (zs, ts)) in s.consumers.iter().enumerate() {
        let mut items: Vec<String> = zs.iter().map(|z| format!("{{zone: z{z}}}")).collect();
        items.extend(ts.iter().map(|t| format!("t{t}")));
        y.push_str(&format!(
            "  c{i}: {{read: [{}], principals: [role/reader-{i}]}}\n",
            items.join(", ")
        ));
    }
    y
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// For any pipeline pipec accepts, every consumer role reaches exactly
    /// the tables its `read` list gives it.
    #[test]
    fn no_consumer_reaches_a_table_it_was_not_given(s in shape()) {
        let yaml = shape_yaml(&s);
        let loaded = pipec::load_bytes("prop.yaml", yaml.as_bytes(), Path::new("."));
        if let Some(v) = loaded.pipeline {
            let bad = overreach(&v);
            prop_assert!(bad.is_empty(), "{yaml}\n{}", bad.join("\n"));
        }
    }
}

/// The property sees accepted pipelines with consumers, not only refusals.
#[test]
fn the_property_sees_accepted_pipelines() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut accepted, n) = (0, 200);
    for _ in 0..n {
        let s = shape().new_tree(&mut runner).unwrap().current();
        let yaml = shape_yaml(&s);
        if pipec::load_bytes("prop.yaml", yaml.as_bytes(), Path::new("."))
            .pipeline
            .is_some()
        {
            accepted += 1;
        }
    }
    eprintln!("{accepted} of {n} random pipelines with consumers accepted");
    assert!(accepted >= n / 5, "only {accepted} of {n} accepted");
}

/// Each consumer costs the consumers stack one dynamic reference, and
/// CloudFormation takes 60 in a template: more than 50 consumers are refused.
#[test]
fn more_consumers_than_one_stack_holds_are_refused() {
    let yaml = |n: usize| {
        let mut y = String::from(
            "pipeline: many\nzones:\n  data: {}\nschemas:\n  a: {zone: data, path: a/, format: csv, columns: {id: string}}\n  b: {zone: data, path: b/, columns: {id: string}}\nstages:\n  s: {inputs: [a], outputs: [{table: b}]}\ntriggers:\n  start: {start: [s]}\nconsumers:\n",
        );
        for i in 0..n {
            y.push_str(&format!("  c{i}: {{read: [b], principals: [role/r{i}]}}\n"));
        }
        y
    };
    let max = pipec::validate::consumers::MAX_CONSUMERS;
    let ok = pipec::load_bytes("many.yaml", yaml(max).as_bytes(), Path::new("."));
    assert!(ok.pipeline.is_some(), "{:?}", ok.diagnostics);
    let refs = pipec::render::render(&ok.pipeline.unwrap()).unwrap().files["stacks/consumers.yaml"]
        .matches("{{resolve:")
        .count();
    assert!(refs <= 60, "{refs} dynamic references in one template");
    let bad = pipec::load_bytes("many.yaml", yaml(max + 1).as_bytes(), Path::new("."));
    assert!(bad.pipeline.is_none());
    assert!(
        bad.diagnostics
            .iter()
            .any(|d| d.message.contains("more than the 50")),
        "{:?}",
        bad.diagnostics
    );
}
