//! Benchmark: `pipec validate` in process (parse, schema and semantic checks;
//! no process start) on the etl example and on synthetic pipelines of 1,000,
//! 3,000 and 10,000 stages, with the cost per stage, so that validation is
//! seen to be linear; then the whole `pipec validate` command on each.
//!
//! Run with `cargo bench --bench validate` (after `cargo build --release` for
//! the whole-command figures). `PIPEC_BENCH_SIZES=1000,3000` picks sizes.
//! Goals: 1,000 stages under 100 ms; CPU per stage at 10,000 within 1.3x of
//! that at 1,000.

mod common;

use common::Case;
use std::hint::black_box;
use std::path::Path;
use std::process::Command;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pipelines = &root.join("pipelines");
    let etl = std::fs::read(pipelines.join("etl.yaml")).expect("etl example");
    let mut inputs: Vec<(String, usize, Vec<u8>)> = vec![("etl example".into(), 0, etl)];
    for n in common::sizes() {
        inputs.push((
            format!("synthetic {n} stages"),
            n,
            pipec::synthetic::pipeline(n).into_bytes(),
        ));
    }
    let mut cases: Vec<Case> = inputs
        .iter()
        .map(|(name, stages, bytes)| Case {
            name: name.clone(),
            stages: *stages,
            run: Box::new(move || {
                // The etl example's sample file resolves against its folder.
                let loaded = pipec::load_bytes("bench.yaml", black_box(bytes), pipelines);
                assert!(loaded.pipeline.is_some(), "{name} must be valid");
                black_box(loaded);
            }),
        })
        .collect();
    let times = common::measure(&mut cases, 7, 200);
    common::report(
        "in-process validation (parse + schema + semantic checks), median of 7 paired rounds",
        &cases,
        &times,
    );

    // The whole command, as a user runs it: process start included.
    let Some(exe) = common::release_binary(root) else {
        println!(
            "\n(build the release binary with `cargo build --release` to time the command too)"
        );
        return;
    };
    println!("\nwhole `pipec validate` process ({})", exe.display());
    let dir = std::env::temp_dir().join(format!("pipec-bench-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cases: Vec<Case> = inputs
        .iter()
        .map(|(name, stages, bytes)| {
            let file = dir.join(format!("{}.yaml", name.replace(' ', "-")));
            std::fs::write(&file, bytes).unwrap();
            let exe = exe.clone();
            Case {
                name: name.clone(),
                stages: *stages,
                run: Box::new(move || {
                    let out = Command::new(&exe)
                        .arg("validate")
                        .arg(&file)
                        .output()
                        .unwrap();
                    assert!(out.status.success());
                }),
            }
        })
        .collect();
    let times = common::measure(&mut cases, 5, 0);
    // The CPU column of a child process is not this thread's: wall only.
    println!("{:<24} {:>10}", "case", "wall");
    for (c, (wall, _)) in cases.iter().zip(&times) {
        println!("{:<24} {:>10.3?}", c.name, wall);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
