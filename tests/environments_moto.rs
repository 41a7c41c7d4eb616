//! Environments end to end on moto: the real binary against a `moto_server`
//! this test starts on 127.0.0.1, port 0, with dummy credentials (moto's
//! account is 123456789012).
//!
//! - The account guard: the committed etl `prod` environment declares
//!   another account, so `deploy --env prod` is refused after STS and before
//!   anything is read or changed.
//! - Two environments of one pipeline deployed to two regions: each
//!   region holds only its own environment's stacks and buckets, and each
//!   environment's diff is clean afterwards (no name collision, no
//!   cross-talk).

use std::process::Output;

#[path = "support/moto.rs"]
mod moto;
use moto::{Moto, root};

const ACCOUNT: &str = "123456789012";

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

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn creds() -> aws_sdk_s3::config::Credentials {
    aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test")
}

/// The CloudFormation stacks that exist in a region.
fn stacks(moto: &Moto, region: &str) -> Vec<String> {
    let conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(aws_sdk_cloudformation::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudformation::config::Region::new(
            region.to_string(),
        ))
        .endpoint_url(&moto.url)
        .credentials_provider(creds())
        .build();
    let cfn = aws_sdk_cloudformation::Client::from_conf(conf);
    rt().block_on(async {
        let out = cfn.describe_stacks().send().await.unwrap();
        let mut v: Vec<String> = out
            .stacks()
            .iter()
            .filter_map(|s| s.stack_name().map(str::to_string))
            .collect();
        v.sort();
        v
    })
}

/// The buckets that exist (S3 bucket names are global), with their regions.
fn buckets(moto: &Moto) -> Vec<(String, String)> {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(&moto.url)
        .force_path_style(true)
        .credentials_provider(creds())
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(conf);
    rt().block_on(async {
        let out = s3.list_buckets().send().await.unwrap();
        let mut v = Vec::new();
        for b in out.buckets() {
            let name = b.name().unwrap_or_default().to_string();
            let loc = s3.get_bucket_location().bucket(&name).send().await.unwrap();
            let region = loc
                .location_constraint()
                .map(|c| c.as_str().to_string())
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "us-east-1".to_string());
            v.push((name, region));
        }
        v.sort();
        v
    })
}

/// A copy of the etl example whose `prod` environment is moto's account,
/// so both environments can deploy there (in their own regions).
fn etl_copy() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pipec-env-moto-{}", std::process::id()));
    let samples = dir.join("samples/etl");
    std::fs::create_dir_all(&samples).unwrap();
    std::fs::copy(
        root().join("pipelines/samples/etl/online_retail.csv"),
        samples.join("online_retail.csv"),
    )
    .unwrap();
    let etl = std::fs::read_to_string(root().join("pipelines/etl.yaml")).unwrap();
    assert!(
        etl.contains("account: \"210987654321\""),
        "etl prod's account"
    );
    let file = dir.join("etl.yaml");
    std::fs::write(
        &file,
        etl.replace(
            "account: \"210987654321\"",
            &format!("account: \"{ACCOUNT}\""),
        ),
    )
    .unwrap();
    file
}

#[test]
fn environments_against_moto() {
    let moto = Moto::start();

    // The guard: prod declares account 210987654321, moto is 123456789012.
    let out = moto.pipec(&["deploy", "--env", "prod", "--yes", "--pipeline", "etl"]);
    check(&out, 2, "deploy to the wrong account");
    let err = text(&out.stderr);
    assert!(
        err.contains("refusing to act")
            && err.contains("account 210987654321")
            && err.contains(ACCOUNT),
        "{err}"
    );
    assert!(stacks(&moto, "eu-west-1").is_empty(), "nothing was created");
    assert!(buckets(&moto).is_empty(), "nothing was created");
    let diff: &[&str] = &["diff", "--env", "prod", "--pipeline", "etl"];
    let destroy: &[&str] = &["destroy", "--env", "prod", "--pipeline", "etl", "--yes"];
    for args in [diff, destroy] {
        let out = moto.pipec(args);
        check(&out, 2, &format!("{} in the wrong account", args[0]));
        assert!(text(&out.stderr).contains("refusing to act"), "{}", args[0]);
    }
    // Without --env, nothing is guessed.
    let out = moto.pipec(&["deploy", "--yes", "--pipeline", "etl"]);
    check(&out, 2, "deploy without --env");
    assert!(
        text(&out.stderr).contains("--env dev"),
        "{}",
        text(&out.stderr)
    );

    // Two environments, two regions, one account.
    let file = etl_copy();
    let file = file.to_str().unwrap();
    for env in ["dev", "prod"] {
        let out = moto.pipec(&["deploy", file, "--env", env, "--yes"]);
        check(&out, 0, &format!("deploy --env {env}"));
    }
    let east = stacks(&moto, "us-east-1");
    let west = stacks(&moto, "eu-west-1");
    assert!(!east.is_empty() && !west.is_empty(), "{east:?} {west:?}");
    assert!(east.iter().all(|s| s.starts_with("etl-dev-")), "{east:?}");
    assert!(west.iter().all(|s| s.starts_with("etl-prod-")), "{west:?}");
    assert_eq!(
        east.iter()
            .map(|s| &s["etl-dev-".len()..])
            .collect::<Vec<_>>(),
        west.iter()
            .map(|s| &s["etl-prod-".len()..])
            .collect::<Vec<_>>(),
        "the same stacks in each region"
    );
    let b = buckets(&moto);
    for zone in ["raw", "silver", "gold"] {
        let dev = (
            format!("etl-dev-{zone}-{ACCOUNT}-us-east-1"),
            "us-east-1".into(),
        );
        let prod = (
            format!("etl-prod-{zone}-{ACCOUNT}-eu-west-1"),
            "eu-west-1".into(),
        );
        assert!(b.contains(&dev) && b.contains(&prod), "{zone}: {b:?}");
    }
    assert!(
        b.iter()
            .all(|(n, r)| n.starts_with("etl-dev-") && r == "us-east-1"
                || n.starts_with("etl-prod-") && r == "eu-west-1"),
        "{b:?}"
    );
    // Each environment's deploy left the other alone: both diffs are clean,
    // and a second deploy of each changes nothing.
    for env in ["dev", "prod"] {
        let out = moto.pipec(&["diff", file, "--env", env]);
        check(&out, 0, &format!("diff --env {env} after both deploys"));
        let out = moto.pipec(&["deploy", file, "--env", env, "--yes", "--format", "json"]);
        check(&out, 0, &format!("second deploy --env {env}"));
        let unchanged = text(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["event"] == "unchanged")
            .count();
        assert_eq!(unchanged, 7, "{env}: {}", text(&out.stdout));
    }
    let _ = std::fs::remove_dir_all(std::path::Path::new(file).parent().unwrap());
}
