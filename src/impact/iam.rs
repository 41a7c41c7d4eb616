//! The IAM meaning of a template change: per role or policy, the grants
//! added and removed, and which added grants widen access.
//!
//! In: the old (absent for a new stack) and new (absent for a removed stack)
//! template text of one stack. Out: one `IamChange` per role, managed
//! policy, inline policy, bucket policy or key policy whose grants differ,
//! sorted by logical ID. A grant is one effect x principal x action x
//! resource x condition; statements are split into grants so that a
//! reorganised policy with the same effect is no change.
//!
//! An added grant widens access when nothing in the old policy already
//! allowed it and it is one of: a new action, a resource pattern wider than
//! an old one (a shorter prefix, `*`), a condition dropped or changed, a new
//! principal, or a resource no old grant of that action was near (a grant
//! moved to a sibling, such as a script key that changed with its hash, is
//! not). A removed `Deny` widens too. Every grant of a new role is flagged.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// One permission, as text: intrinsics are shown as CloudFormation would
/// substitute them (`Fn::Sub` text, `${Ref}`, `${Resource.Attr}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Grant {
    pub effect: Effect,
    /// Who, for resource and trust policies (`Service:glue.amazonaws.com`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// `s3:GetObject`; `NOT s3:*` for a `NotAction`.
    pub action: String,
    /// An ARN or pattern; `NOT ...` for a `NotResource`; `(this role)` for a trust policy.
    pub resource: String,
    /// The statement's condition as compact JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// Why a grant widens access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Widening {
    /// The role or policy is new: everything it grants is new.
    NewPolicy,
    /// No old grant allowed this action on anything.
    NewAction,
    /// The resource pattern covers an old one and more (a shorter prefix, `*`).
    WiderResource,
    /// The same action and resource with a condition dropped or changed.
    ConditionChanged,
    /// A principal that no old statement named.
    NewPrincipal,
    /// A resource that no old grant of this action reached or was next to.
    NewResource,
    /// A `Deny` that is gone.
    DenyRemoved,
}

impl Widening {
    pub fn describe(self) -> &'static str {
        match self {
            Widening::NewPolicy => "new role or policy",
            Widening::NewAction => "new action",
            Widening::WiderResource => "wider resource",
            Widening::ConditionChanged => "condition dropped or changed",
            Widening::NewPrincipal => "new principal",
            Widening::NewResource => "new resource",
            Widening::DenyRemoved => "deny removed",
        }
    }
}

/// A grant added or removed, with why it widens access when it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantChange {
    #[serde(flatten)]
    pub grant: Grant,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widening: Option<Widening>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Added,
    Removed,
    Changed,
}

/// The grants of one role or policy that differ between two templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IamChange {
    pub logical_id: String,
    /// `AWS::IAM::Role`, `AWS::IAM::ManagedPolicy`, `AWS::S3::BucketPolicy`, ...
    pub resource_type: String,
    /// The role's or policy's own name when the template sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub status: Status,
    pub added: Vec<GrantChange>,
    pub removed: Vec<GrantChange>,
}

impl IamChange {
    /// Whether any change of this role or policy widens access.
    pub fn widens(&self) -> bool {
        self.added
            .iter()
            .chain(&self.removed)
            .any(|g| g.widening.is_some())
    }
}

/// The IAM changes between two versions of one stack's template.
/// `Err` is a template that is not YAML or not a mapping.
pub fn diff(old: Option<&str>, new: Option<&str>) -> Result<Vec<IamChange>, String> {
    let old = old.map(parse).transpose()?;
    let new = new.map(parse).transpose()?;
    Ok(diff_values(old.as_ref(), new.as_ref()))
}

/// `diff` over templates already parsed.
pub fn diff_values(old: Option<&Value>, new: Option<&Value>) -> Vec<IamChange> {
    let old = old.map(holders).unwrap_or_default();
    let new = new.map(holders).unwrap_or_default();
    let ids: BTreeSet<&String> = old.iter().chain(&new).map(|h| &h.logical_id).collect();
    let mut out = Vec::new();
    for id in ids {
        let o = old.iter().find(|h| &h.logical_id == id);
        let n = new.iter().find(|h| &h.logical_id == id);
        if let Some(c) = compare(o, n) {
            out.push(c);
        }
    }
    out
}

fn parse(text: &str) -> Result<Value, String> {
    let file = crate::source::SourceFile::new("template", text.to_string());
    match crate::yaml::parse(&file) {
        Ok((doc, _)) if doc.value.is_object() => Ok(doc.value),
        Ok(_) => Err("the template is not a YAML mapping".into()),
        Err(diags) => Err(diags
            .first()
            .map(|d| d.message.clone())
            .unwrap_or_else(|| "the template is not YAML".into())),
    }
}

