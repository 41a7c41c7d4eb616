//! The GitHub Actions example (`examples/github/pipec.yml`): actionlint and
//! zizmor (pedantic, offline) find nothing, and the workflow does what the
//! README says: on pull requests validate, `build --check` and a review
//! posted by a job that runs none of the pull request's code; on main a
//! deploy per environment through an OIDC role, prod after dev and behind
//! its environment's approval; every action pinned by commit SHA, and no
//! permission granted by default.
//!
//! actionlint and zizmor come from the venv that `tests/run-all.sh` installs.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const WORKFLOW: &str = "examples/github/pipec.yml";

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

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn workflow() -> Value {
    let body = std::fs::read_to_string(root().join(WORKFLOW)).unwrap();
    let file = pipec::source::SourceFile::new(WORKFLOW.to_string(), body);
    let (doc, diags) = pipec::yaml::parse(&file).unwrap_or_else(|d| panic!("{d:?}"));
    assert!(diags.is_empty(), "{diags:?}");
    doc.value
}

#[test]
fn actionlint_finds_nothing() {
    let out = Command::new(tool("actionlint"))
        .args(["-no-color", WORKFLOW])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn zizmor_pedantic_finds_nothing() {
    let out = Command::new(tool("zizmor"))
        .args(["--offline", "--persona=pedantic", "--no-progress", WORKFLOW])
        .current_dir(root())
        .output()
        .unwrap();
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{report}{}", text(&out.stderr));
    assert!(report.contains("No findings"), "{report}");
}

/// The `run` scripts of a job, joined.
fn runs(job: &Value) -> String {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_workflow_does_what_the_readme_says() {
    let w = workflow();
    assert_eq!(
        w["permissions"],
        serde_json::json!({}),
        "nothing by default"
    );
    let jobs = w["jobs"].as_object().unwrap();
    for (name, job) in jobs {
        assert!(
            job["permissions"].is_object(),
            "{name}: permissions of its own"
        );
        for step in job["steps"].as_array().unwrap() {
            if let Some(uses) = step["uses"].as_str() {
                let sha = uses.split_once('@').map(|(_, r)| r).unwrap_or("");
                assert!(
                    sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                    "{name}: {uses} is not pinned by commit SHA"
                );
            }
        }
    }
    let check = &jobs["check"];
    assert_eq!(
        check["permissions"],
        serde_json::json!({"contents": "read"})
    );
    let script = runs(check);
    for cmd in [
        "pipec validate pipelines/*.yaml",
        "pipec build --check pipelines/*.yaml",
        "pipec review --base \"origin/${BASE_REF}\" --format markdown",
    ] {
        assert!(script.contains(cmd), "check runs `{cmd}`:\n{script}");
    }
    let review = check["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Review")
        .unwrap();
    assert_eq!(review["env"]["BASE_REF"], "${{ github.base_ref }}");
    // The comment is written by a job that checks nothing out.
    let comment = &jobs["comment"];
    assert_eq!(
        comment["permissions"],
        serde_json::json!({"pull-requests": "write"})
    );
    assert!(
        !comment["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout"))),
        "the commenting job must not run the pull request's code"
    );
    assert!(runs(comment).contains("gh pr comment"));
    for env in ["dev", "prod"] {
        let job = &jobs[&format!("deploy-{env}")];
        assert_eq!(job["environment"], env);
        assert_eq!(
            job["permissions"],
            serde_json::json!({"contents": "read", "id-token": "write"})
        );
        let aws = job["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"))
            })
            .expect("configure-aws-credentials");
        assert!(aws["with"]["role-to-assume"].is_string(), "an OIDC role");
        assert!(
            aws["with"].get("aws-access-key-id").is_none(),
            "no stored keys"
        );
        assert!(
            aws["with"]["allowed-account-ids"].is_string(),
            "an account guard"
        );
        assert!(
            runs(job).contains(&format!("pipec deploy \"${{PIPELINE}}\" --env {env} --yes")),
            "{env}"
        );
    }
    assert_eq!(jobs["deploy-prod"]["needs"], "deploy-dev");
}

/// The linters see real mistakes: an unpinned action with write-all
/// permissions and a pull request title spliced into a script.
#[test]
fn the_linters_catch_a_broken_copy() {
    let dir = root().join("target/ci-example");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yml");
    std::fs::write(
        &bad,
        "on: pull_request_target\npermissions: write-all\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4\n      - run: echo \"${{ github.event.pull_request.title }}\"\n      - run: pipec deploy --yes\n        if: ${{ github.event.pull_request.nosuchkey }} == true\n",
    )
    .unwrap();
    let lint = Command::new(tool("actionlint"))
        .args(["-no-color"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_ne!(lint.status.code(), Some(0), "{}", text(&lint.stdout));
    let z = Command::new(tool("zizmor"))
        .args(["--offline", "--persona=pedantic", "--no-progress"])
        .arg(&bad)
        .output()
        .unwrap();
    let report = text(&z.stdout);
    assert_ne!(z.status.code(), Some(0), "{report}");
    for audit in ["dangerous-triggers", "template-injection", "unpinned-uses"] {
        assert!(report.contains(audit), "zizmor misses {audit}:\n{report}");
    }
}
