//! `pipec deploy`, `diff` and `destroy` end to end: the real binary against a
//! `moto_server` this test starts itself on 127.0.0.1, port 0 (from the venv
//! `tests/run-all.sh` installs). Dummy credentials, a region and no instance
//! metadata, so nothing can reach off this machine.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;

#[path = "support/moto.rs"]
mod moto;
use moto::{Moto, root};

impl Moto {
    fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    fn bucket_exists(&self, bucket: &str) -> bool {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { self.s3().head_bucket().bucket(bucket).send().await.is_ok() })
    }

    fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let out = self
                .s3()
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .ok()?;
            Some(out.body.collect().await.ok()?.to_vec())
        })
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The JSON events pipec printed.
fn events(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn when(ev: &[Value], stack: &str, what: &str) -> Option<u64> {
    ev.iter()
        .find(|e| e["stack"] == stack && e["event"] == what)
        .and_then(|e| e["t_ms"].as_u64())
}

fn stacks_with(ev: &[Value], what: &str) -> Vec<String> {
    let mut v: Vec<String> = ev
        .iter()
        .filter(|e| e["event"] == what)
        .map(|e| e["stack"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn check(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn deploy_diff_destroy_against_moto() {
    let moto = Moto::start();
    let tmp = std::env::temp_dir().join(format!("pipec-deploy-moto-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();

    // Before anything is deployed: every stack is new, diff exits 1.
    let out = moto.pipec(&[
        "diff",
        "--pipeline",
        "etl",
        "--env",
        "dev",
        "--format",
        "json",
    ]);
    check(&out, 1, "diff before deploy");
    let j: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(j["differs"], true);
    assert!(
        j["pipelines"][0]["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "new")
    );

    // Without a terminal, --yes is required: nothing is executed.
    let out = moto.pipec(&["deploy", "--pipeline", "alerts-none", "--yes"]);
    check(&out, 2, "unknown pipeline is a usage error");
    let out = moto.pipec(&[
        "deploy",
        "--env",
        "dev",
        "--stack",
        "etl-dev-basic-infra",
        "--format",
        "json",
    ]);
    check(&out, 2, "no --yes without a terminal");
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    // Refused before any upload or change set: only reads happened.
    let ev = events(&out);
    assert!(
        stacks_with(&ev, "start").is_empty(),
        "{}",
        text(&out.stdout)
    );
    assert!(
        ev.iter()
            .any(|e| e["event"] == "summary" && e["detail"] == "1 skipped")
    );
    assert!(!moto.bucket_exists("etl-artifacts-123456789012-us-east-1"));

    // Every example from scratch, from the committed generated/ output:
    // etl declares environments, so it is deployed one environment at a
    // time (its dev), the other three together.
    let out = moto.pipec(&["deploy", "--yes", "--format", "json"]);
    check(
        &out,
        2,
        "deploy without --env while etl declares environments",
    );
    assert!(
        text(&out.stderr).contains("--env dev"),
        "{}",
        text(&out.stderr)
    );
    let out = moto.pipec(&["deploy", "--yes", "--format", "json", "--env", "dev"]);
    check(&out, 0, "deploy etl's dev");
    let mut ev = events(&out);
    for p in ["leads", "survey", "trips"] {
        let out = moto.pipec(&["deploy", "--yes", "--format", "json", "--pipeline", p]);
        check(&out, 0, &format!("deploy {p}"));
        ev.extend(events(&out));
    }
    for p in ["etl-dev", "leads", "survey", "trips"] {
        let done = ev
            .iter()
            .filter(|e| e["pipeline"] == p && e["event"] == "done")
            .count();
        assert!(done >= 6, "{p}: {done} stacks done");
    }
    // Order: dependencies done before dependents execute; scripts uploaded
    // before the stack that references them.
    let t = |s: &str, w: &str| when(&ev, s, w).unwrap_or_else(|| panic!("no {w} for {s}"));
    assert!(t("etl-dev-basic-infra", "done") <= t("etl-dev-glue-catalog", "start"));
    assert!(t("etl-dev-glue-catalog", "done") <= t("etl-dev-data-quality", "execute"));
    assert!(t("etl-dev-glue-jobs", "done") <= t("etl-dev-glue-workflow", "execute"));
    let uploads: Vec<u64> = ev
        .iter()
        .filter(|e| {
            e["pipeline"] == "etl-dev" && e["stack"] == "(scripts)" && e["event"] == "uploaded"
        })
        .filter_map(|e| e["t_ms"].as_u64())
        .collect();
    assert_eq!(uploads.len(), 4, "three stage scripts and the runtime");
    assert!(
        uploads
            .iter()
            .all(|u| *u <= t("etl-dev-glue-jobs", "start"))
    );
    // Plan, then apply: every change set of the run exists before any runs
    // (basic-infra, which holds the artifacts bucket, goes first alone).
    let first_execute = [
        "etl-dev-glue-catalog",
        "etl-dev-glue-jobs",
        "etl-dev-alerts",
    ]
    .map(|s| t(s, "execute"))
    .into_iter()
    .min()
    .unwrap();
    for s in [
        "etl-dev-glue-catalog",
        "etl-dev-glue-jobs",
        "etl-dev-alerts",
        "etl-dev-data-quality",
        "etl-dev-glue-workflow",
    ] {
        assert!(
            t(s, "change-set") <= first_execute,
            "{s} planned after an execute"
        );
    }
    assert!(t("etl-dev-basic-infra", "done") <= t("etl-dev-glue-catalog", "start"));
    // The summary counts stacks only, never the script uploads.
    let summary = ev
        .iter()
        .find(|e| e["pipeline"] == "etl-dev" && e["event"] == "summary")
        .unwrap();
    assert_eq!(summary["detail"], "7 created");
    // The Spark scripts' shared runtime is uploaded under the key the
    // manifest records and the jobs' --extra-py-files names.
    let manifest = std::fs::read_to_string(root().join("generated/etl/dev/manifest.yaml")).unwrap();
    let key = manifest
        .lines()
        .skip_while(|l| *l != "runtime:")
        .find_map(|l| l.trim().strip_prefix("s3_key: "))
        .expect("the manifest records the runtime");
    let runtime = std::fs::read(root().join("generated/etl/dev/scripts/pipec_runtime.py")).unwrap();
    assert_eq!(
        moto.object("etl-dev-artifacts-123456789012-us-east-1", key),
        Some(runtime)
    );
    // Concurrency: two independent stacks in flight at the same time.
    let (cs, cd) = (
        t("etl-dev-glue-catalog", "start"),
        t("etl-dev-glue-catalog", "done"),
    );
    let (as_, ad) = (t("etl-dev-alerts", "start"), t("etl-dev-alerts", "done"));
    assert!(
        cs < ad && as_ < cd,
        "glue-catalog [{cs},{cd}] and alerts [{as_},{ad}] did not overlap"
    );

    // Nothing to change: no change sets, every stack unchanged, diff exits 0.
    // O(stacks) requests: STS, then DescribeStacks and GetTemplate per
    // stack, and one ListObjectsV2 of the scripts (no HEAD per script, no
    // UpdateTerminationProtection, no lock).
    let before = moto.requests();
    let out = moto.pipec(&[
        "deploy",
        "--yes",
        "--format",
        "json",
        "--pipeline",
        "etl",
        "--env",
        "dev",
    ]);
    check(&out, 0, "no-op deploy");
    let spent = moto.requests() - before;
    assert_eq!(spent, 1 + 2 * 7 + 1, "requests of an etl no-op deploy");
    let ev = events(&out);
    assert!(stacks_with(&ev, "change-set").is_empty());
    assert!(stacks_with(&ev, "execute").is_empty());
    assert_eq!(stacks_with(&ev, "unchanged").len(), 7);
    for format in ["text", "json", "markdown"] {
        let out = moto.pipec(&[
            "diff",
            "--pipeline",
            "etl",
            "--env",
            "dev",
            "--format",
            format,
        ]);
        check(&out, 0, "diff after deploy");
    }

    // Change one stage: diff shows it, deploy changes only the affected stack.
    let src = std::fs::read_to_string(root().join("pipelines/etl.yaml")).unwrap();
    let changed = src.replace(
        "invoice_no IS NOT NULL AND quantity IS NOT NULL",
        "invoice_no IS NOT NULL AND quantity > 0",
    );
    assert_ne!(src, changed);
    let file = tmp.join("etl.yaml");
    std::fs::write(&file, changed).unwrap();
    // The pipeline's sample files are checked beside it.
    copy_dir(
        &root().join("pipelines/samples/etl"),
        &tmp.join("samples/etl"),
    );
    let f = file.to_str().unwrap();
    let out = moto.pipec(&["diff", f, "--env", "dev"]);
    check(&out, 1, "diff after a change");
    let out = moto.pipec(&["diff", f, "--env", "dev", "--format", "markdown"]);
    check(&out, 1, "markdown diff");
    let md = text(&out.stdout);
    assert!(md.contains("| `etl-dev-glue-jobs` | changed |"), "{md}");
    assert!(md.contains("```diff"), "{md}");
    let out = moto.pipec(&["diff", f, "--env", "dev", "--format", "json"]);
    let j: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let changed: Vec<&str> = j["pipelines"][0]["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["state"] != "unchanged")
        .map(|s| s["stack_name"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["etl-dev-glue-jobs"]);
    let out = moto.pipec(&["deploy", f, "--env", "dev", "--yes", "--format", "json"]);
    check(&out, 0, "deploy the change");
    let ev = events(&out);
    assert_eq!(stacks_with(&ev, "execute"), ["etl-dev-glue-jobs"]);
    assert_eq!(stacks_with(&ev, "uploaded"), ["(scripts)"]);
    let out = moto.pipec(&["diff", f, "--env", "dev"]);
    check(&out, 0, "diff after deploying the change");

    // --stack with a short name and --only.
    let out = moto.pipec(&[
        "deploy",
        f,
        "--env",
        "dev",
        "--stack",
        "glue-workflow",
        "--only",
        "--yes",
        "--format",
        "json",
    ]);
    check(&out, 0, "--stack --only");
    assert_eq!(
        stacks_with(&events(&out), "unchanged"),
        ["etl-dev-glue-workflow"]
    );

    // A template over 51,200 bytes goes through S3.
    let big = tmp.join("synthetic.yaml");
    std::fs::write(&big, pipec::synthetic::pipeline(60)).unwrap();
    let out = moto.pipec(&["deploy", big.to_str().unwrap(), "--yes", "--format", "json"]);
    check(&out, 0, "deploy a pipeline with a large template");
    let ev = events(&out);
    assert!(
        ev.iter().any(|e| e["event"] == "uploaded"
            && e["detail"].as_str().unwrap().starts_with("template of")),
        "{}",
        text(&out.stdout)
    );
    let out = moto.pipec(&["diff", big.to_str().unwrap()]);
    check(&out, 0, "large template deployed as rendered");

    // Termination protection: asked for on basic-infra (moto lacks the call:
    // pipec warns and goes on; the SDK mock tests check the call itself).
    let out = moto.pipec(&[
        "deploy",
        "--pipeline",
        "etl",
        "--env",
        "dev",
        "--stack",
        "basic-infra",
        "--yes",
    ]);
    check(&out, 0, "basic-infra again");

    // Destroy without --delete-data: stacks gone, data buckets retained.
    let bucket = "etl-dev-raw-123456789012-us-east-1";
    let artifacts = "etl-dev-artifacts-123456789012-us-east-1";
    assert!(moto.bucket_exists(bucket));
    let out = moto.pipec(&["destroy", "--pipeline", "etl", "--env", "dev"]);
    check(&out, 2, "destroy needs --yes without a terminal");
    let out = moto.pipec(&[
        "destroy",
        "--pipeline",
        "etl",
        "--env",
        "dev",
        "--yes",
        "--format",
        "json",
    ]);
    check(&out, 0, "destroy etl");
    let ev = events(&out);
    assert_eq!(stacks_with(&ev, "deleted").len(), 7);
    assert!(t_order(&ev, "etl-dev-glue-workflow", "etl-dev-glue-jobs"));
    assert!(t_order(&ev, "etl-dev-consumers", "etl-dev-basic-infra"));
    assert!(t_order(&ev, "etl-dev-glue-jobs", "etl-dev-basic-infra"));
    assert!(ev.iter().any(|e| e["event"] == "retained"));
    assert!(
        !ev.iter().any(|e| e["event"] == "release"),
        "catalog released without --delete-data"
    );
    assert!(moto.bucket_exists(bucket), "retained bucket deleted");
    assert!(moto.bucket_exists(artifacts));
    let out = moto.pipec(&[
        "diff",
        "--pipeline",
        "etl",
        "--env",
        "dev",
        "--format",
        "json",
    ]);
    check(&out, 1, "all new again");

    // Destroy with --delete-data: buckets emptied (scripts in them) and deleted.
    let out = moto.pipec(&[
        "destroy",
        "--pipeline",
        "leads",
        "--yes",
        "--delete-data",
        "--format",
        "json",
    ]);
    check(&out, 0, "destroy leads --delete-data");
    let ev = events(&out);
    assert!(ev.iter().any(|e| e["event"] == "data-deleted"));
    // The catalog stack was first updated so that CloudFormation deletes the
    // Glue database and tables with it (moto itself skips AWS::Glue::*).
    let released = when(&ev, "leads-glue-catalog", "release").expect("glue-catalog released");
    let deleted = when(&ev, "leads-glue-catalog", "deleted").expect("glue-catalog deleted");
    assert!(released <= deleted);
    assert!(!moto.bucket_exists("leads-artifacts-123456789012-us-east-1"));
    assert!(!moto.bucket_exists("leads-raw-123456789012-us-east-1"));
    let _ = std::fs::remove_dir_all(&tmp);
}

/// True when stack `a` finished deleting before stack `b` started.
fn t_order(ev: &[Value], a: &str, b: &str) -> bool {
    match (when(ev, a, "deleted"), when(ev, b, "start")) {
        (Some(x), Some(y)) => x <= y,
        _ => false,
    }
}

/// A private work folder under target/: `pipelines/etl.yaml` and its samples copied in and
/// built into `g0/etl/`. Copies of `g0` at the same depth keep the
/// manifest's relative `source:` valid.
struct Work {
    dir: PathBuf,
}

impl Work {
    fn new(moto: &Moto, name: &str) -> Work {
        let dir = root().join(format!("target/{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pipelines")).unwrap();
        // Without its environments: the tampering checks read one
        // pipeline folder, `g0/etl/`, as any pipeline without them has.
        let etl = std::fs::read_to_string(root().join("pipelines/etl.yaml")).unwrap();
        let plain = etl.split("\nenvironments:").next().unwrap();
        assert!(plain.len() < etl.len(), "etl declares environments");
        std::fs::write(dir.join("pipelines/etl.yaml"), plain).unwrap();
        copy_dir(
            &root().join("pipelines/samples/etl"),
            &dir.join("pipelines/samples/etl"),
        );
        let w = Work { dir };
        let out = moto.pipec(&[
            "build",
            "--out",
            w.g("g0").to_str().unwrap(),
            w.dir.join("pipelines/etl.yaml").to_str().unwrap(),
        ]);
        check(&out, 0, "build the work copy");
        w
    }

    fn g(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A fresh copy of the built output as `name/`.
    fn copy(&self, name: &str) -> PathBuf {
        let to = self.g(name);
        let _ = std::fs::remove_dir_all(&to);
        copy_dir(&self.g("g0"), &to);
        to
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn edit(path: &std::path::Path, from: &str, to: &str) {
    let body = std::fs::read_to_string(path).unwrap();
    assert!(body.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, body.replacen(from, to, 1)).unwrap();
}

/// The manifest's sha256 line for `file`, replaced by the hash of its bytes now.
fn rehash(g: &std::path::Path, file: &str) {
    let manifest = g.join("etl/manifest.yaml");
    let body = std::fs::read_to_string(&manifest).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_end().ends_with(&format!(": {file}")))
        .unwrap_or_else(|| panic!("{file} not in the manifest"));
    let sha_at = (at + 1..lines.len())
        .find(|i| lines[*i].trim_start().starts_with("sha256:"))
        .unwrap();
    let text = std::fs::read_to_string(g.join("etl").join(file)).unwrap();
    let indent = &lines[sha_at][..lines[sha_at].find("sha256:").unwrap()];
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out[sha_at] = format!("{indent}sha256: \"{}\"", pipec::render::sha256_hex(&text));
    std::fs::write(&manifest, out.join("\n") + "\n").unwrap();
}

fn gen_args<'a>(cmd: &'a str, g: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![cmd, "--generated", g];
    v.extend_from_slice(extra);
    v
}

#[test]
fn the_generated_folder_is_untrusted_input() {
    let moto = Moto::start();
    let w = Work::new(&moto, "test-untrusted");
    let g0 = w.g("g0");
    let g0s = g0.to_str().unwrap();
    let out = moto.pipec(&gen_args("deploy", g0s, &["--yes", "--format", "json"]));
    check(&out, 0, "deploy the clean copy");
    let out = moto.pipec(&gen_args("diff", g0s, &[]));
    check(&out, 0, "the clean copy is deployed as rendered");

    // A template path out of the folder: never read, never shown.
    for bad in ["../../../../../../../../../etc/passwd", "/etc/passwd"] {
        let g = w.copy("g-path");
        edit(
            &g.join("etl/manifest.yaml"),
            "template: stacks/glue-jobs.yaml",
            &format!("template: {bad}"),
        );
        for cmd in ["diff", "deploy"] {
            let out = moto.pipec(&gen_args(
                cmd,
                g.to_str().unwrap(),
                &["--yes"][..usize::from(cmd == "deploy")],
            ));
            check(&out, 1, &format!("{cmd} with template {bad}"));
            assert!(
                !text(&out.stdout).contains("root:"),
                "{}",
                text(&out.stdout)
            );
            let err = text(&out.stderr);
            assert!(err.contains("outside"), "{err}");
        }
    }

    // A script that is a symlink out of the folder, and a symlinked folder.
    let outside = w.g("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let g = w.copy("g-link");
    let script = g.join("etl/scripts/clean.py");
    std::fs::copy(&script, outside.join("clean.py")).unwrap();
    std::fs::remove_file(&script).unwrap();
    std::os::unix::fs::symlink(outside.join("clean.py"), &script).unwrap();
    let out = moto.pipec(&gen_args("deploy", g.to_str().unwrap(), &["--yes"]));
    check(&out, 1, "deploy with a symlinked script");
    assert!(
        text(&out.stderr).contains("symlink"),
        "{}",
        text(&out.stderr)
    );
    let g = w.copy("g-linkdir");
    let scripts = g.join("etl/scripts");
    copy_dir(&scripts, &outside.join("scripts"));
    std::fs::remove_dir_all(&scripts).unwrap();
    std::os::unix::fs::symlink(outside.join("scripts"), &scripts).unwrap();
    let out = moto.pipec(&gen_args("deploy", g.to_str().unwrap(), &["--yes"]));
    check(&out, 1, "deploy with a symlinked scripts folder");
    assert!(
        text(&out.stderr).contains("symlink"),
        "{}",
        text(&out.stderr)
    );

    // A wrong sha256 is noticed by diff and deploy.
    let g = w.copy("g-sha");
    let manifest = g.join("etl/manifest.yaml");
    let body = std::fs::read_to_string(&manifest).unwrap();
    let i = body.find("path: scripts/clean.py").unwrap();
    let mut j = i + body[i..].find("sha256: ").unwrap() + "sha256: ".len();
    if body[j..].starts_with('"') {
        j += 1;
    }
    let mut changed = body.clone();
    changed.replace_range(j..j + 64, &"f".repeat(64));
    std::fs::write(&manifest, changed).unwrap();
    for cmd in ["diff", "deploy"] {
        let out = moto.pipec(&gen_args(
            cmd,
            g.to_str().unwrap(),
            &["--yes"][..usize::from(cmd == "deploy")],
        ));
        check(&out, 1, &format!("{cmd} with a wrong sha256"));
        let err = text(&out.stderr);
        assert!(
            err.contains("sha256") && err.contains("scripts/clean.py"),
            "{err}"
        );
    }

    // A hand-edited script with the manifest untouched: refused, never
    // "already there".
    let g = w.copy("g-script");
    edit(
        &g.join("etl/scripts/clean.py"),
        "\n",
        "\n# edited by hand\n",
    );
    let out = moto.pipec(&gen_args("deploy", g.to_str().unwrap(), &["--yes"]));
    check(&out, 1, "deploy a hand-edited script");
    assert!(!text(&out.stdout).contains("already there"));
    assert!(
        text(&out.stderr).contains("scripts/clean.py"),
        "{}",
        text(&out.stderr)
    );

    // A hand-edited template with a consistent manifest: diff warns and
    // still shows it; deploy refuses it unless --allow-edited.
    let g = w.copy("g-template");
    let gs = g.to_str().unwrap();
    edit(
        &g.join("etl/stacks/glue-jobs.yaml"),
        "- s3:GetObject",
        "- s3:*",
    );
    rehash(&g, "stacks/glue-jobs.yaml");
    let out = moto.pipec(&gen_args("diff", gs, &[]));
    check(&out, 1, "diff a hand-edited template");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("warning") && stdout.contains("stacks/glue-jobs.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+        - s3:*") || stdout.contains("s3:*"),
        "{stdout}"
    );
    let out = moto.pipec(&gen_args("diff", gs, &["--format", "json"]));
    let j: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert!(
        j["pipelines"][0]["warnings"]
            .to_string()
            .contains("stacks/glue-jobs.yaml"),
        "{j}"
    );
    let out = moto.pipec(&gen_args("deploy", gs, &["--yes"]));
    check(&out, 1, "deploy a hand-edited template");
    let err = text(&out.stderr);
    assert!(
        err.contains("stacks/glue-jobs.yaml") && err.contains("--allow-edited"),
        "{err}"
    );
    let out = moto.pipec(&gen_args(
        "deploy",
        gs,
        &["--yes", "--allow-edited", "--format", "json"],
    ));
    check(&out, 0, "deploy a hand-edited template with --allow-edited");
    let ev = events(&out);
    assert!(ev.iter().any(|e| {
        e["event"] == "warning"
            && e["detail"]
                .as_str()
                .unwrap_or("")
                .contains("stacks/glue-jobs.yaml")
    }));
    assert_eq!(stacks_with(&ev, "execute"), ["etl-glue-jobs"]);

    // The source cannot be found: refused without --allow-edited.
    let g = w.copy("g-nosource");
    let gs = g.to_str().unwrap();
    edit(&g.join("etl/manifest.yaml"), "source: ", "source: nowhere/");
    let out = moto.pipec(&gen_args("deploy", gs, &["--yes"]));
    check(&out, 1, "deploy without a source");
    assert!(
        text(&out.stderr).contains("nowhere/"),
        "{}",
        text(&out.stderr)
    );
    let out = moto.pipec(&gen_args("deploy", gs, &["--yes", "--allow-edited"]));
    check(&out, 0, "deploy without a source, --allow-edited");

    // A duplicate stack, a duplicate script stage, a stack aimed elsewhere.
    let g = w.copy("g-dup");
    let manifest = g.join("etl/manifest.yaml");
    let body = std::fs::read_to_string(&manifest).unwrap();
    let i = body.find("- name: glue-workflow").unwrap();
    let entry: String = body[i..]
        .lines()
        .take(6)
        .map(|l| format!("{l}\n"))
        .collect();
    let mut twice = body.clone();
    twice.insert_str(i, &entry);
    std::fs::write(&manifest, twice).unwrap();
    let out = moto.pipec(&gen_args("deploy", g.to_str().unwrap(), &["--yes"]));
    check(&out, 1, "a duplicate stack");
    assert!(text(&out.stderr).contains("twice"), "{}", text(&out.stderr));
    let g = w.copy("g-dup-script");
    let manifest = g.join("etl/manifest.yaml");
    let body = std::fs::read_to_string(&manifest).unwrap();
    let i = body.find("- stage: clean").unwrap();
    let entry: String = body[i..]
        .lines()
        .take(5)
        .map(|l| format!("{l}\n"))
        .collect();
    let mut twice = body.clone();
    twice.insert_str(i, &entry);
    std::fs::write(&manifest, twice).unwrap();
    let out = moto.pipec(&gen_args("deploy", g.to_str().unwrap(), &["--yes"]));
    check(&out, 1, "a duplicate script stage");
    assert!(text(&out.stderr).contains("twice"), "{}", text(&out.stderr));
    let g = w.copy("g-aim");
    edit(
        &g.join("etl/manifest.yaml"),
        "stack_name: etl-alerts",
        "stack_name: someone-elses-stack",
    );
    for cmd in ["deploy", "destroy"] {
        let out = moto.pipec(&gen_args(cmd, g.to_str().unwrap(), &["--yes"]));
        check(&out, 1, &format!("{cmd} a stack aimed elsewhere"));
        assert!(
            text(&out.stderr).contains("someone-elses-stack"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn profile_wins_over_the_environment_and_the_target_is_printed_first() {
    let moto = Moto::start();
    let w = Work::new(&moto, "test-profile");
    let g0 = w.g("g0");
    let g0s = g0.to_str().unwrap();
    // Credentials of another account: moto derives the account from the
    // access key of an assumed role.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let creds = rt.block_on(async {
        let conf = aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new("us-east-1"))
            .endpoint_url(&moto.url)
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .build();
        aws_sdk_sts::Client::from_conf(conf)
            .assume_role()
            .role_arn("arn:aws:iam::111111111111:role/other")
            .role_session_name("pipec-test")
            .send()
            .await
            .unwrap()
            .credentials
            .unwrap()
    });
    let config = w.g("aws-config");
    let credentials = w.g("aws-credentials");
    std::fs::write(&config, "[profile other]\nregion = us-east-1\n").unwrap();
    std::fs::write(
        &credentials,
        format!(
            "[other]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
            creds.access_key_id(),
            creds.secret_access_key(),
            creds.session_token()
        ),
    )
    .unwrap();
    let files = [
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
    ];
    let first_line = |o: &Output| text(&o.stdout).lines().next().unwrap_or("").to_string();

    let out = moto.pipec_with(&gen_args("diff", g0s, &["--profile", "other"]), &files);
    check(&out, 1, "diff with --profile other");
    let line = first_line(&out);
    assert!(line.contains("account 111111111111"), "{line}");
    assert!(
        line.contains("us-east-1") && line.contains(&moto.url),
        "{line}"
    );
    let out = moto.pipec_with(&gen_args("diff", g0s, &[]), &files);
    assert!(
        first_line(&out).contains("account 123456789012"),
        "{}",
        first_line(&out)
    );
    let out = moto.pipec_with(&gen_args("diff", g0s, &["--profile", "nope"]), &files);
    check(&out, 2, "a missing profile");
    assert!(
        text(&out.stderr).contains("`nope`"),
        "{}",
        text(&out.stderr)
    );

    // JSON: the target is the first event of deploy and destroy, and the
    // first key of diff's document.
    for cmd in ["deploy", "destroy"] {
        let out = moto.pipec_with(
            &gen_args(
                cmd,
                g0s,
                &["--profile", "other", "--yes", "--format", "json"],
            ),
            &files,
        );
        check(&out, 0, cmd);
        let ev: Value = serde_json::from_str(&first_line(&out)).unwrap();
        assert_eq!(ev["event"], "target", "{ev}");
        assert_eq!(ev["account"], "111111111111", "{ev}");
        assert_eq!(ev["region"], "us-east-1", "{ev}");
        assert_eq!(ev["endpoint"], moto.url.as_str(), "{ev}");
    }
    let out = moto.pipec_with(&gen_args("diff", g0s, &["--format", "json"]), &files);
    let j: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(j["target"]["account"], "123456789012", "{j}");
}

/// A deploy started in the background, its JSON events read as they come.
struct Background {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Background {
    fn start(moto: &Moto, args: &[&str], env: &[(&str, &str)]) -> Background {
        let mut child = moto
            .command(args, env)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("pipec starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for l in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(l);
            }
        });
        Background {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (up to a minute) for an event `what` of `stack`.
    fn wait_for(&mut self, stack: &str, what: &str) {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < end {
            if let Ok(l) = self
                .lines
                .recv_timeout(std::time::Duration::from_millis(200))
            {
                let hit = serde_json::from_str::<Value>(&l)
                    .is_ok_and(|e| e["stack"] == stack && e["event"] == what);
                self.seen.push(l);
                if hit {
                    return;
                }
            }
        }
        panic!("no {what} event for {stack}:\n{}", self.seen.join("\n"));
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL the deploy");
        let _ = self.child.wait();
    }

    fn wait(mut self) -> (Option<i32>, Vec<Value>) {
        let status = self.child.wait().unwrap();
        self.seen.extend(self.lines.iter());
        let ev = self
            .seen
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (status.code(), ev)
    }
}

const PAUSE: &str = "PIPEC_TEST_PAUSE_AFTER_CHANGE_SET_MS";

#[test]
fn a_killed_deploy_can_be_run_again_to_completion() {
    let moto = Moto::start();
    let w = Work::new(&moto, "test-killed");
    let g0 = w.g("g0");
    let g = g0.to_str().unwrap();
    // Killed right after the first CreateChangeSet of a first deploy: the
    // stack is left in REVIEW_IN_PROGRESS.
    let mut bg = Background::start(
        &moto,
        &gen_args("deploy", g, &["--yes", "--format", "json"]),
        &[(PAUSE, "60000")],
    );
    bg.wait_for("etl-basic-infra", "paused");
    bg.kill();
    let out = moto.pipec(&gen_args("deploy", g, &["--yes", "--format", "json"]));
    check(&out, 0, "deploy again after the kill");
    let ev = events(&out);
    assert!(
        ev.iter()
            .any(|e| e["stack"] == "etl-basic-infra" && e["event"] == "cleanup"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        ev.iter()
            .any(|e| e["event"] == "summary" && e["detail"] == "7 created")
    );
    let out = moto.pipec(&gen_args("diff", g, &[]));
    check(&out, 0, "deployed as rendered");

    // Killed after the change set of an update, holding the lock: the lock
    // of a process that is gone is stale, the change set left behind is
    // deleted, and the run goes on.
    let g1 = w.copy("g1");
    let g1s = g1.to_str().unwrap();
    edit(
        &g1.join("etl/stacks/alerts.yaml"),
        "Resources:",
        "Resources:\n  Extra: {Type: AWS::SNS::Topic}",
    );
    rehash(&g1, "stacks/alerts.yaml");
    let args = gen_args(
        "deploy",
        g1s,
        &["--yes", "--allow-edited", "--format", "json"],
    );
    let mut bg = Background::start(&moto, &args, &[(PAUSE, "60000")]);
    bg.wait_for("etl-alerts", "paused");
    bg.kill();
    let out = moto.pipec(&args);
    check(&out, 0, "deploy again after a kill holding the lock");
    let ev = events(&out);
    let said = |what: &str, needle: &str| {
        ev.iter()
            .any(|e| e["event"] == what && e["detail"].as_str().unwrap_or("").contains(needle))
    };
    assert!(said("lock", "removed the lock of"), "{}", text(&out.stdout));
    assert!(
        said("cleanup", "left by an earlier pipec run"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        ev.iter()
            .any(|e| e["event"] == "summary" && e["detail"] == "1 updated, 6 unchanged")
    );
}

#[test]
fn of_two_deploys_at_once_one_proceeds_and_the_other_is_refused() {
    let moto = Moto::start();
    let w = Work::new(&moto, "test-two");
    let g0 = w.g("g0");
    let out = moto.pipec(&gen_args("deploy", g0.to_str().unwrap(), &["--yes"]));
    check(&out, 0, "first deploy");
    let g1 = w.copy("g1");
    let g1s = g1.to_str().unwrap();
    edit(
        &g1.join("etl/stacks/alerts.yaml"),
        "Resources:",
        "Resources:\n  Extra: {Type: AWS::SNS::Topic}",
    );
    rehash(&g1, "stacks/alerts.yaml");
    let args = gen_args(
        "deploy",
        g1s,
        &["--yes", "--allow-edited", "--format", "json"],
    );
    let mut first = Background::start(&moto, &args, &[(PAUSE, "4000")]);
    first.wait_for("etl-alerts", "paused");
    let second = moto.pipec(&args);
    check(&second, 1, "the second deploy is refused");
    let err = text(&second.stderr);
    assert!(
        err.contains(
            "pipeline etl is being deployed by arn:aws:sts::123456789012:user/moto on host"
        ) && err.contains(" since ")
            && err.contains("--break-lock"),
        "{err}"
    );
    let ev = events(&second);
    assert!(
        stacks_with(&ev, "start").is_empty(),
        "the refused deploy planned nothing"
    );
    assert!(
        ev.iter()
            .any(|e| e["event"] == "summary" && e["detail"] == "6 unchanged, 1 skipped")
    );
    let (code, ev) = first.wait();
    assert_eq!(code, Some(0), "{ev:?}");
    assert_eq!(stacks_with(&ev, "execute"), ["etl-alerts"]);
    // The lock was released: the next deploy takes it (a no-op takes none).
    let out = moto.pipec(&gen_args("deploy", g1s, &["--yes", "--allow-edited"]));
    check(&out, 0, "after both");

    // Two started at the same moment: exactly one gets the lock.
    let g2 = w.copy("g2");
    let g2s = g2.to_str().unwrap();
    edit(
        &g2.join("etl/stacks/alerts.yaml"),
        "Resources:",
        "Resources:\n  Other: {Type: AWS::SNS::Topic}",
    );
    rehash(&g2, "stacks/alerts.yaml");
    let args = gen_args(
        "deploy",
        g2s,
        &["--yes", "--allow-edited", "--format", "json"],
    );
    let a = Background::start(&moto, &args, &[(PAUSE, "1500")]);
    let b = Background::start(&moto, &args, &[(PAUSE, "1500")]);
    let (ca, _) = a.wait();
    let (cb, _) = b.wait();
    let mut codes = [ca, cb];
    codes.sort();
    assert_eq!(codes, [Some(0), Some(1)], "one proceeds, one is refused");
}
