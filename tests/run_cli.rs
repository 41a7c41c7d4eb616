//! `pipec run --local` through the binary: usage errors exit 2 with a clear
//! message, an invalid file exits 1, and a stage that cannot start fails the
//! run (exit 1) with its error. None of these starts Spark.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn run_local_reports_usage_and_failures_with_their_exit_codes() {
    let local = std::env::temp_dir().join(format!("pipec-run-cli-{}", std::process::id()));
    let local = local.to_string_lossy().into_owned();
    let bad = format!(
        "tests/cases/bad/{}",
        std::fs::read_dir(root().join("tests/cases/bad"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.ends_with(".yaml"))
            .unwrap()
    );
    // (arguments after `run`, exit code, text the output must hold)
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        // Without --local the run is on AWS: here a dead local endpoint, so
        // that nothing leaves this machine.
        (
            vec![
                "pipelines/etl.yaml",
                "--env",
                "dev",
                "--endpoint-url",
                "http://127.0.0.1:9",
            ],
            2,
            "no answer from the AWS endpoint",
        ),
        // On AWS a pipeline with environments needs --env.
        (
            vec!["pipelines/etl.yaml", "--endpoint-url", "http://127.0.0.1:9"],
            2,
            "add --env dev",
        ),
        (
            vec!["--local", "pipelines/etl.yaml", "--env", "stg"],
            2,
            "no environment `stg`",
        ),
        (
            vec!["--local", "pipelines/etl.yaml", "--from", "claen"],
            2,
            "--from claen: pipeline `etl` has no stage `claen` (its stages: extract, clean, repartition); did you mean `clean`?",
        ),
        (
            vec!["--local", "pipelines/etl.yaml", "--only", "gold"],
            2,
            "--only gold: pipeline `etl` has no stage `gold`",
        ),
        (
            vec![
                "--local",
                "pipelines/etl.yaml",
                "--from",
                "clean",
                "--only",
                "clean",
            ],
            2,
            "cannot be used with",
        ),
        (
            vec!["--local", "pipelines/etl.yaml", "--input", "orders_raw"],
            2,
            "--input orders_raw: expected TABLE=PATH",
        ),
        (
            vec![
                "--local",
                "pipelines/etl.yaml",
                "--input",
                "orders_ra=x.csv",
            ],
            2,
            "no table `orders_ra`; did you mean `orders_raw`?",
        ),
        (
            vec![
                "--local",
                "pipelines/etl.yaml",
                "--input",
                "orders_raw=/nonexistent/x.csv",
            ],
            2,
            "/nonexistent/x.csv does not exist",
        ),
        (
            vec!["--local", "--generated", "generated"],
            2,
            "holds 5 pipelines (etl, leads, orders, survey, trips); give one pipeline FILE",
        ),
        (
            vec!["--local", "--generated", "/nonexistent/generated"],
            2,
            "cannot read /nonexistent/generated",
        ),
        (vec!["--local", &bad], 1, "nothing run"),
        (
            vec![
                "--local",
                "pipelines/survey.yaml",
                "--jdbc",
                "survey_db=jdbc:postgresql://h/d",
            ],
            2,
            "no connection `survey_db`; did you mean `survey-db`?",
        ),
        (
            vec!["--local", "pipelines/survey.yaml", "--jdbc", "survey-db"],
            2,
            "--jdbc survey-db: expected CONNECTION=URL",
        ),
        (
            vec![
                "--local",
                "pipelines/survey.yaml",
                "--only",
                "load",
                "--python",
                "/nonexistent/python",
                "--local-dir",
                &local,
            ],
            1,
            // No --jdbc: the load stage writes Parquet stand-ins, so it gets as far as Python.
            "cannot start /nonexistent/python",
        ),
        (
            vec![
                "--local",
                "pipelines/etl.yaml",
                "--python",
                "/nonexistent/python",
                "--local-dir",
                &local,
            ],
            1,
            "cannot start /nonexistent/python",
        ),
    ];
    for (args, code, want) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_pipec"))
            .arg("run")
            .args(&args)
            .current_dir(root())
            .env_remove("PIPEC_PYTHON")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            )
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "run {args:?}:\n{all}");
        assert!(all.contains(want), "run {args:?}: no {want:?} in:\n{all}");
    }
    let _ = std::fs::remove_dir_all(&local);
}

#[test]
fn with_no_file_the_one_pipeline_in_generated_runs() {
    let dir = std::env::temp_dir().join(format!("pipec-run-gen-{}", std::process::id()));
    let generated = dir.join("generated");
    let pipec = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pipec"))
            .args(args)
            .current_dir(root())
            .env_remove("PIPEC_PYTHON")
            .output()
            .unwrap()
    };
    let out = pipec(&[
        "build",
        "pipelines/etl.yaml",
        "--out",
        &generated.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    // The run finds etl.yaml through the manifest, then fails to start the
    // (missing) Python: the plan it ran is the etl pipeline's.
    let out = pipec(&[
        "run",
        "--local",
        "--generated",
        &generated.to_string_lossy(),
        "--python",
        "/nonexistent/python",
        "--local-dir",
        &dir.join("local").to_string_lossy(),
    ]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("running pipeline etl locally"), "{all}");
    // extract, or clean once etl ships samples that extract copies.
    assert!(
        all.contains("failed: cannot start /nonexistent/python"),
        "{all}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
