//! The injection grid (issue 8): hostile payloads in every user-text field.
//!
//! In: `tests/injection/base.yaml` and the field and payload tables of
//! `tests/injection/grid.py`. Out: a pass when every (field, payload) case is
//! either refused with a located error or builds into YAML and Python that
//! hold the value exactly, as inert data. The Python side writes, validates,
//! builds (through this crate's `pipec` binary, in batches) and checks every
//! case in one process; see its docstring for the checks.

use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = std::env::var("PIPEC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join(".venv"));
    let p = venv.join("bin").join("python");
    assert!(
        p.is_file(),
        "{} is missing: run ./tests/run-all.sh once to install the Python tools",
        p.display()
    );
    p
}

#[test]
fn every_payload_in_every_field_is_refused_or_inert() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("injection-grid");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let out = Command::new(python())
        .arg(root.join("tests/injection/grid.py"))
        .arg(env!("CARGO_BIN_EXE_pipec"))
        .arg(&work)
        // pipec reads no AWS configuration here, but never let it look.
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/c")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/k")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("the venv's python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "injection grid failed (details in {}/failures.json):\n{}\n{}",
        work.display(),
        stdout,
        stderr
    );
}
