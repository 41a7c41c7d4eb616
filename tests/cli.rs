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
