//! Prints a valid synthetic pipeline of N stages (default 1,000), for
//! `benches/scale.sh` and by-hand scale tests:
//! `cargo run --release --example synthetic -- 10000 > big.yaml`.

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    print!("{}", pipec::synthetic::pipeline(n));
}
