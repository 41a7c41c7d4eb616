//! Local crawlers, data-driven: each folder of `tests/crawl/` holds a
//! pipeline with one crawler, the files it crawls (`data/<zone>/...`, and a
//! `make.py` for binary formats, run with the venv's Python), and the
//! expected report and local catalog as an insta snapshot. Then a drift
//! test and catalog determinism.

use pipec::run::catalog;
use pipec::run::crawl;
use pipec::run::layout::LocalLayout;
use pipec::run::status::Drift;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python (`PIPEC_VENV`, default `.venv`), with pyarrow and duckdb.
fn python() -> PathBuf {
    let venv = std::env::var("PIPEC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join(".venv"));
    let p = venv.join("bin/python");
    assert!(
        p.is_file(),
        "{} is missing: run ./tests/run-all.sh once to install the Python tools",
        p.display()
    );
    p
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A case's local data under a fresh root, and its validated pipeline.
fn prepare(case: &Path, tag: &str) -> (pipec::validate::ValidPipeline, LocalLayout, PathBuf) {
    let loaded = pipec::load_path(&case.join("pipeline.yaml")).unwrap();
    let valid = loaded
        .pipeline
        .unwrap_or_else(|| panic!("{} is invalid", case.display()));
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let local_root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("crawl-{tag}-{name}"));
    let _ = std::fs::remove_dir_all(&local_root);
    let layout = LocalLayout::new(&valid.pipeline().pipeline, Some(&local_root));
    std::fs::create_dir_all(layout.dir()).unwrap();
    if case.join("data").is_dir() {
        copy_tree(&case.join("data"), layout.dir());
    }
    if case.join("make.py").is_file() {
        let out = Command::new(python())
            .arg(case.join("make.py"))
            .arg(layout.dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "make.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (valid, layout, local_root)
}

fn only_crawler(v: &pipec::validate::ValidPipeline) -> String {
    let names: Vec<&String> = v.pipeline().crawlers.keys().collect();
    assert_eq!(names.len(), 1, "a case has one crawler");
    names[0].clone()
}

#[test]
fn crawler_cases_match_their_snapshots() {
    insta::glob!("crawl/*/pipeline.yaml", |path| {
        let case = path.parent().unwrap();
        let (valid, layout, local_root) = prepare(case, "case");
        let crawler = only_crawler(&valid);
        let p = valid.pipeline();
        let tables: Vec<_> = p.crawlers[&crawler]
            .tables
            .iter()
            .map(|n| {
                (
                    n.as_str(),
                    &p.schemas[n],
                    layout.table(n, &p.schemas[n]).unwrap(),
                )
            })
            .collect();
        let found = crawl::infer(&tables, &layout, &python()).unwrap();
        let mut text = String::from("crawled:\n");
        for f in &found {
            text.push_str(&format!("  table {} ({} files)\n", f.name, f.files));
            for (c, ty) in &f.columns {
                text.push_str(&format!("    {c}: {ty}\n"));
            }
            if !f.partition_keys.is_empty() {
                text.push_str(&format!(
                    "    partition keys: {}\n",
                    f.partition_keys.join(", ")
                ));
            }
        }
        let report = crawl::crawl(&valid, &crawler, &layout, &python())
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        text.push_str("report:\n");
        for t in &report.tables {
            text.push_str(&format!("  table {}\n", t.table));
            for p in &t.partitions {
                text.push_str(&format!("    partition {p}\n"));
            }
            for d in &t.drift {
                text.push_str(&format!("    drift: {}\n", crawl::drift_line(d)));
            }
        }
        let cat = std::fs::read_to_string(layout.catalog()).unwrap();
        text.push_str("catalog:\n");
        text.push_str(&cat.replace(&local_root.display().to_string(), "<root>"));
        insta::assert_snapshot!(text);
    });
}

#[test]
fn drift_names_appeared_vanished_and_changed_columns() {
    let (valid, layout, _) = prepare(&root().join("tests/crawl/drift"), "drift");
    let report = crawl::crawl(&valid, "silver", &layout, &python()).unwrap();
    let drift = &report.tables[0].drift;
    assert!(drift.contains(&Drift::Appeared {
        column: "discount".into(),
        found: "double".into()
    }));
    assert!(drift.contains(&Drift::Vanished {
        column: "note".into(),
        declared: "string".into()
    }));
    assert!(drift.contains(&Drift::ChangedType {
        column: "quantity".into(),
        declared: "int".into(),
        found: "bigint".into()
    }));
    assert!(drift.contains(&Drift::Appeared {
        column: "region".into(),
        found: "string (partition key)".into()
    }));
    assert_eq!(drift.len(), 4, "{drift:?}");
    // update-table: the catalog now holds the crawled columns and the new key.
    let cat = catalog::read(&layout.catalog()).unwrap().unwrap();
    let t = &cat.tables["orders"];
    let cols: Vec<(&str, &str)> = t
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.ty.as_str()))
        .collect();
    assert_eq!(
        cols,
        [
            ("id", "int"),
            ("quantity", "bigint"),
            ("discount", "double")
        ]
    );
    let keys: Vec<&str> = t.partition_keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(keys, ["country", "region"]);
    // Reopened (as the next run or query does), the crawled schema stays.
    let reopened = catalog::open(valid.pipeline(), &layout).unwrap();
    assert_eq!(&reopened.tables["orders"], t);
}

#[test]
fn log_policy_keeps_the_declared_schema_and_adds_partitions() {
    let (valid, layout, _) = prepare(&root().join("tests/crawl/parquet-partitioned"), "log");
    let before = catalog::declared(valid.pipeline(), &layout);
    crawl::crawl(&valid, "silver", &layout, &python()).unwrap();
    let after = catalog::read(&layout.catalog()).unwrap().unwrap();
    assert_eq!(
        after.tables["sales"].columns,
        before.tables["sales"].columns
    );
    assert_eq!(
        after.tables["sales"].partitions,
        [
            "country=FR/year=2023",
            "country=FR/year=2024",
            "country=UK/year=2024"
        ]
    );
    // Reopened: the partitions stay, the columns are the declaration's.
    let reopened = catalog::open(valid.pipeline(), &layout).unwrap();
    assert_eq!(reopened.tables["sales"], after.tables["sales"]);
}

#[test]
fn the_catalog_is_the_same_bytes_for_the_same_state() {
    let case = root().join("tests/crawl/json-nested");
    let (valid, layout, _) = prepare(&case, "det");
    let seeded = catalog::seed(valid.pipeline(), &layout).unwrap();
    let first_seed = std::fs::read(layout.catalog()).unwrap();
    assert_eq!(
        first_seed,
        catalog::to_text(&catalog::declared(valid.pipeline(), &layout)).into_bytes()
    );
    assert_eq!(seeded, catalog::declared(valid.pipeline(), &layout));
    crawl::crawl(&valid, "raw", &layout, &python()).unwrap();
    let once = std::fs::read(layout.catalog()).unwrap();
    // A second crawl of the same files changes nothing.
    crawl::crawl(&valid, "raw", &layout, &python()).unwrap();
    let twice = std::fs::read(layout.catalog()).unwrap();
    assert_eq!(once, twice);
    // From scratch again: the same bytes.
    std::fs::remove_file(layout.catalog()).unwrap();
    crawl::crawl(&valid, "raw", &layout, &python()).unwrap();
    assert_eq!(once, std::fs::read(layout.catalog()).unwrap());
    // No temporary file is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(layout.dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn an_unreadable_file_fails_the_crawl_with_its_name() {
    let case = root().join("tests/crawl/parquet-partitioned");
    let (valid, layout, _) = prepare(&case, "bad");
    let bad = layout
        .zone("silver")
        .join("sales/country=FR/year=2023/broken.parquet");
    std::fs::write(&bad, "not parquet").unwrap();
    let err = crawl::crawl(&valid, "silver", &layout, &python()).unwrap_err();
    assert!(err.contains("broken.parquet"), "{err}");
    assert!(err.contains("cannot read as parquet"), "{err}");
}
