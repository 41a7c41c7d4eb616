//! The environment overlay: a pipeline as one of its environments sees it.
//!
//! In: the parsed document of a pipeline file (JSON value and locations,
//! after the schema phase) and an environment name. Out: the document of
//! that environment's pipeline, which the model and the semantic phase then
//! check in full like any pipeline file. Pure: no I/O.
//!
//! Each value an environment sets replaces the pipeline's, and is located
//! where the environment writes it, so an error it causes (too many workers,
//! a name too long after its suffix) points at the environment's line. The
//! overlaid document has no `environments` key; the environment itself
//! travels beside it (`ValidPipeline::environment`).

use crate::yaml::{Document, Locations, push_pointer};
use serde_json::{Map, Value};

/// Which environment a pipeline is: what `build`, `deploy` and the account
/// guard need beside the overlaid pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// The environment's name (`dev`).
    pub name: String,
    /// The pipeline's name as the file declares it, before any prefix or
    /// suffix: `generated/<pipeline>/<name>/` holds the environment's output.
    pub pipeline: String,
    /// The account deploys must go to, when declared.
    pub account: Option<String>,
    /// The region deploys go to, when declared.
    pub region: Option<String>,
}

/// The environment `env` of a document, as `Chosen`.
pub fn chosen(value: &Value, env: &str) -> Option<Chosen> {
    let e = value.get("environments")?.get(env)?;
    let text = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
    Some(Chosen {
        name: env.to_string(),
        pipeline: value.get("pipeline")?.as_str()?.to_string(),
        account: text("account"),
        region: text("region"),
    })
}

/// The names of the environments a document declares, in file order.
pub fn names(value: &Value) -> Vec<String> {
    value
        .get("environments")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The document of environment `env`, or `None` when the document declares
/// no such environment.
pub fn overlay(value: &Value, locations: &Locations, env: &str) -> Option<Document> {
    let e = value.get("environments")?.get(env)?.as_object()?.clone();
    let mut v = value.clone();
    let mut loc = locations.clone();
    let at = push_pointer("/environments", env);
    let root = v.as_object_mut()?;
    root.remove("environments");

    // The name: every stack and resource name derives from it.
    let prefix = e.get("name_prefix").and_then(Value::as_str).unwrap_or("");
    let suffix = e.get("name_suffix").and_then(Value::as_str).unwrap_or("");
    if (!prefix.is_empty() || !suffix.is_empty())
        && let Some(Value::String(name)) = root.get("pipeline")
    {
        let renamed = Value::String(format!("{prefix}{name}{suffix}"));
        let from = if suffix.is_empty() {
            "name_prefix"
        } else {
            "name_suffix"
        };
        loc.graft(&push_pointer(&at, from), "/pipeline", &renamed);
        root.insert("pipeline".into(), renamed);
    }

    // Stage settings: over the defaults, and over each named stage's own.
    if let Some(Value::Object(d)) = e.get("defaults") {
        let defaults = object(root, "defaults");
        set_all(
            defaults,
            d,
            &mut loc,
            &push_pointer(&at, "defaults"),
            "/defaults",
        );
    }
    if let Some(Value::Object(stages)) = e.get("stages") {
        let from_stages = push_pointer(&at, "stages");
        for (name, settings) in stages {
            let Value::Object(settings) = settings else {
                continue;
            };
            // An unknown stage is reported where the environment names it.
            let Some(Value::Object(stage)) = root
                .get_mut("stages")
                .and_then(Value::as_object_mut)
                .and_then(|s| s.get_mut(name))
            else {
                continue;
            };
            let to = push_pointer("/stages", name);
            set_all(
                stage,
                settings,
                &mut loc,
                &push_pointer(&from_stages, name),
                &to,
            );
        }
    }

    // Schedules: every scheduled trigger active or paused.
    if let Some(Value::String(s)) = e.get("schedules") {
        let paused = Value::Bool(s == "paused");
        let from = push_pointer(&at, "schedules");
        if let Some(Value::Object(triggers)) = root.get_mut("triggers") {
            for (name, t) in triggers.iter_mut() {
                if let Value::Object(t) = t
                    && t.contains_key("schedule")
                {
                    let to = push_pointer(&push_pointer("/triggers", name), "paused");
                    loc.graft(&from, &to, &paused);
                    t.insert("paused".into(), paused.clone());
                }
            }
        }
    }

    // Alert e-mails: the same list for every alert.
    if let Some(emails @ Value::Array(_)) = e.get("alert_emails") {
        let from = push_pointer(&at, "alert_emails");
        if let Some(Value::Object(alerts)) = root.get_mut("alerts") {
            for (name, a) in alerts.iter_mut() {
                if let Value::Object(a) = a {
                    let to = push_pointer(&push_pointer("/alerts", name), "email");
                    loc.graft(&from, &to, emails);
                    a.insert("email".into(), emails.clone());
                }
            }
        }
    }

    // Tags: added, or replacing the pipeline's tag of that key.
    if let Some(Value::Object(tags)) = e.get("tags") {
        let into = object(root, "tags");
        set_all(into, tags, &mut loc, &push_pointer(&at, "tags"), "/tags");
    }

    Some(Document {
        value: v,
        locations: loc,
    })
}

/// The object at `key` of `root`, made when missing.
fn object<'a>(root: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = root
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        _ => unreachable!("made an object just above"),
    }
}

