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
