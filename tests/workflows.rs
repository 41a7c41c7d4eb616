//! Pipelines over AWS's 100 jobs, crawlers and triggers per Glue workflow:
//! they build into chained workflows of at most 100 nodes each, every later
//! workflow started by one EventBridge rule through a role that may notify
//! that workflow alone; the stacks pass the contracts, cfn-lint and checkov;
//! a 1,000-stage pipeline's stacks stay within CloudFormation's limits; and
//! one more stage renames no trigger outside the last workflows.
//!
//! cfn-lint and checkov come from the venv that `tests/run-all.sh` installs.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

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
        "{} is missing: run ./tests/run-all.sh once",
        p.display()
    );
    p
}

/// The rendered files of the synthetic pipeline of `n` stages.
fn render(n: usize) -> BTreeMap<String, String> {
    let source = pipec::synthetic::pipeline(n);
    let loaded = pipec::load_bytes("synthetic.yaml", source.as_bytes(), &root());
    let v = loaded
        .pipeline
        .unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
    pipec::render::render(&v).unwrap().files
}

fn parse(label: &str, body: &str) -> Value {
    let file = pipec::source::SourceFile::new(label, body.to_string());
    pipec::yaml::parse(&file).unwrap().0.value
}

/// Every resource of the workflow stacks (one or several parts), by logical ID.
fn workflow_resources(files: &BTreeMap<String, String>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (name, body) in files {
        if name.starts_with("stacks/glue-workflow") {
            let t = parse(name, body);
            for (id, r) in t["Resources"].as_object().unwrap() {
                assert!(out.insert(id.clone(), r.clone()).is_none(), "{id} twice");
            }
        }
    }
    out
}

fn of_type<'a>(
    rs: &'a BTreeMap<String, Value>,
    ty: &'a str,
) -> impl Iterator<Item = (&'a String, &'a Value)> {
    rs.iter().filter(move |(_, r)| r["Type"] == ty)
}

/// The workflow name an EventBridge target ARN ends in.
fn target_workflow(target: &Value) -> String {
    let arn = target["Arn"]["Fn::Sub"].as_str().unwrap();
    arn.rsplit_once(":workflow/").unwrap().1.to_string()
}

