//! `pipec run`, `status` and `query` on AWS, end to end: the real binary
//! against a `moto_server` this test starts itself on 127.0.0.1, port 0.
//! moto does not deploy Glue resources from CloudFormation, so the test
//! creates the etl example's workflow and jobs through the Glue API, with
//! the names its committed stacks give them. moto's workflow runs stay
//! RUNNING and its job runs succeed at once (field notes); the other states
//! are covered by tests/run_mocks.rs.

use std::process::Output;

#[path = "support/moto.rs"]
mod moto;
use moto::{Moto, root};

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

fn etl() -> pipec::deploy::resources::Resources {
    use pipec::deploy::plan;
    let ps = plan::load_env(
        &plan::Source::Generated(root().join("generated")),
        Some("etl"),
        Some("dev"),
    )
    .expect("generated/etl/dev loads");
    pipec::deploy::resources::Resources::of(&ps[0])
}

/// Creates the etl workflow, jobs and Athena workgroup in moto.
fn create(moto: &Moto, r: &pipec::deploy::resources::Resources) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let creds = aws_sdk_glue::config::Credentials::new("testing", "testing", None, None, "test");
    let glue = aws_sdk_glue::Client::from_conf(
        aws_sdk_glue::Config::builder()
            .behavior_version(aws_sdk_glue::config::BehaviorVersion::latest())
            .region(aws_sdk_glue::config::Region::new("us-east-1"))
            .endpoint_url(&moto.url)
            .credentials_provider(creds.clone())
            .build(),
    );
    let athena = aws_sdk_athena::Client::from_conf(
        aws_sdk_athena::Config::builder()
            .behavior_version(aws_sdk_athena::config::BehaviorVersion::latest())
            .region(aws_sdk_athena::config::Region::new("us-east-1"))
            .endpoint_url(&moto.url)
            .credentials_provider(creds)
            .build(),
    );
    rt.block_on(async {
        glue.create_workflow()
            .name(r.workflow.as_deref().unwrap())
            .send()
            .await
            .expect("workflow created");
        for j in &r.jobs {
            glue.create_job()
                .name(&j.aws_name)
                .role("arn:aws:iam::123456789012:role/etl")
                .command(
                    aws_sdk_glue::types::JobCommand::builder()
                        .name("glueetl")
                        .script_location("s3://etl-artifacts/scripts/x.py")
                        .build(),
                )
                .send()
                .await
                .expect("job created");
        }
        athena
            .create_work_group()
            .name(r.workgroup.as_deref().unwrap())
            .send()
            .await
            .expect("workgroup created");
    });
}

/// Tells moto what the next Athena query returns (its documented
/// `/moto-api/static/athena/query-results` endpoint).
fn athena_results(moto: &Moto, body: &str) {
    use std::io::{Read, Write};
    let port: u16 = moto.url.rsplit(':').next().unwrap().parse().unwrap();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST /moto-api/static/athena/query-results HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    assert!(
        buf.starts_with("HTTP/1.1 20") || buf.starts_with("HTTP/1.0 20"),
        "{buf}"
    );
}

#[test]
fn run_status_and_query_against_moto() {
    let moto = Moto::start();
    let r = etl();
    create(&moto, &r);
    let stage = r.jobs[0].name.clone();

    // Nothing has run yet.
    let out = moto.pipec(&["status", "--pipeline", "etl", "--env", "dev"]);
    check(&out, 0, "status before any run");
    assert!(
        text(&out.stdout).contains("has no runs yet"),
        "{}",
        text(&out.stdout)
    );

    // --no-wait prints the run id and returns.
    let out = moto.pipec(&["run", "--pipeline", "etl", "--env", "dev", "--no-wait"]);
    check(&out, 0, "run --no-wait");
    let stdout = text(&out.stdout);
    let run_id = stdout
        .trim()
        .strip_prefix("started workflow etl-dev run ")
        .unwrap_or_else(|| panic!("no run id in {stdout:?}"))
        .to_string();
    assert!(!run_id.is_empty());

    // status lists that run as running.
    let out = moto.pipec(&["status", "--pipeline", "etl", "--env", "dev", "--last", "5"]);
    check(&out, 0, "status");
    let line = text(&out.stdout)
        .lines()
        .find(|l| l.starts_with(&run_id))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("run {run_id} not listed: {}", text(&out.stdout)));
    assert!(line.contains("running"), "{line}");

    // moto's workflow runs never end: watching stops at --timeout, exit 1.
    let out = moto.pipec(&["run", "--pipeline", "etl", "--env", "dev", "--timeout", "1"]);
    check(&out, 1, "run --timeout 1");
    assert!(
        text(&out.stdout).contains("stopped watching after"),
        "{}",
        text(&out.stdout)
    );
    let out = moto.pipec(&["status", "--pipeline", "etl", "--env", "dev"]);
    assert!(
        text(&out.stdout).contains("last 2 run(s)"),
        "{}",
        text(&out.stdout)
    );

    // --stage starts one job run; moto's succeed at once.
    let out = moto.pipec(&[
        "run",
        "--pipeline",
        "etl",
        "--env",
        "dev",
        "--stage",
        &stage,
    ]);
    check(&out, 0, "run --stage");
    assert!(
        text(&out.stdout).contains(&format!("stage {stage} succeeded")),
        "{}",
        text(&out.stdout)
    );
    let out = moto.pipec(&[
        "run",
        "--pipeline",
        "etl",
        "--env",
        "dev",
        "--stage",
        "no-such-stage",
    ]);
    check(&out, 2, "run --stage of an unknown stage");
    assert!(text(&out.stderr).contains("has no stage `no-such-stage`"));

    // A pipeline that is not deployed: the refused call is exit 2.
    let out = moto.pipec(&["run", "--pipeline", "trips", "--no-wait"]);
    check(&out, 2, "run of a pipeline not deployed");
    assert!(text(&out.stderr).contains("is pipeline `trips` deployed?"));

    // Athena through the workgroup: moto answers with the results set here.
    athena_results(
        &moto,
        r#"{"results": [{"rows": [{"Data": [{"VarCharValue": "country"}, {"VarCharValue": "orders"}]}, {"Data": [{"VarCharValue": "France"}, {"VarCharValue": "3"}]}], "column_info": [{"Name": "country", "Type": "varchar", "CatalogName": "AwsDataCatalog", "SchemaName": "etl", "TableName": "t", "Label": "country", "Nullable": "UNKNOWN", "CaseSensitive": true, "Precision": 0, "Scale": 0}, {"Name": "orders", "Type": "bigint", "CatalogName": "AwsDataCatalog", "SchemaName": "etl", "TableName": "t", "Label": "orders", "Nullable": "UNKNOWN", "CaseSensitive": false, "Precision": 0, "Scale": 0}]}]}"#,
    );
    let out = moto.pipec(&[
        "query",
        "--pipeline",
        "etl",
        "--env",
        "dev",
        "--format",
        "csv",
        "SELECT country, count(*) AS orders FROM gold GROUP BY 1",
    ]);
    check(&out, 0, "query");
    assert_eq!(text(&out.stdout), "country,orders\nFrance,3\n");

    // Several pipelines in generated/ and none named: a usage error.
    let out = moto.pipec(&["status"]);
    check(&out, 2, "status without --pipeline");
    assert!(text(&out.stderr).contains("--pipeline NAME"));
}
