//! What a template change means, per resource (pure: no AWS, no I/O).
//!
//! In: the old template text of one stack (the deployed one; absent when the
//! stack does not exist yet) and the new one. Out: a `StackImpact`, one
//! `ResourceImpact` per resource that is added, removed, replaced or
//! modified: which properties force a replacement (`replacement.rs`), what a
//! removal or replacement does to the data under the resource's
//! `DeletionPolicy` / `UpdateReplacePolicy` (`DataFate`), changes of those
//! policies, and for Glue tables the schema changes graded for readers
//! (`tables.rs`). `deploy::gate` turns impacts into refusals; `pipec review`
//! reports them.

pub mod iam;
pub mod iceberg;
pub mod replacement;
pub mod tables;

pub use replacement::{Effect, Replacing};
pub use tables::{Grade, TableChange};

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

/// The resource types that hold data: losing one loses what is in it (a
/// KMS key: whatever it encrypted becomes unreadable).
pub const DATA_TYPES: [&str; 4] = [
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
];

/// Whether a resource type holds data (`DATA_TYPES`).
pub fn holds_data(resource_type: &str) -> bool {
    DATA_TYPES.contains(&resource_type)
}

/// Every resource of one stack that changes, new template order first, then
/// the removed ones in old template order. Unchanged resources are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct StackImpact {
    pub resources: Vec<ResourceImpact>,
}

impl StackImpact {
    /// True when nothing changes.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The impact of one resource, by logical ID.
    pub fn resource(&self, logical_id: &str) -> Option<&ResourceImpact> {
        self.resources.iter().find(|r| r.logical_id == logical_id)
    }
}

/// What happens to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceImpact {
    pub logical_id: String,
    /// The new type; the old one for a removed resource.
    pub resource_type: String,
    pub change: Change,
    /// The property changes that force a replacement or make the update
    /// fail, with the AWS page that says so (empty unless `Replaced` or
    /// `Rejected`).
    pub replacing: Vec<Replacing>,
    /// Property paths that differ (`TableInput/StorageDescriptor/Location`),
    /// in the order met; empty for added and removed resources.
    pub properties: Vec<String>,
    /// What happens to the data held by the old resource; `None` when it
    /// holds none or stays in place.
    pub data: Option<DataFate>,
    /// `DeletionPolicy` or `UpdateReplacePolicy` changes.
    pub policies: Vec<PolicyChange>,
    /// Glue table schema and layout changes, each graded (tables only).
    pub table: Vec<TableChange>,
}

impl ResourceImpact {
    /// Whether any table change is breaking for readers.
    pub fn breaking(&self) -> bool {
        self.table.iter().any(|c| c.grade() == Grade::Breaking)
    }
}

/// The kind of change to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Added,
    Removed,
    /// A new physical resource takes the old one's place (a property that
    /// cannot be updated in place changed, or the type did).
    Replaced,
    /// Updated in place.
    Modified,
    /// CloudFormation rejects the update: an immutable property changed on a
    /// resource that it never replaces (a KMS key's `KeySpec`).
    Rejected,
}

impl Change {
    pub fn word(self) -> &'static str {
        match self {
            Change::Added => "add",
            Change::Removed => "remove",
            Change::Replaced => "replace",
            Change::Modified => "modify",
            Change::Rejected => "rejected update",
        }
    }
}

/// What happens to the data of a removed or replaced resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataFate {
    /// The policy is `Retain`: the old resource and its data stay in the
    /// account, no longer managed by the stack (a later create of the same
    /// name fails until it is re-adopted or removed).
    Orphaned,
    /// The policy is `Delete` (or absent): CloudFormation deletes the old
    /// resource and its data.
    Lost,
}

impl DataFate {
    pub fn word(self) -> &'static str {
        match self {
            DataFate::Orphaned => "orphaned (retained, no longer managed)",
            DataFate::Lost => "deleted with its data",
        }
    }
}

/// A resource attribute that decides what removal or replacement does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyChange {
    /// `DeletionPolicy` or `UpdateReplacePolicy`.
    pub attribute: String,
    /// The effective values: an absent policy is `Delete`.
    pub old: String,
    pub new: String,
}

