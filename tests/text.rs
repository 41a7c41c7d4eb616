//! User text stays data: property tests of the literal-prefix overlap check
//! and of the YAML emitter, and a check that the limit on the pipeline
//! description keeps every rendered stack Description within CloudFormation's
//! 1,024 bytes.

use pipec::render::emit;
use pipec::source::SourceFile;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::Path;

/// The codes of the user-text checks (`src/validate/text.rs`).
const USER_TEXT_CODES: [&str; 4] = [
    "dynamic-reference",
    "intrinsic-key",
    "control-character",
    "invisible-character",
];

/// One table path: folders from a small alphabet so that paths often nest,
/// sometimes a character IAM or S3 would not read literally, sometimes none
/// (the table name is the default prefix).
fn path() -> impl Strategy<Value = Option<String>> {
    let seg = prop_oneof![
        8 => prop::sample::select(vec!["a", "b", "ab", "a.b", "t0", "t1", "x-y"]),
        1 => prop::sample::select(vec!["*", "a?", "a*b", "$x"]),
    ];
    (prop::collection::vec(seg, 1..4), any::<bool>(), 0..6u8).prop_map(|(segs, slash, none)| {
        (none != 0).then(|| {
            let mut p = segs.join("/");
            if slash {
                p.push('/');
            }
            p
        })
    })
}

fn pipeline_yaml(tables: &[(bool, Option<String>)]) -> String {
    let mut y = String::from("pipeline: demo\nzones:\n  raw: {}\n  silver: {}\nschemas:\n");
    for (i, (silver, p)) in tables.iter().enumerate() {
        y.push_str(&format!(
            "  t{i}:\n    zone: {}\n",
            if *silver { "silver" } else { "raw" }
        ));
        if let Some(p) = p {
            y.push_str(&format!(
                "    path: {}\n",
                serde_json::to_string(p).unwrap()
            ));
        }
        y.push_str("    columns: {id: string}\n");
    }
    y.push_str(
        "stages:\n  s:\n    inputs: [t0]\n    outputs: [{table: t1}]\ntriggers:\n  start: {start: [s]}\n",
    );
    y
}

/// Accepted pipelines seen, so the IAM half of the property is known to run.
static ACCEPTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// If two tables' prefixes are prefix-related in one zone, validation
    /// refuses; a path with a character IAM or S3 would not read literally is
    /// refused; and an accepted pipeline has neither.
    #[test]
    fn nested_table_prefixes_are_refused(
        tables in prop::collection::vec((any::<bool>(), path()), 2..7)
    ) {
        let yaml = pipeline_yaml(&tables);
        let loaded = pipec::load_bytes("paths.yaml", yaml.as_bytes(), Path::new("."));
        let prefixes: Vec<(bool, String)> = tables
            .iter()
            .enumerate()
            .map(|(i, (z, p))| {
                let mut p = p.clone().unwrap_or_else(|| format!("t{i}"));
                if !p.ends_with('/') {
                    p.push('/');
                }
                (*z, p)
            })
            .collect();
        let nested = prefixes.iter().enumerate().any(|(i, (za, pa))| {
            prefixes
                .iter()
                .enumerate()
                .any(|(j, (zb, pb))| i != j && za == zb && pa.starts_with(pb.as_str()))
        });
        let wild = prefixes.iter().any(|(_, p)| p.contains(['*', '?', '$']));
        let overlap_reported = loaded
            .diagnostics
            .iter()
            .any(|d| d.is_error() && d.message.contains("overlap"));
        if nested {
            prop_assert!(loaded.pipeline.is_none(), "accepted nested prefixes:\n{yaml}");
            // Paths that are refused for their characters may not reach the overlap check.
            if !wild {
                prop_assert!(overlap_reported, "no overlap reported:\n{yaml}");
            }
        } else {
            prop_assert!(!overlap_reported, "overlap reported for disjoint prefixes:\n{yaml}");
        }
        if wild {
            prop_assert!(loaded.pipeline.is_none(), "accepted a wildcard path:\n{yaml}");
        }
        if let Some(valid) = &loaded.pipeline {
            prop_assert!(!nested && !wild);
            // No grant of the stage's role reaches a table it does not declare.
            let rendered = pipec::render::render(valid).unwrap();
            let jobs = parse(&rendered.files["stacks/glue-jobs.yaml"]);
            let declared = [0usize, 1];
            let grants = s3_grants(&jobs);
            prop_assert!(grants.len() >= 4, "the stage's grants were not found");
            ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            for (zone, granted) in grants {
                let silver = zone == "silver";
                for (i, (z, p)) in prefixes.iter().enumerate() {
                    if *z != silver || declared.contains(&i) {
                        continue;
                    }
                    prop_assert!(
                        !p.starts_with(&granted) && !granted.starts_with(p.as_str()),
                        "grant on {zone}/{granted}* reaches t{i} at {p}:\n{yaml}"
                    );
                }
            }
        }
    }
}

