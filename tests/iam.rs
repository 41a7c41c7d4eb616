//! IAM of the rendered stacks: parliament finds nothing outside the committed
//! allow-list; no stage or crawler role reaches the S3 prefix of a table it
//! does not declare, for any accepted table path; every role grants exactly
//! the actions its features need (`pipec::contracts::iam`); log groups and
//! log arguments follow the Glue version.
//!
//! parliament comes from the venv that `tests/run-all.sh` installs.

use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tool(name: &str) -> PathBuf {
    let venv = std::env::var("PIPEC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join(".venv"));
    let p = venv.join("bin").join(name);
    assert!(
        p.is_file(),
        "{} is missing: run ./tests/run-all.sh once to install the Python tools",
        p.display()
    );
    p
}

/// YAML (a template or the allow-list) read with pipec's own reader.
fn parse_yaml(name: &str, body: &str) -> Value {
    let file = pipec::source::SourceFile::new(name.to_string(), body.to_string());
    let (doc, diags) = pipec::yaml::parse(&file).unwrap_or_else(|d| panic!("{name}: {d:?}"));
    assert!(diags.is_empty(), "{name}: {diags:?}");
    doc.value
}

/// Every template: the committed examples and the rendered good fixtures.
fn all_templates() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("generated"))
        .unwrap()
        .map(|e| e.unwrap().path().join("stacks"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let name = f.strip_prefix(root()).unwrap().display().to_string();
            let body = std::fs::read_to_string(&f).unwrap();
            out.push((name.clone(), parse_yaml(&name, &body)));
        }
    }
    for path in good_cases() {
        let v = load(&path);
        for (file, body) in pipec::render::render(&v).unwrap().files {
            if file.starts_with("stacks/") {
                let name = format!("{}:{file}", path.file_name().unwrap().to_string_lossy());
                out.push((name.clone(), parse_yaml(&name, &body)));
            }
        }
    }
    out
}

