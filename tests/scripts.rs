//! Job scripts of every example, good case and Spark fixture pipeline.
//!
//! Renders each pipeline's scripts twice (they must be byte-identical), checks
//! the header, that every stage has a script and that generated Spark
//! scripts get their pipeline's runtime, and writes them to
//! `target/spark-scripts/<file stem>/scripts/<stage>.py` (and
//! `pipec_runtime.py`), where the Python suite in `tests/spark` compiles,
//! lints and runs them.

use std::path::{Path, PathBuf};

fn pipelines() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["pipelines", "tests/cases/good", "tests/spark/fixtures"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_stage_gets_a_deterministic_script() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_root = root.join("target/spark-scripts");
    let files = pipelines();
    assert!(files.len() >= 8, "found only {files:?}");
    for file in files {
        let loaded = pipec::load_path(&file).expect("readable pipeline file");
        let v = loaded.pipeline.unwrap_or_else(|| {
            panic!(
                "{} does not validate: {:?}",
                file.display(),
                loaded.diagnostics
            )
        });
        let scripts = pipec::render::scripts::render(&v)
            .unwrap_or_else(|e| panic!("{}: {}", file.display(), e.message()));
        let again = pipec::render::scripts::render(&v).unwrap();
        assert_eq!(
            scripts,
            again,
            "{}: output differs between runs",
            file.display()
        );
        let header = format!("# {}", pipec::render::header(&v));
        for name in v.pipeline().stages.keys() {
            let path = format!("scripts/{name}.py");
            let text = scripts
                .get(&path)
                .unwrap_or_else(|| panic!("{}: no {path}", file.display()));
            match v.user_script(name) {
                Some(user) => {
                    assert_eq!(text, user, "{}: {path} is not the user's", file.display())
                }
                None => {
                    // Long headers carry ruff's line-length exemption.
                    let first = text.lines().next().unwrap_or("");
                    assert!(
                        first == header || first == format!("{header}  # noqa: E501"),
                        "{}: {path} does not start with the header: {first}",
                        file.display()
                    )
                }
            }
        }
        // Generated Spark scripts share one runtime module, beside them.
        let spark = v
            .pipeline()
            .stages
            .values()
            .filter(|s| pipec::contracts::iam::uses_runtime(s))
            .count();
        let runtime = scripts.get(pipec::render::scripts::RUNTIME_PATH);
        assert_eq!(
            runtime.is_some(),
            spark > 0,
            "{}: a runtime exactly when a script is generated for a Spark stage",
            file.display()
        );
        if let Some(text) = runtime {
            assert!(
                text.starts_with(&header),
                "{}: runtime header",
                file.display()
            );
        }
        assert_eq!(
            scripts.len(),
            v.pipeline().stages.len() + usize::from(spark > 0)
        );
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        let dir = out_root.join(&stem);
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in &scripts {
            let target = dir.join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(&target, text).unwrap();
        }
        // Which scripts are the user's own (not generated, so not linted).
        let own: Vec<String> = v
            .pipeline()
            .stages
            .keys()
            .filter(|n| v.user_script(n).is_some())
            .map(|n| format!("scripts/{n}.py"))
            .collect();
        std::fs::write(dir.join("user-scripts.txt"), own.join("\n")).unwrap();
    }
}