#[test]
fn some_random_pipelines_are_accepted() {
    // Runs the property on its own and checks it was not vacuous.
    nested_table_prefixes_are_refused();
    let n = ACCEPTED.load(std::sync::atomic::Ordering::Relaxed);
    assert!(n >= 20, "only {n} accepted pipelines");
    eprintln!("{n} accepted random pipelines had their IAM grants checked");
}

/// Every S3 prefix a template grants in a zone bucket, from object ARNs
/// (`.../prefix*`) and `s3:prefix` conditions, as (zone, literal prefix).
fn s3_grants(template: &Value) -> Vec<(String, String)> {
    fn zone_of(arn: &str) -> Option<(String, &str)> {
        let rest = arn.split_once("s3:::demo-")?.1;
        let (zone, after) = rest.split_once("-${AWS::AccountId}-${AWS::Region}")?;
        Some((zone.to_string(), after))
    }
    fn literal(pattern: &str) -> String {
        let p = pattern.strip_suffix('*').unwrap_or(pattern);
        assert!(!p.contains(['*', '?']), "a wildcard inside {pattern}");
        p.to_string()
    }
    fn walk(v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                if let (Some(res), Some(cond)) = (m.get("Resource"), m.get("Condition")) {
                    let arn = res[0]["Fn::Sub"].as_str().or(res[0].as_str()).unwrap_or("");
                    if let (Some((zone, "")), Some(list)) =
                        (zone_of(arn), cond["StringLike"]["s3:prefix"].as_array())
                    {
                        for p in list {
                            out.push((zone.clone(), literal(p.as_str().unwrap())));
                        }
                    }
                }
                m.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::String(s) => {
                if let Some((zone, after)) = zone_of(s)
                    && let Some(p) = after.strip_prefix('/')
                {
                    out.push((zone, literal(p)));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(template, &mut out);
    out
}

/// Characters the emitter must escape or keep: quotes, backslashes, YAML
/// indicators, controls, bidirectional and zero-width characters, and text
/// outside the Basic Multilingual Plane.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        any::<char>(),
        prop::sample::select(vec![
            '"',
            '\'',
            '\\',
            ':',
            '#',
            '-',
            '?',
            '{',
            '}',
            '[',
            ']',
            ',',
            '&',
            '*',
            '!',
            '|',
            '>',
            '%',
            '@',
            '`',
            ' ',
            '\t',
            '\n',
            '\r',
            '\0',
            '\u{7}',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{a0}',
            '\u{202a}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{200b}',
            '\u{200d}',
            '\u{200e}',
            '\u{2028}',
            '\u{2029}',
            '\u{2060}',
            '\u{feff}',
            '\u{fffe}',
            '\u{e0041}',
            '\u{1f600}',
            'y',
            'n',
            'N',
            'o',
            '1',
            '.',
            '~',
            '$',
        ]),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(tricky_char(), 0..24).prop_map(|v| v.into_iter().collect()),
        any::<String>(),
        prop::sample::select(vec![
            "",
            "yes",
            "No",
            "null",
            "~",
            "true",
            "1.0",
            "0x1F",
            "1e3",
            ".inf",
            "-",
            "- a",
            "a: b",
            "#c",
            "${AWS::Region}",
            "{{resolve:ssm:/x}}",
            "'q'",
            "2024-01-01",
            "<<",
        ])
        .prop_map(String::from),
    ]
}

/// Parses YAML with pipec's own parser and returns the value.
fn parse(text: &str) -> Value {
    let file = SourceFile::new("emit.yaml", text.to_string());
    match pipec::yaml::parse(&file) {
        Ok((doc, _)) => doc.value,
        Err(d) => panic!("emitted YAML does not parse: {d:?}\n{text}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any string, as a key and as a value, comes back unchanged, and no
    /// control or invisible character is written raw.
    #[test]
    fn emitted_strings_read_back_the_same(s in tricky_string(), t in tricky_string()) {
        let doc = json!({ "k": s, "list": [t], s.clone(): t });
        let text = emit::to_yaml(&doc);
        prop_assert_eq!(parse(&text), doc);
        for c in text.chars() {
            prop_assert!(
                c == '\n' || !(c.is_control() || pipec::validate::text::invisible(c)),
                "raw {:?} in {}", c, text
            );
        }
    }
}

#[test]
fn bidi_and_zero_width_are_escaped() {
    let s = "abc\u{202e}fed\u{2066}x\u{200b}y\u{e0041}";
    let e = emit::string(s);
    assert_eq!(e, "\"abc\\u202efed\\u2066x\\u200by\\U000e0041\"");
    assert_eq!(parse(&format!("k: {e}\n")), json!({ "k": s }));
}

/// A pipeline description at the validated bound fits every stack's
/// Description (1,024 bytes); one byte more is refused.
#[test]
fn pipeline_description_bound_fits_every_stack() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    let file_name = format!("{}.yaml", "f".repeat(120));
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        // The examples only, not their sample files under `samples/`.
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Drop the example's own description; a long one goes in its place.
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with("description:"))
            .map(|l| format!("{l}\n"))
            .collect();
        let name_line = body
            .lines()
            .find(|l| l.starts_with("pipeline:"))
            .expect("a pipeline name");
        let probe = |len: usize| {
            // Multi-byte text, so that bytes and characters differ.
            let mut d = "é".repeat(len / 2);
            if len % 2 == 1 {
                d.push('x');
            }
            let yaml = body.replacen(name_line, &format!("{name_line}\ndescription: \"{d}\""), 1);
            pipec::load_bytes(&file_name, yaml.as_bytes(), &dir)
        };
        // Find the bound by asking the validator, then check the rendering.
        let mut max = 0;
        while probe(max + 1).pipeline.is_some() {
            max += 1;
            assert!(max < 1024, "{}: no bound", path.display());
        }
        let loaded = probe(max);
        let valid = loaded.pipeline.expect("valid at the bound");
        let rendered = pipec::render::render(&valid).unwrap();
        let mut longest = 0;
        for (file, body) in &rendered.files {
            if !file.starts_with("stacks/") {
                continue;
            }
            let v = parse(body);
            let d = v["Description"].as_str().unwrap();
            assert!(d.len() <= 1024, "{file}: {} bytes", d.len());
            longest = longest.max(d.len());
        }
        // Only the suffix of a split stack is held in reserve.
        assert!(
            longest >= 1024 - 24,
            "{}: the bound wastes room ({longest} bytes)",
            path.display()
        );
        let refused = probe(max + 1);
        assert!(
            refused
                .diagnostics
                .iter()
                .any(|d| d.message.contains("pipeline description")),
            "{}: {:?}",
            path.display(),
            refused.diagnostics
        );
        checked += 1;
    }
    assert!(checked >= 4);
}

