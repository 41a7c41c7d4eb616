//! `pipec query --local` through the binary, on real data from a PyPI
//! package (palmerpenguins, MIT, in the venv): the raw CSV as both SerDes
//! read it, and Parquet partitioned by island and registered by a local
//! crawler. Every result is compared row for row with pandas.

use pipec::run::crawl;
use pipec::run::layout::LocalLayout;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

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

/// Runs a Python snippet and returns its stdout.
fn py(code: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn penguins_csv() -> String {
    py(
        "import palmerpenguins, os; print(os.path.join(os.path.dirname(palmerpenguins.__file__), 'data', 'penguins.csv'))",
        &[],
    )
    .trim()
    .to_string()
}

const PIPELINE: &str = "tests/local/penguins.yaml";

/// A local root with the raw CSV in both raw tables and the silver table
/// written as Parquet partitioned by island (as the `clean` stage would).
fn prepare(tag: &str) -> (PathBuf, LocalLayout) {
    let local = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("query-{tag}"));
    let _ = std::fs::remove_dir_all(&local);
    let layout = LocalLayout::new("query-penguins", Some(&local));
    let csv = penguins_csv();
    for t in ["penguins", "penguins_text"] {
        let d = layout.zone("raw").join(t);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(&csv, d.join("penguins.csv")).unwrap();
    }
    py(
        r#"
import sys, pandas as pd, pyarrow as pa, pyarrow.parquet as pq
df = pd.read_csv(sys.argv[1], na_values=["NA"], keep_default_na=False)
df = df[["species", "bill_length_mm", "body_mass_g", "year", "island"]]
schema = pa.schema([("species", pa.string()), ("bill_length_mm", pa.float64()),
                    ("body_mass_g", pa.int32()), ("year", pa.int32()), ("island", pa.string())])
pq.write_to_dataset(pa.Table.from_pandas(df, preserve_index=False).cast(schema),
                    sys.argv[2], partition_cols=["island"])
"#,
        &[
            &csv,
            &layout.zone("silver").join("penguins").to_string_lossy(),
        ],
    );
    (local, layout)
}

fn query(local: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipec"))
        .arg("query")
        .args(args)
        .arg("--local-dir")
        .arg(local)
        .arg("--python")
        .arg(python())
        .current_dir(root())
        .output()
        .unwrap()
}

