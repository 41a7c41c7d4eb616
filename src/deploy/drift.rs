//! Drift (`pipec diff --drift`): what changed in AWS behind pipec's back.
//! Read only, apart from starting CloudFormation's drift detection.
//!
//! In: a `diff::Comparison` (the stacks that are deployed, their templates,
//! the listed script keys). Out: a `Report`: per deployed stack, the result
//! of CloudFormation drift detection (DetectStackDrift, polled with
//! DescribeStackDriftDetectionStatus, then DescribeStackResourceDrifts for a
//! drifted stack: what was modified or deleted, property by property); per
//! script the deployed templates name, whether the object still holds the
//! text whose hash its key and the manifest record. Errors: `DiffError`.
//!
//! Drift detection is asked on one stack first with few retries: an
//! endpoint without it (moto answers HTTP 500) is said once, plainly, and
//! the scripts are still checked. See
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DetectStackDrift.html
//! and https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackDriftDetectionStatus.html

use super::diff::{Comparison, DiffError, bounded, get_bytes};
use super::{Aws, Backoff, describe};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{
    StackDriftDetectionStatus, StackDriftStatus, StackResourceDriftStatus,
};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// How long one stack's drift detection may take before pipec gives up
/// on it (large stacks take minutes on AWS).
pub const DETECTION_LIMIT: Duration = Duration::from_secs(15 * 60);

/// A stack's drift, as CloudFormation found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackState {
    InSync,
    Drifted,
    /// Detection failed or did not finish; the reason.
    Failed(String),
}

/// One property that differs from the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// JSON pointer into the resource's properties (`/MaxRetries`).
    pub path: String,
    pub expected: String,
    pub actual: String,
    /// ADD, REMOVE or NOT_EQUAL.
    pub kind: String,
}

/// One resource that drifted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDrift {
    pub logical_id: String,
    pub resource_type: String,
    /// MODIFIED or DELETED.
    pub status: String,
    pub differences: Vec<Difference>,
}

/// One stack's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackDrift {
    pub stack_name: String,
    pub state: StackState,
    pub resources: Vec<ResourceDrift>,
}

/// What is wrong with a deployed script object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptState {
    /// Its content's sha256 is not the one recorded.
    Modified { actual: String, expected: String },
    /// The object a deployed template names is gone.
    Missing,
    /// It could not be read; the reason.
    Unreadable(String),
}

/// One deployed script that drifted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptDrift {
    pub stage: String,
    /// `s3://bucket/key` as the deployed templates name it.
    pub key: String,
    pub state: ScriptState,
}

/// Everything `--drift` found for one pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub stacks: Vec<StackDrift>,
    /// Scripts checked (deployed and present), for the summary line.
    pub scripts_checked: usize,
    pub scripts: Vec<ScriptDrift>,
    /// Set when the endpoint does not do drift detection: what it answered.
    pub unsupported: Option<String>,
}

impl Report {
    /// True when anything drifted or could not be checked.
    pub fn drifted(&self) -> bool {
        !self.scripts.is_empty() || self.stacks.iter().any(|s| s.state != StackState::InSync)
    }

