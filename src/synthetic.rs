//! Synthetic pipelines of any size, for benchmarks and scale tests.
//!
//! In: a stage count. Out: the text of a valid pipeline shaped like the etl
//! example: one table per stage, each stage reading the previous stage's
//! table through a few transforms, a crawler per table and a trigger chain.

/// A valid pipeline with `n` Spark stages chained by conditional triggers.
pub fn pipeline(n: usize) -> String {
    let mut s = String::with_capacity(n * 400);
    s.push_str("pipeline: synthetic\nzones:\n  raw: {}\n  silver: {}\nschemas:\n");
    for i in 0..=n {
        let zone = if i == 0 { "raw" } else { "silver" };
        s.push_str(&format!(
            "  t{i}:\n    zone: {zone}\n    path: t{i}/\n    format: parquet\n    columns: {{id: bigint, country: string, amount: double}}\n    partition_keys: [country]\n"
        ));
    }
    s.push_str("stages:\n");
    for i in 1..=n {
        s.push_str(&format!(
            "  s{i}:\n    inputs: [t{}]\n    steps:\n      - filter: amount > 0\n      - derive: {{amount: amount * 2}}\n      - dedupe: {{keys: [id], order_by: [amount desc]}}\n    outputs: [{{table: t{i}}}]\n",
            i - 1
        ));
    }
    s.push_str("crawlers:\n");
    for i in 1..=n {
        s.push_str(&format!("  c{i}: {{tables: [t{i}]}}\n"));
    }
    s.push_str("triggers:\n  start:\n    start: [s1]\n");
    for i in 1..=n {
        let next = if i < n {
            format!("s{}, ", i + 1)
        } else {
            String::new()
        };
        s.push_str(&format!(
            "  after-s{i}:\n    when: {{all: [s{i}]}}\n    start: [{next}c{i}]\n"
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn synthetic_pipelines_are_valid() {
        for n in [1, 3, 50] {
            let text = super::pipeline(n);
            let loaded =
                crate::load_bytes("synthetic.yaml", text.as_bytes(), std::path::Path::new("."));
            assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
            assert_eq!(loaded.pipeline.unwrap().pipeline().stages.len(), n);
        }
    }
}