/// The rows of a `--format json` result.
fn rows(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "pipec query failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Rows from pandas, as JSON lines printed by the snippet.
fn expected(code: &str) -> Vec<Value> {
    py(code, &[&penguins_csv()])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Row-for-row equality; numbers within 1e-9 relative (floating sums).
fn same_rows(got: &[Value], want: &[Value]) {
    assert_eq!(got.len(), want.len(), "got {got:?}\nwant {want:?}");
    for (g, w) in got.iter().zip(want) {
        let (g, w) = (g.as_object().unwrap(), w.as_object().unwrap());
        assert_eq!(g.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>());
        for (k, wv) in w {
            let gv = &g[k];
            match (gv.as_f64(), wv.as_f64()) {
                (Some(a), Some(b)) => {
                    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{k}: {a} != {b}")
                }
                _ => assert_eq!(gv, wv, "column {k}"),
            }
        }
    }
}

#[test]
fn partitioned_parquet_is_read_through_the_crawled_partitions() {
    let (local, layout) = prepare("parquet");
    let sql = "SELECT island, species, count(*) AS n, avg(body_mass_g) AS mass, \
               max(bill_length_mm) AS bill FROM query_penguins.penguins \
               GROUP BY island, species ORDER BY island, species";
    // Before any crawl Athena sees no partition of the table, so no row.
    let before = rows(&query(
        &local,
        &[PIPELINE, sql, "--local", "--format", "json"],
    ));
    assert!(before.is_empty(), "{before:?}");
    let valid = pipec::load_path(&root().join(PIPELINE))
        .unwrap()
        .pipeline
        .unwrap();
    let report = crawl::crawl(&valid, "silver", &layout, &python()).unwrap();
    assert_eq!(
        report.tables[0].partitions,
        ["island=Biscoe", "island=Dream", "island=Torgersen"]
    );
    assert!(
        report.tables[0].drift.is_empty(),
        "{:?}",
        report.tables[0].drift
    );
    let got = rows(&query(
        &local,
        &["--local", PIPELINE, sql, "--format", "json"],
    ));
    let want = expected(
        r#"
import sys, json, pandas as pd
df = pd.read_csv(sys.argv[1], na_values=["NA"], keep_default_na=False)
g = df.groupby(["island", "species"]).agg(n=("species", "size"), mass=("body_mass_g", "mean"),
                                           bill=("bill_length_mm", "max")).reset_index()
for r in g.sort_values(["island", "species"]).itertuples():
    print(json.dumps({"island": r.island, "species": r.species, "n": int(r.n),
                      "mass": float(r.mass), "bill": float(r.bill)}))
"#,
    );
    same_rows(&got, &want);
}

#[test]
fn never_quoted_csv_reads_declared_types_and_null_value() {
    let (local, _) = prepare("lazy");
    let sql = "SELECT year, count(*) AS n, count(sex) AS with_sex, \
               sum(flipper_length_mm) AS flippers, avg(bill_depth_mm) AS depth \
               FROM penguins_raw GROUP BY year ORDER BY year";
    let got = rows(&query(
        &local,
        &["--local", PIPELINE, sql, "--format", "json"],
    ));
    let want = expected(
        r#"
import sys, json, pandas as pd
df = pd.read_csv(sys.argv[1], na_values=["NA"], keep_default_na=False)
for year, g in sorted(df.groupby("year")):
    print(json.dumps({"year": int(year), "n": len(g), "with_sex": int(g.sex.notna().sum()),
                      "flippers": int(g.flipper_length_mm.sum()),
                      "depth": float(g.bill_depth_mm.mean())}))
"#,
    );
    same_rows(&got, &want);
}

#[test]
fn quoted_csv_reads_every_value_as_text_as_opencsvserde_does() {
    let (local, _) = prepare("opencsv");
    // OpenCSVSerde ignores null_value: `NA` is a string like any other.
    let sql = "SELECT sex, count(*) AS n, min(body_mass_g) AS lightest \
               FROM query_penguins.penguins_text GROUP BY sex ORDER BY sex";
    let got = rows(&query(
        &local,
        &["--local", PIPELINE, sql, "--format", "json"],
    ));
    let want = expected(
        r#"
import sys, json, pandas as pd
df = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
for sex, g in sorted(df.groupby("sex")):
    print(json.dumps({"sex": sex, "n": len(g), "lightest": min(g.body_mass_g)}))
"#,
    );
    same_rows(&got, &want);
}

#[test]
fn text_and_csv_formats_print_the_same_rows() {
    let (local, _) = prepare("formats");
    let sql = "SELECT species, count(*) AS n FROM penguins_raw GROUP BY 1 ORDER BY 1";
    let text = query(&local, &["--local", PIPELINE, sql]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "species   |   n");
    assert_eq!(lines[1], "----------+----");
    assert_eq!(lines[2], "Adelie    | 152");
    assert_eq!(lines.last(), Some(&"(3 rows)"));
    let csv = query(&local, &["--local", PIPELINE, sql, "--format", "csv"]);
    assert_eq!(
        String::from_utf8_lossy(&csv.stdout),
        "species,n\nAdelie,152\nChinstrap,68\nGentoo,124\n"
    );
}

#[test]
fn errors_are_clean_with_their_exit_codes() {
    let (local, _) = prepare("errors");
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &["--local", PIPELINE, "SELECT * FROM no_such_table"],
            1,
            "no_such_table",
        ),
        (
            &[
                "--local",
                PIPELINE,
                "SELECT no_such_column FROM penguins_raw",
            ],
            1,
            "no_such_column",
        ),
        // Local-only flags (the helper passes --local-dir and --python) need --local.
        (&[PIPELINE, "SELECT 1"], 2, "--local"),
        (
            &["--local", PIPELINE, "SELECT 1", "--format", "xml"],
            2,
            "xml",
        ),
        (
            &["--local", "tests/local/missing.yaml", "SELECT 1"],
            2,
            "cannot read",
        ),
    ];
    for (args, code, needle) in cases {
        let out = query(&local, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