/// A resource that carries policy documents, with its grants.
struct Holder {
    logical_id: String,
    resource_type: String,
    name: Option<String>,
    grants: BTreeSet<Grant>,
}

/// Every role and policy of a template.
fn holders(template: &Value) -> Vec<Holder> {
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (id, r) in resources {
        let ty = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        let props = r.get("Properties").unwrap_or(&Value::Null);
        let mut grants = BTreeSet::new();
        let name_key = match ty {
            "AWS::IAM::Role" => {
                if let Some(trust) = props.get("AssumeRolePolicyDocument") {
                    document(trust, Some("(this role)"), &mut grants);
                }
                for p in props
                    .get("Policies")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(d) = p.get("PolicyDocument") {
                        document(d, None, &mut grants);
                    }
                }
                "RoleName"
            }
            "AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy" | "AWS::IAM::RolePolicy" => {
                if let Some(d) = props.get("PolicyDocument") {
                    document(d, None, &mut grants);
                }
                if ty == "AWS::IAM::ManagedPolicy" {
                    "ManagedPolicyName"
                } else {
                    "PolicyName"
                }
            }
            "AWS::S3::BucketPolicy" => {
                if let Some(d) = props.get("PolicyDocument") {
                    document(d, None, &mut grants);
                }
                "Bucket"
            }
            "AWS::KMS::Key" => {
                if let Some(d) = props.get("KeyPolicy") {
                    document(d, Some("(this key)"), &mut grants);
                }
                "Description"
            }
            _ => continue,
        };
        let name = props
            .get(name_key)
            .map(text)
            .filter(|_| ty != "AWS::KMS::Key");
        out.push(Holder {
            logical_id: id.clone(),
            resource_type: ty.to_string(),
            name,
            grants,
        });
    }
    out
}

/// Splits a policy document into grants. `own` is the resource a statement
/// without `Resource` applies to (trust and key policies).
fn document(doc: &Value, own: Option<&str>, out: &mut BTreeSet<Grant>) {
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => return,
    };
    for s in statements {
        let effect = match s.get("Effect").and_then(Value::as_str) {
            Some("Deny") => Effect::Deny,
            _ => Effect::Allow,
        };
        let actions = field(s, "Action", "NotAction");
        let resources = match (s.get("Resource"), s.get("NotResource"), own) {
            (None, None, Some(own)) => vec![own.to_string()],
            _ => field(s, "Resource", "NotResource"),
        };
        let principals = principals(s);
        let condition = s.get("Condition").map(compact);
        for p in &principals {
            for a in &actions {
                for r in &resources {
                    out.insert(Grant {
                        effect,
                        principal: p.clone(),
                        action: a.clone(),
                        resource: r.clone(),
                        condition: condition.clone(),
                    });
                }
            }
        }
    }
}

/// The values of `key` (or, marked `NOT`, of its negation `not_key`).
fn field(s: &Value, key: &str, not_key: &str) -> Vec<String> {
    let (v, not) = match (s.get(key), s.get(not_key)) {
        (Some(v), _) => (v, false),
        (None, Some(v)) => (v, true),
        (None, None) => return vec!["*".into()],
    };
    let items = match v {
        Value::Array(a) => a.iter().map(text).collect(),
        v => vec![text(v)],
    };
    items
        .into_iter()
        .map(|t| if not { format!("NOT {t}") } else { t })
        .collect()
}

/// `Principal` as `Kind:value` entries; `[None]` for identity policies.
fn principals(s: &Value) -> Vec<Option<String>> {
    let (v, not) = match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(v), _) => (v, ""),
        (None, Some(v)) => (v, "NOT "),
        (None, None) => return vec![None],
    };
    match v {
        Value::Object(m) => {
            let mut out = Vec::new();
            for (kind, who) in m {
                let list = match who {
                    Value::Array(a) => a.iter().map(text).collect(),
                    w => vec![text(w)],
                };
                out.extend(list.into_iter().map(|w| Some(format!("{not}{kind}:{w}"))));
            }
            out
        }
        v => vec![Some(format!("{not}{}", text(v)))],
    }
}

