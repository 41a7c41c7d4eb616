//! Retained data across `destroy` and `deploy`, end to end: the real binary
//! against a `moto_server` this test starts on 127.0.0.1, port 0. Dummy
//! credentials, a region and no instance metadata, so nothing can reach off
//! this machine.
//!
//! moto 5.2.5 keeps retained buckets on DeleteStack, as AWS does, but it
//! ignores `ResourcesToImport`: its IMPORT change set would create the
//! buckets again (BucketAlreadyExists). So against plain moto the redeploy
//! over retained data is refused before anything changes, naming what is
//! retained, with the data untouched. Against moto with the import AWS
//! documents added (`tests/support/moto_import.py`), the same binary
//! re-adopts the data and the redeploy succeeds. The exact IMPORT requests
//! are checked by `tests/adopt_mocks.rs`.

use std::process::Output;

#[path = "support/moto.rs"]
mod moto;
use moto::Moto;

const RAW: &str = "etl-dev-raw-123456789012-us-east-1";
const GOLD: &str = "etl-dev-gold-123456789012-us-east-1";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn s3(m: &Moto) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(&m.url)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

fn cfn(m: &Moto) -> aws_sdk_cloudformation::Client {
    let conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(aws_sdk_cloudformation::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudformation::config::Region::new("us-east-1"))
        .endpoint_url(&m.url)
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    aws_sdk_cloudformation::Client::from_conf(conf)
}

fn put(m: &Moto, bucket: &str, key: &str, body: &str) {
    rt().block_on(async {
        s3(m)
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .expect("put object")
    });
}

fn get(m: &Moto, bucket: &str, key: &str) -> Option<String> {
    rt().block_on(async {
        let out = s3(m)
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(String::from_utf8_lossy(&out.body.collect().await.ok()?.to_vec()).into_owned())
    })
}

fn bucket_exists(m: &Moto, bucket: &str) -> bool {
    rt().block_on(async { s3(m).head_bucket().bucket(bucket).send().await.is_ok() })
}

/// Buckets of the account whose names start with `prefix`.
fn buckets(m: &Moto, prefix: &str) -> Vec<String> {
    rt().block_on(async {
        let out = s3(m).list_buckets().send().await.expect("list buckets");
        out.buckets()
            .iter()
            .filter_map(|b| b.name())
            .filter(|n| n.starts_with(prefix))
            .map(str::to_string)
            .collect()
    })
}

fn owner_tag(m: &Moto, bucket: &str) -> Option<String> {
    rt().block_on(async {
        let out = s3(m)
            .get_bucket_tagging()
            .bucket(bucket)
            .send()
            .await
            .ok()?;
        out.tag_set()
            .iter()
            .find(|t| t.key() == "pipec:pipeline")
            .map(|t| t.value().to_string())
    })
}

/// Live stacks whose names start with `prefix`.
fn stacks(m: &Moto, prefix: &str) -> Vec<String> {
    rt().block_on(async {
        let out = cfn(m)
            .describe_stacks()
            .send()
            .await
            .expect("describe stacks");
        out.stacks()
            .iter()
            .filter(|s| {
                s.stack_status()
                    .is_some_and(|st| st.as_str() != "DELETE_COMPLETE")
            })
            .filter_map(|s| s.stack_name())
            .filter(|n| n.starts_with(prefix))
            .map(str::to_string)
            .collect()
    })
}

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

#[test]
fn retained_data_survives_destroy_and_delete_data_removes_it_once_the_stacks_are_gone() {
    let m = Moto::start();
    let out = m.pipec(&["deploy", "--pipeline", "etl", "--env", "dev", "--yes"]);
    check(&out, 0, "first deploy");
    assert_eq!(
        owner_tag(&m, RAW).as_deref(),
        Some("etl-dev"),
        "the bucket carries its owner"
    );
    put(
        &m,
        RAW,
        "orders/2026/orders.csv",
        "invoice_no,country\n1,NL\n",
    );
    put(&m, GOLD, "by_country/country=NL/part-0.parquet", "PAR1");
    let unnamed_before = buckets(&m, "etl-dev-basic-infra-");
    assert_eq!(
        unnamed_before.len(),
        2,
        "access-log and Athena results: {unnamed_before:?}"
    );

    // destroy without --delete-data: the stacks go, the data stays.
    let out = m.pipec(&["destroy", "--pipeline", "etl", "--env", "dev", "--yes"]);
    check(&out, 0, "destroy");
    assert!(
        stacks(&m, "etl-dev-").is_empty(),
        "{:?}",
        stacks(&m, "etl-dev-")
    );
    assert!(text(&out.stdout).contains(&format!("retained: AWS::S3::Bucket {RAW}")));

    // Deploying again finds the retained resources as this pipeline's. moto
    // cannot import them, so the deploy stops before changing anything.
    let out = m.pipec(&["deploy", "--pipeline", "etl", "--env", "dev", "--yes"]);
    check(&out, 1, "redeploy over retained data on moto");
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(stdout.contains("etl-dev-basic-infra: adopt: "), "{stdout}");
    assert!(stdout.contains(&format!("bucket {RAW}")), "{stdout}");
    assert!(stderr.contains("does not import resources"), "{stderr}");
    assert!(stderr.contains("pipec destroy --delete-data"), "{stderr}");
    assert!(
        stacks(&m, "etl-dev-basic-infra").is_empty(),
        "no stack left in review"
    );
    assert_eq!(
        get(&m, RAW, "orders/2026/orders.csv").as_deref(),
        Some("invoice_no,country\n1,NL\n"),
        "the data objects are still there"
    );
    assert_eq!(
        get(&m, GOLD, "by_country/country=NL/part-0.parquet").as_deref(),
        Some("PAR1")
    );

    // destroy --delete-data after the stacks are gone: it finds the retained
    // buckets by name and tag, lists them, and deletes them.
    let out = m.pipec(&[
        "destroy",
        "--pipeline",
        "etl",
        "--env",
        "dev",
        "--yes",
        "--delete-data",
    ]);
    check(&out, 0, "destroy --delete-data of orphans");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("orphan: bucket {RAW}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("data-deleted: bucket {GOLD}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("retained: KMS key "),
        "the key is kept: {stdout}"
    );
    for b in [RAW, GOLD] {
        assert!(!bucket_exists(&m, b), "{b} was deleted");
    }
    for b in &unnamed_before {
        assert!(!bucket_exists(&m, b), "{b} was deleted");
    }
    assert!(
        buckets(&m, "etl-dev-").is_empty(),
        "{:?}",
        buckets(&m, "etl-dev-")
    );

    // With nothing retained left, deploy creates everything again.
    let out = m.pipec(&["deploy", "--pipeline", "etl", "--env", "dev", "--yes"]);
    check(&out, 0, "deploy after the cleanup");
    assert!(
        text(&out.stdout).contains("summary: 7 created"),
        "{}",
        text(&out.stdout)
    );
    let out = m.pipec(&[
        "destroy",
        "--pipeline",
        "etl",
        "--env",
        "dev",
        "--yes",
        "--delete-data",
    ]);
    check(&out, 0, "final cleanup");
}

