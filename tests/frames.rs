//! Property: for random step sequences over random starting schemas, every
//! generated pipeline validates and renders, and validation knows the
//! columns and types of every frame.
//!
//! A seeded generator builds each pipeline step by step from a model of the
//! current columns (so every step is valid by construction; a rejection is a
//! disagreement between this model and the validator, and fails the test).
//! `proptest` drives the seeds. A fixed sample of cases is also written to
//! `target/frames-cases/case-NN/` (pipeline, script, and `expected.json` with
//! the compile-time columns of each frame), where
//! `tests/spark/test_frames_property.py` runs the scripts on local Spark and
//! compares the DataFrames' schemas with the compile-time ones.

use pipec::names::snake_case;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::Path;

/// Cases of the fixed sample that the Spark suite runs.
const SAMPLE: u64 = 25;
/// The seed of the fixed sample.
const SAMPLE_SEED: u64 = 0x5eed_f4a3;

/// splitmix64: small, seedable, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Column names that exercise case, spaces, non-ASCII and snake_case.
const NAMES: &[&str] = &[
    "id",
    "Country",
    "country",
    "Unit Price",
    "ÉtéCount",
    "HTTPServer",
    "मूल्य",
    "Größe",
    "amount",
    "qty",
    "city_name",
    "Total",
    "a__b",
    "日本 売上",
    "Score2",
    "Is Active",
    "created",
    "ΤιμήΜονάδας",
];
const TYPES: &[&str] = &[
    "int",
    "bigint",
    "double",
    "string",
    "boolean",
    "date",
    "decimal(10,2)",
];

type Cols = Vec<(String, String)>;

/// Spark's comparison of column names: ignoring case, in every script.
fn same(a: &str, b: &str) -> bool {
    pipec::validate::frames::same_name(a, b)
}

fn has(cols: &Cols, name: &str) -> Option<usize> {
    cols.iter()
        .position(|(n, _)| n == name)
        .or_else(|| cols.iter().position(|(n, _)| same(n, name)))
}

fn distinct(names: &[String]) -> bool {
    names
        .iter()
        .enumerate()
        .all(|(i, a)| names[..i].iter().all(|b| !same(a, b)))
}

fn numeric(ty: &str) -> bool {
    matches!(ty, "int" | "bigint" | "double") || ty.starts_with("decimal")
}

fn decimal(ty: &str) -> Option<(u32, u32)> {
    let inner = ty.strip_prefix("decimal(")?.strip_suffix(')')?;
    let (p, s) = inner.split_once(',')?;
    Some((p.parse().ok()?, s.parse().ok()?))
}

/// A name not yet in `cols` (ignoring case).
fn fresh(rng: &mut Rng, cols: &Cols, taken: &[String]) -> String {
    let base = rng.pick(NAMES).to_string();
    let free = |n: &str| has(cols, n).is_none() && !taken.iter().any(|t| same(t, n));
    if free(&base) {
        return base;
    }
    (2..)
        .map(|k| format!("{base}_{k}"))
        .find(|n| free(n))
        .unwrap()
}

fn schema(rng: &mut Rng) -> Cols {
    let mut cols = Cols::new();
    for _ in 0..2 + rng.below(5) {
        let name = fresh(rng, &cols, &[]);
        cols.push((name, rng.pick(TYPES).to_string()));
    }
    cols
}

/// A column usable as a key or order (not an array).
fn scalar(rng: &mut Rng, cols: &Cols) -> Option<(String, String)> {
    let c: Vec<_> = cols
        .iter()
        .filter(|(_, t)| !t.starts_with("array"))
        .collect();
    (!c.is_empty()).then(|| (*rng.pick(&c)).clone())
}

