//! Data-driven tests through the real binary: every file under `tests/cases/good`
//! must validate with exit code 0, every file under `tests/cases/bad` must fail
//! with exit code 1, and the diagnostics of each are committed snapshots.

use std::path::Path;
use std::process::Command;

fn pipec() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pipec"));
    cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases"));
    cmd
}

/// Runs `pipec validate` on a case, relative to `tests/cases` so that paths in
/// the output are stable, and returns (exit code, stdout, stderr).
fn validate(rel: &str, format: &str) -> (i32, String, String) {
    let out = pipec()
        .args(["validate", "--format", format, rel])
        .output()
        .expect("pipec runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rel(path: &Path) -> String {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    path.strip_prefix(&base)
        .expect("case under tests/cases")
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn good_cases_validate() {
    insta::glob!("cases/good/*.yaml", |path| {
        let (code, stdout, stderr) = validate(&rel(path), "text");
        assert_eq!(code, 0, "{}:\n{stderr}", path.display());
        insta::assert_snapshot!(format!(
            "exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}"
        ));
    });
}

#[test]
fn bad_cases_report_located_diagnostics() {
    insta::glob!("cases/bad/*.yaml", |path| {
        let (code, stdout, stderr) = validate(&rel(path), "text");
        assert_eq!(code, 1, "{}: expected exit 1\n{stderr}", path.display());
        assert!(!stderr.contains("panicked"), "{stderr}");
        // Every headline is FILE:LINE:COL: severity: message.
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("{}:", rel(path)))
                && (first.contains(": error: ") || first.contains(": warning: ")),
            "unlocated first line: {first}"
        );
        insta::assert_snapshot!(format!(
            "exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}"
        ));
    });
}

#[test]
fn json_format_gives_the_same_diagnostics() {
    insta::glob!("cases/bad/*.yaml", |path| {
        let (code, stdout, _) = validate(&rel(path), "json");
        assert_eq!(code, 1);
        let (_, _, text) = validate(&rel(path), "text");
        let headlines = text
            .lines()
            .filter(|l| l.contains(": error: ") || l.contains(": warning: "))
            .count();
        let mut n = 0;
        for line in stdout.lines() {
            let v: serde_json::Value =
                serde_json::from_str(line).expect("one JSON object per line");
            for key in ["file", "line", "column", "severity", "code", "message"] {
                assert!(v.get(key).is_some(), "missing {key} in {line}");
            }
            n += 1;
        }
        assert_eq!(n, headlines, "{}", path.display());
    });
}

/// The variants of `SemanticError`, read from its source: one code each,
/// the variant's name in kebab case (see `SemanticError::code`).
fn semantic_codes() -> Vec<String> {
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/validate/error.rs"),
    )
    .expect("error.rs reads");
    let start = src
        .find("pub enum SemanticError {")
        .expect("the enum is in error.rs");
    let body = &src[start..];
    let body = &body[..body.find("\n}\n").expect("the enum ends")];
    body.lines()
        .filter_map(|l| l.strip_prefix("    "))
        .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|l| {
            let name: String = l
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let mut code = String::new();
            for (i, c) in name.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    code.push('-');
                }
                code.push(c.to_ascii_lowercase());
            }
            code
        })
        .collect()
}

/// Every message of the semantic phase is seen by a reviewer: each variant
/// of `SemanticError` is reported by at least one bad case.
#[test]
fn every_semantic_error_has_a_bad_case() {
    let codes = semantic_codes();
    assert!(codes.len() > 20, "variants not found: {codes:?}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/bad");
    let mut seen = std::collections::HashSet::new();
    for entry in std::fs::read_dir(&dir).expect("bad cases") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let loaded = pipec::load_path(&path).expect("case reads");
            seen.extend(loaded.diagnostics.iter().map(|d| d.code.to_string()));
        }
    }
    let missing: Vec<&String> = codes.iter().filter(|c| !seen.contains(*c)).collect();
    assert!(
        missing.is_empty(),
        "no bad case reports {missing:?}; add a tests/cases/bad fixture for each \
         (and keep `SemanticError::code` the variant's name in kebab case)"
    );
}
