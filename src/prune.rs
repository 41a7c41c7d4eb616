//! Recovery after schema errors: leave out what failed, check the rest.
//!
//! In: a document's JSON value and the schema phase's diagnostics. Out: the
//! value without the parts those errors are in, and `Excluded`, which names
//! what was left out, so that the semantic phase neither reports references
//! to it as unknown nor draws conclusions from its absence.
//!
//! The unit left out is a named entry of a section (one stage, one table, one
//! trigger...), a whole section when the error is in the section itself, or
//! an unknown top-level key. An error in `pipeline` or in the file as a whole
//! leaves nothing to check, and `prune` returns `None`.

use crate::diagnostic::Diagnostic;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Sections that map names to entries; one bad entry is left out alone.
const NAMED: [&str; 9] = [
    "zones",
    "connections",
    "schemas",
    "stages",
    "crawlers",
    "triggers",
    "alerts",
    "tags",
    "consumers",
];

/// The names left out of one section.
#[derive(Debug, Clone, PartialEq)]
enum Names {
    /// The section itself was wrong: every name in it is unknown to the checks.
    All,
    Some(HashSet<String>),
}

/// What `prune` left out, by section.
#[derive(Debug, Default, Clone)]
pub struct Excluded {
    sections: HashMap<String, Names>,
}

impl Excluded {
    /// Whether `name` in `section` (`stages`, `schemas`, ...) was left out.
    pub fn hides(&self, section: &str, name: &str) -> bool {
        match self.sections.get(section) {
            Some(Names::All) => true,
            Some(Names::Some(names)) => names.contains(name),
            None => false,
        }
    }

    /// The JSON pointers of what was left out of `section`, for follow-ons.
    pub fn pointers(&self, section: &str) -> Vec<String> {
        let base = crate::yaml::push_pointer("", section);
        match self.sections.get(section) {
            Some(Names::All) => vec![base],
            Some(Names::Some(names)) => {
                let mut v: Vec<String> = names
                    .iter()
                    .map(|n| crate::yaml::push_pointer(&base, n))
                    .collect();
                v.sort();
                v
            }
            None => Vec::new(),
        }
    }

    fn add(&mut self, section: &str, name: Option<&str>) {
        let entry = self
            .sections
            .entry(section.to_string())
            .or_insert_with(|| Names::Some(HashSet::new()));
        match (name, &mut *entry) {
            (None, _) => *entry = Names::All,
            (Some(n), Names::Some(names)) => {
                names.insert(n.to_string());
            }
            (Some(_), Names::All) => {}
        }
    }
}

/// Reference tokens of a JSON pointer, unescaped.
fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Leaves out of `value` every unit a schema diagnostic is in. Returns what
/// was left out, or `None` when no part of the file can be checked on its own.
pub fn prune(value: &mut Value, schema_diags: &[Diagnostic]) -> Option<Excluded> {
    let mut excluded = Excluded::default();
    let Value::Object(root) = value else {
        return None;
    };
    for d in schema_diags {
        // The first pointer is where the error is; others are what it may mean.
        let t = tokens(d.pointers.first()?);
        let section = t.first()?.as_str();
        if section == "pipeline" {
            return None;
        }
        if NAMED.contains(&section) {
            match t.get(1) {
                Some(name) => {
                    if let Some(Value::Object(entries)) = root.get_mut(section) {
                        entries.shift_remove(name);
                    }
                    excluded.add(section, Some(name));
                }
                None => {
                    // Required sections must stay; an empty one checks the same.
                    root.insert(section.to_string(), Value::Object(Default::default()));
                    excluded.add(section, None);
                }
            }
        } else {
            root.shift_remove(section);
        }
    }
    Some(excluded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;
    use serde_json::json;

    fn at(pointer: &str) -> Diagnostic {
        Diagnostic::error("schema", Span::default(), "x").about(pointer)
    }

    #[test]
    fn a_bad_stage_is_left_out_alone() {
        let mut v =
            json!({"pipeline": "p", "stages": {"a": {"inputs": 1}, "b": {}}, "trigers": {}});
        let ex = prune(&mut v, &[at("/stages/a/inputs"), at("/trigers")]).unwrap();
        assert_eq!(v, json!({"pipeline": "p", "stages": {"b": {}}}));
        assert!(ex.hides("stages", "a") && !ex.hides("stages", "b"));
        assert_eq!(ex.pointers("stages"), vec!["/stages/a"]);
    }

    #[test]
    fn a_bad_section_hides_every_name_in_it() {
        let mut v = json!({"pipeline": "p", "schemas": [1]});
        let ex = prune(&mut v, &[at("/schemas")]).unwrap();
        assert_eq!(v, json!({"pipeline": "p", "schemas": {}}));
        assert!(ex.hides("schemas", "anything"));
    }

    #[test]
    fn a_bad_pipeline_name_or_root_leaves_nothing_to_check() {
        let mut v = json!({"pipeline": 1});
        assert!(prune(&mut v, &[at("/pipeline")]).is_none());
        assert!(prune(&mut v, &[at("")]).is_none());
    }
}