    /// Lines for people.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(u) = &self.unsupported {
            out.push_str(&format!(
                "warning: this endpoint does not run CloudFormation drift detection ({u}); only the scripts were checked\n"
            ));
        }
        for s in &self.stacks {
            match &s.state {
                StackState::InSync => out.push_str(&format!("drift {}: in sync\n", s.stack_name)),
                StackState::Drifted => out.push_str(&format!(
                    "drift {}: drifted ({} resource(s))\n",
                    s.stack_name,
                    s.resources.len()
                )),
                StackState::Failed(r) => {
                    out.push_str(&format!("drift {}: detection failed: {r}\n", s.stack_name))
                }
            }
            for r in &s.resources {
                out.push_str(&format!(
                    "  {} {} ({})\n",
                    r.status.to_lowercase(),
                    r.logical_id,
                    r.resource_type
                ));
                for d in &r.differences {
                    out.push_str(&format!(
                        "    {} {}: expected {}, actual {}\n",
                        d.kind.to_lowercase().replace('_', " "),
                        d.path,
                        d.expected,
                        d.actual
                    ));
                }
            }
        }
        for s in &self.scripts {
            out.push_str(&format!("drift script {}: {}\n", s.stage, script_line(s)));
        }
        out.push_str(&format!(
            "drift scripts: {} checked, {} drifted\n",
            self.scripts_checked,
            self.scripts.len()
        ));
        super::diff::printable(&out)
    }

    /// A section for a pull request comment.
    pub fn markdown(&self) -> String {
        let mut out = String::from("#### Drift\n\n");
        if let Some(u) = &self.unsupported {
            out.push_str(&format!(
                "> **Warning:** this endpoint does not run CloudFormation drift detection ({u}); only the scripts were checked.\n\n"
            ));
        }
        if !self.stacks.is_empty() {
            out.push_str("| stack | drift |\n| --- | --- |\n");
            for s in &self.stacks {
                let word = match &s.state {
                    StackState::InSync => "in sync".to_string(),
                    StackState::Drifted => format!("drifted ({} resource(s))", s.resources.len()),
                    StackState::Failed(r) => format!("detection failed: {r}"),
                };
                out.push_str(&format!(
                    "| `{}` | {} |\n",
                    s.stack_name,
                    word.replace('|', "\\|")
                ));
            }
            out.push('\n');
        }
        for s in self.stacks.iter().filter(|s| !s.resources.is_empty()) {
            out.push_str(&format!("`{}`:\n\n", s.stack_name));
            for r in &s.resources {
                out.push_str(&format!(
                    "- {} `{}` ({})\n",
                    r.status.to_lowercase(),
                    r.logical_id,
                    r.resource_type
                ));
                for d in &r.differences {
                    out.push_str(&format!(
                        "  - `{}`: expected `{}`, actual `{}`\n",
                        d.path, d.expected, d.actual
                    ));
                }
            }
            out.push('\n');
        }
        for s in &self.scripts {
            out.push_str(&format!("- script `{}`: {}\n", s.stage, script_line(s)));
        }
        out.push_str(&format!(
            "\nScripts: {} checked, {} drifted.\n\n",
            self.scripts_checked,
            self.scripts.len()
        ));
        super::diff::printable(&out)
    }

    /// The same as a JSON value.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "drifted": self.drifted(),
            "supported": self.unsupported.is_none(),
            "unsupported": self.unsupported,
            "stacks": self.stacks.iter().map(|s| {
                let (state, reason) = match &s.state {
                    StackState::InSync => ("in_sync", None),
                    StackState::Drifted => ("drifted", None),
                    StackState::Failed(r) => ("failed", Some(r.clone())),
                };
                serde_json::json!({
                    "stack_name": s.stack_name,
                    "state": state,
                    "reason": reason,
                    "resources": s.resources.iter().map(|r| serde_json::json!({
                        "logical_id": r.logical_id,
                        "type": r.resource_type,
                        "status": r.status,
                        "differences": r.differences.iter().map(|d| serde_json::json!({
                            "path": d.path,
                            "expected": d.expected,
                            "actual": d.actual,
                            "kind": d.kind,
                        })).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })
            }).collect::<Vec<_>>(),
            "scripts_checked": self.scripts_checked,
            "scripts": self.scripts.iter().map(|s| {
                let (state, detail) = match &s.state {
                    ScriptState::Modified { actual, expected } => {
                        ("modified", serde_json::json!({"actual": actual, "expected": expected}))
                    }
                    ScriptState::Missing => ("missing", serde_json::Value::Null),
                    ScriptState::Unreadable(e) => ("unreadable", serde_json::json!(e)),
                };
                serde_json::json!({"stage": s.stage, "key": s.key, "state": state, "detail": detail})
            }).collect::<Vec<_>>(),
        })
    }
}

fn script_line(s: &ScriptDrift) -> String {
    match &s.state {
        ScriptState::Modified { actual, expected } => format!(
            "{} was changed: its content's sha256 is {actual}, pipec uploaded {expected}",
            s.key
        ),
        ScriptState::Missing => format!("{} is missing, but a deployed job names it", s.key),
        ScriptState::Unreadable(e) => format!("cannot read {}: {e}", s.key),
    }
}

/// Why asking one stack stopped.
enum Stop {
    /// The endpoint has no drift detection: what it answered.
    Unsupported(String),
    /// A call failed for another reason.
    Api(String),
}

