//! Property tests: random and mutated YAML never makes the parser or the
//! validator panic, and every diagnostic points inside the file.

use proptest::prelude::*;
use std::path::Path;

fn check_no_panic(bytes: &[u8]) {
    let loaded = pipec::load_bytes("fuzz.yaml", bytes, Path::new("."));
    let lines = loaded.file.line_count() + 1;
    for d in &loaded.diagnostics {
        assert!(
            d.span.start.line >= 1 && d.span.start.line <= lines,
            "{d:?} outside a {lines}-line file"
        );
        // Rendering must not panic either, whatever the span.
        let _ = d.render_text(&loaded.file);
        let _ = d.render_json(&loaded.file);
    }
    // A valid pipeline has no error; a rejected one says why.
    if loaded.pipeline.is_some() {
        assert_eq!(loaded.errors(), 0);
    } else {
        assert!(loaded.errors() > 0, "rejected without an error");
    }
}

fn examples() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    v.sort();
    v
}

/// Pieces of YAML syntax, so random strings hit the parser's interesting paths.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just(": ".to_string()),
        Just("- ".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(", ".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("<<: ".to_string()),
        Just("!!str ".to_string()),
        Just("!Ref ".to_string()),
        Just("'q'".to_string()),
        Just("\"d\\u00e9\"".to_string()),
        Just("|\n  ".to_string()),
        Just("---\n".to_string()),
        Just("# c\n".to_string()),
        Just("\t".to_string()),
        Just("~".to_string()),
        Just("stages".to_string()),
        Just("inputs".to_string()),
        Just("steps".to_string()),
        Just("pipeline".to_string()),
        Just("zones".to_string()),
        Just("schemas".to_string()),
        Just("triggers".to_string()),
        "[a-z_]{1,8}",
        "[0-9]{1,20}",
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Duplicate(usize, usize),
    Insert(usize, String),
    Byte(usize, u8),
    SwapLines(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0usize..64).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), 0usize..256).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
        (any::<usize>(), token()).prop_map(|(a, t)| Mutation::Insert(a, t)),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Byte(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

fn apply(mut bytes: Vec<u8>, m: &Mutation) -> Vec<u8> {
    let len = bytes.len().max(1);
    match m {
        Mutation::Delete(a, n) => {
            let a = a % len;
            let end = (a + n).min(bytes.len());
            bytes.drain(a.min(end)..end);
        }
        Mutation::Duplicate(a, n) => {
            let a = a % len;
            let end = (a + n).min(bytes.len());
            let piece = bytes[a.min(end)..end].to_vec();
            let at = end;
            bytes.splice(at..at, piece);
        }
        Mutation::Insert(a, t) => {
            let a = a % len;
            let a = a.min(bytes.len());
            bytes.splice(a..a, t.bytes());
        }
        Mutation::Byte(a, b) => {
            if !bytes.is_empty() {
                let a = a % bytes.len();
                bytes[a] = *b;
            }
        }
        Mutation::SwapLines(a, b) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let (a, b) = (a % lines.len(), b % lines.len());
                lines.swap(a, b);
            }
            bytes = lines.join("\n").into_bytes();
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_yaml_never_panics(tokens in prop::collection::vec(token(), 0..80)) {
        check_no_panic(tokens.concat().as_bytes());
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_no_panic(&bytes);
    }

    #[test]
    fn mutated_examples_never_panic(which in 0usize..4, muts in prop::collection::vec(mutation(), 1..6)) {
        let ex = examples();
        let mut bytes = ex[which % ex.len()].clone();
        for m in &muts {
            bytes = apply(bytes, m);
        }
        check_no_panic(&bytes);
    }
}

#[test]
fn adversarial_shapes_never_panic() {
    let deep_flow = "[".repeat(100_000);
    let deep_block: String = (0..500).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb += &format!("a{i}: &a{i} [{refs}]\n");
    }
    let long_line = format!("pipeline: {}\n", "x".repeat(1_000_000));
    let many_keys: String = (0..50_000).map(|i| format!("k{i}: {i}\n")).collect();
    for input in [
        deep_flow.as_str(),
        deep_block.as_str(),
        bomb.as_str(),
        long_line.as_str(),
        many_keys.as_str(),
        "",
        "\u{feff}",
        "- a\n- b\n",
        "just a string",
        "pipeline: [",
        "{a: 1, a: 2}",
        "? [complex]\n: key\n",
        "*undefined",
        "&x a: &x b",
        "pipeline: !!int nope",
        "%YAML 1.2\n---\npipeline: x\n",
    ] {
        check_no_panic(input.as_bytes());
    }
}