/// A value as the text CloudFormation would put there.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) if m.len() == 1 => {
            let (k, a) = m
                .iter()
                .next()
                .map(|(k, a)| (k.as_str(), a))
                .unwrap_or(("", v));
            match (k, a) {
                ("Fn::Sub", Value::String(s)) => s.clone(),
                ("Fn::Sub", Value::Array(parts)) if !parts.is_empty() => {
                    let vars = parts.get(1).map(compact).unwrap_or_default();
                    format!("{} {vars}", text(&parts[0])).trim_end().to_string()
                }
                ("Ref", Value::String(r)) => format!("${{{r}}}"),
                ("Fn::GetAtt", Value::Array(p)) => {
                    let p: Vec<String> = p.iter().map(text).collect();
                    format!("${{{}}}", p.join("."))
                }
                ("Fn::GetAtt", Value::String(p)) => format!("${{{p}}}"),
                _ => compact(v),
            }
        }
        v => compact(v),
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn compare(old: Option<&Holder>, new: Option<&Holder>) -> Option<IamChange> {
    let (id, ty, name) = match (old, new) {
        (_, Some(h)) | (Some(h), None) => (&h.logical_id, &h.resource_type, &h.name),
        (None, None) => return None,
    };
    let empty = BTreeSet::new();
    let before = old.map_or(&empty, |h| &h.grants);
    let after = new.map_or(&empty, |h| &h.grants);
    let gone: Vec<&Grant> = before.difference(after).collect();
    let status = match (old, new) {
        (None, _) => Status::Added,
        (_, None) => Status::Removed,
        _ => Status::Changed,
    };
    let added: Vec<GrantChange> = after
        .difference(before)
        .map(|g| GrantChange {
            grant: g.clone(),
            widening: if old.is_none() {
                Some(Widening::NewPolicy)
            } else {
                widening(g, before, &gone)
            },
        })
        .collect();
    let removed: Vec<GrantChange> = gone
        .iter()
        .map(|g| GrantChange {
            grant: (*g).clone(),
            widening: (g.effect == Effect::Deny && new.is_some()).then_some(Widening::DenyRemoved),
        })
        .collect();
    if added.is_empty() && removed.is_empty() && old.is_some() && new.is_some() {
        return None;
    }
    Some(IamChange {
        logical_id: id.clone(),
        resource_type: ty.clone(),
        name: name.clone(),
        status,
        added,
        removed,
    })
}

/// Why an added grant widens what the old grants allowed, if it does.
fn widening(g: &Grant, before: &BTreeSet<Grant>, gone: &[&Grant]) -> Option<Widening> {
    if g.effect == Effect::Deny {
        return None;
    }
    let allows: Vec<&Grant> = before
        .iter()
        .filter(|b| b.effect == Effect::Allow)
        .collect();
    let same_principal = |b: &&Grant| match (&b.principal, &g.principal) {
        (None, None) => true,
        (Some(bp), Some(gp)) => glob(bp, gp),
        _ => false,
    };
    let covered = allows.iter().filter(|b| same_principal(b)).any(|b| {
        glob_action(&b.action, &g.action)
            && glob(&b.resource, &g.resource)
            && (b.condition.is_none() || b.condition == g.condition)
    });
    if covered {
        return None;
    }
    if g.principal.is_some() && !allows.iter().any(same_principal) {
        return Some(Widening::NewPrincipal);
    }
    let by_action: Vec<&&Grant> = allows
        .iter()
        .filter(|b| same_principal(b) && glob_action(&b.action, &g.action))
        .collect();
    if by_action.is_empty() {
        return Some(Widening::NewAction);
    }
    if by_action.iter().any(|b| b.resource == g.resource) {
        return Some(Widening::ConditionChanged);
    }
    if g.resource == "*" || by_action.iter().any(|b| glob(&g.resource, &b.resource)) {
        return Some(Widening::WiderResource);
    }
    let moved = gone.iter().any(|r| {
        r.effect == Effect::Allow
            && r.principal == g.principal
            && r.action.eq_ignore_ascii_case(&g.action)
            && parent(&r.resource) == parent(&g.resource)
            && !g.resource.contains(['*', '?'])
    });
    if moved {
        return None;
    }
    Some(Widening::NewResource)
}

/// The resource's container: the ARN up to its last `/` (or `:`).
fn parent(arn: &str) -> &str {
    match arn.rfind('/').or_else(|| arn.rfind(':')) {
        Some(i) => &arn[..i],
        None => "",
    }
}

