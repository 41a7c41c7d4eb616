//! A picture of a pipeline's workflow: stages, crawlers and tables as
//! nodes, triggers as edges labelled by their condition.
//!
//! In: the rendered stack templates of one pipeline (so `pipec graph` and
//! `pipec review` draw what will be deployed, from a pipeline file or from a
//! committed `generated/` folder alike). Out: a `Graph`, and its text as
//! Mermaid (GitHub renders it inline) or Graphviz DOT, with nodes marked
//! added, changed or removed when two versions are drawn as one
//! (`Graph::union`). Output is deterministic: nodes and edges are sorted.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeKind {
    /// Where a run starts: an on-demand, scheduled or event trigger.
    Start,
    Stage,
    Crawler,
    Table,
}

impl NodeKind {
    fn prefix(self) -> &'static str {
        match self {
            NodeKind::Start => "start",
            NodeKind::Stage => "stage",
            NodeKind::Crawler => "crawler",
            NodeKind::Table => "table",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    /// The user's name (the AWS name with the `<pipeline>-` prefix taken off).
    pub name: String,
    /// What the node's resources say, as compact JSON: a change here marks
    /// the node changed.
    pub fingerprint: String,
}

impl Node {
    /// Unique within a graph: `stage:clean`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind.prefix(), self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// A trigger starts the target when its condition holds.
    Trigger,
    /// A stage reads a table.
    Reads,
    /// A stage writes a table.
    Writes,
    /// A crawler updates a table's partitions.
    Crawls,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edge {
    /// Node keys.
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    /// For triggers: the trigger's name and condition.
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Added,
    Changed,
    Removed,
}

impl Mark {
    fn class(self) -> &'static str {
        match self {
            Mark::Added => "added",
            Mark::Changed => "changed",
            Mark::Removed => "removed",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    pub pipeline: String,
    /// Sorted by kind, then name.
    pub nodes: Vec<Node>,
    /// Sorted, no duplicates.
    pub edges: Vec<Edge>,
    /// Marks of a union of two versions, by node key.
    pub marks: BTreeMap<String, Mark>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Mermaid,
    Dot,
}

/// Builds the graph of a pipeline from its stack templates (any order).
/// `Err` names a template that is not YAML.
pub fn from_templates(pipeline: &str, templates: &[&str]) -> Result<Graph, String> {
    let mut values = Vec::new();
    for (i, t) in templates.iter().enumerate() {
        let file = crate::source::SourceFile::new(format!("template {}", i + 1), t.to_string());
        let doc = crate::yaml::parse(&file)
            .map_err(|d| {
                d.first()
                    .map(|d| d.message.clone())
                    .unwrap_or_else(|| "a template is not YAML".into())
            })?
            .0;
        values.push(doc.value);
    }
    Ok(from_values(pipeline, &values.iter().collect::<Vec<_>>()))
}

/// `from_templates` over templates already parsed.
pub fn from_values(pipeline: &str, templates: &[&Value]) -> Graph {
    let resources: Vec<(&str, &Value)> = templates
        .iter()
        .filter_map(|t| t.get("Resources").and_then(Value::as_object))
        .flat_map(|m| m.iter().map(|(k, v)| (k.as_str(), v)))
        .collect();
    build(pipeline, &resources)
}

/// The graph of a valid pipeline, drawn from what it renders.
pub fn from_pipeline(v: &crate::validate::ValidPipeline) -> Result<Graph, String> {
    let rendered = crate::render::render(v).map_err(|e| e.message())?;
    let templates: Vec<&str> = rendered
        .files
        .iter()
        .filter(|(p, _)| p.starts_with("stacks/"))
        .map(|(_, t)| t.as_str())
        .collect();
    from_templates(&v.pipeline().pipeline, &templates)
}

fn build(pipeline: &str, resources: &[(&str, &Value)]) -> Graph {
    let short = |aws: &str| -> String {
        aws.strip_prefix(pipeline)
            .and_then(|r| r.strip_prefix('-'))
            .filter(|r| !r.is_empty())
            .unwrap_or(aws)
            .to_string()
    };
    let by_id: BTreeMap<&str, &Value> = resources.iter().copied().collect();
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut edges: BTreeSet<Edge> = BTreeSet::new();
    let add = |nodes: &mut BTreeMap<String, Node>, kind, name: String, fp: String| {
        let n = Node {
            kind,
            name,
            fingerprint: fp,
        };
        let key = n.key();
        match nodes.get_mut(&key) {
            Some(old) if old.fingerprint.is_empty() => old.fingerprint = n.fingerprint,
            Some(_) => {}
            None => {
                nodes.insert(key, n);
            }
        }
    };
    let table_key = |t: &str| format!("table:{t}");
    for (_, r) in resources {
        let ty = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        let props = r.get("Properties").unwrap_or(&Value::Null);
        let name = props.get("Name").and_then(Value::as_str).map(&short);
        match (ty, name) {
            ("AWS::Glue::Job", Some(name)) => {
                // The job's role belongs to the stage: an IAM change marks it too.
                let role = props
                    .pointer("/Role/Fn::GetAtt/0")
                    .and_then(Value::as_str)
                    .and_then(|id| by_id.get(id))
                    .and_then(|r| r.get("Properties"));
                let fp = compact(&serde_json::json!([props, role]));
                let key = format!("stage:{name}");
                if let Some(Value::Object(args)) = props.get("DefaultArguments") {
                    for arg in args.keys() {
                        if let Some(t) = arg.strip_prefix("--pipec_input_") {
                            add(&mut nodes, NodeKind::Table, t.to_string(), String::new());
                            edges.insert(edge(&table_key(t), &key, EdgeKind::Reads, "reads"));
                        } else if let Some(t) = arg.strip_prefix("--pipec_output_") {
                            add(&mut nodes, NodeKind::Table, t.to_string(), String::new());
                            edges.insert(edge(&key, &table_key(t), EdgeKind::Writes, "writes"));
                        }
                    }
                }
                add(&mut nodes, NodeKind::Stage, name, fp);
            }
            ("AWS::Glue::Crawler", Some(name)) => {
                let key = format!("crawler:{name}");
                for target in props
                    .pointer("/Targets/CatalogTargets")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    for t in target
                        .get("Tables")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        add(&mut nodes, NodeKind::Table, t.to_string(), String::new());
                        edges.insert(edge(&key, &table_key(t), EdgeKind::Crawls, "crawls"));
                    }
                }
                add(&mut nodes, NodeKind::Crawler, name, compact(props));
            }
            ("AWS::Glue::Table", _) => {
                if let Some(t) = props.pointer("/TableInput/Name").and_then(Value::as_str) {
                    add(&mut nodes, NodeKind::Table, t.to_string(), compact(props));
                }
            }
            ("AWS::Glue::Trigger", Some(name)) => {
                let targets: Vec<String> = props
                    .get("Actions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|a| {
                        if let Some(j) = a.get("JobName").and_then(Value::as_str) {
                            Some(format!("stage:{}", short(j)))
                        } else {
                            a.get("CrawlerName")
                                .and_then(Value::as_str)
                                .map(|c| format!("crawler:{}", short(c)))
                        }
                    })
                    .collect();
                let conditions: Vec<(String, String)> = props
                    .pointer("/Predicate/Conditions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|c| {
                        let state = c
                            .get("State")
                            .or_else(|| c.get("CrawlState"))
                            .and_then(Value::as_str)
                            .unwrap_or("SUCCEEDED");
                        if let Some(j) = c.get("JobName").and_then(Value::as_str) {
                            Some((format!("stage:{}", short(j)), state.to_string()))
                        } else {
                            c.get("CrawlerName")
                                .and_then(Value::as_str)
                                .map(|n| (format!("crawler:{}", short(n)), state.to_string()))
                        }
                    })
                    .collect();
                if conditions.is_empty() {
                    // A start trigger: its own node, labelled by how it fires.
                    let how = match props.get("Type").and_then(Value::as_str) {
                        Some("SCHEDULED") => format!(
                            "schedule {}",
                            props
                                .get("Schedule")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                        ),
                        Some("EVENT") => "on new objects".to_string(),
                        _ => "on demand".to_string(),
                    };
                    add(&mut nodes, NodeKind::Start, name.clone(), compact(props));
                    for t in &targets {
                        edges.insert(edge(&format!("start:{name}"), t, EdgeKind::Trigger, &how));
                    }
                } else {
                    let all =
                        props.pointer("/Predicate/Logical").and_then(Value::as_str) != Some("ANY");
                    let joint = match (conditions.len(), all) {
                        (1, _) => "",
                        (_, true) => " (all)",
                        (_, false) => " (any)",
                    };
                    for (from, state) in &conditions {
                        for t in &targets {
                            let label = format!("{name}: {}{joint}", state.to_lowercase());
                            edges.insert(edge(from, t, EdgeKind::Trigger, &label));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // Every edge end is a node, even one whose resource is in no template.
    for e in &edges {
        for key in [&e.from, &e.to] {
            if !nodes.contains_key(key)
                && let Some((kind, name)) = key.split_once(':')
            {
                let kind = match kind {
                    "stage" => NodeKind::Stage,
                    "crawler" => NodeKind::Crawler,
                    "start" => NodeKind::Start,
                    _ => NodeKind::Table,
                };
                add(&mut nodes, kind, name.to_string(), String::new());
            }
        }
    }
    let mut nodes: Vec<Node> = nodes.into_values().collect();
    nodes.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    Graph {
        pipeline: pipeline.to_string(),
        nodes,
        edges: edges.into_iter().collect(),
        marks: BTreeMap::new(),
    }
}

fn edge(from: &str, to: &str, kind: EdgeKind, label: &str) -> Edge {
    Edge {
        from: from.to_string(),
        to: to.to_string(),
        kind,
        label: label.to_string(),
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

impl Graph {
    /// Both versions as one graph: every node and edge of either, nodes
    /// marked added (only in `head`), removed (only in `base`) or changed
    /// (in both, their resources differ). `None` stands for no pipeline.
    pub fn union(base: Option<&Graph>, head: Option<&Graph>) -> Graph {
        let empty = Graph::default();
        let (b, h) = (base.unwrap_or(&empty), head.unwrap_or(&empty));
        let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
        let mut marks = BTreeMap::new();
        let old: BTreeMap<String, &Node> = b.nodes.iter().map(|n| (n.key(), n)).collect();
        for n in &h.nodes {
            let key = n.key();
            match old.get(&key) {
                None => {
                    marks.insert(key.clone(), Mark::Added);
                }
                Some(o) if o.fingerprint != n.fingerprint => {
                    marks.insert(key.clone(), Mark::Changed);
                }
                Some(_) => {}
            }
            nodes.insert(key, n.clone());
        }
        for n in &b.nodes {
            let key = n.key();
            if let std::collections::btree_map::Entry::Vacant(slot) = nodes.entry(key.clone()) {
                marks.insert(key, Mark::Removed);
                slot.insert(n.clone());
            }
        }
        let edges: BTreeSet<Edge> = b.edges.iter().chain(&h.edges).cloned().collect();
        let mut nodes: Vec<Node> = nodes.into_values().collect();
        nodes.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        Graph {
            pipeline: if h.pipeline.is_empty() {
                b.pipeline.clone()
            } else {
                h.pipeline.clone()
            },
            nodes,
            edges: edges.into_iter().collect(),
            marks,
        }
    }

    /// The marked nodes and their direct neighbours only, for a picture of
    /// a large pipeline's change that stays readable.
    pub fn around_marks(&self) -> Graph {
        let mut keep: BTreeSet<&str> = self.marks.keys().map(String::as_str).collect();
        for e in &self.edges {
            if self.marks.contains_key(&e.from) {
                keep.insert(&e.to);
            }
            if self.marks.contains_key(&e.to) {
                keep.insert(&e.from);
            }
        }
        Graph {
            pipeline: self.pipeline.clone(),
            nodes: self
                .nodes
                .iter()
                .filter(|n| keep.contains(n.key().as_str()))
                .cloned()
                .collect(),
            edges: self
                .edges
                .iter()
                .filter(|e| keep.contains(e.from.as_str()) && keep.contains(e.to.as_str()))
                .cloned()
                .collect(),
            marks: self.marks.clone(),
        }
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Mermaid => self.mermaid(),
            Format::Dot => self.dot(),
        }
    }

    /// Mermaid flowchart text (no fences). Node IDs are `n0`, `n1`, ... in
    /// node order, so no name can break the syntax; names are labels only,
    /// quoted with `"` written as `#quot;`.
    pub fn mermaid(&self) -> String {
        let ids = self.ids();
        let mut out = String::from("flowchart LR\n");
        for (i, n) in self.nodes.iter().enumerate() {
            let label = mermaid_text(&n.name);
            let shape = match n.kind {
                NodeKind::Start => format!("([\"{label}\"])"),
                NodeKind::Stage => format!("[\"{label}\"]"),
                NodeKind::Crawler => format!("{{{{\"{label}\"}}}}"),
                NodeKind::Table => format!("[(\"{label}\")]"),
            };
            out.push_str(&format!("  n{i}{shape}\n"));
        }
        for e in &self.edges {
            let (Some(a), Some(b)) = (ids.get(&e.from), ids.get(&e.to)) else {
                continue;
            };
            let arrow = match e.kind {
                EdgeKind::Trigger => "-->",
                _ => "-.->",
            };
            out.push_str(&format!(
                "  n{a} {arrow}|\"{}\"| n{b}\n",
                mermaid_text(&e.label)
            ));
        }
        out.push_str("  classDef stage fill:#e8f0fe,stroke:#3367d6\n");
        out.push_str("  classDef crawler fill:#fef7e0,stroke:#e37400\n");
        out.push_str("  classDef table fill:#e6f4ea,stroke:#188038\n");
        out.push_str("  classDef start fill:#f1f3f4,stroke:#5f6368\n");
        for kind in [
            NodeKind::Start,
            NodeKind::Stage,
            NodeKind::Crawler,
            NodeKind::Table,
        ] {
            let list: Vec<String> = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.kind == kind)
                .map(|(i, _)| format!("n{i}"))
                .collect();
            if !list.is_empty() {
                out.push_str(&format!("  class {} {}\n", list.join(","), kind.prefix()));
            }
        }
        if !self.marks.is_empty() {
            out.push_str("  classDef added fill:#d4f8d4,stroke:#1a7f37,stroke-width:3px\n");
            out.push_str("  classDef changed fill:#fff3c4,stroke:#9a6700,stroke-width:3px\n");
            out.push_str(
                "  classDef removed fill:#ffd8d3,stroke:#cf222e,stroke-width:3px,stroke-dasharray:5 5\n",
            );
            for mark in [Mark::Added, Mark::Changed, Mark::Removed] {
                let list: Vec<String> = self
                    .nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| self.marks.get(&n.key()) == Some(&mark))
                    .map(|(i, _)| format!("n{i}"))
                    .collect();
                if !list.is_empty() {
                    out.push_str(&format!("  class {} {}\n", list.join(","), mark.class()));
                }
            }
        }
        out
    }

    /// Graphviz DOT text; every name is a quoted, escaped string.
    pub fn dot(&self) -> String {
        let ids = self.ids();
        let mut out = format!(
            "digraph {} {{\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
            dot_text(&self.pipeline)
        );
        for (i, n) in self.nodes.iter().enumerate() {
            let (shape, fill) = match n.kind {
                NodeKind::Start => ("oval", "#f1f3f4"),
                NodeKind::Stage => ("box", "#e8f0fe"),
                NodeKind::Crawler => ("hexagon", "#fef7e0"),
                NodeKind::Table => ("cylinder", "#e6f4ea"),
            };
            let (fill, style, extra) = match self.marks.get(&n.key()) {
                Some(Mark::Added) => ("#d4f8d4", "filled,bold", " (added)"),
                Some(Mark::Changed) => ("#fff3c4", "filled,bold", " (changed)"),
                Some(Mark::Removed) => ("#ffd8d3", "filled,dashed", " (removed)"),
                None => (fill, "filled", ""),
            };
            out.push_str(&format!(
                "  n{i} [label={}, shape={shape}, style=\"{style}\", fillcolor=\"{fill}\"];\n",
                dot_text(&format!("{}{extra}", n.name))
            ));
        }
        for e in &self.edges {
            let (Some(a), Some(b)) = (ids.get(&e.from), ids.get(&e.to)) else {
                continue;
            };
            let style = match e.kind {
                EdgeKind::Trigger => "solid",
                _ => "dashed",
            };
            out.push_str(&format!(
                "  n{a} -> n{b} [label={}, style={style}];\n",
                dot_text(&e.label)
            ));
        }
        out.push_str("}\n");
        out
    }

    fn ids(&self) -> BTreeMap<String, usize> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.key(), i))
            .collect()
    }
}

/// Text inside a quoted Mermaid label: quotes and the characters Mermaid
/// reads as markup become entity codes.
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '|' => out.push_str("#124;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A DOT quoted string.
fn dot_text(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = r#"
Resources:
  J:
    Type: AWS::Glue::Job
    Properties:
      Name: p-clean
      DefaultArguments: {"--pipec_input_raw": x, "--pipec_output_clean": y}
  S:
    Type: AWS::Glue::Trigger
    Properties: {Name: p-start, Type: ON_DEMAND, Actions: [{JobName: p-clean}]}
  A:
    Type: AWS::Glue::Trigger
    Properties:
      Name: p-after
      Type: CONDITIONAL
      Predicate: {Logical: AND, Conditions: [{JobName: p-clean, State: SUCCEEDED}]}
      Actions: [{CrawlerName: p-c}]
  C:
    Type: AWS::Glue::Crawler
    Properties: {Name: p-c, Targets: {CatalogTargets: [{Tables: [clean]}]}}
"#;

    #[test]
    fn nodes_and_edges_from_templates() {
        let g = from_templates("p", &[T]).unwrap();
        let keys: Vec<String> = g.nodes.iter().map(Node::key).collect();
        assert_eq!(
            keys,
            [
                "start:start",
                "stage:clean",
                "crawler:c",
                "table:clean",
                "table:raw"
            ]
        );
        assert!(g.edges.iter().any(|e| e.from == "stage:clean"
            && e.to == "crawler:c"
            && e.label == "after: succeeded"));
        assert!(
            g.edges
                .iter()
                .any(|e| e.from == "start:start" && e.label == "on demand")
        );
        assert_eq!(g.mermaid(), from_templates("p", &[T]).unwrap().mermaid());
    }

    #[test]
    fn union_marks_added_changed_removed() {
        let base = from_templates("p", &[T]).unwrap();
        let head_text = T
            .replace("p-c}]", "p-d}]")
            .replace("Name: p-c,", "Name: p-d,")
            .replace("x,", "z,");
        let head = from_templates("p", &[&head_text]).unwrap();
        let u = Graph::union(Some(&base), Some(&head));
        assert_eq!(u.marks.get("crawler:d"), Some(&Mark::Added));
        assert_eq!(u.marks.get("crawler:c"), Some(&Mark::Removed));
        assert_eq!(u.marks.get("stage:clean"), Some(&Mark::Changed));
        assert!(u.mermaid().contains("class "));
        assert!(u.dot().contains("(removed)"));
    }

    #[test]
    fn names_cannot_break_the_syntax() {
        assert_eq!(mermaid_text("a\"b|c"), "a#quot;b#124;c");
        assert_eq!(dot_text("a\"b\\"), "\"a\\\"b\\\\\"");
    }
}
