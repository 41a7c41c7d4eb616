//! `pipec build`: the committed `generated/` is current, its templates pass
//! cfn-lint and checkov, output is deterministic, stateful resources are
//! retained, IAM is least-privilege, one new stage changes only its own
//! lines, and a 1,000-stage pipeline splits into deployable stacks.
//!
//! cfn-lint and checkov come from the venv that `tests/run-all.sh` installs.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pipec(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipec"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("pipec runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
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

fn example_pipelines() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| format!("pipelines/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    v.sort();
    v
}

fn templates_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in std::fs::read_dir(dir).unwrap() {
        let stacks = p.unwrap().path().join("stacks");
        if stacks.is_dir() {
            for t in std::fs::read_dir(stacks).unwrap() {
                out.push(t.unwrap().path());
            }
        }
    }
    out.sort();
    out
}

/// A generated template read back with pipec's own YAML reader.
fn parse(path: &Path) -> Value {
    let body = std::fs::read_to_string(path).unwrap();
    let file = pipec::source::SourceFile::new(path.display().to_string(), body);
    let (doc, diags) =
        pipec::yaml::parse(&file).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
    assert!(diags.is_empty(), "{diags:?}");
    doc.value
}

#[test]
fn committed_generated_output_is_current() {
    let mut args = vec!["build", "--check"];
    let files = example_pipelines();
    args.extend(files.iter().map(String::as_str));
    let out = pipec(&args, &root());
    assert_eq!(
        out.status.code(),
        Some(0),
        "generated/ is stale: run `pipec build pipelines/*.yaml`\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// `build --check` covers every environment of every example: a pipeline
/// with `environments:` is checked (and built) per environment, in
/// `<pipeline>/<environment>/`, and the layout it no longer uses is stale.
#[test]
fn every_environment_is_built_and_checked_in_its_own_folder() {
    let files = example_pipelines();
    let mut args = vec!["build", "--check"];
    args.extend(files.iter().map(String::as_str));
    let out = pipec(&args, &root());
    let stdout = text(&out.stdout);
    for f in &files {
        let src = std::fs::read_to_string(root().join(f)).unwrap();
        let stem = Path::new(f)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let envs: Vec<&str> = src
            .split("\nenvironments:\n")
            .nth(1)
            .map(|rest| {
                rest.lines()
                    .take_while(|l| l.is_empty() || l.starts_with(' ') || l.starts_with('#'))
                    .filter_map(|l| l.strip_prefix("  ")?.strip_suffix(':'))
                    .filter(|k| !k.starts_with(' '))
                    .collect()
            })
            .unwrap_or_default();
        if envs.is_empty() {
            assert!(
                stdout.contains(&format!("generated/{stem}: up to date")),
                "{stdout}"
            );
        }
        for e in &envs {
            assert!(
                stdout.contains(&format!("generated/{stem}/{e}: up to date")),
                "{stem}/{e}: {stdout}"
            );
        }
    }
    assert!(stdout.contains("generated/etl/dev: up to date"), "{stdout}");
    assert!(
        stdout.contains("generated/etl/prod: up to date"),
        "{stdout}"
    );

    // One environment with --env; the old single-folder layout is stale.
    let dir = root().join("target/test-build-envs");
    let _ = std::fs::remove_dir_all(&dir);
    let out_dir = dir.to_str().unwrap();
    let build = |extra: &[&str]| {
        let mut a = vec!["build", "--out", out_dir, "pipelines/etl.yaml"];
        a.extend_from_slice(extra);
        pipec(&a, &root())
    };
    let out = build(&["--env", "prod"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.join("etl/prod/manifest.yaml").is_file());
    assert!(!dir.join("etl/dev").exists());
    let manifest = std::fs::read_to_string(dir.join("etl/prod/manifest.yaml")).unwrap();
    assert!(manifest.contains("pipeline: etl-prod"), "{manifest}");
    assert!(
        manifest.contains("source: \"../../../../pipelines/etl.yaml\""),
        "{manifest}"
    );
    assert!(manifest.contains("account: \"210987654321\""), "{manifest}");
    assert!(manifest.contains("region: eu-west-1"), "{manifest}");
    std::fs::create_dir_all(dir.join("etl/stacks")).unwrap();
    std::fs::write(dir.join("etl/manifest.yaml"), "old: layout\n").unwrap();
    std::fs::write(dir.join("etl/stacks/glue-jobs.yaml"), "old: layout\n").unwrap();
    let out = build(&["--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(
        diff.contains("etl/manifest.yaml") && diff.contains("etl/stacks/glue-jobs.yaml"),
        "{diff}"
    );
    assert!(
        diff.contains("etl/dev/manifest.yaml"),
        "dev is missing: {diff}"
    );
    let out = build(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!dir.join("etl/manifest.yaml").exists());
    assert!(!dir.join("etl/stacks/glue-jobs.yaml").exists());
    assert_eq!(build(&["--check"]).status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn build_check_reports_a_diff_and_exit_1_when_stale() {
    let dir = root().join("target/test-build-check");
    let _ = std::fs::remove_dir_all(&dir);
    let out = pipec(
        &[
            "build",
            "--out",
            dir.to_str().unwrap(),
            "pipelines/etl.yaml",
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stack = dir.join("etl/dev/stacks/glue-jobs.yaml");
    let body = std::fs::read_to_string(&stack).unwrap();
    std::fs::write(&stack, body.replace("Timeout: 60", "Timeout: 61")).unwrap();
    std::fs::write(dir.join("etl/dev/stacks/leftover.yaml"), "x: 1\n").unwrap();
    let out = pipec(
        &[
            "build",
            "--check",
            "--out",
            dir.to_str().unwrap(),
            "pipelines/etl.yaml",
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(1));
    let diff = text(&out.stdout);
    assert!(
        diff.contains("-      Timeout: 61") && diff.contains("+      Timeout: 60"),
        "{diff}"
    );
    assert!(
        diff.contains("--- a/") && diff.contains("+++ /dev/null"),
        "{diff}"
    );
    // --check wrote nothing; build repairs both files.
    assert!(dir.join("etl/dev/stacks/leftover.yaml").exists());
    let out = pipec(
        &[
            "build",
            "--out",
            dir.to_str().unwrap(),
            "pipelines/etl.yaml",
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(!dir.join("etl/dev/stacks/leftover.yaml").exists());
    let out = pipec(
        &[
            "build",
            "--check",
            "--out",
            dir.to_str().unwrap(),
            "pipelines/etl.yaml",
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn invalid_pipelines_build_nothing() {
    let dir = root().join("target/test-build-invalid");
    let _ = std::fs::remove_dir_all(&dir);
    let out = pipec(
        &[
            "build",
            "--out",
            dir.to_str().unwrap(),
            "tests/cases/bad/unknown-table-reference.yaml",
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("nothing built"));
    assert!(!dir.exists());
}

#[test]
fn output_is_byte_identical_across_runs_and_working_directories() {
    let a = root().join("target/test-determinism-a");
    let b = root().join("target/test-determinism-b");
    for d in [&a, &b] {
        let _ = std::fs::remove_dir_all(d);
    }
    let mut args = vec!["build".to_string(), "--out".into(), a.display().to_string()];
    args.extend(example_pipelines());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(pipec(&args, &root()).status.success());
    // The same pipelines, named by absolute paths from another directory.
    let mut args = vec!["build".to_string(), "--out".into(), b.display().to_string()];
    args.extend(
        example_pipelines()
            .iter()
            .map(|p| root().join(p).display().to_string()),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(pipec(&args, Path::new("/")).status.success());
    let ta = templates_under(&a);
    assert!(!ta.is_empty());
    for t in ta {
        let rel = t.strip_prefix(&a).unwrap();
        assert_eq!(
            std::fs::read(&t).unwrap(),
            std::fs::read(b.join(rel)).unwrap(),
            "{}",
            rel.display()
        );
    }
}

/// Every file under `dir`, by its path relative to `dir`.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_renamed_pipeline_file_changes_no_template_and_no_script() {
    // The deployed identity is the pipeline's, not the file's: a copy of
    // etl.yaml under another name and folder renders the same stacks and
    // scripts byte for byte. Only the manifest's `source:` (not deployed)
    // names the file.
    let base = root().join("target/test-renamed");
    let _ = std::fs::remove_dir_all(&base);
    let copy = base.join("elsewhere/orders-copy-v2.yaml");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(root().join("pipelines/etl.yaml"), &copy).unwrap();
    // The copy's samples, which validation reads, come along.
    let samples = base.join("elsewhere/samples/etl");
    std::fs::create_dir_all(&samples).unwrap();
    std::fs::copy(
        root().join("pipelines/samples/etl/online_retail.csv"),
        samples.join("online_retail.csv"),
    )
    .unwrap();
    let (a, b) = (base.join("a"), base.join("b"));
    for (out, file) in [(&a, root().join("pipelines/etl.yaml")), (&b, copy)] {
        let o = pipec(
            &[
                "build",
                "--out",
                &out.display().to_string(),
                &file.display().to_string(),
            ],
            &root(),
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let (fa, fb) = (
        files_under(&a.join("etl/dev")),
        files_under(&b.join("etl/dev")),
    );
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    let deployed: Vec<&String> = fa
        .keys()
        .filter(|k| k.starts_with("stacks/") || k.starts_with("scripts/"))
        .collect();
    assert!(deployed.len() > 8, "{deployed:?}");
    for k in deployed {
        assert!(fa[k] == fb[k], "{k} depends on the pipeline file's name");
        assert!(
            !text(&fa[k]).contains("etl.yaml"),
            "{k} names the pipeline file"
        );
    }
    let differing: Vec<String> = text(&fa["manifest.yaml"])
        .lines()
        .zip(text(&fb["manifest.yaml"]).lines())
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.to_string())
        .collect();
    assert!(
        differing.iter().all(|l| l.starts_with("source:")),
        "{differing:?}"
    );
}

#[test]
fn generated_files_carry_the_header_and_no_timestamps() {
    for t in templates_under(&root().join("generated")) {
        let body = std::fs::read_to_string(&t).unwrap();
        let first = body.lines().next().unwrap();
        assert!(
            first.starts_with("# Generated by pipec from ") && first.contains("Do not edit"),
            "{}",
            t.display()
        );
        assert!(
            !body.contains(env!("CARGO_PKG_VERSION")) || !first.contains(env!("CARGO_PKG_VERSION"))
        );
        for year in ["2024-", "2025-", "2026-", "2027-"] {
            assert!(!body.contains(year), "{}: looks like a date", t.display());
        }
    }
}

#[test]
fn stacks_pass_cfn_lint_with_nothing_reported() {
    let templates = templates_under(&root().join("generated"));
    let mut cmd = Command::new(tool("cfn-lint"));
    cmd.args(["--include-checks", "I", "--"]).args(&templates);
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).trim(), "");
}

#[test]
fn stacks_pass_checkov_with_no_failed_check() {
    let out = Command::new(tool("checkov"))
        .args([
            "-d",
            "generated",
            "--framework",
            "cloudformation",
            "--compact",
            "--quiet",
            "--skip-download",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    let report = text(&out.stdout);
    assert!(
        report.contains("Failed checks: 0,"),
        "{report}{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{report}");
    // Every skip carries a written reason in the template's Metadata.
    for t in templates_under(&root().join("generated")) {
        let v = parse(&t);
        for (id, r) in v["Resources"].as_object().unwrap() {
            if let Some(skips) = r
                .pointer("/Metadata/checkov/skip")
                .and_then(Value::as_array)
            {
                for s in skips {
                    let reason = s["comment"].as_str().unwrap_or_default();
                    assert!(
                        reason.len() > 20,
                        "{}: {id}: skip without a reason",
                        t.display()
                    );
                }
            }
        }
    }
}

const STATEFUL: [&str; 4] = [
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
];

#[test]
fn stateful_resources_are_retained() {
    let mut seen = BTreeSet::new();
    for t in templates_under(&root().join("generated")) {
        let v = parse(&t);
        for (id, r) in v["Resources"].as_object().unwrap() {
            let ty = r["Type"].as_str().unwrap();
            if STATEFUL.contains(&ty) {
                seen.insert(ty.to_string());
                assert_eq!(r["DeletionPolicy"], "Retain", "{}: {id}", t.display());
                assert_eq!(r["UpdateReplacePolicy"], "Retain", "{}: {id}", t.display());
            }
        }
    }
    assert_eq!(seen.len(), STATEFUL.len(), "{seen:?}");
}

#[test]
fn iam_policies_have_no_wildcard_actions_and_scoped_resources() {
    for t in templates_under(&root().join("generated")) {
        let v = parse(&t);
        for (id, r) in v["Resources"].as_object().unwrap() {
            if r["Type"] != "AWS::IAM::Role" {
                continue;
            }
            for policy in r["Properties"]["Policies"].as_array().unwrap() {
                for s in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
                    let actions: Vec<&str> = match &s["Action"] {
                        Value::String(a) => vec![a.as_str()],
                        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap()).collect(),
                        other => panic!("{other}"),
                    };
                    for a in &actions {
                        assert!(
                            !a.contains('*'),
                            "{}: {id}: wildcard action {a}",
                            t.display()
                        );
                    }
                    // A `*` resource only for calls that have no resource-level permissions, and under a condition.
                    if s["Resource"] == "*" {
                        assert!(
                            s.get("Condition").is_some(),
                            "{}: {id}: unconditioned * resource",
                            t.display()
                        );
                        assert!(
                            actions.iter().all(|a| a.starts_with("ec2:Describe")
                                || *a == "cloudwatch:PutMetricData"
                                || *a == "glue:GetSecurityConfiguration"),
                            "{}: {id}: {actions:?} on *",
                            t.display()
                        );
                    }
                }
            }
        }
    }
}

/// Changed lines of every file between two builds, as (file, line) pairs of the new side.
fn changed_lines(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for k in keys {
        let a = old.get(k).map(String::as_str).unwrap_or("");
        let b = new.get(k).map(String::as_str).unwrap_or("");
        for change in similar::TextDiff::from_lines(a, b).iter_all_changes() {
            if change.tag() != similar::ChangeTag::Equal {
                out.push((k.clone(), change.value().trim_end().to_string()));
            }
        }
    }
    out
}

fn render(text: &str) -> BTreeMap<String, String> {
    let loaded = pipec::load_bytes("etl.yaml", text.as_bytes(), &root().join("pipelines"));
    let v = loaded
        .pipeline
        .unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
    pipec::render::render(&v).unwrap().files
}

#[test]
fn adding_one_stage_changes_only_lines_about_that_stage() {
    let base = std::fs::read_to_string(root().join("pipelines/etl.yaml")).unwrap();
    // A new stage (`audit`) with its own table and trigger.
    let changed = base
        .replace(
            "\nstages:\n",
            "\n  orders_audit:\n    zone: gold\n    path: orders_audit/\n    columns:\n      invoice_no: string\n      amount: decimal(18,2)\n\nstages:\n",
        )
        .replace(
            "\ncrawlers:\n",
            "\n  audit:\n    inputs: [orders_by_country]\n    steps:\n      - select: [invoice_no, amount]\n    outputs:\n      - table: orders_audit\n\ncrawlers:\n",
        )
        .replace(
            "\nalerts:\n",
            "\n  after-gold:\n    when: {all: [repartition]}\n    start: [audit]\n\nalerts:\n",
        );
    assert_ne!(base, changed);
    let lines = changed_lines(&render(&base), &render(&changed));
    assert!(!lines.is_empty());
    let new_names = ["audit", "Audit", "after-gold", "AfterGold"];
    // Lines that open or close a block of the new resources carry no name.
    let structural = |l: &str| {
        let t = l.trim_start_matches([' ', '-']).trim();
        t.is_empty()
            || t.ends_with(':')
            || !t.contains(':')
            || t.starts_with("Type:")
            || t.starts_with("Effect:")
            || t.starts_with("Sid:")
            || t.starts_with("Version:")
            || t.starts_with("Logical")
            || t.starts_with("Fn::")
            || t.starts_with("Ref:")
            || t.starts_with("LogicalOperator")
            // The manifest's hash of a template changes with the template,
            // whose own lines are checked here.
            || t.starts_with("sha256:")
    };
    let mut in_new_block = false;
    for (file, line) in &lines {
        if new_names.iter().any(|n| line.contains(n)) {
            in_new_block = true;
            continue;
        }
        if structural(line) || in_new_block {
            continue;
        }
        panic!(
            "{file}: a line unrelated to the new stage changed: {line}\nall changes: {lines:#?}"
        );
    }
    // Nothing about existing stages moved: their jobs are byte-identical.
    let before = render(&base);
    let after = render(&changed);
    for stage in ["Extract", "Clean", "Repartition"] {
        let block = |files: &BTreeMap<String, String>| {
            let jobs = &files["stacks/glue-jobs.yaml"];
            let start = jobs.find(&format!("  Stage{stage}Job:")).unwrap();
            let end = jobs[start + 3..]
                .find("\n  Stage")
                .map_or(jobs.len(), |e| start + 3 + e);
            jobs[start..end].trim_end().to_string()
        };
        assert_eq!(block(&before), block(&after), "{stage}");
    }
}

#[test]
fn a_thousand_stages_split_into_deployable_stacks() {
    let source = pipec::synthetic::pipeline(1000);
    let loaded = pipec::load_bytes("synthetic.yaml", source.as_bytes(), &root());
    let v = loaded.pipeline.expect("valid");
    let files = pipec::render::render(&v).unwrap().files;
    let manifest = {
        let f = pipec::source::SourceFile::new("manifest.yaml", files["manifest.yaml"].clone());
        pipec::yaml::parse(&f).unwrap().0.value
    };
    let stacks = manifest["stacks"].as_array().unwrap();
    let names: BTreeSet<&str> = stacks.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(stacks.len() > 4, "{names:?}");
    let mut jobs = 0;
    for s in stacks {
        for d in s["depends_on"].as_array().unwrap() {
            assert!(names.contains(d.as_str().unwrap()), "{d} missing");
        }
        let body = &files[s["template"].as_str().unwrap()];
        assert!(
            body.len() < 1_000_000,
            "{} is {} bytes",
            s["name"],
            body.len()
        );
        let resources = body.matches("\n    Type: AWS::").count();
        assert!(resources <= 500, "{} has {resources} resources", s["name"]);
        jobs += body.matches("Type: AWS::Glue::Job\n").count();
    }
    assert_eq!(jobs, 1000);
    // One part of each split stack, and the rest, still pass cfn-lint (all 37
    // parts take minutes to lint; the parts differ only in which stages they hold).
    let dir = root().join("target/test-thousand");
    let _ = std::fs::remove_dir_all(&dir);
    let mut paths = Vec::new();
    for s in stacks {
        let name = s["name"].as_str().unwrap();
        let numbered = name
            .rsplit_once('-')
            .is_some_and(|(_, n)| n.parse::<u32>().is_ok());
        if numbered && !name.ends_with("-1") {
            continue;
        }
        let path = dir.join(s["template"].as_str().unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &files[s["template"].as_str().unwrap()]).unwrap();
        paths.push(path);
    }
    let out = Command::new(tool("cfn-lint"))
        .arg("--")
        .args(&paths)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

/// Renders a good case and returns its stack files and manifest, keyed by path.
fn render_case(path: &Path) -> BTreeMap<String, String> {
    let loaded = pipec::load_path(path).unwrap();
    let v = loaded
        .pipeline
        .unwrap_or_else(|| panic!("{}: {:?}", path.display(), loaded.diagnostics));
    pipec::render::render(&v).unwrap().files
}

#[test]
fn good_cases_render_stacks_as_committed_snapshots() {
    insta::glob!("cases/good/*.yaml", |path| {
        let files = render_case(path);
        let mut all = String::new();
        for (name, body) in files.iter().filter(|(k, _)| !k.starts_with("scripts/")) {
            all.push_str(&format!("=== {name}\n{body}"));
        }
        insta::assert_snapshot!(all);
    });
}

#[test]
fn good_cases_pass_cfn_lint_and_checkov() {
    let dir = root().join("target/test-good-cases");
    let _ = std::fs::remove_dir_all(&dir);
    let mut templates = Vec::new();
    for entry in std::fs::read_dir(root().join("tests/cases/good")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        for (name, body) in render_case(&path) {
            if name.starts_with("stacks/") {
                let out = dir.join(&stem).join(&name);
                std::fs::create_dir_all(out.parent().unwrap()).unwrap();
                std::fs::write(&out, body).unwrap();
                templates.push(out);
            }
        }
    }
    templates.sort();
    let out = Command::new(tool("cfn-lint"))
        .args(["--include-checks", "I", "--"])
        .args(&templates)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = Command::new(tool("checkov"))
        .args([
            "-d",
            dir.to_str().unwrap(),
            "--framework",
            "cloudformation",
            "--compact",
            "--quiet",
            "--skip-download",
        ])
        .output()
        .unwrap();
    let report = text(&out.stdout);
    assert!(report.contains("Failed checks: 0,"), "{report}");
}
