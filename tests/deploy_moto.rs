//! `pipec deploy`, `diff` and `destroy` end to end: the real binary against a
//! `moto_server` this test starts itself on 127.0.0.1, port 0 (from the venv
//! `tests/run-all.sh` installs). Dummy credentials, a region and no instance
//! metadata, so nothing can reach off this machine.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A moto server owned by this test; stopped (by its own handle) on drop.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    fn start() -> Moto {
        let venv = std::env::var_os("PIPEC_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join(".venv"));
        let bin = venv.join("bin/moto_server");
        assert!(
            bin.is_file(),
            "{} missing: run ./tests/run-all.sh, which installs the pinned moto",
            bin.display()
        );
        let mut child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto_server starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(i) = line.find("Running on http://127.0.0.1:") {
                    let url = line[i + "Running on ".len()..].trim().to_string();
                    let _ = tx.send(url);
                    sent = true;
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("moto_server printed its address");
        let mut moto = Moto { child, url };
        moto.wait_ready();
        moto
    }

    fn wait_ready(&mut self) {
        let port: u16 = self.url.rsplit(':').next().unwrap().parse().unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let _ = s.write_all(
                    b"GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                );
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server at {} never answered 200", self.url);
    }

    fn pipec(&self, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_pipec"));
        c.args(args)
            .current_dir(root())
            .stdin(Stdio::null())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            )
            .env_remove("AWS_PROFILE")
            .env("AWS_ENDPOINT_URL", &self.url);
        c.output().expect("pipec runs")
    }

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
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    assert_eq!(stacks_with(&ev, "unchanged").len(), 6);
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
    assert_eq!(stacks_with(&ev, "deleted").len(), 6);
    assert!(t_order(&ev, "etl-glue-workflow", "etl-glue-jobs"));
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
