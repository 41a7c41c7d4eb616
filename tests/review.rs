//! `pipec review` and `pipec graph`.
//!
//! Review: each `tests/review/<case>/` holds two versions of one pipeline
//! (`base.yaml`, `head.yaml`) and `concerns`, the concerns the change must
//! raise, one a line. Both versions are rendered in memory and compared;
//! the Markdown and JSON reviews are committed snapshots. Through the
//! binary: a git repository in a temporary folder, the base built and
//! committed, the head built in the working tree, `review --fail-on`'s exit
//! codes and `--head`.
//!
//! Graph: every example in both formats as snapshots; the DOT rendered by
//! Graphviz (`dot -Tsvg`), the Mermaid parsed by mermaid's own parser
//! (`tests/mermaid/`, installed by `tests/mermaid/install.sh`).

use pipec::review::tree::Tree;
use pipec::review::{Concern, compare, render};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What `build` would write for a pipeline file, under `<pipeline>/`.
fn rendered(path: &Path, label: &str) -> Tree {
    let loaded = pipec::load_path(path).unwrap();
    let v = loaded.pipeline.unwrap_or_else(|| {
        panic!(
            "{} is invalid: {:?}",
            path.display(),
            loaded
                .diagnostics
                .iter()
                .map(|d| &d.message)
                .collect::<Vec<_>>()
        )
    });
    let name = v.pipeline().pipeline.clone();
    let files = pipec::render::render(&v).unwrap().files;
    Tree {
        label: label.to_string(),
        files: files
            .into_iter()
            .map(|(p, t)| (format!("{name}/{p}"), t))
            .collect(),
    }
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("tests/review"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("base.yaml").is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn every_case_raises_its_concerns_and_matches_its_snapshots() {
    let cases = cases();
    assert!(cases.len() >= 6, "{cases:?}");
    for dir in cases {
        let case = dir.file_name().unwrap().to_string_lossy().into_owned();
        let base = rendered(&dir.join("base.yaml"), "base");
        let head = rendered(&dir.join("head.yaml"), "head");
        let review = compare(&base, &head).unwrap();
        let want: Vec<String> = std::fs::read_to_string(dir.join("concerns"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        let got: Vec<String> = review
            .concerns
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        let mut want_sorted = want.clone();
        want_sorted.sort_by_key(|w| Concern::ALL.iter().position(|c| c.name() == w));
        assert_eq!(got, want_sorted, "{case}: concerns");
        assert_eq!(review.pipelines.len(), 1, "{case}: one pipeline changed");
        let md = render::render(&review, render::Format::Markdown);
        let json = render::render(&review, render::Format::Json);
        serde_json::from_str::<serde_json::Value>(&json).unwrap();
        insta::assert_snapshot!(format!("review-{case}-markdown"), md);
        insta::assert_snapshot!(format!("review-{case}-json"), json);
    }
}

#[test]
fn each_case_shows_what_it_is_about() {
    let review = |case: &str| {
        let dir = root().join("tests/review").join(case);
        compare(
            &rendered(&dir.join("base.yaml"), "base"),
            &rendered(&dir.join("head.yaml"), "head"),
        )
        .unwrap()
    };
    let r = review("iam-widening");
    let p = &r.pipelines[0];
    let role = p
        .stacks
        .iter()
        .flat_map(|s| &s.iam)
        .find(|c| c.logical_id == "StageRepartitionRole")
        .unwrap();
    assert!(role.added.iter().any(|g| g.widening.is_some()
        && g.grant.action == "s3:GetObject"
        && g.grant.resource.contains("shop-raw-")));
    let r = review("table-removed");
    let p = &r.pipelines[0];
    assert!(
        p.data_at_risk
            .iter()
            .any(|k| k.logical_id == "TableOrdersByCountry")
    );
    assert!(
        p.graph
            .removed
            .contains(&"table:orders_by_country".to_string())
    );
    assert!(p.graph.removed.contains(&"stage:repartition".to_string()));
    let r = review("column-narrowed");
    let t = &r.pipelines[0].tables;
    assert!(
        t.iter()
            .any(|t| t.table == "orders_clean" && t.change.contains("customer_id")),
        "{t:?}"
    );
    let r = review("column-added");
    let t = &r.pipelines[0].tables;
    assert!(t.iter().any(|t| t.table == "orders_clean"
        && t.grade == pipec::impact::Grade::Compatible
        && t.change.contains("is_return")));
    let r = review("replaced-bucket");
    let p = &r.pipelines[0];
    assert!(p.stacks.iter().flat_map(|s| &s.resources).any(|res| {
        res.resource_type == "AWS::S3::Bucket" && res.change == pipec::impact::Change::Replaced
    }));
    let r = review("changed-script");
    let p = &r.pipelines[0];
    assert_eq!(p.scripts.len(), 1);
    assert_eq!(p.scripts[0].stage, "clean");
    assert!(p.scripts[0].diff.contains("+") && p.scripts[0].diff.contains("unit_price > 0"));
    assert_eq!(p.graph.changed, ["stage:clean"]);
}

#[test]
fn no_change_is_an_empty_review() {
    let dir = root().join("tests/review/changed-script");
    let base = rendered(&dir.join("base.yaml"), "base");
    let r = compare(&base, &base).unwrap();
    assert!(r.pipelines.is_empty() && r.concerns.is_empty());
    assert!(render::render(&r, render::Format::Text).contains("no change"));
    // A pipeline that appears is all added, one that goes is all removed.
    let added = compare(&Tree::default(), &base).unwrap();
    assert_eq!(
        added.pipelines[0].status,
        pipec::review::compare::Status::Added
    );
    let removed = compare(&base, &Tree::default()).unwrap();
    assert!(removed.has(Concern::DataLoss));
}

#[test]
fn a_malformed_committed_template_is_an_error_not_a_panic() {
    let dir = root().join("tests/review/changed-script");
    let base = rendered(&dir.join("base.yaml"), "base");
    let mut head = base.clone();
    let path = "shop/stacks/glue-jobs.yaml".to_string();
    head.files
        .insert(path.clone(), "Resources: [unclosed\n".into());
    let e = compare(&base, &head).unwrap_err();
    assert!(e.message().contains(&path), "{}", e.message());
}

// ---- through the binary, in a git repository --------------------------------

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap()
}

fn git(dir: &Path, args: &[&str]) {
    let out = run(Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pipec(dir: &Path, args: &[&str]) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_pipec"))
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE"))
}

/// A repository whose commit holds the base's output, with the head's
/// output built in the working tree.
fn repository(case: &str) -> tempdir::Dir {
    let t = tempdir::Dir::new(case);
    let dir = t.path();
    git(dir, &["init", "-q", "-b", "main"]);
    let src = root().join("tests/review").join(case);
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    std::fs::copy(src.join("base.yaml"), dir.join("pipelines/shop.yaml")).unwrap();
    let out = pipec(dir, &["build", "pipelines/shop.yaml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    std::fs::copy(src.join("head.yaml"), dir.join("pipelines/shop.yaml")).unwrap();
    let out = pipec(dir, &["build", "pipelines/shop.yaml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t
}

mod tempdir {
    use std::path::{Path, PathBuf};

    /// A folder removed on drop.
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let p = std::env::temp_dir().join(format!(
                "pipec-review-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn the_binary_reviews_the_working_tree_against_git_and_fails_on_request() {
    let t = repository("iam-widening");
    let dir = t.path();
    let out = pipec(dir, &["review", "--base", "main"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("IAM widening"), "{text}");
    let out = pipec(dir, &["review", "--fail-on", "iam-widening"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("failing on iam-widening"));
    let out = pipec(dir, &["review", "--fail-on", "data-loss,breaking-schema"]);
    assert_eq!(out.status.code(), Some(0));
    // The binary's Markdown is the library's, with the revision in the title.
    let out = pipec(dir, &["review", "--format", "markdown"]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.starts_with("## pipec review\n"));
    assert!(md.contains("```mermaid\nflowchart LR\n"));
    let out = pipec(dir, &["review", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["concerns"][0], "iam-widening");
    // Two revisions: the head committed too; nothing left in the working tree.
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "head"]);
    let out = pipec(
        dir,
        &[
            "review", "--base", "HEAD~1", "--head", "HEAD", "--format", "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["concerns"][0], "iam-widening");
    let out = pipec(dir, &["review"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no change to generated/"));
}

#[test]
fn bad_revisions_and_places_are_usage_errors() {
    let t = repository("changed-script");
    let dir = t.path();
    let out = pipec(dir, &["review", "--base", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a commit"));
    let out = pipec(dir, &["review", "--fail-on", "everything"]);
    assert_eq!(out.status.code(), Some(2));
    let outside = tempdir::Dir::new("not-a-repo");
    let out = pipec(outside.path(), &["review"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
}

// ---- graph -------------------------------------------------------------------

fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

fn graph_of(path: &Path) -> pipec::graph::Graph {
    let loaded = pipec::load_path(path).unwrap();
    pipec::graph::from_pipeline(loaded.pipeline.as_ref().unwrap()).unwrap()
}

#[test]
fn every_example_graph_matches_its_snapshots() {
    for path in examples() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let g = graph_of(&path);
        assert!(g.nodes.len() >= 3, "{name}");
        insta::assert_snapshot!(format!("graph-{name}-mermaid"), g.mermaid());
        insta::assert_snapshot!(format!("graph-{name}-dot"), g.dot());
        // The binary prints the same text.
        let out = pipec(
            &root(),
            &["graph", path.to_str().unwrap(), "--format", "dot"],
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), g.dot());
    }
}

#[test]
fn the_etl_graph_has_every_stage_crawler_table_and_trigger() {
    let g = graph_of(&root().join("pipelines/etl.yaml"));
    let keys: Vec<String> = g.nodes.iter().map(|n| n.key()).collect();
    for k in [
        "start:start",
        "stage:extract",
        "stage:clean",
        "stage:repartition",
        "crawler:raw",
        "crawler:silver",
        "crawler:gold",
        "table:orders_raw",
        "table:orders_clean",
        "table:orders_by_country",
    ] {
        assert!(keys.contains(&k.to_string()), "{k} in {keys:?}");
    }
    let trigger = |from: &str, to: &str| {
        g.edges
            .iter()
            .find(|e| e.from == from && e.to == to && e.kind == pipec::graph::EdgeKind::Trigger)
            .map(|e| e.label.clone())
    };
    assert_eq!(
        trigger("stage:extract", "stage:clean").as_deref(),
        Some("after-extract: succeeded")
    );
    assert_eq!(
        trigger("stage:repartition", "crawler:gold").as_deref(),
        Some("after-repartition: succeeded")
    );
}

/// Every graph Mermaid text the tests produce: each example, and each
/// review case's marked union.
fn mermaid_texts() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for path in examples() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        out.insert(format!("graph-{name}"), graph_of(&path).mermaid());
    }
    for dir in cases() {
        let case = dir.file_name().unwrap().to_string_lossy().into_owned();
        let r = compare(
            &rendered(&dir.join("base.yaml"), "base"),
            &rendered(&dir.join("head.yaml"), "head"),
        )
        .unwrap();
        out.insert(format!("review-{case}"), r.pipelines[0].workflow.mermaid());
    }
    out
}

fn scratch(tag: &str) -> PathBuf {
    let d = root().join("target").join(format!("graph-check-{tag}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn dot_renders_with_graphviz() {
    let dot = Command::new("dot").arg("-V").output();
    assert!(
        dot.is_ok(),
        "Graphviz `dot` is missing: install the Debian package graphviz (tests/run-all.sh does)"
    );
    let mut checked = 0;
    for path in examples() {
        let text = graph_of(&path).dot();
        let mut child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let svg = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(svg.contains("<svg") && svg.contains("repartition") || !path.ends_with("etl.yaml"));
        checked += 1;
    }
    assert!(checked >= 4);
}

#[test]
fn mermaid_parses_with_mermaids_own_parser() {
    let dir = match std::env::var_os("PIPEC_MERMAID_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let out = run(Command::new("bash").arg(root().join("tests/mermaid/install.sh")));
            assert!(
                out.status.success(),
                "tests/mermaid/install.sh failed (needs node and npm): {}",
                String::from_utf8_lossy(&out.stderr)
            );
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
    };
    let work = scratch("mermaid");
    let texts = mermaid_texts();
    let mut files = Vec::new();
    for (name, text) in &texts {
        let f = work.join(format!("{name}.mmd"));
        std::fs::write(&f, text).unwrap();
        files.push(f);
    }
    // A broken diagram must fail, or the check proves nothing.
    let broken = work.join("broken.mmd");
    std::fs::write(&broken, "flowchart LR\n  n0[\"a\n  n0 -->\n").unwrap();
    let out = run(Command::new("node")
        .arg(dir.join("check.mjs"))
        .args(&files)
        .current_dir(&dir));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert_eq!(
        report.matches(": ok flowchart").count(),
        texts.len(),
        "{report}"
    );
    let out = run(Command::new("node")
        .arg(dir.join("check.mjs"))
        .arg(&broken)
        .current_dir(&dir));
    assert_eq!(out.status.code(), Some(1));
}