/// Checks the shape of a split and returns the workflow names.
fn check_chain(n: usize, files: &BTreeMap<String, String>) -> BTreeSet<String> {
    let rs = workflow_resources(files);
    let workflows: BTreeSet<String> = of_type(&rs, "AWS::Glue::Workflow")
        .map(|(_, r)| r["Properties"]["Name"].as_str().unwrap().to_string())
        .collect();
    assert!(workflows.len() > 1, "{workflows:?}");
    assert!(workflows.contains("synthetic"));
    // Per workflow: its triggers, and the jobs and crawlers in its graph.
    let mut triggers: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    let mut started: BTreeMap<String, &str> = BTreeMap::new();
    for (_, t) in of_type(&rs, "AWS::Glue::Trigger") {
        let p = &t["Properties"];
        let wf = p["WorkflowName"].as_str().unwrap();
        assert!(workflows.contains(wf), "{wf}");
        triggers.entry(wf).or_default().push(p);
        for a in p["Actions"].as_array().unwrap() {
            let node = a.get("JobName").or(a.get("CrawlerName")).unwrap();
            let before = started.insert(node.as_str().unwrap().to_string(), wf);
            assert!(before.is_none(), "{node} is started twice");
        }
    }
    assert_eq!(
        started.len(),
        2 * n,
        "every stage and crawler is started once"
    );
    for (wf, list) in &triggers {
        let mut nodes = BTreeSet::new();
        for p in list {
            for a in p["Actions"].as_array().unwrap() {
                nodes.insert(node_key(a));
            }
            for c in p
                .pointer("/Predicate/Conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let node = c.get("JobName").or(c.get("CrawlerName")).unwrap();
                // A condition waits inside its own workflow only.
                assert_eq!(started[node.as_str().unwrap()], *wf, "{c}");
                nodes.insert(node_key(c));
            }
        }
        let size = list.len() + nodes.len();
        assert!(size <= 100, "workflow {wf} has {size} nodes");
        let starts: Vec<&&Value> = list.iter().filter(|p| p["Type"] != "CONDITIONAL").collect();
        assert_eq!(starts.len(), 1, "{wf} has {} start triggers", starts.len());
        let expected = if *wf == "synthetic" {
            "ON_DEMAND"
        } else {
            "EVENT"
        };
        assert_eq!(starts[0]["Type"], expected, "{wf}");
    }
    // Every later workflow has one rule, on a job of another workflow, whose
    // role may notify that workflow and nothing else.
    let mut reached: BTreeMap<String, String> = BTreeMap::new();
    for (id, rule) in of_type(&rs, "AWS::Events::Rule") {
        let p = &rule["Properties"];
        assert_eq!(p["EventPattern"]["source"][0], "aws.glue", "{id}");
        assert_eq!(p["EventPattern"]["detail-type"][0], "Glue Job State Change");
        let job = p["EventPattern"]["detail"]["jobName"][0].as_str().unwrap();
        assert_eq!(
            p["EventPattern"]["detail"]["state"],
            serde_json::json!(["SUCCEEDED"])
        );
        let targets = p["Targets"].as_array().unwrap();
        assert_eq!(targets.len(), 1);
        let wf = target_workflow(&targets[0]);
        assert_ne!(started[job], wf, "{id} starts its own workflow");
        assert!(
            reached
                .insert(wf.clone(), started[job].to_string())
                .is_none()
        );
        let role_id = targets[0]["RoleArn"]["Fn::GetAtt"][0].as_str().unwrap();
        let role = &rs[role_id]["Properties"];
        let statements = role["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap();
        assert_eq!(statements.len(), 1);
        assert_eq!(
            statements[0]["Action"],
            serde_json::json!(["glue:notifyEvent"])
        );
        let resources = statements[0]["Resource"].as_array().unwrap();
        assert_eq!(resources.len(), 1);
        assert!(
            resources[0]["Fn::Sub"]
                .as_str()
                .unwrap()
                .ends_with(&format!(":workflow/{wf}")),
            "{role_id}: {resources:?}"
        );
    }
    let later: BTreeSet<String> = workflows
        .iter()
        .filter(|w| *w != "synthetic")
        .cloned()
        .collect();
    assert_eq!(reached.keys().cloned().collect::<BTreeSet<_>>(), later);
    // Following the links from any workflow leads back to the first.
    for wf in &later {
        let mut at = wf.clone();
        for _ in 0..workflows.len() {
            match reached.get(&at) {
                Some(prev) => at = prev.clone(),
                None => break,
            }
        }
        assert_eq!(at, "synthetic", "{wf} is not chained to the first workflow");
    }
    // Every template keeps every contract.
    for (name, body) in files.iter().filter(|(k, _)| k.starts_with("stacks/")) {
        let broken = pipec::contracts::check(&parse(name, body));
        assert!(broken.is_empty(), "{name}: {broken:?}");
    }
    workflows
}

/// A job or crawler named by an action or a condition.
fn node_key(v: &Value) -> String {
    match (v.get("JobName"), v.get("CrawlerName")) {
        (Some(j), _) => format!("job {j}"),
        (_, Some(c)) => format!("crawler {c}"),
        _ => panic!("{v} names no node"),
    }
}

#[test]
fn a_pipeline_over_100_nodes_builds_into_chained_workflows_that_lint_clean() {
    // 60 stages, 60 crawlers and 61 triggers: 181 nodes.
    let files = render(60);
    let workflows = check_chain(60, &files);
    assert!(workflows.len() >= 2, "{workflows:?}");
    let dir = root().join("target/test-workflows");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = Vec::new();
    for (name, body) in files
        .iter()
        .filter(|(k, _)| k.starts_with("stacks/glue-workflow"))
    {
        let path = dir.join(name.trim_start_matches("stacks/"));
        std::fs::write(&path, body).unwrap();
        paths.push(path);
    }
    let out = Command::new(tool("cfn-lint"))
        .args(["--include-checks", "I", "--"])
        .args(&paths)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{report}");
    let out = Command::new(tool("checkov"))
        .args(["-d", dir.to_str().unwrap()])
        .args([
            "--framework",
            "cloudformation",
            "--compact",
            "--quiet",
            "--skip-download",
        ])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("Failed checks: 0,"), "{report}");
}

#[test]
fn a_thousand_stages_build_into_workflows_and_stacks_aws_accepts() {
    let files = render(1000);
    let workflows = check_chain(1000, &files);
    println!("1,000 stages: {} workflows", workflows.len());
    let mut stacks = 0;
    for (name, body) in files.iter().filter(|(k, _)| k.starts_with("stacks/")) {
        stacks += 1;
        // CloudFormation: 500 resources, 1 MB through S3.
        assert!(body.len() < 1_000_000, "{name} is {} bytes", body.len());
        let resources = parse(name, body)["Resources"].as_object().unwrap().len();
        assert!(resources <= 500, "{name} has {resources} resources");
    }
    assert!(stacks > 4);
}

#[test]
fn one_more_stage_renames_only_triggers_of_the_last_workflows() {
    let names = |n: usize| -> BTreeMap<String, String> {
        of_type(&workflow_resources(&render(n)), "AWS::Glue::Trigger")
            .map(|(id, r)| {
                (
                    id.clone(),
                    r["Properties"]["Name"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (a, b) = (names(200), names(201));
    let renamed = a.iter().filter(|(id, name)| b[*id] != **name).count();
    // At most the triggers of one workflow (33 units of three nodes).
    assert!(renamed <= 33, "{renamed} of {} triggers renamed", a.len());
}
