//! An Iceberg pipeline end to end through the binary: `pipec run --local`
//! of `pipelines/orders.yaml` (its generated job on local PySpark 3.5 with
//! the Iceberg runtime jar and a Hadoop catalog), three daily batches
//! (the example's samples, then corrections with a duplicate key, a late
//! correction and a test order cancelled, then the same corrections again),
//! each followed by `pipec query --local`, which reads the table's current
//! snapshot through its metadata. After each batch the rows must equal an
//! independent replay of the merge written here: latest `changed_at` per
//! key, `test_order AND status = 'cancelled'` deletes.

use serde_json::Value;
use std::collections::BTreeMap;
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

fn pipec(args: &[&str], local: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipec"))
        .args(args)
        .arg("--local-dir")
        .arg(local)
        .arg("--python")
        .arg(python())
        .current_dir(root())
        .output()
        .unwrap()
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const HEADER: &str = "order_id,status,amount,ordered_at,changed_at,test_order";

const CORRECTIONS: &str = "\
2,refunded,35.50,2026-03-01 10:00:00,2026-03-03 08:00:00,false
4,shipped,99.90,2026-03-02 12:00:00,2026-03-03 09:00:00,false
4,delivered,99.90,2026-03-02 12:00:00,2026-03-03 18:00:00,false
5,placed,7.25,2026-03-03 07:00:00,2026-03-03 07:00:00,true
5,cancelled,7.25,2026-03-03 07:00:00,2026-03-03 07:10:00,true
6,placed,42.00,2026-03-03 10:00:00,2026-03-03 10:00:00,false
";

/// The table after `batch` is merged into `state`: one row per key, the
/// greatest `changed_at` winning; a winning test order cancelled deletes.
/// Returns the merge source's size and how many of its rows delete.
fn replay(state: &mut BTreeMap<i64, [String; 5]>, batch: &str) -> (usize, usize) {
    let mut latest: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for line in batch.lines().filter(|l| !l.is_empty() && *l != HEADER) {
        let f: Vec<String> = line.split(',').map(str::to_string).collect();
        let key: i64 = f[0].parse().unwrap();
        if latest.get(&key).is_none_or(|old| f[4] > old[4]) {
            latest.insert(key, f);
        }
    }
    let (rows, mut deletes) = (latest.len(), 0);
    for (key, f) in latest {
        if f[5] == "true" && f[1] == "cancelled" {
            deletes += 1;
            state.remove(&key);
        } else {
            state.insert(
                key,
                [
                    f[0].clone(),
                    f[1].clone(),
                    f[2].clone(),
                    f[3].clone(),
                    f[4].clone(),
                ],
            );
        }
    }
    (rows, deletes)
}

fn query(local: &Path) -> Vec<[String; 5]> {
    let sql = "SELECT CAST(order_id AS VARCHAR) AS order_id, status, \
               CAST(amount AS VARCHAR) AS amount, CAST(ordered_at AS VARCHAR) AS ordered_at, \
               CAST(changed_at AS VARCHAR) AS changed_at FROM orders.orders ORDER BY order_id";
    let out = pipec(
        &[
            "query",
            "--local",
            "pipelines/orders.yaml",
            sql,
            "--format",
            "json",
        ],
        local,
    );
    ok(&out, "pipec query")
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            ["order_id", "status", "amount", "ordered_at", "changed_at"].map(|k| {
                v[k].as_str()
                    .unwrap_or_else(|| panic!("{k} in {v}"))
                    .to_string()
            })
        })
        .collect()
}

#[test]
fn daily_batches_upsert_into_the_iceberg_table_as_a_replay_says() {
    let local = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("run-iceberg");
    let _ = std::fs::remove_dir_all(&local);
    std::fs::create_dir_all(&local).unwrap();
    let first = std::fs::read_to_string(root().join("pipelines/samples/orders/status_changes.csv"))
        .unwrap();
    let second = local.join("corrections.csv");
    std::fs::write(&second, format!("{HEADER}\n{CORRECTIONS}")).unwrap();
    let input = format!("status_changes={}", second.display());

    let mut state = BTreeMap::new();
    // Before any run the table has no snapshot: an empty result, not an error.
    assert_eq!(query(&local), Vec::<[String; 5]>::new());
    let runs: [(&str, Vec<&str>); 3] = [
        (first.as_str(), vec![]),
        (CORRECTIONS, vec!["--input", &input]),
        (CORRECTIONS, vec!["--input", &input]),
    ];
    for (n, (batch, extra)) in runs.iter().enumerate() {
        let mut args = vec!["run", "--local", "pipelines/orders.yaml"];
        args.extend(extra.iter().copied());
        let stdout = ok(&pipec(&args, &local), &format!("run {n}"));
        assert!(stdout.contains("upsert  succeeded"), "run {n}: {stdout}");
        let (rows, deletes) = replay(&mut state, batch);
        let merged = format!(
            "merged  orders: {rows} rows (upserts {}, deletes {deletes})",
            rows - deletes
        );
        assert!(
            stdout.contains(&merged),
            "run {n}: want {merged:?} in\n{stdout}"
        );
        let want: Vec<[String; 5]> = state.values().cloned().collect();
        assert_eq!(query(&local), want, "after batch {n}");
    }
    // The replay itself: 1 paid, 2 refunded, 4 delivered, 6 placed; 3 and 5 deleted.
    let keys: Vec<i64> = state.keys().copied().collect();
    assert_eq!(keys, [1, 2, 4, 6]);
}