/// Runs drift detection on every deployed stack of the comparison and
/// checks the deployed scripts.
pub async fn detect(aws: &Aws, cmp: &Comparison) -> Result<Report, DiffError> {
    let mut report = Report::default();
    let names: Vec<String> = cmp
        .stacks
        .iter()
        .filter(|s| cmp.deployed.templates.contains_key(&s.stack_name))
        .map(|s| s.stack_name.clone())
        .collect();
    let api = |stack: &str, detail| DiffError::Api {
        stack: stack.to_string(),
        detail,
    };
    if let Some(first) = names.first() {
        match stack_drift(aws.clone(), first.clone(), true).await {
            Ok(d) => {
                report.stacks.push(d);
                let rest = names[1..].to_vec();
                let mut got = bounded(rest, |n| {
                    let aws = aws.clone();
                    async move { (n.clone(), stack_drift(aws, n, false).await) }
                })
                .await;
                got.sort_by_key(|(n, _)| names.iter().position(|m| m == n));
                for (n, r) in got {
                    match r {
                        Ok(d) => report.stacks.push(d),
                        Err(Stop::Unsupported(e) | Stop::Api(e)) => return Err(api(&n, e)),
                    }
                }
            }
            Err(Stop::Unsupported(e)) => report.unsupported = Some(e),
            Err(Stop::Api(e)) => return Err(api(first, e)),
        }
    }
    check_scripts(aws, cmp, &mut report).await;
    Ok(report)
}

/// True for an answer that is not an AWS error at all (no error code):
/// an endpoint that lacks the call, such as moto's HTTP 500 page.
fn unsupported<E: ProvideErrorMetadata + std::error::Error + 'static>(e: &E) -> bool {
    e.code().is_none() && !super::is_connection(e)
}

/// Detection on one stack, waited for with backoff. `probe`: the first
/// call, with few attempts, to tell an endpoint without drift detection.
async fn stack_drift(aws: Aws, stack_name: String, probe: bool) -> Result<StackDrift, Stop> {
    let call = aws.cfn.detect_stack_drift().stack_name(&stack_name);
    let started = if probe {
        let few = aws_sdk_cloudformation::config::Builder::default().retry_config(
            aws_sdk_cloudformation::config::retry::RetryConfig::standard().with_max_attempts(2),
        );
        call.customize().config_override(few).send().await
    } else {
        call.send().await
    };
    let id = match started {
        Ok(o) => o.stack_drift_detection_id().unwrap_or_default().to_string(),
        Err(e) if unsupported(&e) => return Err(Stop::Unsupported(describe(&e))),
        Err(e) => return Err(Stop::Api(format!("DetectStackDrift: {}", describe(&e)))),
    };
    let mut wait = Backoff::default();
    let since = Instant::now();
    let status = loop {
        let s = aws
            .cfn
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
            .map_err(|e| {
                Stop::Api(format!(
                    "DescribeStackDriftDetectionStatus: {}",
                    describe(&e)
                ))
            })?;
        if s.detection_status() != Some(&StackDriftDetectionStatus::DetectionInProgress) {
            break s;
        }
        if since.elapsed() > DETECTION_LIMIT {
            return Ok(StackDrift {
                stack_name,
                state: StackState::Failed(format!(
                    "still in progress after {} minutes",
                    DETECTION_LIMIT.as_secs() / 60
                )),
                resources: Vec::new(),
            });
        }
        wait.wait().await;
    };
    let drifted = status.stack_drift_status() == Some(&StackDriftStatus::Drifted);
    let state = match status.detection_status() {
        Some(StackDriftDetectionStatus::DetectionComplete) if drifted => StackState::Drifted,
        Some(StackDriftDetectionStatus::DetectionComplete) => StackState::InSync,
        _ => StackState::Failed(
            status
                .detection_status_reason()
                .unwrap_or("no reason given")
                .to_string(),
        ),
    };
    // A failed detection still has results for the resources it checked.
    let resources = if drifted {
        resource_drifts(&aws, &stack_name).await?
    } else {
        Vec::new()
    };
    Ok(StackDrift {
        stack_name,
        state,
        resources,
    })
}

