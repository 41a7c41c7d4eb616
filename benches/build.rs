//! Benchmark: `pipec build` in process (validate + render stacks, scripts and
//! manifest, each file handed over and dropped as `build` does; no file writes) on the etl example and on synthetic pipelines
//! of 1,000, 3,000 and 10,000 stages, with the cost per stage, so that build
//! is seen to be linear. `benches/scale.sh` times the whole command, writing
//! files, with its peak memory.
//!
//! Run with `cargo bench --bench build`. `PIPEC_BENCH_SIZES=1000,3000` picks
//! sizes. Goal: CPU per stage at 10,000 within 1.3x of that at 1,000.

mod common;

use common::Case;
use std::hint::black_box;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let etl = std::fs::read_to_string(root.join("pipelines/etl.yaml")).expect("etl example");
    let mut inputs: Vec<(String, usize, String)> = vec![("etl example".into(), 0, etl)];
    for n in common::sizes() {
        inputs.push((
            format!("synthetic {n} stages"),
            n,
            pipec::synthetic::pipeline(n),
        ));
    }
    let dir = root.join("pipelines");
    println!("{:<24} {:>8} {:>12}", "case", "stacks", "out bytes");
    for (name, _, text) in &inputs {
        let v = pipec::load_bytes("bench.yaml", text.as_bytes(), &dir)
            .pipeline
            .expect("valid");
        let files = pipec::render::render(&v).unwrap().files;
        let stacks = files.keys().filter(|k| k.starts_with("stacks/")).count();
        let bytes: usize = files.values().map(String::len).sum();
        println!("{name:<24} {stacks:>8} {bytes:>12}");
    }
    let dir = &dir;
    let mut cases: Vec<Case> = inputs
        .iter()
        .map(|(name, stages, text)| Case {
            name: name.clone(),
            stages: *stages,
            run: Box::new(move || {
                let loaded = pipec::load_bytes("bench.yaml", black_box(text.as_bytes()), dir);
                let v = loaded.pipeline.expect("valid");
                // As `pipec build` renders: each file handed over, then dropped.
                let mut bytes = 0usize;
                pipec::render::render_each(&v, None, &mut |_, text| bytes += text.len()).unwrap();
                black_box(bytes);
            }),
        })
        .collect();
    let times = common::measure(&mut cases, 5, 200);
    println!();
    common::report(
        "in-process build (validate + render), median of 5 paired rounds",
        &cases,
        &times,
    );
}