impl PolicyChange {
    /// True when the new policy no longer keeps the data (`Retain` or
    /// `Snapshot` to `Delete`) on a resource that holds data.
    pub fn exposes_data(&self, resource_type: &str) -> bool {
        holds_data(resource_type) && self.old != "Delete" && self.new == "Delete"
    }
}

/// Which side of the comparison could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    Old,
    New,
}

impl Side {
    fn word(self) -> &'static str {
        match self {
            Side::Old => "deployed",
            Side::New => "new",
        }
    }
}

/// A template that is not one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ImpactError {
    /// The text is neither YAML nor JSON.
    Unparsable { side: Side, detail: String },
    /// Parsed, but not a template: no `Resources` mapping, or a resource
    /// without a `Type` string.
    NotATemplate { side: Side, detail: String },
}

impl ImpactError {
    pub fn message(&self) -> String {
        match self {
            ImpactError::Unparsable { side, detail } => {
                format!("the {} template cannot be read: {detail}", side.word())
            }
            ImpactError::NotATemplate { side, detail } => {
                format!(
                    "the {} template is not a CloudFormation template: {detail}",
                    side.word()
                )
            }
        }
    }
}

impl std::fmt::Display for ImpactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ImpactError {}

/// One resource as the comparison needs it.
struct Resource {
    ty: String,
    properties: Value,
    deletion: String,
    replace: String,
    /// `Metadata.pipec:iceberg` of a job: the Iceberg tables it creates.
    iceberg: Value,
}

/// Compares the deployed template (`None`: the stack is new) with the new one.
pub fn compare(old: Option<&str>, new: &str) -> Result<StackImpact, ImpactError> {
    let old = match old {
        Some(text) => resources(text, Side::Old)?,
        None => IndexMap::new(),
    };
    let new = resources(new, Side::New)?;
    let mut out = Vec::new();
    for (id, n) in &new {
        let Some(o) = old.get(id) else {
            out.push(ResourceImpact {
                logical_id: id.clone(),
                resource_type: n.ty.clone(),
                change: Change::Added,
                replacing: Vec::new(),
                properties: Vec::new(),
                data: None,
                policies: Vec::new(),
                table: Vec::new(),
            });
            continue;
        };
        if let Some(r) = changed(id, o, n) {
            out.push(r);
        }
    }
    for (id, o) in &old {
        if new.contains_key(id) {
            continue;
        }
        out.push(ResourceImpact {
            logical_id: id.clone(),
            resource_type: o.ty.clone(),
            change: Change::Removed,
            replacing: Vec::new(),
            properties: Vec::new(),
            data: fate(&o.ty, &o.deletion),
            policies: Vec::new(),
            table: Vec::new(),
        });
    }
    Ok(StackImpact { resources: out })
}

/// The impact of a resource present in both templates; `None` if unchanged.
fn changed(id: &str, o: &Resource, n: &Resource) -> Option<ResourceImpact> {
    let mut policies = Vec::new();
    for (attribute, old, new) in [
        ("DeletionPolicy", &o.deletion, &n.deletion),
        ("UpdateReplacePolicy", &o.replace, &n.replace),
    ] {
        if old != new {
            policies.push(PolicyChange {
                attribute: attribute.to_string(),
                old: old.clone(),
                new: new.clone(),
            });
        }
    }
    let mut properties = Vec::new();
    differences(&o.properties, &n.properties, "", &mut properties);
    let iceberg = iceberg::compare(&o.iceberg, &n.iceberg);
    if policies.is_empty() && properties.is_empty() && iceberg.is_empty() && o.ty == n.ty {
        return None;
    }
    let (change, replacing) = if o.ty != n.ty {
        (Change::Replaced, vec![replacement::type_changed()])
    } else {
        let replacing = replacement::replacing(&n.ty, &o.properties, &n.properties);
        let change = if replacing.iter().any(|r| r.effect == Effect::Replacement) {
            Change::Replaced
        } else if !replacing.is_empty() {
            Change::Rejected
        } else {
            Change::Modified
        };
        (change, replacing)
    };
    // The old resource goes under its UpdateReplacePolicy when replaced.
    let data = match change {
        Change::Replaced => fate(&o.ty, &o.replace),
        _ => None,
    };
    let table = if change == Change::Modified && n.ty == "AWS::Glue::Table" {
        tables::compare(&o.properties, &n.properties)
    } else if n.ty == "AWS::Glue::Job" {
        iceberg
    } else {
        Vec::new()
    };
    Some(ResourceImpact {
        logical_id: id.to_string(),
        resource_type: n.ty.clone(),
        change,
        replacing,
        properties,
        data,
        policies,
        table,
    })
}

