//! The schema phase: the JSON Schema of the language, and checking a document against it.
//!
//! In: a parsed `Document`. Out: schema diagnostics, located through the
//! document's pointer table. The schema itself is generated from `model` by
//! schemars; `schema/pipeline.schema.json` is that output, committed so that
//! editors can complete and check pipeline files.
//!
//! jsonschema's raw errors are rewritten here into user words: an unknown key
//! gets the nearest valid key as a hint, and a value that matches no branch of
//! an `anyOf` is reported against the branch whose type it has.

use crate::diagnostic::{Diagnostic, Phase};
use crate::model::Pipeline;
use crate::suggest;
use crate::yaml::{Document, push_pointer};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;
use std::sync::OnceLock;

/// The JSON Schema of a pipeline file, as committed in `schema/pipeline.schema.json`.
pub fn generate() -> Value {
    let mut schema = schemars::schema_for!(Pipeline).to_value();
    if let Value::Object(o) = &mut schema {
        o.insert(
            "$id".into(),
            "https://pipec.dev/schema/pipeline.schema.json".into(),
        );
        // Top-level `x-` keys hold YAML anchors for reuse and are ignored.
        o.insert(
            "patternProperties".into(),
            serde_json::json!({"^x-": {"description": "An extension key, ignored by pipec: a place for YAML anchors to reuse."}}),
        );
    }
    schema
}

/// The schema as the text committed to `schema/pipeline.schema.json`.
pub fn generate_text() -> String {
    let mut s = serde_json::to_string_pretty(&generate()).expect("schema serializes");
    s.push('\n');
    s
}

struct Compiled {
    schema: Value,
    validator: Validator,
}

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let schema = generate();
        let validator = jsonschema::options()
            .build(&schema)
            .expect("the generated schema is a valid JSON Schema");
        Compiled { schema, validator }
    })
}

/// Checks a document against the schema and returns every violation found.
pub fn check(doc: &Document) -> Vec<Diagnostic> {
    let c = compiled();
    let mut out = Vec::new();
    for err in c.validator.iter_errors(&doc.value) {
        explain(&c.schema, doc, &err, &mut out);
    }
    out
}

/// Whether a value passes the schema; `prune`'s output is checked with it.
pub fn passes(value: &Value) -> bool {
    compiled().validator.is_valid(value)
}

/// The JSON type of a value, in the words the messages use.
fn type_word(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn json_type_word(t: &str) -> &'static str {
    match t {
        "null" => "nothing (null)",
        "boolean" => "a boolean",
        "number" => "a number",
        "integer" => "an integer",
        "string" => "a string",
        "array" => "a list",
        "object" => "a mapping",
        _ => "a value",
    }
}

/// Follows a keyword location (such as `/properties/stages/additionalProperties/$ref`)
/// through the schema, resolving `$ref`s, to the subschema it names. Also returns
/// the name of the last definition passed, to name the kind of object in messages.
fn resolve<'a>(root: &'a Value, path: &str) -> (Option<&'a Value>, Option<String>) {
    let mut cur = root;
    let mut def_name = None;
    let mut prev_defs = false;
    for seg in path.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if prev_defs {
            def_name = Some(seg.clone());
        }
        prev_defs = seg == "$defs";
        if seg == "$ref" {
            let Some(r) = cur.get("$ref").and_then(Value::as_str) else {
                return (None, def_name);
            };
            let Some(name) = r.strip_prefix("#/$defs/") else {
                return (None, def_name);
            };
            def_name = Some(name.to_string());
            match root.get("$defs").and_then(|d| d.get(name)) {
                Some(v) => cur = v,
                None => return (None, def_name),
            }
            continue;
        }
        let next = match cur {
            Value::Object(o) => o.get(&seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return (None, def_name),
        }
    }
    (Some(cur), def_name)
}

/// "Stage" -> "a stage", "TableSchema" -> "a table schema", for messages.
fn object_words(def: Option<&str>, pointer: &str) -> String {
    let name = match def {
        Some(d) => d,
        None if pointer.is_empty() => return "the pipeline".into(),
        None => return "this mapping".into(),
    };
    let mut words = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
        }
        words.extend(c.to_lowercase());
    }
    let article = if words.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {words}")
}

