//! Benchmark: `pipec build` on the etl example and on synthetic pipelines of
//! 3, 200 and 1,000 stages. Prints the in-process time (validate + render,
//! no file writes), then the whole command's time and peak memory (release
//! binary, writing into a temporary folder). Run with `cargo bench --bench build`
//! after `cargo build --release`.

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

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let etl = std::fs::read_to_string(root.join("pipelines/etl.yaml")).expect("etl example");
    let mut cases: Vec<(String, String)> = vec![("etl example".into(), etl)];
    for n in [3, 200, 1000] {
        cases.push((
            format!("synthetic {n} stages"),
            pipec::synthetic::pipeline(n),
        ));
    }
    println!("in-process build (validate + render stacks, scripts, manifest)");
    println!(
        "{:<24} {:>8} {:>10} {:>12} {:>12}",
        "case", "stacks", "out bytes", "median", "min"
    );
    for (name, text) in &cases {
        let loaded = pipec::load_bytes("bench.yaml", text.as_bytes(), &root.join("pipelines"));
        let v = loaded.pipeline.expect("valid");
        let files = pipec::render::render(&v).unwrap().files;
        let stacks = files.keys().filter(|k| k.starts_with("stacks/")).count();
        let bytes: usize = files.values().map(String::len).sum();
        let iterations = if bytes > 1_000_000 { 10 } else { 100 };
        let (median, min) = measure(iterations, || {
            let loaded = pipec::load_bytes(
                "bench.yaml",
                black_box(text.as_bytes()),
                &root.join("pipelines"),
            );
            let v = loaded.pipeline.expect("valid");
            black_box(pipec::render::render(&v).unwrap());
        });
        println!("{name:<24} {stacks:>8} {bytes:>10} {median:>12.3?} {min:>12.3?}");
    }

    let exe = root.join("target/release/pipec");
    if !exe.is_file() {
        println!(
            "\n(build target/release/pipec with `cargo build --release` to time the whole command)"
        );
        return;
    }
    println!("\nwhole `pipec build` process (target/release/pipec, writing to target/bench-build)");
    println!(
        "{:<24} {:>12} {:>12} {:>12}",
        "case", "median", "min", "peak RSS"
    );
    let dir = root.join("target/bench-build");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in &cases {
        let file = dir.join(format!("{}.yaml", name.replace(' ', "-")));
        std::fs::write(&file, text).unwrap();
        let out_dir = dir.join("out");
        let run = || {
            let _ = std::fs::remove_dir_all(&out_dir);
            Command::new(&exe)
                .arg("build")
                .arg("--out")
                .arg(&out_dir)
                .arg(&file)
                .current_dir(root.join("pipelines"))
                .env("PIPEC_STATS", "1")
                .output()
                .unwrap()
        };
        let (median, min) = measure(10, || assert!(run().status.success()));
        let out = run();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let peak = stderr
            .lines()
            .find_map(|l| l.strip_prefix("pipec-stats: peak "))
            .unwrap_or("?")
            .to_string();
        println!("{name:<24} {median:>12.3?} {min:>12.3?} {peak:>12}");
    }
}