/// Sets every key of `from` in `into`, each located at its source.
fn set_all(
    into: &mut Map<String, Value>,
    from: &Map<String, Value>,
    loc: &mut Locations,
    from_ptr: &str,
    to_ptr: &str,
) {
    for (k, val) in from {
        loc.graft(&push_pointer(from_ptr, k), &push_pointer(to_ptr, k), val);
        into.insert(k.clone(), val.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    const FILE: &str = "\
pipeline: etl
tags: {team: data}
defaults: {workers: 2}
zones: {raw: {}}
schemas: {}
stages:
  clean: {workers: 3}
  load: {}
triggers:
  nightly: {schedule: cron(0 3 * * ? *), start: [clean]}
  after: {when: {all: [clean]}, start: [load]}
alerts:
  failed: {email: [a@example.com]}
environments:
  dev:
    name_suffix: -dev
    defaults: {workers: 5, worker_type: G.2X}
    stages:
      clean: {workers: 7}
      nope: {workers: 1}
    schedules: paused
    alert_emails: [dev@example.com]
    tags: {team: dev-team, env: dev}
  prod: {}
";

    fn doc() -> (std::sync::Arc<SourceFile>, Document) {
        let file = SourceFile::new("p.yaml", FILE.to_string());
        let (doc, _) = crate::yaml::parse(&file).expect("parses");
        (file, doc)
    }

    #[test]
    fn values_are_replaced_and_located_at_the_environment() {
        let (_, d) = doc();
        let o = overlay(&d.value, &d.locations, "dev").unwrap();
        let v = &o.value;
        assert!(v.get("environments").is_none());
        assert_eq!(v["pipeline"], "etl-dev");
        assert_eq!(v["defaults"]["workers"], 5);
        assert_eq!(v["defaults"]["worker_type"], "G.2X");
        assert_eq!(v["stages"]["clean"]["workers"], 7);
        assert!(v["stages"]["load"].get("workers").is_none());
        assert!(v["stages"].get("nope").is_none());
        assert_eq!(v["triggers"]["nightly"]["paused"], true);
        assert!(v["triggers"]["after"].get("paused").is_none());
        assert_eq!(v["alerts"]["failed"]["email"][0], "dev@example.com");
        assert_eq!(v["tags"]["team"], "dev-team");
        assert_eq!(v["tags"]["env"], "dev");
        let line = |p: &str| o.locations.value(p).start.line;
        assert_eq!(line("/pipeline"), 16);
        assert_eq!(line("/defaults/workers"), 17);
        assert_eq!(line("/stages/clean/workers"), 19);
        assert_eq!(line("/stages/load"), 8);
        assert_eq!(line("/triggers/nightly/paused"), 21);
        assert_eq!(line("/alerts/failed/email/0"), 22);
        assert_eq!(line("/tags/env"), 23);
        // Untouched values stay where the pipeline writes them.
        assert_eq!(line("/zones/raw"), 4);
        assert_eq!(o.locations.key("/tags/team").start.line, 23);
    }

    #[test]
    fn an_empty_environment_changes_nothing_but_the_key() {
        let (_, d) = doc();
        let o = overlay(&d.value, &d.locations, "prod").unwrap();
        let mut base = d.value.clone();
        base.as_object_mut().unwrap().remove("environments");
        assert_eq!(o.value, base);
    }

    #[test]
    fn missing_sections_are_made_and_located() {
        let text = "pipeline: p\nzones: {}\nschemas: {}\nstages: {}\nenvironments:\n  e:\n    defaults: {workers: 4}\n    tags: {a: b}\n";
        let file = SourceFile::new("p.yaml", text.to_string());
        let (d, _) = crate::yaml::parse(&file).unwrap();
        let o = overlay(&d.value, &d.locations, "e").unwrap();
        assert_eq!(o.value["defaults"]["workers"], 4);
        assert_eq!(o.value["tags"]["a"], "b");
        assert_eq!(o.locations.value("/defaults/workers").start.line, 7);
        assert_eq!(o.locations.value("/tags/a").start.line, 8);
    }

    #[test]
    fn malformed_environments_are_reported_never_a_panic() {
        let shapes = [
            "environments: 3",
            "environments: {dev: 3}",
            "environments: {dev: {defaults: 3, stages: [a], schedules: 4, alert_emails: x, tags: [1]}}",
            "environments: {dev: {stages: {clean: 3}, name_suffix: 7}}",
            "environments: {dev: {defaults: {workers: two}}}",
            "defaults: 3\ntags: x\nalerts: 1\ntriggers: [1]\nenvironments: {dev: {defaults: {workers: 2}, tags: {a: b}, alert_emails: [a@b.co], schedules: paused}}",
            "pipeline: [x]\nenvironments: {dev: {name_prefix: a-}}",
        ];
        for shape in shapes {
            let text = format!("pipeline: p\nzones: {{}}\nschemas: {{}}\nstages: {{}}\n{shape}\n");
            let l = crate::load_bytes_envs(
                "p.yaml",
                text.as_bytes(),
                std::path::Path::new("."),
                crate::Envs::All,
            );
            assert!(l.errors() > 0, "{shape}: {:?}", l.diagnostics);
            assert!(l.pipelines.is_empty(), "{shape}");
        }
    }

    #[test]
    fn unknown_environments_and_names() {
        let (_, d) = doc();
        assert!(overlay(&d.value, &d.locations, "staging").is_none());
        assert_eq!(names(&d.value), vec!["dev", "prod"]);
        assert!(names(&serde_json::json!({"pipeline": "x"})).is_empty());
    }
}