/// Rewrites one raw error into diagnostics, each placed in the data (the
/// pointers that later phases and `diagnostic::arrange` match against).
fn explain(root: &Value, doc: &Document, err: &ValidationError<'_>, out: &mut Vec<Diagnostic>) {
    let from = out.len();
    explain_kind(root, doc, err, out);
    let pointer = err.instance_path().as_str();
    for d in &mut out[from..] {
        d.phase = Phase::Schema;
        if d.pointers.is_empty() {
            d.pointers.push(pointer.to_string());
        }
    }
}

fn explain_kind(
    root: &Value,
    doc: &Document,
    err: &ValidationError<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let pointer = err.instance_path().as_str().to_string();
    let instance: &Value = err.instance();
    let schema_path = err.schema_path().as_str();
    let at_value = doc.locations.value(&pointer);
    match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let parent = schema_path
                .strip_suffix("/additionalProperties")
                .unwrap_or(schema_path);
            let (sub, def) = resolve(root, parent);
            let allowed: Vec<String> = sub
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            let what = object_words(def.as_deref(), &pointer);
            for key in unexpected {
                let span = doc.locations.key(&push_pointer(&pointer, key));
                let hint =
                    suggest::did_you_mean(key, allowed.iter().map(String::as_str)).or_else(|| {
                        (!allowed.is_empty() && allowed.len() <= 20)
                            .then(|| format!("valid keys: {}", allowed.join(", ")))
                    });
                let msg = if def.as_deref() == Some("Step") {
                    format!("unknown step `{key}`")
                } else {
                    format!("unknown key `{key}` in {what}")
                };
                let mut d = Diagnostic::error("schema", span, msg)
                    .with_hint(hint)
                    .about(push_pointer(&pointer, key));
                // A misspelt key is also about the key it meant: what is missing
                // without that key (a section, say) follows from this error.
                if let Some(meant) = suggest::nearest(key, allowed.iter().map(String::as_str)) {
                    d = d.about(push_pointer(&pointer, meant));
                }
                out.push(d);
            }
        }
        ValidationErrorKind::Required { property } => {
            let prop = property.as_str().unwrap_or_default();
            let (sub, def) = resolve(root, schema_path.strip_suffix("/required").unwrap_or(""));
            let allowed = sub
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object);
            // A misspelt key already reported with this key as its hint says it all.
            let misspelt = instance.as_object().is_some_and(|o| {
                o.keys().any(|k| {
                    allowed.is_some_and(|a| !a.contains_key(k))
                        && suggest::nearest(k, [prop]) == Some(prop)
                })
            });
            if misspelt {
                return;
            }
            let what = object_words(def.as_deref(), &pointer);
            out.push(
                Diagnostic::error(
                    "schema",
                    doc.locations.key(&pointer),
                    format!("{what} needs the key `{prop}`"),
                )
                .about(push_pointer(&pointer, prop)),
            );
        }
        ValidationErrorKind::Type { kind } => {
            let mut expected: Vec<String> = match kind {
                TypeKind::Single(t) => vec![t.to_string()],
                TypeKind::Multiple(ts) => ts.iter().map(|t| t.to_string()).collect(),
            };
            // Optional keys accept null too; saying so only distracts.
            if expected.len() > 1 {
                expected.retain(|t| t != "null");
            }
            let words: Vec<&str> = expected.iter().map(|t| json_type_word(t)).collect();
            let object = resolve(
                root,
                schema_path.strip_suffix("/type").unwrap_or(schema_path),
            )
            .0;
            let hint = if expected.iter().any(|t| t == "string")
                && (instance.is_number() || instance.is_boolean())
            {
                Some(format!("quote it to make it text: \"{instance}\""))
            } else if let (Some(text), true) =
                (instance.as_str(), expected.iter().any(|t| t == "object"))
            {
                let in_list = pointer
                    .rsplit('/')
                    .next()
                    .is_some_and(|t| t.parse::<usize>().is_ok());
                object.and_then(|o| mapping_form(root, o, text, in_list))
            } else if let (Some(text), true) = (instance.as_str(), expected == ["boolean"]) {
                yaml11_bool(text)
            } else {
                None
            };
            out.push(
                Diagnostic::error(
                    "schema",
                    at_value,
                    format!(
                        "expected {}, found {}",
                        words.join(" or "),
                        type_word(instance)
                    ),
                )
                .with_hint(hint),
            );
        }
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> = options
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            let shown = match instance {
                Value::String(s) => format!("`{s}`"),
                other => other.to_string(),
            };
            let hint = instance
                .as_str()
                .and_then(|s| suggest::did_you_mean(s, opts.iter().map(String::as_str)));
            out.push(
                Diagnostic::error(
                    "schema",
                    at_value,
                    format!("{shown} is not one of: {}", opts.join(", ")),
                )
                .with_hint(hint),
            );
        }
        ValidationErrorKind::Constant { expected_value } => {
            out.push(Diagnostic::error(
                "schema",
                at_value,
                format!("expected {expected_value}"),
            ));
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            let (branches, _) = resolve(root, schema_path);
            let branches: Vec<&Value> = branches
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            // Prefer the branch whose type the value has: its errors are the real ones.
            let mut best: Option<&Vec<ValidationError<'static>>> = None;
            for errs in context {
                let type_failed = errs.iter().any(|e| {
                    e.instance_path().as_str() == pointer
                        && matches!(e.kind(), ValidationErrorKind::Type { .. })
                });
                if !type_failed && !errs.is_empty() {
                    best = Some(errs);
                    break;
                }
            }
            match best {
                Some(errs) => {
                    for e in errs {
                        explain(root, doc, e, out);
                    }
                }
                None => {
                    let mut kinds: Vec<&str> = Vec::new();
                    for b in &branches {
                        let b = match b.get("$ref").and_then(Value::as_str) {
                            Some(r) => r
                                .strip_prefix("#/$defs/")
                                .and_then(|n| root.get("$defs").and_then(|d| d.get(n)))
                                .unwrap_or(b),
                            None => b,
                        };
                        if let Some(t) = b.get("type").and_then(Value::as_str) {
                            let w = json_type_word(t);
                            if !kinds.contains(&w) {
                                kinds.push(w);
                            }
                        }
                    }
                    let msg = if kinds.is_empty() {
                        format!(
                            "this {} does not fit here",
                            type_word(instance)
                                .trim_start_matches("a ")
                                .trim_start_matches("an ")
                        )
                    } else {
                        format!(
                            "expected {}, found {}",
                            kinds.join(" or "),
                            type_word(instance)
                        )
                    };
                    out.push(Diagnostic::error("schema", at_value, msg));
                }
            }
        }
        ValidationErrorKind::MinItems { limit } => out.push(Diagnostic::error(
            "schema",
            at_value,
            format!(
                "expected at least {limit} item{}",
                if *limit == 1 { "" } else { "s" }
            ),
        )),
        ValidationErrorKind::MaxItems { limit } => out.push(Diagnostic::error(
            "schema",
            at_value,
            format!("expected at most {limit} items"),
        )),
        ValidationErrorKind::MinProperties { .. }
            if schema_path.contains("Step") || is_step(root, schema_path) =>
        {
            out.push(Diagnostic::error(
                "schema",
                at_value,
                "a step needs one key, the transform's name (select, rename, join, ...)",
            ));
        }
        ValidationErrorKind::MaxProperties { .. } if is_step(root, schema_path) => {
            let keys: Vec<&str> = instance
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            out.push(
                Diagnostic::error(
                    "schema",
                    at_value,
                    format!(
                        "a step has one transform, but this one has {}: {}",
                        keys.len(),
                        keys.join(", ")
                    ),
                )
                .with_hint(Some(
                    "start each transform on its own `- ` list item".into(),
                )),
            );
        }
        ValidationErrorKind::Minimum { limit } => out.push(Diagnostic::error(
            "schema",
            at_value,
            format!("{instance} is less than the minimum {limit}"),
        )),
        ValidationErrorKind::Maximum { limit } => out.push(Diagnostic::error(
            "schema",
            at_value,
            format!("{instance} is more than the maximum {limit}"),
        )),
        _ => out.push(Diagnostic::error("schema", at_value, err.to_string())),
    }
}

