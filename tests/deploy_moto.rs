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
    let out = moto.pipec(&["diff", "--pipeline", "etl", "--format", "json"]);
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
    let out = moto.pipec(&["deploy", "--stack", "etl-basic-infra", "--format", "json"]);
    check(&out, 2, "no --yes without a terminal");
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));

    // Every example from scratch, from the committed generated/ output.
    let out = moto.pipec(&["deploy", "--yes", "--format", "json"]);
    check(&out, 0, "deploy every example");
    assert!(
        text(&out.stderr).contains("4 pipelines"),
        "{}",
        text(&out.stderr)
    );
    let ev = events(&out);
    for p in ["etl", "leads", "survey", "trips"] {
        let done = ev
            .iter()
            .filter(|e| e["pipeline"] == p && e["event"] == "done")
            .count();
        assert!(done >= 6, "{p}: {done} stacks done");
    }
    // Order: dependencies done before dependents start; scripts uploaded
    // before the stack that references them.
    let t = |s: &str, w: &str| when(&ev, s, w).unwrap_or_else(|| panic!("no {w} for {s}"));
    assert!(t("etl-basic-infra", "done") <= t("etl-glue-catalog", "start"));
    assert!(t("etl-glue-catalog", "done") <= t("etl-data-quality", "start"));
    assert!(t("etl-glue-jobs", "done") <= t("etl-glue-workflow", "start"));
    let uploads_done = ev
        .iter()
        .find(|e| e["pipeline"] == "etl" && e["stack"] == "(scripts)" && e["event"] == "done")
        .and_then(|e| e["t_ms"].as_u64())
        .unwrap();
    assert!(uploads_done <= t("etl-glue-jobs", "start"));
    // The Spark scripts' shared runtime is uploaded under the key the
    // manifest records and the jobs' --extra-py-files names.
    let manifest = std::fs::read_to_string(root().join("generated/etl/manifest.yaml")).unwrap();
    let key = manifest
        .lines()
        .skip_while(|l| *l != "runtime:")
        .find_map(|l| l.trim().strip_prefix("s3_key: "))
        .expect("the manifest records the runtime");
    let runtime = std::fs::read(root().join("generated/etl/scripts/pipec_runtime.py")).unwrap();
    assert_eq!(
        moto.object("etl-artifacts-123456789012-us-east-1", key),
        Some(runtime)
    );
    // Concurrency: two independent stacks in flight at the same time.
    let (cs, cd) = (
        t("etl-glue-catalog", "start"),
        t("etl-glue-catalog", "done"),
    );
    let (as_, ad) = (t("etl-alerts", "start"), t("etl-alerts", "done"));
    assert!(
        cs < ad && as_ < cd,
        "glue-catalog [{cs},{cd}] and alerts [{as_},{ad}] did not overlap"
    );

    // Nothing to change: no change sets, every stack unchanged, diff exits 0.
    let out = moto.pipec(&["deploy", "--yes", "--format", "json", "--pipeline", "etl"]);
    check(&out, 0, "no-op deploy");
    let ev = events(&out);
    assert!(stacks_with(&ev, "change-set").is_empty());
    assert!(stacks_with(&ev, "execute").is_empty());
    assert_eq!(stacks_with(&ev, "unchanged").len(), 7);
    for format in ["text", "json", "markdown"] {
        let out = moto.pipec(&["diff", "--pipeline", "etl", "--format", format]);
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
    let out = moto.pipec(&["diff", f]);
    check(&out, 1, "diff after a change");
    let out = moto.pipec(&["diff", f, "--format", "markdown"]);
    check(&out, 1, "markdown diff");
    let md = text(&out.stdout);
    assert!(md.contains("| `etl-glue-jobs` | changed |"), "{md}");
    assert!(md.contains("```diff"), "{md}");
    let out = moto.pipec(&["diff", f, "--format", "json"]);
    let j: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let changed: Vec<&str> = j["pipelines"][0]["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["state"] != "unchanged")
        .map(|s| s["stack_name"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["etl-glue-jobs"]);
    let out = moto.pipec(&["deploy", f, "--yes", "--format", "json"]);
    check(&out, 0, "deploy the change");
    let ev = events(&out);
    assert_eq!(stacks_with(&ev, "execute"), ["etl-glue-jobs"]);
    assert_eq!(stacks_with(&ev, "uploaded"), ["(scripts)"]);
    let out = moto.pipec(&["diff", f]);
    check(&out, 0, "diff after deploying the change");

    // --stack with a short name and --only.
    let out = moto.pipec(&[
        "deploy",
        f,
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
        ["etl-glue-workflow"]
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
        "--stack",
        "basic-infra",
        "--yes",
    ]);
    check(&out, 0, "basic-infra again");

    // Destroy without --delete-data: stacks gone, data buckets retained.
    let bucket = "etl-raw-123456789012-us-east-1";
    let artifacts = "etl-artifacts-123456789012-us-east-1";
    assert!(moto.bucket_exists(bucket));
    let out = moto.pipec(&["destroy", "--pipeline", "etl"]);
    check(&out, 2, "destroy needs --yes without a terminal");
    let out = moto.pipec(&["destroy", "--pipeline", "etl", "--yes", "--format", "json"]);
    check(&out, 0, "destroy etl");
    let ev = events(&out);
    assert_eq!(stacks_with(&ev, "deleted").len(), 7);
    assert!(t_order(&ev, "etl-glue-workflow", "etl-glue-jobs"));
    assert!(t_order(&ev, "etl-consumers", "etl-basic-infra"));
    assert!(t_order(&ev, "etl-glue-jobs", "etl-basic-infra"));
    assert!(ev.iter().any(|e| e["event"] == "retained"));
    assert!(
        !ev.iter().any(|e| e["event"] == "release"),
        "catalog released without --delete-data"
    );
    assert!(moto.bucket_exists(bucket), "retained bucket deleted");
    assert!(moto.bucket_exists(artifacts));
    let out = moto.pipec(&["diff", "--pipeline", "etl", "--format", "json"]);
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
        std::fs::copy(
            root().join("pipelines/etl.yaml"),
            dir.join("pipelines/etl.yaml"),
        )
        .unwrap();
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
