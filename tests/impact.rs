//! `impact::compare` and the deploy gate on template pairs: each folder of
//! `tests/impact/` holds `new.yaml` and, unless the stack is new, `old.yaml`
//! (the deployed template). The snapshot holds the classification (JSON)
//! and what the gate refuses with no flag, with `--allow-data-loss` and with
//! `--allow-breaking-schema`.

use pipec::deploy::gate::{Allowed, refusals};
use pipec::impact::compare;
use std::path::Path;

fn render(old: Option<&str>, new: &str) -> String {
    let impact = match compare(old, new) {
        Ok(i) => i,
        Err(e) => return format!("error: {}\n", e.message()),
    };
    let mut out = serde_json::to_string_pretty(&impact).unwrap();
    out.push('\n');
    for (label, allowed) in [
        ("no flag", Allowed::default()),
        (
            "--allow-data-loss",
            Allowed {
                data_loss: true,
                ..Allowed::default()
            },
        ),
        (
            "--allow-breaking-schema",
            Allowed {
                breaking_schema: true,
                ..Allowed::default()
            },
        ),
    ] {
        let r = refusals("etl-stack", &impact, allowed);
        out.push_str(&format!("refused with {label}: {}\n", r.len()));
        for r in r {
            out.push_str(&format!("  - {}\n", r.message()));
        }
    }
    out
}

#[test]
fn template_pairs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/impact");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    for case in cases {
        let name = case.file_name().unwrap().to_str().unwrap().to_string();
        let old = std::fs::read_to_string(case.join("old.yaml")).ok();
        let new = std::fs::read_to_string(case.join("new.yaml")).unwrap();
        let text = render(old.as_deref(), &new);
        // Bad cases are named so; every other case must compare.
        assert_eq!(
            name.starts_with("bad-"),
            text.starts_with("error: "),
            "{name}: {text}"
        );
        insta::assert_snapshot!(name.clone(), text);
    }
}

/// Every committed stack template compared with itself changes nothing, and
/// as a new stack adds every resource and refuses nothing.
#[test]
fn committed_templates_against_themselves() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
    let mut seen = 0;
    // A pipeline's folder, or (with environments) one folder per environment.
    let mut folders = Vec::new();
    for p in std::fs::read_dir(dir).unwrap() {
        let p = p.unwrap().path();
        if p.join("stacks").is_dir() {
            folders.push(p);
        } else if p.is_dir() {
            folders.extend(std::fs::read_dir(p).unwrap().map(|e| e.unwrap().path()));
        }
    }
    for p in folders {
        for f in std::fs::read_dir(p.join("stacks")).unwrap() {
            let path = f.unwrap().path();
            let t = std::fs::read_to_string(&path).unwrap();
            let same = compare(Some(&t), &t).unwrap();
            assert!(same.is_empty(), "{}: {same:?}", path.display());
            let new = compare(None, &t).unwrap();
            assert!(!new.is_empty(), "{}", path.display());
            assert!(
                new.resources
                    .iter()
                    .all(|r| r.change == pipec::impact::Change::Added),
                "{}",
                path.display()
            );
            assert!(refusals("s", &new, Allowed::default()).is_empty());
            seen += 1;
        }
    }
    assert!(seen >= 20, "{seen} templates");
}

/// Cut-off templates (every prefix of every fixture) are errors or impacts,
/// never a panic.
#[test]
fn truncated_templates_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/impact");
    for case in std::fs::read_dir(&dir).unwrap() {
        let new = std::fs::read_to_string(case.unwrap().path().join("new.yaml")).unwrap();
        for (i, _) in new.char_indices().step_by(7) {
            let cut = &new[..i];
            let _ = compare(Some(cut), &new);
            let _ = compare(Some(&new), cut);
        }
    }
}