/// A hint for a string written where a mapping is expected: `- dedupe`
/// means the transform `dedupe`, `select:[a]` lacks a space, `events` may
/// be the value of the mapping's one required key. Shows the right form.
fn mapping_form(root: &Value, object: &Value, text: &str, in_list: bool) -> Option<String> {
    let props = object.get("properties").and_then(Value::as_object)?;
    let dash = if in_list { "- " } else { "" };
    let (word, rest) = match text.split_once(':') {
        Some((k, v)) => (k.trim(), Some(v.trim())),
        None => (text.trim(), None),
    };
    let key = if props.contains_key(word) {
        Some(word)
    } else {
        suggest::nearest(word, props.keys().map(String::as_str))
    };
    if let Some(key) = key {
        let forms: Vec<String> = match rest {
            Some(v) if !v.is_empty() => vec![format!("{key}: {v}")],
            _ => value_forms(root, &props[key])
                .into_iter()
                .map(|f| format!("{key}: {f}"))
                .collect(),
        };
        let forms: Vec<String> = forms.iter().map(|f| format!("`{dash}{f}`")).collect();
        let lead = if rest.is_some() {
            "a key needs a space after its colon: write".to_string()
        } else if key == word {
            format!("`{key}` takes a value: write")
        } else {
            format!("did you mean `{key}`? write")
        };
        return Some(format!("{lead} {}", or_list(&forms)));
    }
    let required: Vec<&str> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match required.as_slice() {
        // No `- `: the form fits a flow list (`[{table: x}]`) and a block one.
        [only] => Some(format!("write `{{{only}: {text}}}`")),
        _ => None,
    }
}

