//! The comparison behind `pipec review`: two trees of `generated/` in, a
//! `Review` out (pure: no git, no AWS).
//!
//! Pipelines are the folders that hold a `manifest.yaml` (`etl`, or
//! `etl/dev` when a pipeline has environments); the manifest says which
//! files are its stacks and scripts. Each stack's two templates go through
//! `impact::compare` (resources, replacement, data, tables) and
//! `impact::iam::diff`; each script through a line diff.

use super::Concern;
use super::ReviewError;
use super::tree::Tree;
use crate::graph::{Graph, Mark};
use crate::impact::iam::{self, IamChange};
use crate::impact::{self, Change, Grade, ResourceImpact, TableChange};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Whether a pipeline, stack or script is new, gone or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Added,
    Removed,
    Changed,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Changed => "changed",
        }
    }

    fn of<T>(old: &Option<T>, new: &Option<T>) -> Status {
        match (old, new) {
            (None, _) => Status::Added,
            (_, None) => Status::Removed,
            _ => Status::Changed,
        }
    }
}

/// Everything a change means.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// The versions compared, for people.
    pub base: String,
    pub head: String,
    /// The concerns that occur, in `Concern` order.
    pub concerns: Vec<Concern>,
    /// Changed pipelines only, by folder.
    pub pipelines: Vec<PipelineReview>,
}