/// A dynamic reference in any user-text field or key, in any spelling
/// CloudFormation might resolve, is refused at that field's line; the same
/// pipeline without it is valid.
#[test]
fn dynamic_references_are_refused_in_every_field() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/text");
    let template = std::fs::read_to_string(dir.join("every-text-field.yaml")).unwrap();
    let fields: Vec<usize> = (0..100)
        .filter(|n| template.contains(&format!("@F{n}@")))
        .collect();
    assert!(fields.len() >= 20, "{} fields", fields.len());
    let fill = |field: Option<usize>, payload: &str| {
        let mut t = template.clone();
        for n in &fields {
            let with = if Some(*n) == field { payload } else { "" };
            t = t.replace(&format!("@F{n}@"), with);
        }
        t
    };
    let neutral = pipec::load_bytes("grid.yaml", fill(None, "").as_bytes(), &dir);
    assert!(neutral.pipeline.is_some(), "{:?}", neutral.diagnostics);
    for payload in [
        "{{resolve:secretsmanager:prod/db:SecretString:password}}",
        "{{resolve:ssm-secure:/prod/key}}",
        "{{ RESOLVE:ssm:/x}}",
        "x{{\tResolve :ssm:/x}}y",
    ] {
        for n in &fields {
            let text = fill(Some(*n), payload);
            let line = text
                .lines()
                .position(|l| l.contains(payload))
                .map(|i| i + 1)
                .unwrap();
            let loaded = pipec::load_bytes("grid.yaml", text.as_bytes(), &dir);
            assert!(loaded.pipeline.is_none(), "field {n} accepted {payload}");
            assert!(
                loaded
                    .diagnostics
                    .iter()
                    .any(|d| USER_TEXT_CODES.contains(&d.code) && d.span.start.line == line),
                "field {n} with {payload}: {:?}",
                loaded.diagnostics
            );
        }
    }
}

/// The file name goes into the header line of every generated file, so a
/// line break in it could add YAML to a template; it is refused.
#[test]
fn file_names_with_line_breaks_are_refused() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/text");
    let template = std::fs::read_to_string(dir.join("every-text-field.yaml")).unwrap();
    let mut text = template;
    for n in 0..100 {
        text = text.replace(&format!("@F{n}@"), "");
    }
    for name in [
        "a\nEvil: 1\n#.yaml",
        "x\u{202e}lmay.yaml",
        "{{resolve:ssm:x}}.yaml",
    ] {
        let loaded = pipec::load_bytes(name, text.as_bytes(), &dir);
        assert!(loaded.pipeline.is_none(), "{name:?} accepted");
        assert!(
            loaded
                .diagnostics
                .iter()
                .any(|d| d.message.contains("pipeline file name")),
            "{name:?}: {:?}",
            loaded.diagnostics
        );
    }
    assert!(
        pipec::load_bytes("ok-name_1.yaml", text.as_bytes(), &dir)
            .pipeline
            .is_some()
    );
}