fn good_cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("tests/cases/good"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

fn example_pipelines() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

fn load(path: &Path) -> pipec::validate::ValidPipeline {
    let loaded = pipec::load_path(path).unwrap();
    loaded
        .pipeline
        .unwrap_or_else(|| panic!("{}: {:?}", path.display(), loaded.diagnostics))
}

/// Resources of a template by logical ID, for resolving references to them.
type Types = BTreeMap<String, String>;

fn types_of(t: &Value) -> Types {
    t["Resources"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(id, r)| (id.clone(), r["Type"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// What `Ref` (attribute None) or `Fn::GetAtt .Arn` of a resource gives, in
/// account 123456789012, us-east-1.
fn reference(types: &Types, id: &str, attr: Option<&str>) -> String {
    let lower = id.to_lowercase();
    match (types.get(id).map(String::as_str), attr) {
        (Some("AWS::S3::Bucket"), None) => format!("{lower}-bucket"),
        (Some("AWS::S3::Bucket"), Some(_)) => format!("arn:aws:s3:::{lower}-bucket"),
        (Some("AWS::SNS::Topic"), _) => format!("arn:aws:sns:{REGION}:{ACCOUNT}:{id}"),
        (Some("AWS::KMS::Key"), None) => "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
        (Some("AWS::KMS::Key"), Some(_)) => {
            format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        }
        (Some("AWS::Events::Rule"), _) => format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{id}"),
        (Some("AWS::IAM::Role"), _) => format!("arn:aws:iam::{ACCOUNT}:role/{id}"),
        (ty, _) => panic!("no stand-in value for {id} ({ty:?})"),
    }
}

/// Resolves the intrinsics pipec emits into the strings AWS would see in
/// account 123456789012, us-east-1.
fn resolve(v: &Value, types: &Types) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("Fn::Sub") => {
            let s = m["Fn::Sub"].as_str().expect("Fn::Sub of a plain string");
            json!(sub(s, types))
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("Ref") => {
            json!(match m["Ref"].as_str().unwrap() {
                "AWS::AccountId" => ACCOUNT.to_string(),
                "AWS::Region" => REGION.to_string(),
                "AWS::Partition" => "aws".to_string(),
                other => reference(types, other, None),
            })
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("Fn::GetAtt") => {
            let id = m["Fn::GetAtt"][0].as_str().unwrap();
            let attr = m["Fn::GetAtt"][1].as_str().unwrap();
            json!(reference(types, id, Some(attr)))
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), resolve(v, types)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| resolve(x, types)).collect()),
        // CloudFormation resolves the key ARN's dynamic reference before IAM
        // sees the policy (consumer roles name the key by it).
        Value::String(s)
            if s.starts_with("{{resolve:ssm:/pipec/") && s.ends_with("/kms-key-arn}}") =>
        {
            json!(format!(
                "arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            ))
        }
        other => other.clone(),
    }
}

fn sub(s: &str, types: &Types) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find('}').expect("closed ${");
        let name = &after[..end];
        match name {
            "AWS::AccountId" => out.push_str(ACCOUNT),
            "AWS::Region" => out.push_str(REGION),
            "AWS::Partition" => out.push_str("aws"),
            n if n.starts_with('!') => {
                out.push_str("${");
                out.push_str(&n[1..]);
                out.push('}');
            }
            n => match n.split_once('.') {
                Some((id, attr)) => out.push_str(&reference(types, id, Some(attr))),
                None => out.push_str(&reference(types, n, None)),
            },
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Every policy document in a template, with a name that says where it is.
fn policies(file: &str, t: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let Some(resources) = t["Resources"].as_object() else {
        return out;
    };
    let types = types_of(t);
    for (id, r) in resources {
        let props = &r["Properties"];
        for key in ["PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"] {
            if props.get(key).is_some() {
                out.push((format!("{file}#{id}.{key}"), resolve(&props[key], &types)));
            }
        }
        if let Some(list) = props.get("Policies").and_then(Value::as_array) {
            for p in list {
                let name = p["PolicyName"].as_str().unwrap_or("?");
                out.push((
                    format!("{file}#{id}.{name}"),
                    resolve(&p["PolicyDocument"], &types),
                ));
            }
        }
    }
    out
}

fn parliament(items: &[(String, Value)]) -> Vec<Value> {
    let input: Vec<Value> = items
        .iter()
        .map(|(id, p)| json!({"id": id, "policy": p}))
        .collect();
    let mut child = Command::new(tool("python"))
        .arg(root().join("tests/iam/parliament_check.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

#[test]
fn parliament_reports_nothing_outside_the_allow_list() {
    let mut items = Vec::new();
    for (file, t) in all_templates() {
        items.extend(policies(&file, &t));
    }
    assert!(items.len() > 50, "only {} policies found", items.len());
    let findings = parliament(&items);
    let allow_text =
        std::fs::read_to_string(root().join("tests/iam/parliament-allow.yaml")).unwrap();
    let allow = parse_yaml("parliament-allow.yaml", &allow_text);
    let entries = allow["allow"].as_array().expect("allow: [...]");
    let matches = |e: &Value, f: &Value| {
        let field = |k: &str| e.get(k).and_then(Value::as_str);
        field("issue") == f["issue"].as_str()
            && field("policy").is_none_or(|p| f["id"].as_str().unwrap().contains(p))
            && field("detail").is_none_or(|d| f["detail"].as_str().unwrap().contains(d))
    };
    for e in entries {
        assert!(
            e.get("reason")
                .and_then(Value::as_str)
                .is_some_and(|r| r.len() > 20),
            "allow-list entry without a reason: {e}"
        );
    }
    let unexplained: Vec<&Value> = findings
        .iter()
        .filter(|f| !entries.iter().any(|e| matches(e, f)))
        .collect();
    assert!(
        unexplained.is_empty(),
        "{} parliament findings outside tests/iam/parliament-allow.yaml:\n{}",
        unexplained.len(),
        serde_json::to_string_pretty(&unexplained).unwrap()
    );
    let stale: Vec<&Value> = entries
        .iter()
        .filter(|e| !findings.iter().any(|f| matches(e, f)))
        .collect();
    assert!(
        stale.is_empty(),
        "allow-list entries that match nothing: {stale:?}"
    );
}

/// IAM string matching: `*` is any run of characters, `?` any one character.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // reach[j]: the pattern so far matches t[..j].
    let mut reach = vec![false; t.len() + 1];
    reach[0] = true;
    for c in &p {
        let mut next = vec![false; t.len() + 1];
        match c {
            '*' => {
                let mut on = false;
                for j in 0..=t.len() {
                    on |= reach[j];
                    next[j] = on;
                }
            }
            _ => {
                for j in 0..t.len() {
                    if reach[j] && (*c == '?' || *c == t[j]) {
                        next[j + 1] = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach[t.len()]
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

/// Whether an Allow statement of the policy lets `action` act on `arn`, given
/// the request's `s3:prefix` (for ListBucket). Conditions other than
/// `StringLike s3:prefix` do not narrow the answer, which errs toward access.
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

/// The statements of each role in the rendered stacks, by logical ID.
fn role_statements(files: &BTreeMap<String, String>) -> BTreeMap<String, Vec<Value>> {
    let mut out = BTreeMap::new();
    for (name, body) in files.iter().filter(|(k, _)| k.starts_with("stacks/")) {
        let t = parse_yaml(name, body);
        let types = types_of(&t);
        for (id, r) in t["Resources"].as_object().unwrap() {
            if r["Type"] != "AWS::IAM::Role" {
                continue;
            }
            let mut v = Vec::new();
            for p in r["Properties"]["Policies"].as_array().unwrap() {
                v.extend(
                    resolve(&p["PolicyDocument"], &types)["Statement"]
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

const OBJECT_ACTIONS: [&str; 5] = [
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
];

/// A random pipeline over one zone: tables with random paths, a Python
/// shell stage that downloads table 0, a Spark stage that reads some tables
/// and writes others, and one crawler.
#[derive(Debug, Clone)]
struct Shape {
    paths: Vec<String>,
    reads: Vec<usize>,
    writes: Vec<usize>,
    crawled: Vec<usize>,
}

/// Path segments: mostly literal, some with IAM wildcards (the hole of issue
/// 8), some with characters validation refuses.
fn segment() -> impl Strategy<Value = String> {
    let literal = prop::sample::select(vec![
        "a", "b", "c", "ab", "hr", "sales", "2024", "x-y", "d.e", "u_v", "A1",
    ]);
    let wildcard = prop::sample::select(vec!["*", "?", "a*", "?b", "s*s"]);
    let refused = prop::sample::select(vec!["[x]", "%2A", "a b", "é"]);
    prop_oneof![
        24 => literal.prop_map(String::from),
        1 => wildcard.prop_map(String::from),
        1 => refused.prop_map(String::from),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    prop::collection::vec(prop::collection::vec(segment(), 1..4), 3..6)
        .prop_flat_map(|segs| {
            let paths: Vec<String> = segs.iter().map(|s| format!("{}/", s.join("/"))).collect();
            let n = paths.len();
            (
                Just(paths),
                prop::collection::vec(prop::bool::ANY, n),
                prop::collection::vec(0..3u8, n),
            )
        })
        .prop_map(|(paths, crawled, role)| {
            // Table 0 is always read and table 1 always written, so the stage
            // is valid; the rest are read, written or left alone at random.
            let mut s = Shape {
                paths,
                reads: vec![0],
                writes: vec![1],
                crawled: Vec::new(),
            };
            for (i, r) in role.iter().enumerate().skip(2) {
                match r {
                    0 => s.reads.push(i),
                    1 => s.writes.push(i),
                    _ => {}
                }
            }
            s.crawled = crawled
                .iter()
                .enumerate()
                .filter(|(_, c)| **c)
                .map(|(i, _)| i)
                .collect();
            if s.crawled.is_empty() {
                s.crawled.push(0);
            }
            s
        })
}

fn shape_yaml(s: &Shape) -> String {
    let q = |x: &str| serde_json::to_string(x).unwrap();
    let mut y = String::from("pipeline: prop\nzones:\n  data: {}\nschemas:\n");
    for (i, p) in s.paths.iter().enumerate() {
        y.push_str(&format!(
            "  t{i}: {{zone: data, path: {}, columns: {{id: string}}}}\n",
            q(p)
        ));
    }
    let list = |v: &[usize]| {
        v.iter()
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let outs = s
        .writes
        .iter()
        .map(|i| format!("{{table: t{i}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    // A Python shell stage downloads table 0, which `move` then reads.
    y.push_str(&format!(
        "stages:\n  get:\n    kind: python-shell\n    download: {{url: \"https://example.com/x.csv\", to: t0}}\n  move:\n    inputs: [{}]\n    outputs: [{outs}]\n",
        list(&s.reads)
    ));
    y.push_str(&format!(
        "crawlers:\n  look: {{tables: [{}]}}\n",
        list(&s.crawled)
    ));
    y.push_str(
        "triggers:\n  start: {start: [get]}\n  fetched: {when: {all: [get]}, start: [move]}\n  after: {when: {all: [move]}, start: [look]}\n",
    );
    y
}

/// Object keys of a table: files directly under its prefix and in a partition.
fn keys_of(prefix: &str) -> Vec<String> {
    vec![
        format!("{prefix}part-00000.snappy.parquet"),
        format!("{prefix}country=DE/part-00001.parquet"),
        format!("{prefix}_SUCCESS"),
    ]
}

/// The roles that reach a table they do not declare, as messages.
fn reach_violations(s: &Shape) -> Option<Vec<String>> {
    let yaml = shape_yaml(s);
    let loaded = pipec::load_bytes("prop.yaml", yaml.as_bytes(), Path::new("."));
    let v = loaded.pipeline?;
    let files = pipec::render::render(&v).unwrap().files;
    let roles = role_statements(&files);
    let bucket = format!("prop-data-{ACCOUNT}-{REGION}");
    let stage: BTreeSet<usize> = s.reads.iter().chain(&s.writes).copied().collect();
    let crawler: BTreeSet<usize> = s.crawled.iter().copied().collect();
    let download: BTreeSet<usize> = [0].into();
    let mut out = Vec::new();
    for (role, declared) in [
        ("StageGetRole", &download),
        ("StageMoveRole", &stage),
        ("CrawlerLookRole", &crawler),
    ] {
        let statements = roles.get(role).unwrap_or_else(|| panic!("{role} rendered"));
        for (i, path) in s.paths.iter().enumerate() {
            if declared.contains(&i) {
                continue;
            }
            for key in keys_of(path) {
                for a in OBJECT_ACTIONS {
                    if allows(statements, a, &format!("arn:aws:s3:::{bucket}/{key}"), None) {
                        out.push(format!("{role} may {a} {key} of undeclared table t{i}"));
                    }
                }
            }
            if allows(
                statements,
                "s3:ListBucket",
                &format!("arn:aws:s3:::{bucket}"),
                Some(path),
            ) {
                out.push(format!("{role} may list {path} of undeclared table t{i}"));
            }
        }
    }
    Some(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// For any pipeline pipec accepts, no role reaches an undeclared table.
    #[test]
    fn no_role_reaches_a_table_it_does_not_declare(s in shape()) {
        if let Some(v) = reach_violations(&s) {
            prop_assert!(v.is_empty(), "{}\n{}", shape_yaml(&s), v.join("\n"));
        }
    }
}

#[test]
fn the_matcher_has_iam_glob_semantics() {
    assert!(glob("arn:aws:s3:::b/*/*", "arn:aws:s3:::b/hr/salaries/x"));
    assert!(glob("a?c", "abc"));
    assert!(!glob("a?c", "ac"));
    assert!(glob("orders/*", "orders/"));
    assert!(!glob("orders/*", "orders2/x"));
    assert!(glob("*", ""));
    // The wildcard hole of issue 8: a `*/` table path reaches every prefix.
    let wild = vec![json!({"Effect": "Allow", "Action": ["s3:GetObject"],
        "Resource": ["arn:aws:s3:::b/*/*"]})];
    assert!(allows(
        &wild,
        "s3:GetObject",
        "arn:aws:s3:::b/hr/salaries/p.parquet",
        None
    ));
    let listing = vec![json!({"Effect": "Allow", "Action": ["s3:ListBucket"],
        "Resource": ["arn:aws:s3:::b"], "Condition": {"StringLike": {"s3:prefix": ["a/", "a/*"]}}})];
    assert!(allows(
        &listing,
        "s3:ListBucket",
        "arn:aws:s3:::b",
        Some("a/x/")
    ));
    assert!(!allows(
        &listing,
        "s3:ListBucket",
        "arn:aws:s3:::b",
        Some("ab/")
    ));
    assert!(!allows(&listing, "s3:ListBucket", "arn:aws:s3:::b", None));
}

/// Every action granted by a role, from its rendered statements.
fn granted_actions(statements: &[Value]) -> BTreeSet<String> {
    statements
        .iter()
        .flat_map(|s| strings(&s["Action"]))
        .collect()
}

#[test]
fn every_role_grants_exactly_what_its_features_need() {
    use pipec::contracts::iam::{actions, crawler_features, stage_features};
    let mut checked = 0;
    for path in example_pipelines().into_iter().chain(good_cases()) {
        let v = load(&path);
        let p = v.pipeline();
        let roles = role_statements(&pipec::render::render(&v).unwrap().files);
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut wanted: Vec<(String, BTreeSet<&str>)> = Vec::new();
        for (name, s) in &p.stages {
            let id = pipec::names::logical_id(pipec::names::Kind::Stage, name);
            wanted.push((format!("{id}Role"), actions(&stage_features(p, s))));
        }
        for (name, c) in &p.crawlers {
            let id = pipec::names::logical_id(pipec::names::Kind::Crawler, name);
            wanted.push((format!("{id}Role"), actions(&crawler_features(p, c))));
        }
        for name in p.consumers.keys() {
            let id = pipec::names::logical_id(pipec::names::Kind::Consumer, name);
            let need = actions(&pipec::contracts::iam::consumer_features());
            wanted.push((format!("{id}Role"), need));
        }
        for (role, need) in wanted {
            let have =
                granted_actions(roles.get(&role).unwrap_or_else(|| panic!("{file}: {role}")));
            let need: BTreeSet<String> = need.into_iter().map(String::from).collect();
            let missing: Vec<_> = need.difference(&have).collect();
            let extra: Vec<_> = have.difference(&need).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{file}: {role}: missing {missing:?}, not needed {extra:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} roles checked");
}

#[test]
fn every_contract_row_names_an_aws_page() {
    for n in pipec::contracts::iam::NEEDS {
        assert!(
            n.doc.starts_with("https://docs.aws.amazon.com/"),
            "{:?}: {}",
            n.feature,
            n.doc
        );
        assert!(
            !n.actions.is_empty() && !n.scope.is_empty(),
            "{:?}",
            n.feature
        );
    }
}

/// The job and log groups of one stage, rendered from a small pipeline.
fn stage_logs(glue_version: &str, shell: bool) -> (Value, Vec<(String, Value)>, Vec<Value>) {
    let stage = if shell {
        "  get:\n    kind: python-shell\n    download: {url: https://example.com/e.csv, to: events_raw}\n"
            .to_string()
    } else {
        format!(
            "  to-parquet:\n    glue_version: \"{glue_version}\"\n    inputs: [events_raw]\n    outputs: [{{table: events}}]\n"
        )
    };
    let start = if shell { "get" } else { "to-parquet" };
    let yaml = format!(
        "pipeline: tiny\nzones:\n  data: {{}}\nschemas:\n  events_raw: {{zone: data, format: csv, columns: {{id: bigint}}}}\n  events: {{zone: data, columns: {{id: bigint}}}}\nstages:\n{stage}triggers:\n  start: {{start: [{start}]}}\n"
    );
    let loaded = pipec::load_bytes("tiny.yaml", yaml.as_bytes(), Path::new("."));
    let v = loaded
        .pipeline
        .unwrap_or_else(|| panic!("{yaml}\n{:?}", loaded.diagnostics));
    let files = pipec::render::render(&v).unwrap().files;
    let t = parse_yaml("glue-jobs", &files["stacks/glue-jobs.yaml"]);
    let types = types_of(&t);
    let mut job = Value::Null;
    let mut groups = Vec::new();
    let mut statements = Vec::new();
    for (id, r) in t["Resources"].as_object().unwrap() {
        match r["Type"].as_str().unwrap() {
            "AWS::Glue::Job" => job = r["Properties"].clone(),
            "AWS::Logs::LogGroup" => groups.push((id.clone(), r["Properties"].clone())),
            "AWS::IAM::Role" => {
                statements =
                    resolve(&r["Properties"]["Policies"][0]["PolicyDocument"], &types)["Statement"]
                        .as_array()
                        .unwrap()
                        .clone()
            }
            _ => {}
        }
    }
    (job, groups, statements)
}

fn group_names(groups: &[(String, Value)]) -> Vec<String> {
    groups
        .iter()
        .map(|(_, g)| g["LogGroupName"].as_str().unwrap().to_string())
        .collect()
}

fn log_arn(group: &str) -> String {
    format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}")
}

#[test]
fn glue_5_jobs_log_under_their_own_prefix() {
    let (job, groups, statements) = stage_logs("5.0", false);
    let args = &job["DefaultArguments"];
    assert_eq!(
        args["--custom-logGroup-prefix"],
        "/aws-glue/jobs/tiny/to-parquet"
    );
    assert!(
        args.get("--enable-continuous-cloudwatch-log").is_none(),
        "{args}"
    );
    assert!(args.get("--continuous-log-logGroup").is_none(), "{args}");
    let names = group_names(&groups);
    assert_eq!(
        names,
        [
            "/aws-glue/jobs/tiny/to-parquet/output",
            "/aws-glue/jobs/tiny/to-parquet/error"
        ]
    );
    for (_, g) in &groups {
        assert_eq!(g["RetentionInDays"], 30);
        assert!(g["KmsKeyId"].as_str().unwrap().contains("resolve:ssm"));
    }
    for n in &names {
        let stream = format!("{}:log-stream:jr_1-driver", log_arn(n));
        assert!(
            allows(&statements, "logs:PutLogEvents", &stream, None),
            "{n}"
        );
        assert!(
            allows(&statements, "logs:AssociateKmsKey", &log_arn(n), None),
            "{n}"
        );
    }
    // No other job's groups, and not the account's shared ones.
    for other in [
        "/aws-glue/jobs/output",
        "/aws-glue/jobs/error",
        "/aws-glue/jobs/tiny/other/output",
        "/aws-glue/jobs/tiny/to-parquet2/output",
        "/aws-glue/jobs/logs-v2",
    ] {
        let stream = format!("{}:log-stream:jr_1-driver", log_arn(other));
        assert!(
            !allows(&statements, "logs:PutLogEvents", &stream, None),
            "{other}"
        );
        assert!(
            !allows(&statements, "logs:CreateLogGroup", &log_arn(other), None),
            "{other}"
        );
    }
}

#[test]
fn glue_4_jobs_use_continuous_logging_with_the_security_configuration_names() {
    let (job, groups, statements) = stage_logs("4.0", false);
    let args = &job["DefaultArguments"];
    assert_eq!(args["--enable-continuous-cloudwatch-log"], "true");
    assert_eq!(
        args["--continuous-log-logGroup"],
        "/aws-glue/jobs/tiny/to-parquet"
    );
    assert!(args.get("--custom-logGroup-prefix").is_none(), "{args}");
    let names = group_names(&groups);
    assert_eq!(
        names,
        [
            "/aws-glue/jobs/tiny/to-parquet-tiny-glue",
            "/aws-glue/jobs-tiny-to-parquet-job-tiny-glue/output",
            "/aws-glue/jobs-tiny-to-parquet-job-tiny-glue/error",
        ]
    );
    for n in &names {
        let stream = format!("{}:log-stream:jr_1", log_arn(n));
        assert!(
            allows(&statements, "logs:PutLogEvents", &stream, None),
            "{n}"
        );
    }
    // The group named in the argument stays empty, so pipec does not make it.
    assert!(!names.contains(&"/aws-glue/jobs/tiny/to-parquet".to_string()));
}

#[test]
fn python_shell_jobs_write_only_the_python_job_groups() {
    let (job, groups, statements) = stage_logs("", true);
    let args = &job["DefaultArguments"];
    assert!(args.get("--continuous-log-logGroup").is_none(), "{args}");
    assert!(args.get("--custom-logGroup-prefix").is_none(), "{args}");
    // The shared groups belong to the account: not created, not re-keyed.
    assert!(groups.is_empty(), "{groups:?}");
    for n in [
        "/aws-glue/python-jobs/output",
        "/aws-glue/python-jobs/error",
    ] {
        let stream = format!("{}:log-stream:jr_1", log_arn(n));
        assert!(
            allows(&statements, "logs:PutLogEvents", &stream, None),
            "{n}"
        );
        assert!(
            !allows(&statements, "logs:AssociateKmsKey", &log_arn(n), None),
            "{n}"
        );
    }
    let any = format!("{}:log-stream:x", log_arn("/aws-glue/jobs/other"));
    assert!(!allows(&statements, "logs:PutLogEvents", &any, None));
}

#[test]
fn bucket_location_is_granted_without_a_prefix_condition() {
    for (file, t) in all_templates() {
        for (id, p) in policies(&file, &t) {
            for s in p["Statement"].as_array().into_iter().flatten() {
                let actions = strings(&s["Action"]);
                if actions.iter().any(|a| a == "s3:GetBucketLocation") {
                    assert!(s.get("Condition").is_none(), "{id}: {s}");
                }
                if s["Condition"]["StringLike"].get("s3:prefix").is_some() {
                    assert_eq!(actions, ["s3:ListBucket"], "{id}: {s}");
                }
                if actions.iter().any(|a| a == "glue:GetSecurityConfiguration") {
                    assert_eq!(s["Resource"], "*", "{id}: {s}");
                }
            }
        }
    }
}

#[test]
fn stages_that_publish_data_quality_may_publish_it() {
    let mut seen = 0;
    for path in example_pipelines() {
        let v = load(&path);
        let p = v.pipeline();
        let roles = role_statements(&pipec::render::render(&v).unwrap().files);
        for (name, s) in &p.stages {
            let id = pipec::names::logical_id(pipec::names::Kind::Stage, name);
            let st = &roles[&format!("{id}Role")];
            let arn = format!("arn:aws:glue:{REGION}:{ACCOUNT}:dataQualityRuleset/x");
            let may = allows(st, "glue:PublishDataQuality", &arn, None);
            assert_eq!(
                may,
                pipec::contracts::iam::publishes_data_quality(p, s),
                "{}: {name}",
                path.display()
            );
            seen += usize::from(may);
        }
    }
    assert!(seen >= 3, "only {seen} stages publish data quality");
}

/// The reach property is only as good as the pipelines it sees: many of the
/// random shapes must pass validation, including ones whose paths are
/// literal (no `*` or `?`), which stay accepted once wildcards are refused.
#[test]
fn the_reach_property_sees_accepted_pipelines() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut accepted, mut literal) = (0, 0);
    let n = 400;
    for _ in 0..n {
        let s = shape().new_tree(&mut runner).unwrap().current();
        if reach_violations(&s).is_some() {
            accepted += 1;
            if !s.paths.iter().any(|p| p.contains('*') || p.contains('?')) {
                literal += 1;
            }
        }
    }
    eprintln!("{accepted} of {n} random pipelines accepted, {literal} with literal paths");
    assert!(
        literal >= n / 10,
        "{accepted} accepted, {literal} literal of {n}"
    );
}

/// The `--extra-py-files` of each Glue job in the rendered stacks, resolved,
/// by job name.
fn extra_py_files(files: &BTreeMap<String, String>) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    for (name, body) in files.iter().filter(|(k, _)| k.starts_with("stacks/")) {
        let t = parse_yaml(name, body);
        let types = types_of(&t);
        for r in t["Resources"].as_object().unwrap().values() {
            if r["Type"] == "AWS::Glue::Job" {
                let arg = resolve(&r["Properties"]["DefaultArguments"], &types)["--extra-py-files"]
                    .as_str()
                    .map(String::from);
                let job = r["Properties"]["Name"].as_str().unwrap().to_string();
                out.insert(job, arg);
            }
        }
    }
    out
}

#[test]
fn generated_spark_jobs_load_and_may_read_exactly_their_pipelines_runtime() {
    use pipec::contracts::iam::uses_runtime;
    let mut seen = 0;
    for path in example_pipelines().into_iter().chain(good_cases()) {
        let v = load(&path);
        let p = v.pipeline();
        let files = pipec::render::render(&v).unwrap().files;
        let roles = role_statements(&files);
        let jobs = extra_py_files(&files);
        let manifest = parse_yaml("manifest.yaml", &files["manifest.yaml"]);
        let key = manifest["runtime"]["s3_key"].as_str().map(String::from);
        let runtime = files.get(pipec::render::scripts::RUNTIME_PATH);
        assert_eq!(key.is_some(), runtime.is_some(), "{}", path.display());
        if let (Some(key), Some(text)) = (&key, runtime) {
            let hash = pipec::render::sha256_hex(text);
            assert_eq!(key, &pipec::render::stacks::runtime_key(&hash));
            assert!(
                key.ends_with("/pipec_runtime.py"),
                "the file names the module"
            );
        }
        let bucket = pipec::names::artifacts_bucket(&p.pipeline)
            .replace("${AWS::AccountId}", ACCOUNT)
            .replace("${AWS::Region}", REGION);
        let other =
            format!("arn:aws:s3:::{bucket}/scripts/runtime-0000000000000000/pipec_runtime.py");
        for (name, s) in &p.stages {
            let id = pipec::names::logical_id(pipec::names::Kind::Stage, name);
            let st = &roles[&format!("{id}Role")];
            let job = &jobs[&pipec::names::glue_job(&p.pipeline, name)];
            let wanted = uses_runtime(s).then(|| key.clone().expect("a runtime"));
            assert_eq!(
                job.as_deref(),
                wanted
                    .as_ref()
                    .map(|k| format!("s3://{bucket}/{k}"))
                    .as_deref(),
                "{}: {name}: --extra-py-files",
                path.display()
            );
            if let Some(k) = &wanted {
                let arn = format!("arn:aws:s3:::{bucket}/{k}");
                assert!(allows(st, "s3:GetObject", &arn, None), "{name} reads {k}");
                seen += 1;
            }
            assert!(
                !allows(st, "s3:GetObject", &other, None),
                "{name}: another runtime"
            );
        }
    }
    assert!(seen >= 10, "only {seen} jobs load the runtime");
}
