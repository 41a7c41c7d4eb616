//! Building CloudFormation templates: sections in CloudFormation's conventional
//! order, resources keyed by logical IDs derived from the user's names, and
//! the intrinsic functions in their long form (`Ref`, `Fn::Sub`, `Fn::GetAtt`).
//!
//! In: resources added by a stack renderer. Out: a `serde_json::Value` that
//! `emit::to_yaml` turns into the template text.

use serde_json::{Map, Value, json};

/// A template under construction.
pub struct Template {
    description: String,
    metadata: Map<String, Value>,
    resources: Map<String, Value>,
    outputs: Map<String, Value>,
}

impl Template {
    pub fn new(description: impl Into<String>) -> Template {
        Template {
            description: description.into(),
            metadata: Map::new(),
            resources: Map::new(),
            outputs: Map::new(),
        }
    }

    /// Adds a resource. Stateful ones pass `retain` so that neither a delete
    /// nor a replacement ever destroys data.
    pub fn resource(
        &mut self,
        id: &str,
        ty: &str,
        properties: Value,
        retain: bool,
    ) -> &mut Map<String, Value> {
        let mut r = Map::new();
        r.insert("Type".into(), ty.into());
        if retain {
            r.insert("DeletionPolicy".into(), "Retain".into());
            r.insert("UpdateReplacePolicy".into(), "Retain".into());
        }
        r.insert("Properties".into(), properties);
        self.resources.insert(id.to_string(), Value::Object(r));
        self.resources
            .get_mut(id)
            .and_then(Value::as_object_mut)
            .expect("just inserted")
    }

    /// Puts `key: value` in the `Tags` of every retained bucket. Stack tags
    /// reach resources only through the stack (and not on moto); this tag is
    /// part of the bucket's declaration and stays with it after a `destroy`,
    /// and `deploy` re-adopts it by this tag (`deploy::adopt`). The KMS key
    /// is recognized through the buckets it encrypts (moto fails on Tags of
    /// an AWS::KMS::Key created through CloudFormation).
    pub fn tag_retained(&mut self, key: &str, value: &str) {
        for r in self.resources.values_mut() {
            let Some(m) = r.as_object_mut() else { continue };
            let taggable = m.get("Type").and_then(Value::as_str) == Some("AWS::S3::Bucket");
            if !taggable || m.get("DeletionPolicy").and_then(Value::as_str) != Some("Retain") {
                continue;
            }
            if let Some(props) = m.get_mut("Properties").and_then(Value::as_object_mut) {
                props.insert(
                    "Tags".into(),
                    serde_json::json!([{"Key": key, "Value": value}]),
                );
            }
        }
    }

    /// Adds a resource built elsewhere (see `stacks::resource`).
    pub fn insert_raw(&mut self, id: &str, resource: Value) {
        self.resources.insert(id.to_string(), resource);
    }

    /// The `Metadata` mapping of a resource, made when missing.
    fn metadata_of(&mut self, id: &str) -> Option<&mut Map<String, Value>> {
        self.resources
            .get_mut(id)?
            .as_object_mut()?
            .entry("Metadata")
            .or_insert_with(|| json!({}))
            .as_object_mut()
    }

    /// Records that a checkov check does not apply to a resource, with the reason.
    pub fn skip_check(&mut self, id: &str, check: &str, reason: &str) {
        let Some(meta) = self.metadata_of(id) else {
            return;
        };
        let checkov = meta.entry("checkov").or_insert_with(|| json!({"skip": []}));
        if let Some(list) = checkov.get_mut("skip").and_then(Value::as_array_mut) {
            list.push(json!({"id": check, "comment": reason}));
        }
    }

    /// Silences a cfn-lint rule on one resource, with the reason kept beside it.
    pub fn ignore_lint(&mut self, id: &str, rule: &str, reason: &str) {
        let Some(meta) = self.metadata_of(id) else {
            return;
        };
        meta.insert(
            "cfn-lint".into(),
            json!({"config": {"ignore_checks": [rule]}}),
        );
        meta.insert(
            "pipec-lint-exception".into(),
            json!({"rule": rule, "reason": reason}),
        );
    }

    pub fn output(&mut self, id: &str, description: &str, value: Value) {
        self.outputs.insert(
            id.to_string(),
            json!({"Description": description, "Value": value}),
        );
    }

    pub fn metadata(&mut self, key: &str, value: Value) {
        self.metadata.insert(key.to_string(), value);
    }

    pub fn resource_count(&self) -> usize {
        self.resources.len()
    }

    pub fn into_value(self) -> Value {
        let mut t = Map::new();
        t.insert("AWSTemplateFormatVersion".into(), "2010-09-09".into());
        t.insert("Description".into(), self.description.into());
        if !self.metadata.is_empty() {
            t.insert("Metadata".into(), Value::Object(self.metadata));
        }
        t.insert("Resources".into(), Value::Object(self.resources));
        if !self.outputs.is_empty() {
            t.insert("Outputs".into(), Value::Object(self.outputs));
        }
        Value::Object(t)
    }
}

pub fn r#ref(id: &str) -> Value {
    json!({ "Ref": id })
}

/// `Fn::Sub` of a string, or the plain string when it substitutes nothing.
pub fn sub(s: &str) -> Value {
    if s.contains("${") {
        json!({ "Fn::Sub": s })
    } else {
        Value::String(s.to_string())
    }
}

pub fn get_att(id: &str, attr: &str) -> Value {
    json!({ "Fn::GetAtt": [id, attr] })
}

/// Escapes text for use inside `Fn::Sub`, where `${` starts a substitution.
pub fn sub_literal(s: &str) -> String {
    s.replace("${", "${!")
}
