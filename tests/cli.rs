//! CLI behaviour, tested from outside through the binary: the examples, the
//! committed schema, exit codes, and inputs that are made rather than committed
//! (non-UTF-8 bytes, a 50 MB file).

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pipec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipec"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("pipec runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn pipelines() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| format!("pipelines/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_pipeline_is_valid_without_warnings() {
    let files = pipelines();
    assert!(files.len() >= 4, "{files:?}");
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let out = pipec(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "examples must be free of warnings");
    for f in &files {
        assert!(text(&out.stdout).contains(&format!("{f}: ok")), "{f}");
    }
}

#[test]
fn every_example_starts_with_the_schema_modeline() {
    for f in pipelines() {
        let body = std::fs::read_to_string(root().join(&f)).unwrap();
        assert_eq!(
            body.lines().next(),
            Some("# yaml-language-server: $schema=../schema/pipeline.schema.json"),
            "{f}"
        );
    }
}

#[test]
fn committed_schema_is_current() {
    let out = pipec(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read_to_string(root().join("schema/pipeline.schema.json")).unwrap();
    assert!(
        text(&out.stdout) == committed,
        "schema/pipeline.schema.json is stale: run `cargo run -- schema > schema/pipeline.schema.json`"
    );
}

#[test]
fn missing_file_is_an_io_error_with_exit_code_2() {
    let out = pipec(&["validate", "pipelines/does-not-exist.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read pipelines/does-not-exist.yaml"));
}

#[test]
fn directory_is_an_io_error() {
    let out = pipec(&["validate", "pipelines"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    assert_eq!(pipec(&["validate"]).status.code(), Some(2));
    assert_eq!(pipec(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        pipec(&["validate", "--format", "xml", "x.yaml"])
            .status
            .code(),
        Some(2)
    );
    for sub in [
        &["--help"][..],
        &["validate", "--help"],
        &["schema", "--help"],
        &["completions", "--help"],
    ] {
        let out = pipec(sub);
        assert_eq!(out.status.code(), Some(0), "{sub:?}");
        assert!(text(&out.stdout).contains("Usage: pipec"), "{sub:?}");
    }
    let v = pipec(&["--version"]);
    assert_eq!(
        text(&v.stdout).trim(),
        format!("pipec {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = pipec(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(text(&out.stdout).contains("validate"), "{shell}");
    }
}

#[test]
fn mixed_files_exit_with_the_worst_code() {
    let out = pipec(&[
        "validate",
        "pipelines/etl.yaml",
        "tests/cases/bad/unknown-table-reference.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = pipec(&[
        "validate",
        "tests/cases/bad/unknown-table-reference.yaml",
        "nope.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = root().join("target/test-inputs");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn non_utf8_input_is_located() {
    let p = temp_file("latin1.yaml", b"pipeline: etl\ndescription: caf\xe9\n");
    let out = pipec(&["validate", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("latin1.yaml:2:17: error: the file is not valid UTF-8"),
        "{err}"
    );
}

#[test]
fn fifty_megabyte_file_is_refused_quickly_and_clearly() {
    let mut body = b"pipeline: etl\n".to_vec();
    let line = b"# padding padding padding padding padding padding padding padding\n";
    while body.len() < 50 * 1024 * 1024 {
        body.extend_from_slice(line);
    }
    let p = temp_file("huge.yaml", &body);
    let out = pipec(&["validate", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("huge.yaml:1:1: error: the file has 52"),
        "{err}"
    );
    assert!(err.contains("limited to 16 MiB"), "{err}");
    std::fs::remove_file(p).unwrap();
}

#[test]
fn a_large_valid_pipeline_just_under_the_limit_is_parsed() {
    // 2,000 stages: far beyond real pipelines, still accepted and checked.
    let p = temp_file("wide.yaml", pipec::synthetic::pipeline(2000).as_bytes());
    let out = pipec(&["validate", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("2000 stages"));
}

#[test]
fn paths_are_reported_as_given() {
    let out = pipec(&["validate", "./tests/cases/bad/unknown-table-reference.yaml"]);
    assert!(text(&out.stderr).starts_with("./tests/cases/bad/unknown-table-reference.yaml:"));
}

/// pipec with the safe AWS environment of the brief: dummy credentials, a
/// region, no instance metadata, no profile files, and an endpoint on this
/// machine (`endpoint`). `unset` drops variables for a case.
fn pipec_aws(args: &[&str], endpoint: &str, unset: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pipec"));
    c.args(args)
        .current_dir(root())
        .stdin(std::process::Stdio::null())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/c")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/k")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env("AWS_ENDPOINT_URL", endpoint);
    for u in unset {
        c.env_remove(u);
    }
    c.output().expect("pipec runs")
}

/// An address on this machine where nothing listens: bound, then closed.
fn dead_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// A Rust `{:?}` dump of an SDK error, which must never reach the user.
fn has_debug_dump(s: &str) -> bool {
    [
        "DispatchFailure(",
        "ConnectorError {",
        "ServiceError(",
        "Os { code",
        "source: ",
    ]
    .iter()
    .any(|p| s.contains(p))
}

#[test]
fn two_files_declaring_one_pipeline_are_refused() {
    let src = std::fs::read(root().join("pipelines/etl.yaml")).unwrap();
    let a = temp_file("clash-a.yaml", &src);
    let b = temp_file("clash-b.yaml", &src);
    // The pipeline's sample file is checked beside it.
    let samples = root().join("target/test-inputs/samples/etl");
    std::fs::create_dir_all(&samples).unwrap();
    std::fs::copy(
        root().join("pipelines/samples/etl/online_retail.csv"),
        samples.join("online_retail.csv"),
    )
    .unwrap();
    let out_dir = root().join("target/test-build-clash");
    let _ = std::fs::remove_dir_all(&out_dir);
    let out = pipec(&[
        "build",
        "--out",
        out_dir.to_str().unwrap(),
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("clash-a.yaml") && err.contains("clash-b.yaml") && err.contains("`etl`"),
        "{err}"
    );
    assert!(
        !out_dir.join("etl").exists(),
        "a clashing pipeline was built"
    );
}

#[test]
fn flags_that_do_not_apply_are_usage_errors() {
    let dead = dead_endpoint();
    let cases: &[(&[&str], &str)] = &[
        (&["deploy", "--only", "--yes"], "--stack"),
        (
            &["deploy", "pipelines/etl.yaml", "--generated", "x"],
            "--generated",
        ),
        (
            &["diff", "pipelines/etl.yaml", "--generated", "x"],
            "--generated",
        ),
        (
            &["destroy", "pipelines/etl.yaml", "--generated", "x", "--yes"],
            "--generated",
        ),
        (
            &[
                "diff",
                "pipelines/etl.yaml",
                "--env",
                "dev",
                "--pipeline",
                "other",
            ],
            "declares pipeline `etl`",
        ),
        (
            &[
                "deploy",
                "pipelines/etl.yaml",
                "--env",
                "dev",
                "--pipeline",
                "other",
                "--yes",
            ],
            "declares pipeline `etl`",
        ),
        // A pipeline with environments is acted on one environment at a time.
        (&["deploy", "pipelines/etl.yaml", "--yes"], "add --env dev"),
        (&["deploy", "--pipeline", "etl", "--yes"], "add --env dev"),
        (&["diff", "--env", "stg"], "environment `stg`"),
        (
            &["deploy", "pipelines/etl.yaml", "--env", "stg", "--yes"],
            "no environment `stg`",
        ),
        (
            &["validate", "pipelines/etl.yaml", "--env", "stg"],
            "no environment `stg`",
        ),
        (
            &["build", "pipelines/leads.yaml", "--env", "dev", "--check"],
            "declares no environments",
        ),
        (
            &[
                "deploy",
                "pipelines/etl.yaml",
                "--env",
                "prod",
                "--region",
                "us-east-1",
                "--yes",
            ],
            "deploys to region eu-west-1",
        ),
        (&["check", "pipelines/survey.yaml"], "needs --live"),
        (
            &["check", "pipelines/survey.yaml", "--profile", "p"],
            "--live",
        ),
        (
            &["check", "--live", "pipelines/survey.yaml", "--stack", "x"],
            "--stack",
        ),
        (
            &[
                "check",
                "--live",
                "pipelines/survey.yaml",
                "--endpoint-url",
                "ftp://127.0.0.1:1",
            ],
            "--endpoint-url `ftp://127.0.0.1:1` is not a URL",
        ),
        (&["check", "--live", "no-such-file.yaml"], "cannot read"),
    ];
    for (args, needle) in cases {
        let out = pipec_aws(args, &dead, &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn check_live_needs_no_aws_for_a_pipeline_without_connections_or_an_invalid_one() {
    // The endpoint is dead: any AWS call would fail with exit 2.
    let dead = dead_endpoint();
    let out = pipec_aws(&["check", "--live", "pipelines/etl.yaml"], &dead, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("pipelines/etl.yaml: no JDBC connections, so nothing to check"),
        "{}",
        text(&out.stdout)
    );
    let bad = temp_file("check-bad.yaml", b"pipeline: x\nstages: 3\n");
    let out = pipec_aws(&["check", "--live", bad.to_str().unwrap()], &dead, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the network was not checked"), "{err}");
}

#[test]
fn an_empty_region_gets_a_clear_message() {
    let dead = dead_endpoint();
    for cmd in ["deploy", "diff", "destroy", "check"] {
        let mut args = vec![cmd, "--region", ""];
        if cmd == "check" {
            args.extend(["--live", "pipelines/survey.yaml"]);
        } else {
            // A pipeline without environments: etl's declare their region.
            args.extend(["--pipeline", "leads"]);
            if cmd != "diff" {
                args.push("--yes");
            }
        }
        let out = pipec_aws(&args, &dead, &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(err.contains("--region"), "{cmd}: {err}");
        assert!(!err.to_lowercase().contains("interceptor"), "{cmd}: {err}");
    }
}

#[test]
fn connection_and_credential_problems_exit_2_everywhere_without_debug_dumps() {
    let dead = dead_endpoint();
    for cmd in ["deploy", "diff", "destroy", "check"] {
        let args: &[&str] = match cmd {
            "diff" => &[cmd, "--pipeline", "etl", "--env", "dev"],
            "check" => &[cmd, "--live", "pipelines/survey.yaml"],
            _ => &[cmd, "--pipeline", "etl", "--env", "dev", "--yes"],
        };
        let out = pipec_aws(args, &dead, &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd} unreachable: {err}");
        assert!(!has_debug_dump(&err), "{cmd}: {err}");
        assert!(err.contains(&dead), "{cmd} names the endpoint: {err}");
        let out = pipec_aws(args, &dead, &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd} no credentials: {err}");
        assert!(err.contains("credentials"), "{cmd}: {err}");
        assert!(!has_debug_dump(&err), "{cmd}: {err}");
    }
}

/// A fake endpoint that answers STS GetCallerIdentity and then drops every
/// other request unanswered, like an endpoint that dies mid-deploy.
fn dying_endpoint() -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read headers and the body (requests here are small).
            while let Ok(n) = s.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let t = String::from_utf8_lossy(&buf);
                if let Some(h) = t.find("\r\n\r\n") {
                    let len = t[..h]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= h + 4 + len {
                        break;
                    }
                }
            }
            if String::from_utf8_lossy(&buf).contains("Action=GetCallerIdentity") {
                let body = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/t</Arn><UserId>AIDAT</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>";
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            // Anything else: the connection closes with no answer.
        }
    });
    url
}

#[test]
fn an_endpoint_dying_mid_deploy_ends_with_a_message_not_a_debug_dump() {
    let url = dying_endpoint();
    let out = pipec_aws(
        &[
            "deploy",
            "--pipeline",
            "etl",
            "--env",
            "dev",
            "--stack",
            "basic-infra",
            "--yes",
        ],
        &url,
        &[],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a connection problem: {err}");
    assert!(err.contains("no answer from the AWS endpoint"), "{err}");
    assert!(!has_debug_dump(&err), "{err}");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("account 123456789012"), "{stdout}");
}
