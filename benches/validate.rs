//! Benchmark: how long `pipec validate` takes on the etl example and on
//! synthetic pipelines of 3, 200 and 1,000 stages, in process (parse, schema
//! and semantic checks; no process start) and as a whole `pipec validate` run.
//!
//! Prints median and minimum over many runs, and the process's peak memory.
//! Run with `cargo bench --bench validate`.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn measure(iterations: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    f();
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], times[0])
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let etl = std::fs::read(root.join("pipelines/etl.yaml")).expect("etl example");
    let mut cases: Vec<(String, Vec<u8>)> = vec![("etl example".into(), etl)];
    for n in [3, 200, 1000] {
        cases.push((
            format!("synthetic {n} stages"),
            pipec::synthetic::pipeline(n).into_bytes(),
        ));
    }
    println!("in-process validation (parse + schema + semantic checks)");
    println!(
        "{:<24} {:>10} {:>12} {:>12}",
        "case", "bytes", "median", "min"
    );
    for (name, bytes) in &cases {
        let iterations = if bytes.len() > 100_000 { 30 } else { 300 };
        let (median, min) = measure(iterations, || {
            let loaded = pipec::load_bytes("bench.yaml", black_box(bytes), root);
            assert!(loaded.pipeline.is_some(), "{name} must be valid");
            black_box(loaded);
        });
        println!(
            "{name:<24} {:>10} {:>12.3?} {:>12.3?}",
            bytes.len(),
            median,
            min
        );
    }
    if let Some(kib) = peak_rss_kib() {
        println!(
            "peak RSS of this benchmark process: {:.1} MiB",
            kib as f64 / 1024.0
        );
    }

    // The whole command, as a user runs it: process start included.
    let exe = root.join("target/release/pipec");
    if exe.is_file() {
        println!("\nwhole `pipec validate` process (target/release/pipec)");
        let dir = root.join("target/bench-inputs");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &cases {
            let file = dir.join(format!("{}.yaml", name.replace(' ', "-")));
            std::fs::write(&file, bytes).unwrap();
            let (median, min) = measure(30, || {
                let out = Command::new(&exe)
                    .arg("validate")
                    .arg(&file)
                    .output()
                    .unwrap();
                assert!(out.status.success());
            });
            println!(
                "{name:<24} {:>10} {:>12.3?} {:>12.3?}",
                bytes.len(),
                median,
                min
            );
        }
    } else {
        println!(
            "\n(build target/release/pipec with `cargo build --release` to time the whole command too)"
        );
    }
}
