//! What the benchmarks share: synthetic cases of 1,000 / 3,000 / 10,000
//! stages (or `PIPEC_BENCH_SIZES=1000,3000`), paired measurement and the
//! per-stage table.
//!
//! In: named closures, one per case. Out: median wall and CPU time of each,
//! measured in rounds that run every case once, so that a busy machine slows
//! all cases alike; then the cost per stage and its ratio to the smallest
//! synthetic case, which is 1.0 for linear scaling.

use std::time::{Duration, Instant};

// The allocator of the `pipec` binary (src/main.rs), so that in-process
// figures match the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The synthetic sizes to measure.
pub fn sizes() -> Vec<usize> {
    std::env::var("PIPEC_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 3_000, 10_000])
}

/// CPU time this thread has run, from the scheduler's own count (ns).
pub fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

/// One case: a name, its stage count (0 for a non-synthetic case) and the work.
pub struct Case<'a> {
    pub name: String,
    pub stages: usize,
    pub run: Box<dyn FnMut() + 'a>,
}

/// Median wall and CPU time of one run of each case, over `rounds` rounds
/// after one warm-up run each. A case is repeated within a round until it
/// has taken `min_ms`, so that small cases are not timer noise.
pub fn measure(cases: &mut [Case], rounds: usize, min_ms: u64) -> Vec<(Duration, Duration)> {
    let mut reps = Vec::new();
    for c in cases.iter_mut() {
        let t = Instant::now();
        (c.run)();
        let once = t.elapsed().as_micros().max(1) as u64;
        reps.push(((min_ms * 1000) / once).clamp(1, 1000) as u32);
    }
    let mut samples = vec![(Vec::new(), Vec::new()); cases.len()];
    for _ in 0..rounds {
        for (i, c) in cases.iter_mut().enumerate() {
            let (w, cpu) = (Instant::now(), thread_cpu());
            for _ in 0..reps[i] {
                (c.run)();
            }
            samples[i].0.push(w.elapsed() / reps[i]);
            samples[i].1.push((thread_cpu() - cpu) / reps[i]);
        }
    }
    samples
        .into_iter()
        .map(|(mut w, mut c)| {
            w.sort();
            c.sort();
            (w[w.len() / 2], c[c.len() / 2])
        })
        .collect()
}

/// Prints the table: time per run, and per stage with its ratio to the
/// first synthetic case.
pub fn report(title: &str, cases: &[Case], times: &[(Duration, Duration)]) {
    println!("{title}");
    println!(
        "{:<24} {:>10} {:>10} {:>12} {:>12} {:>7}",
        "case", "wall", "cpu", "wall/stage", "cpu/stage", "ratio"
    );
    let mut base: Option<f64> = None;
    for (c, (wall, cpu)) in cases.iter().zip(times) {
        if c.stages == 0 {
            println!("{:<24} {:>10.3?} {:>10.3?}", c.name, wall, cpu);
            continue;
        }
        let per = |d: &Duration| d.as_secs_f64() * 1e6 / c.stages as f64;
        let b = *base.get_or_insert(per(cpu));
        println!(
            "{:<24} {:>10.3?} {:>10.3?} {:>10.1}µs {:>10.1}µs {:>7.2}",
            c.name,
            wall,
            cpu,
            per(wall),
            per(cpu),
            per(cpu) / b
        );
    }
    println!("(ratio: CPU time per stage over that of the smallest synthetic case; linear is 1.0)");
}

/// The release binary of this target directory, if built (the validate
/// bench times the command; benches/scale.sh does for build).
#[allow(dead_code)]
pub fn release_binary(root: &std::path::Path) -> Option<std::path::PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let exe = target.join("release/pipec");
    exe.is_file().then_some(exe)
}