/// The fate of a data-holding resource that goes, under `policy`.
fn fate(ty: &str, policy: &str) -> Option<DataFate> {
    if !holds_data(ty) {
        return None;
    }
    // RetainExceptOnCreate keeps the resource on every delete but a failed
    // create's rollback, so a removal by update orphans it too.
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
    Some(match policy {
        "Retain" | "RetainExceptOnCreate" => DataFate::Orphaned,
        _ => DataFate::Lost,
    })
}

/// Collects the paths where two property values differ. Objects are walked
/// key by key; lists and scalars compare whole.
fn differences(old: &Value, new: &Value, path: &str, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) if !is_intrinsic(a) && !is_intrinsic(b) => {
            for (k, v) in b {
                let p = join(path, k);
                match a.get(k) {
                    Some(w) => differences(w, v, &p, out),
                    None => out.push(p),
                }
            }
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                out.push(join(path, k));
            }
        }
        _ if old != new => out.push(path.to_string()),
        _ => {}
    }
}

/// `{"Fn::Sub": ...}` and `{"Ref": ...}` are values, not property objects.
fn is_intrinsic(map: &serde_json::Map<String, Value>) -> bool {
    map.len() == 1
        && map
            .keys()
            .next()
            .is_some_and(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}/{key}")
    }
}

/// The value at a `/`-separated property path.
pub(crate) fn at<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('/')
        .filter(|p| !p.is_empty())
        .try_fold(value, |v, k| v.get(k))
}

/// A template value as text for people: strings as they are, `Fn::Sub` as
/// its pattern, anything else as compact JSON.
pub fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(m) if m.len() == 1 => match m.get("Fn::Sub") {
            Some(Value::String(s)) => s.clone(),
            _ => value.to_string(),
        },
        _ => value.to_string(),
    }
}

fn resources(text: &str, side: Side) -> Result<IndexMap<String, Resource>, ImpactError> {
    let file = crate::source::SourceFile::new("template", text);
    let value = match crate::yaml::parse(&file) {
        Ok((doc, _)) => doc.value,
        Err(d) => {
            return Err(ImpactError::Unparsable {
                side,
                detail: d
                    .first()
                    .map(|d| d.message.clone())
                    .unwrap_or_else(|| "no document".into()),
            });
        }
    };
    let not = |detail: String| ImpactError::NotATemplate { side, detail };
    let Some(map) = value.get("Resources").and_then(Value::as_object) else {
        return Err(not("it has no Resources mapping".into()));
    };
    let mut out = IndexMap::new();
    for (id, r) in map {
        let Some(ty) = r.get("Type").and_then(Value::as_str) else {
            return Err(not(format!("resource {id} has no Type")));
        };
        let policy = |key: &str| {
            r.get(key)
                .and_then(Value::as_str)
                .unwrap_or("Delete")
                .to_string()
        };
        out.insert(
            id.clone(),
            Resource {
                ty: ty.to_string(),
                properties: r
                    .get("Properties")
                    .cloned()
                    .unwrap_or(Value::Object(Default::default())),
                deletion: policy("DeletionPolicy"),
                replace: policy("UpdateReplacePolicy"),
                iceberg: r
                    .get("Metadata")
                    .and_then(|m| m.get("pipec:iceberg"))
                    .cloned()
                    .unwrap_or(Value::Null),
            },
        );
    }
    Ok(out)
}