impl Review {
    pub fn has(&self, c: Concern) -> bool {
        self.concerns.contains(&c)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PipelineReview {
    /// The folder under `generated/`: `etl`, `etl/dev`.
    pub dir: String,
    pub pipeline: String,
    pub status: Status,
    pub concerns: Vec<Concern>,
    /// Changed stacks, in the new manifest's order, then removed ones.
    pub stacks: Vec<StackReview>,
    /// Data at risk, across the stacks.
    pub data_at_risk: Vec<Risk>,
    /// Graded table changes, across the stacks.
    pub tables: Vec<TableReview>,
    pub scripts: Vec<ScriptReview>,
    /// Node keys (`stage:clean`) of the workflow graph by mark.
    pub graph: GraphMarks,
    /// Both versions' workflow as one graph, nodes marked.
    #[serde(skip)]
    pub workflow: Graph,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct GraphMarks {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackReview {
    pub name: String,
    pub status: Status,
    pub resources: Vec<ResourceImpact>,
    pub iam: Vec<IamChange>,
}

/// Data that a change can lose or leave behind.
#[derive(Debug, Clone, Serialize)]
pub struct Risk {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub what: String,
}

/// One table change, graded for readers.
#[derive(Debug, Clone, Serialize)]
pub struct TableReview {
    pub stack: String,
    pub table: String,
    pub grade: Grade,
    pub change: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScriptReview {
    /// The stage, or `pipec_runtime` for the shared runtime.
    pub stage: String,
    pub path: String,
    pub status: Status,
    pub lines_added: usize,
    pub lines_removed: usize,
    /// A unified diff, three lines of context.
    pub diff: String,
}

/// What a manifest says, as far as a review needs it.
struct Manifest {
    pipeline: String,
    /// (short name, template path), in order.
    stacks: Vec<(String, String)>,
    /// (stage, script path), the runtime last.
    scripts: Vec<(String, String)>,
}

/// Compares two trees of `generated/`.
pub fn compare(base: &Tree, head: &Tree) -> Result<Review, ReviewError> {
    let dirs = |t: &Tree| -> BTreeSet<String> {
        t.files
            .keys()
            .filter_map(|p| {
                if p == "manifest.yaml" {
                    Some(String::new())
                } else {
                    p.strip_suffix("/manifest.yaml").map(str::to_string)
                }
            })
            .collect()
    };
    let all: BTreeSet<String> = dirs(base).union(&dirs(head)).cloned().collect();
    let mut pipelines = Vec::new();
    for dir in all {
        if let Some(p) = pipeline(base, head, &dir)? {
            pipelines.push(p);
        }
    }
    let concerns: Vec<Concern> = Concern::ALL
        .into_iter()
        .filter(|c| pipelines.iter().any(|p| p.concerns.contains(c)))
        .collect();
    Ok(Review {
        base: base.label.clone(),
        head: head.label.clone(),
        concerns,
        pipelines,
    })
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

fn parse_yaml(path: &str, text: &str) -> Result<Value, ReviewError> {
    let file = crate::source::SourceFile::new(path, text.to_string());
    match crate::yaml::parse(&file) {
        Ok((doc, _)) if doc.value.is_object() => Ok(doc.value),
        Ok(_) => Err(ReviewError::Malformed {
            path: path.into(),
            detail: "not a YAML mapping".into(),
        }),
        Err(d) => Err(ReviewError::Malformed {
            path: path.into(),
            detail: d
                .first()
                .map(|d| d.message.clone())
                .unwrap_or_else(|| "not YAML".into()),
        }),
    }
}

fn manifest(tree: &Tree, dir: &str) -> Result<Option<Manifest>, ReviewError> {
    let path = join(dir, "manifest.yaml");
    let Some(text) = tree.get(&path) else {
        return Ok(None);
    };
    let v = parse_yaml(&path, text)?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let pipeline = s(&v, "pipeline").ok_or_else(|| ReviewError::Malformed {
        path: path.clone(),
        detail: "no `pipeline:` name".into(),
    })?;
    let list = |k: &str| {
        v.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let stacks = list("stacks")
        .iter()
        .filter_map(|st| Some((s(st, "name")?, s(st, "template")?)))
        .collect();
    let mut scripts: Vec<(String, String)> = list("scripts")
        .iter()
        .filter_map(|sc| Some((s(sc, "stage")?, s(sc, "path")?)))
        .collect();
    if let Some(rt) = v.get("runtime").and_then(|r| s(r, "path")) {
        scripts.push(("pipec_runtime".into(), rt));
    }
    Ok(Some(Manifest {
        pipeline,
        stacks,
        scripts,
    }))
}

/// An empty template: what a removed stack compares against.
const NO_TEMPLATE: &str = "Resources: {}\n";

fn pipeline(base: &Tree, head: &Tree, dir: &str) -> Result<Option<PipelineReview>, ReviewError> {
    let old = manifest(base, dir)?;
    let new = manifest(head, dir)?;
    let status = Status::of(&old, &new);
    let Some(name) = new.as_ref().or(old.as_ref()).map(|m| m.pipeline.clone()) else {
        return Ok(None);
    };
    let empty = Vec::new();
    let old_stacks = old.as_ref().map_or(&empty, |m| &m.stacks);
    let new_stacks = new.as_ref().map_or(&empty, |m| &m.stacks);
    let mut names: Vec<&String> = new_stacks.iter().map(|(n, _)| n).collect();
    for (n, _) in old_stacks {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let template =
        |tree: &Tree, list: &[(String, String)], name: &str| -> Option<(String, String)> {
            let (_, rel) = list.iter().find(|(n, _)| n == name)?;
            let path = join(dir, rel);
            tree.get(&path).map(|t| (path, t.to_string()))
        };
    let mut stacks = Vec::new();
    let mut risks = Vec::new();
    let mut tables = Vec::new();
    let mut base_values = Vec::new();
    let mut head_values = Vec::new();
    let mut concerns = BTreeSet::new();
    for name in names {
        let o = template(base, old_stacks, name);
        let n = template(head, new_stacks, name);
        // Parsed once per version; an unchanged template is shared.
        let ov = o
            .as_ref()
            .map(|(p, t)| parse_yaml(p, t).map(Rc::new))
            .transpose()?;
        let same = matches!((&o, &n), (Some((_, a)), Some((_, b))) if a == b);
        let nv = if same {
            ov.clone()
        } else {
            n.as_ref()
                .map(|(p, t)| parse_yaml(p, t).map(Rc::new))
                .transpose()?
        };
        if let Some(v) = &ov {
            base_values.push(v.clone());
        }
        if let Some(v) = &nv {
            head_values.push(v.clone());
        }
        if same || (o.is_none() && n.is_none()) {
            continue;
        }
        let new_text = n.as_ref().map_or(NO_TEMPLATE, |(_, t)| t.as_str());
        let impact =
            impact::compare(o.as_ref().map(|(_, t)| t.as_str()), new_text).map_err(|e| {
                ReviewError::Malformed {
                    path: n
                        .as_ref()
                        .or(o.as_ref())
                        .map(|(p, _)| p.clone())
                        .unwrap_or_default(),
                    detail: e.message(),
                }
            })?;
        let iam = iam::diff_values(ov.as_deref(), nv.as_deref());
        if iam.iter().any(IamChange::widens) {
            concerns.insert(Concern::IamWidening);
        }
        for r in &impact.resources {
            let table_name = table_name(nv.as_deref(), &r.logical_id)
                .or_else(|| table_name(ov.as_deref(), &r.logical_id))
                .unwrap_or_else(|| r.logical_id.clone());
            risk(name, r, &mut risks);
            for c in &r.table {
                tables.push(TableReview {
                    stack: name.clone(),
                    table: table_name.clone(),
                    grade: c.grade(),
                    change: c.describe(),
                });
            }
            let table_gone = r.resource_type == "AWS::Glue::Table"
                && matches!(r.change, Change::Removed | Change::Replaced);
            if table_gone {
                tables.push(TableReview {
                    stack: name.clone(),
                    table: table_name.clone(),
                    grade: Grade::Breaking,
                    change: if r.change == Change::Removed {
                        "table removed".into()
                    } else {
                        "table replaced: a new table takes its place".into()
                    },
                });
            }
            if r.breaking() || table_gone {
                concerns.insert(Concern::BreakingSchema);
            }
        }
        stacks.push(StackReview {
            name: name.clone(),
            status: Status::of(&o, &n),
            resources: impact.resources,
            iam,
        });
    }
    if !risks.is_empty() {
        concerns.insert(Concern::DataLoss);
    }
    let scripts = scripts(base, head, dir, old.as_ref(), new.as_ref());
    let graph_of = |values: &[Rc<Value>], m: &Option<Manifest>| {
        m.as_ref().map(|m| {
            let refs: Vec<&Value> = values.iter().map(|v| &**v).collect();
            crate::graph::from_values(&m.pipeline, &refs)
        })
    };
    let workflow = Graph::union(
        graph_of(&base_values, &old).as_ref(),
        graph_of(&head_values, &new).as_ref(),
    );
    let marked = |mark: Mark| -> Vec<String> {
        workflow
            .marks
            .iter()
            .filter(|(_, m)| **m == mark)
            .map(|(k, _)| k.clone())
            .collect()
    };
    let graph = GraphMarks {
        added: marked(Mark::Added),
        changed: marked(Mark::Changed),
        removed: marked(Mark::Removed),
    };
    if status == Status::Changed && stacks.is_empty() && scripts.is_empty() {
        return Ok(None);
    }
    Ok(Some(PipelineReview {
        dir: dir.to_string(),
        pipeline: name,
        status,
        concerns: concerns.into_iter().collect(),
        stacks,
        data_at_risk: risks,
        tables,
        scripts,
        graph,
        workflow,
    }))
}

/// The Glue table name of a logical ID in a template, if it is a table.
fn table_name(template: Option<&Value>, id: &str) -> Option<String> {
    template?
        .get("Resources")?
        .get(id)?
        .pointer("/Properties/TableInput/Name")?
        .as_str()
        .map(str::to_string)
}

/// The data a resource change puts at risk.
fn risk(stack: &str, r: &ResourceImpact, out: &mut Vec<Risk>) {
    let mut push = |what: String| {
        out.push(Risk {
            stack: stack.to_string(),
            logical_id: r.logical_id.clone(),
            resource_type: r.resource_type.clone(),
            what,
        })
    };
    if let Some(fate) = r.data {
        let how = match r.change {
            Change::Replaced => "replaced",
            _ => "removed",
        };
        push(format!("{how}: the old one is {}", fate.word()));
    }
    for p in &r.policies {
        if p.exposes_data(&r.resource_type) {
            push(format!(
                "{} changed from {} to {}: a later removal deletes the data",
                p.attribute, p.old, p.new
            ));
        }
    }
    for c in &r.table {
        if matches!(c, TableChange::PartitionKeysChanged { .. }) {
            push(format!(
                "{}: data already written is laid out by the old keys",
                c.describe()
            ));
        }
    }
}

fn scripts(
    base: &Tree,
    head: &Tree,
    dir: &str,
    old: Option<&Manifest>,
    new: Option<&Manifest>,
) -> Vec<ScriptReview> {
    let empty = Vec::new();
    let o = old.map_or(&empty, |m| &m.scripts);
    let n = new.map_or(&empty, |m| &m.scripts);
    let mut stages: BTreeMap<&String, (Option<&String>, Option<&String>)> = BTreeMap::new();
    for (stage, path) in o {
        stages.entry(stage).or_default().0 = Some(path);
    }
    for (stage, path) in n {
        stages.entry(stage).or_default().1 = Some(path);
    }
    let mut out = Vec::new();
    for (stage, (op, np)) in stages {
        let ot = op.and_then(|p| base.get(&join(dir, p)));
        let nt = np.and_then(|p| head.get(&join(dir, p)));
        if ot == nt {
            continue;
        }
        let path = np.or(op).cloned().unwrap_or_default();
        let (a, b) = (ot.unwrap_or(""), nt.unwrap_or(""));
        let diff = similar::TextDiff::from_lines(a, b);
        let (mut added, mut removed) = (0, 0);
        for c in diff.iter_all_changes() {
            match c.tag() {
                similar::ChangeTag::Insert => added += 1,
                similar::ChangeTag::Delete => removed += 1,
                similar::ChangeTag::Equal => {}
            }
        }
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("a/{}", op.unwrap_or(&path)),
                &format!("b/{}", np.unwrap_or(&path)),
            )
            .to_string();
        out.push(ScriptReview {
            stage: stage.clone(),
            path,
            status: Status::of(&ot, &nt),
            lines_added: added,
            lines_removed: removed,
            diff: text,
        });
    }
    out
}