#[test]
fn a_bucket_of_the_same_name_that_is_not_this_pipelines_is_refused_and_kept() {
    let m = Moto::start();
    // Someone else's bucket under the name pipec would give etl's raw zone.
    rt().block_on(async {
        let c = s3(&m);
        c.create_bucket()
            .bucket(RAW)
            .send()
            .await
            .expect("create bucket");
        c.put_bucket_tagging()
            .bucket(RAW)
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .tag_set(
                        aws_sdk_s3::types::Tag::builder()
                            .key("pipec:pipeline")
                            .value("other")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("tag bucket");
    });
    put(&m, RAW, "theirs.csv", "a\n");

    let out = m.pipec(&["deploy", "--pipeline", "etl", "--env", "dev", "--yes"]);
    check(&out, 1, "deploy over a foreign bucket");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "bucket {RAW} already exists and does not belong to pipeline etl-dev (it is tagged pipec:pipeline=other)"
        )),
        "{stderr}"
    );
    assert!(
        stacks(&m, "etl-dev-basic-infra").is_empty(),
        "nothing was created"
    );

    let out = m.pipec(&[
        "destroy",
        "--pipeline",
        "etl",
        "--env",
        "dev",
        "--yes",
        "--delete-data",
    ]);
    check(
        &out,
        1,
        "destroy --delete-data does not touch a foreign bucket",
    );
    assert!(
        text(&out.stderr).contains(&format!("bucket {RAW} already exists")),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(get(&m, RAW, "theirs.csv").as_deref(), Some("a\n"));
}

#[test]
fn deploy_destroy_deploy_re_adopts_the_retained_data_where_import_works() {
    let m = Moto::start_with_import();
    let out = m.pipec(&["deploy", "--pipeline", "etl", "--env", "dev", "--yes"]);
    check(&out, 0, "first deploy");
    put(
        &m,
        RAW,
        "orders/2026/orders.csv",
        "invoice_no,country\n1,NL\n",
    );
    put(&m, GOLD, "by_country/country=NL/part-0.parquet", "PAR1");
    let unnamed = buckets(&m, "etl-dev-basic-infra-");

    for round in 1..=2 {
        let out = m.pipec(&["destroy", "--pipeline", "etl", "--env", "dev", "--yes"]);
        check(&out, 0, "destroy without --delete-data");
        assert!(
            stacks(&m, "etl-dev-").is_empty(),
            "{:?}",
            stacks(&m, "etl-dev-")
        );

        let out = m.pipec(&["deploy", "--pipeline", "etl", "--env", "dev", "--yes"]);
        check(&out, 0, "deploy again over the retained data");
        let stdout = text(&out.stdout);
        assert!(stdout.contains("etl-dev-basic-infra: adopt: "), "{stdout}");
        for b in [RAW, GOLD]
            .into_iter()
            .chain(unnamed.iter().map(String::as_str))
        {
            assert!(
                stdout.contains(&format!("bucket {b}")),
                "round {round}: {b} adopted: {stdout}"
            );
        }
        assert!(
            stdout.contains("etl-dev-basic-infra: imported: "),
            "{stdout}"
        );
        assert!(stdout.contains("summary: 7 created"), "{stdout}");
        assert_eq!(
            get(&m, RAW, "orders/2026/orders.csv").as_deref(),
            Some("invoice_no,country\n1,NL\n"),
            "round {round}: the data objects are still there"
        );
        assert_eq!(
            get(&m, GOLD, "by_country/country=NL/part-0.parquet").as_deref(),
            Some("PAR1")
        );
        // The same buckets, none made anew beside them.
        assert_eq!(
            buckets(&m, "etl-dev-basic-infra-"),
            unnamed,
            "round {round}"
        );
        // And a deploy after that has nothing left to do.
        let out = m.pipec(&["deploy", "--pipeline", "etl", "--env", "dev", "--yes"]);
        check(&out, 0, "no-op deploy after the re-adoption");
        assert!(
            text(&out.stdout).contains("summary: 7 unchanged"),
            "{}",
            text(&out.stdout)
        );
    }
    let out = m.pipec(&[
        "destroy",
        "--pipeline",
        "etl",
        "--env",
        "dev",
        "--yes",
        "--delete-data",
    ]);
    check(&out, 0, "final cleanup");
    assert!(!bucket_exists(&m, RAW));
}