/// Example values of a subschema, as a hint shows them: `[...]`, `{}`,
/// `{keys: [...], order_by: [...]}`, the choices of an enum.
fn value_forms(root: &Value, schema: &Value) -> Vec<String> {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => match r
            .strip_prefix("#/$defs/")
            .and_then(|n| root.get("$defs").and_then(|d| d.get(n)))
        {
            Some(s) => s,
            None => return vec!["...".into()],
        },
        None => schema,
    };
    if let Some(branches) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        return branches.iter().flat_map(|b| value_forms(root, b)).collect();
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
    }
    if let Some(v) = schema.get("const").and_then(Value::as_str) {
        return vec![v.to_string()];
    }
    let placeholder = |s: &Value| -> &'static str {
        match s.get("type").and_then(Value::as_str) {
            Some("array") => "[...]",
            Some("object") => "{...}",
            _ => "...",
        }
    };
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => vec!["[...]".into()],
        Some("object") => match schema.get("properties").and_then(Value::as_object) {
            Some(props) if !props.is_empty() => {
                let required: Vec<&str> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let shown: Vec<String> = props
                    .iter()
                    .filter(|(k, _)| required.is_empty() || required.contains(&k.as_str()))
                    .take(3)
                    .map(|(k, v)| format!("{k}: {}", placeholder(v)))
                    .collect();
                let full = format!("{{{}}}", shown.join(", "));
                if required.is_empty() {
                    vec!["{}".into(), full]
                } else {
                    vec![full]
                }
            }
            _ => vec!["{name: ...}".into()],
        },
        Some("boolean") => vec!["true".into()],
        _ => vec!["...".into()],
    }
}

/// "a", "a or b", "a, b or c".
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// YAML 1.1 booleans are text in YAML 1.2, which pipec reads.
fn yaml11_bool(text: &str) -> Option<String> {
    let word = match text.to_ascii_lowercase().as_str() {
        "yes" | "y" | "on" => "true",
        "no" | "n" | "off" => "false",
        _ => return None,
    };
    Some(format!(
        "YAML 1.2 reads `{text}` as text, not as a boolean; write `{word}`"
    ))
}

fn is_step(root: &Value, schema_path: &str) -> bool {
    let parent = schema_path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
    matches!(resolve(root, parent), (_, Some(d)) if d == "Step")
}
