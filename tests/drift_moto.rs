//! `pipec diff` script diffs and `pipec diff --drift` end to end: the real
//! binary against a `moto_server` this test starts itself on 127.0.0.1,
//! port 0. moto has no CloudFormation drift detection (it answers HTTP
//! 500), so this proves that pipec says so once and still checks the
//! deployed scripts: an object overwritten or deleted behind pipec's back
//! is drift (exit 1). Drift detection results are in `drift_mocks.rs`.

use serde_json::Value;
use std::process::Output;

#[path = "support/moto.rs"]
mod moto;
use moto::{Moto, root};

const ARTIFACTS: &str = "etl-dev-artifacts-123456789012-us-east-1";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
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

fn s3(moto: &Moto) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(&moto.url)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The S3 key the committed manifest gives the script of `stage`.
fn manifest_key(stage: &str) -> String {
    let m = std::fs::read_to_string(root().join("generated/etl/dev/manifest.yaml")).unwrap();
    m.lines()
        .skip_while(|l| l.trim() != format!("- stage: {stage}"))
        .find_map(|l| l.trim().strip_prefix("s3_key: ").map(str::to_string))
        .unwrap_or_else(|| panic!("no s3_key for {stage}"))
}

#[test]
fn script_diffs_and_script_drift_against_moto() {
    let moto = Moto::start();
    let out = moto.pipec(&["deploy", "--pipeline", "etl", "--env", "dev", "--yes"]);
    check(&out, 0, "deploy etl");

    // As deployed: no difference, no script drift; moto's missing drift
    // detection is said once.
    let out = moto.pipec(&["diff", "--pipeline", "etl", "--env", "dev", "--drift"]);
    check(&out, 0, "diff --drift right after deploying");
    let t = text(&out.stdout);
    assert_eq!(
        t.matches("does not run CloudFormation drift detection")
            .count(),
        1,
        "{t}"
    );
    assert!(t.contains("drift scripts: 4 checked, 0 drifted"), "{t}");

    // A changed stage: its script is shown as a unified diff of the
    // deployed object against the new text.
    let tmp = std::env::temp_dir().join(format!("pipec-drift-moto-{}", std::process::id()));
    std::fs::create_dir_all(tmp.join("samples")).unwrap();
    let src = std::fs::read_to_string(root().join("pipelines/etl.yaml")).unwrap();
    let from = "invoice_no IS NOT NULL AND quantity IS NOT NULL";
    let to = "invoice_no IS NOT NULL AND quantity > 0";
    assert!(src.contains(from));
    let file = tmp.join("etl.yaml");
    std::fs::write(&file, src.replace(from, to)).unwrap();
    let samples = root().join("pipelines/samples/etl");
    std::fs::create_dir_all(tmp.join("samples/etl")).unwrap();
    for e in std::fs::read_dir(&samples).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), tmp.join("samples/etl").join(e.file_name())).unwrap();
    }
    let f = file.to_str().unwrap();
    let out = moto.pipec(&["diff", f, "--env", "dev"]);
    check(&out, 1, "diff of a changed stage");
    let t = text(&out.stdout);
    let old = manifest_key("clean");
    assert!(
        t.contains(&format!(
            "script clean: changed (s3://{ARTIFACTS}/scripts/clean-"
        )) && t.contains(&format!("deployed {old})")),
        "{t}"
    );
    assert!(t.contains(&format!("--- a/{old} (deployed)")), "{t}");
    assert!(
        t.contains(&format!("-main = main.filter(\"{from}\")")),
        "{t}"
    );
    assert!(t.contains(&format!("+main = main.filter(\"{to}\")")), "{t}");
    // Only that script changed; the others are not listed.
    assert!(!t.contains("script repartition"), "{t}");
    let out = moto.pipec(&["diff", f, "--env", "dev", "--format", "json"]);
    let j: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let scripts = j["pipelines"][0]["scripts"].as_array().unwrap();
    let clean = scripts.iter().find(|s| s["stage"] == "clean").unwrap();
    assert_eq!(clean["state"], "changed");
    assert_eq!(clean["deployed_key"], old.as_str());
    assert!(clean["diff"].as_str().unwrap().contains(to));
    assert!(
        scripts
            .iter()
            .filter(|s| s["stage"] != "clean")
            .all(|s| s["state"] == "unchanged" && s["diff"] == ""),
        "{scripts:?}"
    );
    let out = moto.pipec(&["diff", f, "--env", "dev", "--format", "markdown"]);
    let md = text(&out.stdout);
    assert!(md.contains("script <code>clean</code> (changed)"), "{md}");

    // The deployed object overwritten behind pipec's back: a plain diff
    // trusts the content-addressed key, --drift reads it and exits 1.
    block(async {
        s3(&moto)
            .put_object()
            .bucket(ARTIFACTS)
            .key(&old)
            .body(b"print('not what pipec uploaded')\n".to_vec().into())
            .send()
            .await
            .unwrap()
    });
    let out = moto.pipec(&["diff", "--pipeline", "etl", "--env", "dev"]);
    check(&out, 0, "plain diff after the overwrite");
    let out = moto.pipec(&[
        "diff",
        "--pipeline",
        "etl",
        "--env",
        "dev",
        "--drift",
        "--format",
        "json",
    ]);
    check(&out, 1, "diff --drift after the overwrite");
    let j: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let drift = &j["pipelines"][0]["drift"];
    assert_eq!(drift["drifted"], true);
    assert_eq!(drift["supported"], false);
    assert_eq!(drift["scripts"].as_array().unwrap().len(), 1, "{drift}");
    assert_eq!(drift["scripts"][0]["stage"], "clean");
    assert_eq!(drift["scripts"][0]["state"], "modified");
    let manifest = std::fs::read_to_string(root().join("generated/etl/dev/manifest.yaml")).unwrap();
    let expected = drift["scripts"][0]["detail"]["expected"].as_str().unwrap();
    assert!(
        manifest.contains(expected),
        "{expected} is not the manifest's hash"
    );

    // The deployed object deleted: the job would fail; drift and a change.
    block(async {
        s3(&moto)
            .delete_object()
            .bucket(ARTIFACTS)
            .key(&old)
            .send()
            .await
            .unwrap()
    });
    let out = moto.pipec(&["diff", "--pipeline", "etl", "--env", "dev", "--drift"]);
    check(&out, 1, "diff --drift after the delete");
    let t = text(&out.stdout);
    assert!(t.contains("script clean: changed"), "{t}");
    assert!(
        t.contains(&format!(
            "drift script clean: s3://{ARTIFACTS}/{old} is missing"
        )),
        "{t}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
