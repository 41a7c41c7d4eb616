//! Contracts of what the `consumers` stack emits: Athena workgroups whose
//! result settings clients cannot override, result encryption without a key
//! where none applies, trust policies that name principals IAM accepts, and
//! the condition keys of the consumers' read policies.
//!
//! In: one resource. Out: messages for `contracts::check`.

use super::{Resource, Rule, strings};
use serde_json::Value;

fn workgroup_enforced(r: &Resource) -> Vec<String> {
    let c = "WorkGroupConfiguration";
    let has_output = r
        .get(&format!("{c}/ResultConfiguration/OutputLocation"))
        .is_some();
    let enforced = r
        .get(&format!("{c}/EnforceWorkGroupConfiguration"))
        .and_then(Value::as_bool)
        == Some(true);
    if has_output && !enforced {
        vec!["a workgroup that sets where results go must enforce its configuration, or clients may send results elsewhere unencrypted".into()]
    } else {
        Vec::new()
    }
}

fn results_key(r: &Resource) -> Vec<String> {
    let enc = "WorkGroupConfiguration/ResultConfiguration/EncryptionConfiguration";
    if r.str(&format!("{enc}/EncryptionOption")) == Some("SSE_S3")
        && r.get(&format!("{enc}/KmsKey")).is_some()
    {
        vec!["SSE_S3 result encryption takes no KmsKey".into()]
    } else {
        Vec::new()
    }
}

/// The statements of a policy document.
fn statements(doc: Option<&Value>) -> Vec<&Value> {
    match doc.and_then(|d| d.get("Statement")) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// Literal strings of a principal or condition value; intrinsics are skipped.
fn literals(v: Option<&Value>) -> Vec<&str> {
    strings(v)
}

fn trust_principals(r: &Resource) -> Vec<String> {
    let mut out = Vec::new();
    for s in statements(r.get("AssumeRolePolicyDocument")) {
        let Some(p) = s.get("Principal") else {
            continue;
        };
        if p.as_str() == Some("*") {
            out.push("a trust policy must not trust every principal (`*`)".into());
            continue;
        }
        for a in literals(p.get("AWS")) {
            let account = a.len() == 12 && a.chars().all(|c| c.is_ascii_digit());
            if a.contains('*') || a.contains('?') {
                out.push(format!(
                    "principal `{a}` holds a wildcard, which a Principal does not take"
                ));
            } else if !account && !a.starts_with("arn:") {
                out.push(format!(
                    "principal `{a}` is neither an account ID nor an ARN"
                ));
            }
        }
    }
    out
}

/// The inline policy documents of a role.
fn role_policies<'a>(r: &'a Resource) -> Vec<&'a Value> {
    r.get("Policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("PolicyDocument"))
        .collect()
}

fn via_service(r: &Resource) -> Vec<String> {
    let mut out = Vec::new();
    for doc in role_policies(r) {
        for s in statements(Some(doc)) {
            let Some(cond) = s.get("Condition").and_then(Value::as_object) else {
                continue;
            };
            for values in cond.values() {
                for v in literals(values.get("kms:ViaService")) {
                    if !(v.ends_with(".amazonaws.com") || v.ends_with(".amazonaws.com.cn")) {
                        out.push(format!("kms:ViaService `{v}` is not a service endpoint name such as s3.us-east-1.amazonaws.com"));
                    }
                }
                if let Some(list) = values.get("kms:ViaService").and_then(Value::as_array) {
                    for v in list {
                        if let Some(sub) = v.get("Fn::Sub").and_then(Value::as_str)
                            && !sub.ends_with(".amazonaws.com")
                        {
                            out.push(format!(
                                "kms:ViaService `{sub}` is not a service endpoint name"
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

fn prefix_condition(r: &Resource) -> Vec<String> {
    let mut out = Vec::new();
    for doc in role_policies(r) {
        for s in statements(Some(doc)) {
            let conditioned = s
                .get("Condition")
                .and_then(Value::as_object)
                .is_some_and(|c| c.values().any(|v| v.get("s3:prefix").is_some()));
            if !conditioned {
                continue;
            }
            for a in strings(s.get("Action")) {
                if !matches!(a, "s3:ListBucket" | "s3:ListBucketVersions") {
                    out.push(format!("{a} carries no s3:prefix, so a statement conditioned on it grants {a} nothing"));
                }
            }
        }
    }
    out
}

pub(super) static RULES: [Rule; 5] = [
    Rule {
        id: "athena-workgroup-enforces-results",
        resource_type: "AWS::Athena::WorkGroup",
        covers: &[
            "WorkGroupConfiguration/EnforceWorkGroupConfiguration",
            "WorkGroupConfiguration/ResultConfiguration",
        ],
        doc: "https://docs.aws.amazon.com/athena/latest/ug/workgroups-settings-override.html",
        check: workgroup_enforced,
    },
    Rule {
        id: "athena-results-sse-s3-no-key",
        resource_type: "AWS::Athena::WorkGroup",
        covers: &["WorkGroupConfiguration/ResultConfiguration/EncryptionConfiguration"],
        doc: "https://docs.aws.amazon.com/athena/latest/APIReference/API_EncryptionConfiguration.html",
        check: results_key,
    },
    Rule {
        id: "iam-trust-principals",
        resource_type: "AWS::IAM::Role",
        covers: &["AssumeRolePolicyDocument"],
        doc: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html",
        check: trust_principals,
    },
    Rule {
        id: "kms-via-service-endpoint",
        resource_type: "AWS::IAM::Role",
        covers: &["Policies"],
        doc: "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html",
        check: via_service,
    },
    Rule {
        id: "s3-prefix-condition-listing-only",
        resource_type: "AWS::IAM::Role",
        covers: &["Policies"],
        doc: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html",
        check: prefix_condition,
    },
];