/// The modified and deleted resources of a drifted stack, every page.
async fn resource_drifts(aws: &Aws, stack_name: &str) -> Result<Vec<ResourceDrift>, Stop> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .cfn
            .describe_stack_resource_drifts()
            .stack_name(stack_name)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::Modified)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::Deleted)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| Stop::Api(format!("DescribeStackResourceDrifts: {}", describe(&e))))?;
        for r in page.stack_resource_drifts() {
            out.push(ResourceDrift {
                logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: r.resource_type().unwrap_or_default().to_string(),
                status: r
                    .stack_resource_drift_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                differences: r
                    .property_differences()
                    .iter()
                    .map(|d| Difference {
                        path: d.property_path().unwrap_or_default().to_string(),
                        expected: d.expected_value().unwrap_or_default().to_string(),
                        actual: d.actual_value().unwrap_or_default().to_string(),
                        kind: d
                            .difference_type()
                            .map(|k| k.as_str().to_string())
                            .unwrap_or_default(),
                    })
                    .collect(),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// The hex sha256 of bytes.
fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Downloads every script a deployed template names and checks its content
/// against the hash pipec recorded: the manifest's full sha256 for the
/// script the manifest names, the key's 16 hex digits for an older one.
async fn check_scripts(aws: &Aws, cmp: &Comparison, report: &mut Report) {
    let bucket = cmp.deployed.bucket.clone();
    let mut todo = Vec::new();
    for s in &cmp.scripts {
        let Some(key) = &s.deployed_key else {
            continue;
        };
        let url = format!("s3://{bucket}/{key}");
        if !s.deployed_present {
            report.scripts.push(ScriptDrift {
                stage: s.stage.clone(),
                key: url,
                state: ScriptState::Missing,
            });
            continue;
        }
        let expected = if s.key == url {
            s.sha256.clone()
        } else {
            key_digits(key)
        };
        todo.push((s.stage.clone(), key.clone(), url, expected));
    }
    report.scripts_checked = todo.len();
    let got = bounded(todo, |(stage, key, url, expected)| {
        let (aws, bucket) = (aws.clone(), bucket.clone());
        async move {
            let r = get_bytes(&aws, &bucket, &key).await;
            (stage, url, expected, r)
        }
    })
    .await;
    let mut found: Vec<ScriptDrift> = got
        .into_iter()
        .filter_map(|(stage, key, expected, r)| {
            let state = match r {
                Ok(bytes) => {
                    let actual = sha256(&bytes);
                    if actual.starts_with(&expected) && !expected.is_empty() {
                        return None;
                    }
                    ScriptState::Modified { actual, expected }
                }
                Err(e) => ScriptState::Unreadable(e),
            };
            Some(ScriptDrift { stage, key, state })
        })
        .collect();
    found.sort_by(|a, b| a.stage.cmp(&b.stage));
    report.scripts.extend(found);
}

/// The content hash a script key carries: the 16 hex digits before `.py`
/// or the runtime's folder.
fn key_digits(key: &str) -> String {
    let is_hex = |w: &str| {
        w.len() == 16
            && w.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    key.split(['-', '/', '.'])
        .rev()
        .find(|w| is_hex(w))
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_a_key_carries() {
        assert_eq!(
            key_digits("scripts/clean-0123456789abcdef.py"),
            "0123456789abcdef"
        );
        assert_eq!(
            key_digits("scripts/runtime-00000000000000aa/pipec_runtime.py"),
            "00000000000000aa"
        );
        assert_eq!(key_digits("scripts/odd.py"), "");
    }

    #[test]
    fn the_report_says_what_drifted() {
        let r = Report {
            stacks: vec![StackDrift {
                stack_name: "etl-glue-jobs".into(),
                state: StackState::Drifted,
                resources: vec![ResourceDrift {
                    logical_id: "JobClean".into(),
                    resource_type: "AWS::Glue::Job".into(),
                    status: "MODIFIED".into(),
                    differences: vec![Difference {
                        path: "/MaxRetries".into(),
                        expected: "1".into(),
                        actual: "3".into(),
                        kind: "NOT_EQUAL".into(),
                    }],
                }],
            }],
            scripts_checked: 1,
            scripts: Vec::new(),
            unsupported: None,
        };
        assert!(r.drifted());
        let t = r.text();
        assert!(
            t.contains("drift etl-glue-jobs: drifted (1 resource(s))"),
            "{t}"
        );
        assert!(t.contains("modified JobClean (AWS::Glue::Job)"), "{t}");
        assert!(
            t.contains("not equal /MaxRetries: expected 1, actual 3"),
            "{t}"
        );
        assert!(
            r.markdown()
                .contains("`/MaxRetries`: expected `1`, actual `3`")
        );
        assert_eq!(r.json()["stacks"][0]["resources"][0]["status"], "MODIFIED");
        assert!(!Report::default().drifted());
    }
}