fn bt(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn columns_json(cols: &Cols) -> Value {
    Value::Object(
        cols.iter()
            .map(|(n, t)| (n.clone(), Value::String(t.clone())))
            .collect(),
    )
}

/// One generated pipeline: its YAML (as JSON, which YAML reads) and the
/// generator's idea of main's columns.
struct Case {
    text: String,
    inputs: Vec<(String, Cols)>,
    steps: Vec<String>,
}

fn generate(seed: u64) -> Case {
    let mut rng = Rng(seed);
    let main_in = schema(&mut rng);
    let dim_in = schema(&mut rng);
    let mut cols = main_in.clone();
    let mut steps: Vec<Value> = Vec::new();
    let mut kinds: Vec<String> = Vec::new();
    let mut frames = serde_json::Map::new();
    let n = 1 + rng.below(6);
    let mut tries = 0;
    while steps.len() < n && tries < 60 {
        tries += 1;
        let kind = rng.below(15);
        let step = match kind {
            0 => {
                let mut pool = cols.clone();
                let mut out = Cols::new();
                for _ in 0..1 + rng.below(pool.len()) {
                    out.push(pool.remove(rng.below(pool.len())));
                }
                let list: Vec<&String> = out.iter().map(|(n, _)| n).collect();
                let s = json!({"select": list});
                cols = out;
                Some(s)
            }
            1 if cols.len() > 1 => {
                let (name, _) = cols.remove(rng.below(cols.len()));
                Some(json!({"drop": [name]}))
            }
            2 => {
                let k = rng.below(cols.len());
                let new = fresh(&mut rng, &cols, &[]);
                let old = std::mem::replace(&mut cols[k].0, new.clone());
                Some(json!({"rename": {old: new}}))
            }
            3 | 4 => {
                let rule: fn(&str) -> String = if kind == 3 {
                    snake_case
                } else {
                    |s: &str| s.to_lowercase()
                };
                let names: Vec<String> = cols.iter().map(|(n, _)| rule(n)).collect();
                distinct(&names).then(|| {
                    for (c, n) in cols.iter_mut().zip(names) {
                        c.0 = n;
                    }
                    json!({"rename": if kind == 3 { "snake_case" } else { "lower_case" }})
                })
            }
            5 => {
                let k = rng.below(cols.len());
                let ty = cols[k].1.clone();
                let to = if numeric(&ty) {
                    *rng.pick(&["int", "bigint", "double", "decimal(12,3)", "string"])
                } else if ty.starts_with("array") {
                    "string"
                } else if ty == "string" {
                    *rng.pick(&["string", "int", "double"])
                } else {
                    *rng.pick(&["string", "string", "int"])
                };
                let to = if ty == "date" || ty.starts_with("array") {
                    "string"
                } else {
                    to
                };
                cols[k].1 = to.to_string();
                Some(json!({"cast": {cols[k].0.clone(): to}}))
            }
            6 => {
                let name = fresh(&mut rng, &cols, &[]);
                let nums: Vec<_> = cols.iter().filter(|(_, t)| numeric(t)).cloned().collect();
                let (expr, ty) = match rng.below(3) {
                    0 => ("1".to_string(), "int"),
                    1 => ("'x'".to_string(), "string"),
                    _ if !nums.is_empty() => (format!("{} * 2", bt(&rng.pick(&nums).0)), "double"),
                    _ => ("2.5".to_string(), "double"),
                };
                cols.push((name.clone(), ty.to_string()));
                Some(json!({"derive": {name: {"expr": expr, "type": ty}}}))
            }
            7 => {
                let ok: Vec<_> = cols
                    .iter()
                    .filter(|(_, t)| {
                        matches!(
                            t.as_str(),
                            "int" | "bigint" | "double" | "string" | "boolean"
                        )
                    })
                    .cloned()
                    .collect();
                (!ok.is_empty()).then(|| {
                    let (n, t) = rng.pick(&ok).clone();
                    let v = match t.as_str() {
                        "string" => json!("n/a"),
                        "boolean" => json!(true),
                        _ => json!(0),
                    };
                    json!({"fill_null": {n: v}})
                })
            }
            8 => {
                if rng.chance(40) {
                    Some(json!({"dedupe": {}}))
                } else {
                    match (scalar(&mut rng, &cols), scalar(&mut rng, &cols)) {
                        (Some(k), Some(o)) => Some(
                            json!({"dedupe": {"keys": [k.0], "order_by": [format!("{} desc", o.0)]}}),
                        ),
                        _ => None,
                    }
                }
            }
            9 => join(&mut rng, &mut cols, &dim_in, &mut frames),
            10 => aggregate(&mut rng, &mut cols),
            11 => union(&mut rng, &mut cols, &main_in, &mut frames),
            12 => window(&mut rng, &mut cols),
            13 | 14 => sql(&mut rng, &mut cols),
            _ => None,
        };
        if let Some(s) = step {
            kinds.push(s.as_object().unwrap().keys().next().unwrap().clone());
            steps.push(s);
        }
    }
    let mut out_cols = serde_json::Map::new();
    for (n, t) in &cols {
        // Written as text: the output table's types are not what is tested.
        let _ = t;
        out_cols.insert(n.clone(), json!("string"));
    }
    let doc = json!({
        "pipeline": "frames-case",
        "zones": {"data": {}},
        "schemas": {
            "t_main": {"zone": "data", "path": "t_main/", "format": "parquet", "columns": columns_json(&main_in)},
            "t_dim": {"zone": "data", "path": "t_dim/", "format": "parquet", "columns": columns_json(&dim_in)},
            "t_out": {"zone": "data", "path": "t_out/", "format": "parquet", "columns": Value::Object(out_cols)},
        },
        "stages": {
            "s": {
                "inputs": ["t_main", "t_dim"],
                "frames": Value::Object(frames),
                "steps": steps,
                "outputs": [{"table": "t_out"}],
            }
        },
        "triggers": {"start": {"start": ["s"]}},
    });
    Case {
        text: serde_json::to_string_pretty(&doc).unwrap(),
        inputs: vec![("t_main".into(), main_in), ("t_dim".into(), dim_in)],
        steps: kinds,
    }
}

/// A left, inner, right, full, semi or anti join with `prefix: r_` against a
/// frame of `t_dim`; keys named alike when a column of the same name and
/// type is on both sides, else a `{left, right}` pair.
fn join(
    rng: &mut Rng,
    cols: &mut Cols,
    dim: &Cols,
    frames: &mut serde_json::Map<String, Value>,
) -> Option<Value> {
    let kind = *rng.pick(&["inner", "left", "right", "full", "semi", "anti"]);
    let alike: Vec<_> = cols
        .iter()
        .filter(|(n, t)| dim.iter().any(|(m, u)| m == n && u == t) && !t.starts_with("array"))
        .cloned()
        .collect();
    let (on, key_same): (Value, Option<String>) = if !alike.is_empty() && rng.chance(50) {
        let k = rng.pick(&alike).0.clone();
        (json!([k.clone()]), Some(k))
    } else {
        let (l, _) = scalar(rng, cols)?;
        let (r, _) = rng.pick(dim).clone();
        (json!([{"left": l, "right": r}]), None)
    };
    let mut out = cols.clone();
    if !matches!(kind, "semi" | "anti") {
        let mut right = Cols::new();
        for (n, t) in dim {
            if key_same.as_deref().is_some_and(|k| same(k, n)) {
                continue;
            }
            let name = if has(cols, n).is_some() {
                format!("r_{n}")
            } else {
                n.clone()
            };
            right.push((name, t.clone()));
        }
        if let Some(k) = &key_same {
            let i = has(&out, k).unwrap();
            let key = out.remove(i);
            out.insert(0, key);
        }
        out.extend(right);
        let names: Vec<String> = out.iter().map(|(n, _)| n.clone()).collect();
        if !distinct(&names) {
            return None;
        }
    }
    let frame = format!("dim{}", frames.len() + 1);
    frames.insert(frame.clone(), json!({"from": "t_dim"}));
    *cols = out;
    Some(json!({"join": {"with": frame, "type": kind, "on": on, "prefix": "r_"}}))
}

fn aggregate(rng: &mut Rng, cols: &mut Cols) -> Option<Value> {
    let mut group = Cols::new();
    for _ in 0..rng.below(3) {
        if let Some(c) = scalar(rng, cols)
            && has(&group, &c.0).is_none()
        {
            group.push(c);
        }
    }
    let mut out = group.clone();
    let mut aggs = serde_json::Map::new();
    for _ in 0..1 + rng.below(3) {
        let name = fresh(rng, &out, &[]);
        let c = rng.pick(cols).clone();
        let (call, ty) = match rng.below(8) {
            0 => ("count(*)".to_string(), "bigint".to_string()),
            1 => (format!("count({})", c.0), "bigint".into()),
            2 if numeric(&c.1) => (
                format!("sum({})", c.0),
                match decimal(&c.1) {
                    Some((p, s)) => format!("decimal({},{s})", (p + 10).min(38)),
                    None if c.1 == "double" => "double".into(),
                    None => "bigint".into(),
                },
            ),
            3 if numeric(&c.1) => (
                format!("avg({})", c.0),
                match decimal(&c.1) {
                    Some((p, s)) => format!("decimal({},{})", (p + 4).min(38), s + 4),
                    None => "double".into(),
                },
            ),
            4 if !c.1.starts_with("array") => (format!("min({})", c.0), c.1.clone()),
            5 if !c.1.starts_with("array") => (format!("max({})", c.0), c.1.clone()),
            6 => (format!("count_distinct({})", c.0), "bigint".into()),
            7 if !c.1.starts_with("array") => {
                (format!("collect_list({})", c.0), format!("array<{}>", c.1))
            }
            _ => ("count(*)".to_string(), "bigint".to_string()),
        };
        aggs.insert(name.clone(), json!(call));
        out.push((name, ty));
    }
    let group: Vec<String> = group.into_iter().map(|(n, _)| n).collect();
    *cols = out;
    Some(json!({"aggregate": {"group_by": group, "aggregates": aggs}}))
}

/// A union (`allow_missing`) with a frame selecting some of `t_main`'s
/// columns: those main lacks, or has with the same type.
fn union(
    rng: &mut Rng,
    cols: &mut Cols,
    main_in: &Cols,
    frames: &mut serde_json::Map<String, Value>,
) -> Option<Value> {
    let ok: Vec<_> = main_in
        .iter()
        .filter(|(n, t)| has(cols, n).is_none_or(|i| cols[i].1 == *t && cols[i].0 == *n))
        .cloned()
        .collect();
    if ok.is_empty() {
        return None;
    }
    let pick: Vec<_> = ok.iter().filter(|_| rng.chance(70)).cloned().collect();
    let pick = if pick.is_empty() {
        vec![ok[0].clone()]
    } else {
        pick
    };
    for c in &pick {
        if has(cols, &c.0).is_none() {
            cols.push(c.clone());
        }
    }
    let frame = format!("uni{}", frames.len() + 1);
    let names: Vec<&String> = pick.iter().map(|(n, _)| n).collect();
    frames.insert(
        frame.clone(),
        json!({"from": "t_main", "steps": [{"select": names}]}),
    );
    Some(json!({"union": {"with": [frame], "allow_missing": true}}))
}

fn window(rng: &mut Rng, cols: &mut Cols) -> Option<Value> {
    let (o, _) = scalar(rng, cols)?;
    let mut w = serde_json::Map::new();
    if rng.chance(50)
        && let Some((p, _)) = scalar(rng, cols)
    {
        w.insert("partition_by".into(), json!([p]));
    }
    w.insert("order_by".into(), json!([o]));
    let name = fresh(rng, cols, &[]);
    let c = rng.pick(cols).clone();
    let (call, ty) = match rng.below(6) {
        0 => ("row_number()".to_string(), "int".to_string()),
        1 => ("rank()".into(), "int".into()),
        2 => ("percent_rank()".into(), "double".into()),
        3 => (format!("lag({})", c.0), c.1.clone()),
        4 => (format!("count({})", c.0), "bigint".into()),
        _ if numeric(&c.1) && decimal(&c.1).is_none() => (
            format!("sum({})", c.0),
            if c.1 == "double" {
                "double".into()
            } else {
                "bigint".into()
            },
        ),
        _ => ("dense_rank()".into(), "int".into()),
    };
    w.insert("columns".into(), json!({name.clone(): call}));
    cols.push((name, ty));
    Some(json!({"window": w}))
}

/// `SELECT` of some columns (and sometimes a literal), with or without
/// `columns:`.
fn sql(rng: &mut Rng, cols: &mut Cols) -> Option<Value> {
    let mut out = Cols::new();
    for c in cols.iter() {
        if rng.chance(70) {
            out.push(c.clone());
        }
    }
    if out.is_empty() {
        out.push(cols[0].clone());
    }
    let mut parts: Vec<String> = out.iter().map(|(n, _)| bt(n)).collect();
    if rng.chance(40) {
        let name = fresh(rng, &out, &[]);
        parts.push(format!("1 AS {}", bt(&name)));
        out.push((name, "int".into()));
    }
    let query = format!("SELECT {} FROM this", parts.join(", "));
    *cols = out;
    // Half the steps leave the columns to pipec, which derives them from the
    // query; the others declare them, which pipec holds the query to.
    if rng.chance(50) {
        Some(json!({"sql": {"query": query}}))
    } else {
        Some(json!({"sql": {"query": query, "columns": columns_json(cols)}}))
    }
}

fn cols_json(cols: &[pipec::validate::frames::Column]) -> Value {
    Value::Array(
        cols.iter()
            .map(|c| {
                json!([
                    c.name,
                    c.ty.as_deref().map(pipec::render::scripts::spark_type)
                ])
            })
            .collect(),
    )
}

/// Validates and renders a case; returns the stage script and the
/// pipeline runtime it imports, and the expected
/// columns of every frame, or panics with the diagnostics.
fn check(seed: u64) -> (Case, [String; 2], Value) {
    let case = generate(seed);
    let loaded = pipec::load_bytes("case.yaml", case.text.as_bytes(), Path::new("."));
    let v = loaded.pipeline.unwrap_or_else(|| {
        let diags: Vec<String> = loaded
            .diagnostics
            .iter()
            .map(|d| d.render_text(&loaded.file))
            .collect();
        panic!(
            "seed {seed:#x} ({:?}) does not validate:\n{}\n{}",
            case.steps,
            diags.join("\n"),
            case.text
        )
    });
    let scripts = pipec::render::scripts::render(&v).expect("renders");
    let frames = v.frames("s");
    let mut expected = serde_json::Map::new();
    for (name, f) in &frames.frames {
        assert!(
            f.end().iter().all(|c| c.ty.is_some()),
            "seed {seed:#x}: frame {name} has a column of unknown type"
        );
        expected.insert(name.clone(), cols_json(f.end()));
    }
    let inputs: Value = case
        .inputs
        .iter()
        .map(|(t, c)| (t.clone(), columns_json(c)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let expected = json!({"seed": seed, "steps": case.steps, "inputs": inputs, "frames": expected});
    let runtime = scripts
        .get("scripts/pipec_runtime.py")
        .cloned()
        .unwrap_or_default();
    (case, [scripts["scripts/s.py"].clone(), runtime], expected)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_steps_validate_and_render(seed in any::<u64>()) {
        let (case, [script, _], _) = check(seed);
        prop_assert!(script.contains("main ="), "{}", case.text);
        // No run-time schema discovery in any script.
        for helper in ["snake_case(", "lower_case(", "prefix_clashing(", ".columns]"] {
            prop_assert!(!script.contains(helper), "{helper} in the script of {}", case.text);
        }
    }
}

#[test]
fn fixed_sample_for_spark() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/frames-cases");
    let _ = std::fs::remove_dir_all(&root);
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..SAMPLE {
        let seed = SAMPLE_SEED.wrapping_add(i.wrapping_mul(0x1000_0001));
        let (case, [script, runtime], expected) = check(seed);
        seen.extend(case.steps.iter().cloned());
        let dir = root.join(format!("case-{i:02}"));
        std::fs::create_dir_all(dir.join("scripts")).unwrap();
        std::fs::write(dir.join("pipeline.yaml"), &case.text).unwrap();
        std::fs::write(dir.join("scripts/s.py"), script).unwrap();
        std::fs::write(dir.join("scripts/pipec_runtime.py"), runtime).unwrap();
        std::fs::write(
            dir.join("expected.json"),
            serde_json::to_string_pretty(&expected).unwrap(),
        )
        .unwrap();
    }
    // The sample covers every kind of step the generator makes.
    for kind in [
        "select",
        "drop",
        "rename",
        "cast",
        "derive",
        "fill_null",
        "dedupe",
        "join",
        "aggregate",
        "union",
        "window",
        "sql",
    ] {
        assert!(
            seen.contains(kind),
            "the sample has no {kind} step: {seen:?}"
        );
    }
}