/// IAM action names compare ignoring case.
fn glob_action(pattern: &str, action: &str) -> bool {
    glob(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
}

/// Whether the IAM pattern (`*` any run, `?` one character) matches all of
/// `text`, read literally. Iterative, with one backtrack point: linear in
/// practice and never recursive on user text.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(statements: &str) -> String {
        format!(
            "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: r\n      AssumeRolePolicyDocument:\n        Statement:\n        - Effect: Allow\n          Principal: {{Service: glue.amazonaws.com}}\n          Action: sts:AssumeRole\n      Policies:\n      - PolicyName: p\n        PolicyDocument:\n          Statement:\n{statements}"
        )
    }

    fn one(old: &str, new: &str) -> IamChange {
        let mut d = diff(Some(&role(old)), Some(&role(new))).unwrap();
        assert_eq!(d.len(), 1, "{d:#?}");
        d.remove(0)
    }

    const GET: &str = "          - {Effect: Allow, Action: [s3:GetObject], Resource: [\"arn:aws:s3:::b/orders/*\"]}\n";

    #[test]
    fn globs() {
        assert!(glob("*", "anything"));
        assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/orders/x"));
        assert!(!glob("arn:aws:s3:::b/orders/*", "arn:aws:s3:::b/*"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn same_grants_in_other_statements_are_no_change() {
        let split = "          - {Effect: Allow, Action: s3:GetObject, Resource: \"arn:aws:s3:::b/orders/*\"}\n";
        assert!(
            diff(Some(&role(GET)), Some(&role(split)))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_new_action_widens() {
        let c = one(
            GET,
            "          - {Effect: Allow, Action: [s3:GetObject, s3:PutObject], Resource: [\"arn:aws:s3:::b/orders/*\"]}\n",
        );
        assert_eq!(c.added.len(), 1);
        assert_eq!(c.added[0].grant.action, "s3:PutObject");
        assert_eq!(c.added[0].widening, Some(Widening::NewAction));
    }

    #[test]
    fn a_shorter_prefix_or_star_widens_a_longer_one_narrows() {
        let wider = one(
            GET,
            "          - {Effect: Allow, Action: [s3:GetObject], Resource: [\"arn:aws:s3:::b/*\"]}\n",
        );
        assert_eq!(wider.added[0].widening, Some(Widening::WiderResource));
        let star = one(
            GET,
            "          - {Effect: Allow, Action: [s3:GetObject], Resource: \"*\"}\n",
        );
        assert_eq!(star.added[0].widening, Some(Widening::WiderResource));
        let narrower = one(
            GET,
            "          - {Effect: Allow, Action: [s3:GetObject], Resource: [\"arn:aws:s3:::b/orders/2024/*\"]}\n",
        );
        assert!(!narrower.widens(), "{narrower:#?}");
        assert_eq!(narrower.removed.len(), 1);
    }

    #[test]
    fn a_moved_sibling_is_not_widening_a_new_bucket_is() {
        let script = |h: &str| {
            format!(
                "          - {{Effect: Allow, Action: [s3:GetObject], Resource: [{{\"Fn::Sub\": \"arn:${{AWS::Partition}}:s3:::a/scripts/clean-{h}.py\"}}]}}\n"
            )
        };
        let moved = one(&script("aaaa"), &script("bbbb"));
        assert!(!moved.widens());
        assert_eq!(
            moved.added[0].grant.resource,
            "arn:${AWS::Partition}:s3:::a/scripts/clean-bbbb.py"
        );
        let more = format!(
            "{GET}          - {{Effect: Allow, Action: [s3:GetObject], Resource: [\"arn:aws:s3:::other/x/*\"]}}\n"
        );
        let c = one(GET, &more);
        assert_eq!(c.added[0].widening, Some(Widening::NewResource));
    }

    #[test]
    fn conditions_principals_and_denies() {
        let cond = "          - {Effect: Allow, Action: [s3:ListBucket], Resource: \"arn:aws:s3:::b\", Condition: {StringLike: {s3:prefix: [orders/*]}}}\n";
        let bare =
            "          - {Effect: Allow, Action: [s3:ListBucket], Resource: \"arn:aws:s3:::b\"}\n";
        assert_eq!(
            one(cond, bare).added[0].widening,
            Some(Widening::ConditionChanged)
        );
        assert!(!one(bare, cond).widens());
        let deny = format!(
            "{GET}          - {{Effect: Deny, Action: [s3:DeleteObject], Resource: \"*\"}}\n"
        );
        let c = one(&deny, GET);
        assert_eq!(c.removed[0].widening, Some(Widening::DenyRemoved));
        let trust = role(GET).replace(
            "Principal: {Service: glue.amazonaws.com}",
            "Principal: {Service: [glue.amazonaws.com, lambda.amazonaws.com]}",
        );
        let d = diff(Some(&role(GET)), Some(&trust)).unwrap();
        assert_eq!(d[0].added[0].widening, Some(Widening::NewPrincipal));
        assert_eq!(
            d[0].added[0].grant.principal.as_deref(),
            Some("Service:lambda.amazonaws.com")
        );
    }

    #[test]
    fn new_and_removed_roles() {
        let added = diff(None, Some(&role(GET))).unwrap();
        assert_eq!(added[0].status, Status::Added);
        assert_eq!(added[0].name.as_deref(), Some("r"));
        assert!(
            added[0]
                .added
                .iter()
                .all(|g| g.widening == Some(Widening::NewPolicy))
        );
        let removed = diff(Some(&role(GET)), None).unwrap();
        assert_eq!(removed[0].status, Status::Removed);
        assert!(!removed[0].widens());
        assert!(diff(Some("[1"), None).is_err());
    }
}
