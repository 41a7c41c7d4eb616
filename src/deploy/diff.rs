//! The diff phase (`pipec diff`): what a deploy would change. Read only.
//!
//! In: planned pipelines and the stacks to compare. Out: for each stack, the
//! deployed template (GetTemplate) against the rendered one, both normalized
//! so that formatting alone is no difference, and its tags; for each job
//! script, the key the deployed templates name against the rendered one,
//! and for a changed script the unified diff of the deployed object against
//! the new text. Printed as text (a unified diff, coloured on a terminal),
//! JSON or Markdown; with `--drift`, `drift` adds CloudFormation drift
//! detection and a check of the deployed scripts' content. `Outcome::Failed`
//! when anything differs. Errors: `DiffError`.
//!
//! Cost is O(stacks): one DescribeStacks and one GetTemplate per stack (a
//! few at a time), and one ListObjectsV2 of the scripts prefix per pipeline.
//! Script keys carry their content hash, so a listed key that the deployed
//! template names is the same script; only a changed script's previous
//! object is downloaded.

use super::plan::Pipeline;
use super::{Aws, Outcome, describe};
use aws_sdk_cloudformation::types::StackStatus;
use similar::TextDiff;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

/// Where job scripts live in the artifacts bucket.
pub const SCRIPTS_PREFIX: &str = "scripts/";

/// Requests in flight at once per pipeline: enough to hide latency, few
/// enough to stay well inside CloudFormation's Describe* rate limits (the
/// SDK retries throttling with backoff on top).
pub const IN_FLIGHT: usize = 8;

/// Output formats of `pipec diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// What can stop a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffError {
    Api { stack: String, detail: String },
    Bucket { bucket: String, detail: String },
    Plan(String),
}

impl DiffError {
    pub fn message(&self) -> String {
        match self {
            DiffError::Api { stack, detail } => format!("cannot read stack {stack}: {detail}"),
            DiffError::Bucket { bucket, detail } => {
                format!("cannot read the scripts in s3://{bucket}/{SCRIPTS_PREFIX}: {detail}")
            }
            DiffError::Plan(e) => e.clone(),
        }
    }
}

/// How one stack or script compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Unchanged,
    Changed,
    New,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Unchanged => "unchanged",
            State::Changed => "changed",
            State::New => "new",
        }
    }
}

/// The comparison of one stack.
#[derive(Debug, Clone)]
pub struct StackDiff {
    pub stack_name: String,
    pub state: State,
    /// Unified diff of the normalized templates (empty when unchanged).
    pub diff: String,
    /// Tags that differ, as `key: old -> new`.
    pub tags: Vec<String>,
}

/// The comparison of one script.
#[derive(Debug, Clone)]
pub struct ScriptDiff {
    pub stage: String,
    /// `s3://bucket/key` of the rendered script.
    pub key: String,
    pub state: State,
    /// The sha256 of the rendered script, as the manifest records it.
    pub sha256: String,
    /// The bare key the deployed templates name for this stage (the new key
    /// when unchanged), `None` for a stage not deployed yet.
    pub deployed_key: Option<String>,
    /// Whether the artifacts bucket holds `deployed_key`.
    pub deployed_present: bool,
    /// Unified diff of the deployed object against the rendered script, for
    /// a changed script whose deployed object could be read.
    pub diff: String,
    /// Why a changed script has no diff, or what else is wrong.
    pub note: Option<String>,
}

/// What is deployed, as `compare` read it: handed on to `drift`.
#[derive(Debug, Clone, Default)]
pub struct Deployed {
    /// The artifacts bucket's real name.
    pub bucket: String,
    /// Deployed template bodies by CloudFormation stack name, for the
    /// selected stacks that exist (not those still in REVIEW_IN_PROGRESS).
    pub templates: BTreeMap<String, String>,
    /// The keys under `scripts/`, when the selected stacks use scripts.
    pub listed: Option<BTreeSet<String>>,
}

/// One pipeline against what is deployed.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub stacks: Vec<StackDiff>,
    pub scripts: Vec<ScriptDiff>,
    pub deployed: Deployed,
}

impl Comparison {
    pub fn differs(&self) -> bool {
        self.stacks.iter().any(|s| s.state != State::Unchanged)
            || self.scripts.iter().any(|s| s.state != State::Unchanged)
    }
}

type Fetched = Result<(Option<aws_sdk_cloudformation::types::Stack>, Option<String>), String>;

/// DescribeStacks, then GetTemplate when there is a template to read.
async fn fetch(aws: Aws, stack_name: String) -> (String, Fetched) {
    let deployed = match aws.stack(&stack_name).await {
        Ok(d) => d,
        Err(e) => return (stack_name, Err(e)),
    };
    let body = match &deployed {
        Some(d) if d.stack_status() != Some(&StackStatus::ReviewInProgress) => {
            match aws.template(&stack_name).await {
                Ok(b) => b,
                Err(e) => return (stack_name, Err(e)),
            }
        }
        _ => None,
    };
    (stack_name, Ok((deployed, body)))
}

/// Runs `work` on every item, at most `IN_FLIGHT` at a time; results come
/// back in any order.
pub async fn bounded<I, T, F, Fut>(items: Vec<I>, work: F) -> Vec<T>
where
    F: Fn(I) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut running = tokio::task::JoinSet::new();
    let mut out = Vec::with_capacity(items.len());
    let mut items = items.into_iter();
    loop {
        while running.len() < IN_FLIGHT {
            match items.next() {
                Some(i) => {
                    running.spawn(work(i));
                }
                None => break,
            }
        }
        match running.join_next().await {
            Some(Ok(t)) => out.push(t),
            // A task only fails by panicking, which pipec's tasks do not.
            Some(Err(_)) => {}
            None => return out,
        }
    }
}

/// Every key under `scripts/` in the bucket (ListObjectsV2, 1,000 keys a
/// page); an empty set when the bucket does not exist yet.
pub async fn list_scripts(aws: &Aws, bucket: &str) -> Result<BTreeSet<String>, DiffError> {
    let mut keys = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(SCRIPTS_PREFIX)
            .set_continuation_token(token.take())
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_bucket()) => {
                return Ok(keys);
            }
            Err(e) => {
                return Err(DiffError::Bucket {
                    bucket: bucket.to_string(),
                    detail: describe(&e),
                });
            }
        };
        keys.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        match out.next_continuation_token() {
            Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => return Ok(keys),
        }
    }
}

/// The 16 hex digits of a script's content address in its key.
fn key_hash(sha256: &str) -> String {
    sha256.chars().take(16).collect()
}

/// Every script key a template names: each `scripts/...` run of key
/// characters that is not the tail of a longer word. One pass over the text,
/// so finding the keys of N scripts costs the template's length, not N times
/// it.
pub fn keys_in(body: &str) -> BTreeSet<String> {
    let key_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/');
    let mut keys = BTreeSet::new();
    let mut from = 0;
    while let Some(i) = body[from..].find(SCRIPTS_PREFIX) {
        let at = from + i;
        from = at + SCRIPTS_PREFIX.len();
        let glued = body[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if glued {
            continue;
        }
        let len = body[at..]
            .find(|c: char| !key_char(c))
            .unwrap_or(body.len() - at);
        keys.insert(body[at..at + len].to_string());
        from = at + len.max(SCRIPTS_PREFIX.len());
    }
    keys
}

/// The key among `keys` that addresses the same script as `new_key` with
/// another content hash: `new_key` with any 16 lower-case hex digits in
/// place of its hash `hash`.
pub fn same_script<'a>(
    keys: impl IntoIterator<Item = &'a String>,
    new_key: &str,
    hash: &str,
) -> Option<String> {
    let (before, after) = new_key.split_once(hash)?;
    keys.into_iter()
        .find(|k| {
            k.len() == new_key.len()
                && k.starts_with(before)
                && k.ends_with(after)
                && k[before.len()..before.len() + hash.len()]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .cloned()
}

/// `same_script` over the keys a template names.
pub fn find_key(body: &str, new_key: &str, hash: &str) -> Option<String> {
    same_script(&keys_in(body), new_key, hash)
}

/// Compares one pipeline with what is deployed.
pub async fn compare(
    aws: &Aws,
    p: &Pipeline,
    wanted: &[String],
    account: &str,
) -> Result<Comparison, DiffError> {
    let selected = p
        .select(wanted, true, false)
        .map_err(|e| DiffError::Plan(e.message()))?;
    let chosen: Vec<&super::plan::Stack> = p
        .stacks
        .iter()
        .filter(|s| selected.contains(&s.name))
        .collect();
    let names: Vec<String> = chosen.iter().map(|s| s.stack_name.clone()).collect();
    let mut fetched: BTreeMap<String, Fetched> = bounded(names, |n| fetch(aws.clone(), n))
        .await
        .into_iter()
        .collect();
    let mut deployed = Deployed {
        bucket: p.bucket(account, &aws.region),
        ..Default::default()
    };
    let mut stacks = Vec::new();
    for s in &chosen {
        let (stack, body) = fetched
            .remove(&s.stack_name)
            .unwrap_or(Ok((None, None)))
            .map_err(|detail| DiffError::Api {
                stack: s.stack_name.clone(),
                detail,
            })?;
        let Some(body) = body else {
            let new = super::plan::normalize(&s.template);
            stacks.push(StackDiff {
                stack_name: s.stack_name.clone(),
                state: State::New,
                diff: unified("/dev/null", &format!("b/{}", s.stack_name), "", &new),
                tags: Vec::new(),
            });
            continue;
        };
        // GetTemplate returns the body as submitted: the same text needs no
        // normalizing (the costly part of diffing a large stack).
        let (old, new) = if body == s.template {
            (String::new(), String::new())
        } else {
            (
                super::plan::normalize(&body),
                super::plan::normalize(&s.template),
            )
        };
        deployed.templates.insert(s.stack_name.clone(), body);
        let have: BTreeMap<String, String> = stack
            .as_ref()
            .map(|d| {
                d.tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let tags = tag_changes(&have, &p.tags);
        let changed = old != new || !tags.is_empty();
        stacks.push(StackDiff {
            stack_name: s.stack_name.clone(),
            state: if changed {
                State::Changed
            } else {
                State::Unchanged
            },
            diff: if old != new {
                unified(
                    &format!("a/{} (deployed)", s.stack_name),
                    &format!("b/{} (rendered)", s.stack_name),
                    &old,
                    &new,
                )
            } else {
                String::new()
            },
            tags,
        });
    }
    // Only the scripts that the selected stacks' templates name.
    let rendered_keys: Vec<(&str, BTreeSet<String>)> = chosen
        .iter()
        .map(|st| (st.stack_name.as_str(), keys_in(&st.template)))
        .collect();
    let deployed_keys: BTreeMap<&str, BTreeSet<String>> = deployed
        .templates
        .iter()
        .map(|(n, b)| (n.as_str(), keys_in(b)))
        .collect();
    let used: Vec<(&super::plan::Script, Vec<&str>)> = p
        .scripts
        .iter()
        .map(|sc| {
            let by: Vec<&str> = rendered_keys
                .iter()
                .filter(|(_, keys)| keys.contains(&sc.s3_key))
                .map(|(n, _)| *n)
                .collect();
            (sc, by)
        })
        .filter(|(_, by)| !by.is_empty())
        .collect();
    let mut scripts = Vec::new();
    if used.is_empty() {
        return Ok(Comparison {
            stacks,
            scripts,
            deployed,
        });
    }
    let listed = list_scripts(aws, &deployed.bucket).await?;
    let bucket = deployed.bucket.clone();
    let url = |k: &str| format!("s3://{bucket}/{k}");
    let mut downloads = Vec::new();
    for (sc, by) in &used {
        // The stacks that use the script first: that is where its key is.
        let sets = by
            .iter()
            .filter_map(|n| deployed_keys.get(*n))
            .chain(deployed_keys.values());
        let hash = key_hash(&crate::render::sha256_hex(&sc.text));
        let old_key = sets
            .map(|keys| {
                if keys.contains(&sc.s3_key) {
                    Some(sc.s3_key.clone())
                } else {
                    same_script(keys, &sc.s3_key, &hash)
                }
            })
            .find(Option::is_some)
            .flatten();
        let present = old_key.as_ref().is_some_and(|k| listed.contains(k));
        let (state, note) = match &old_key {
            None => (State::New, None),
            Some(k) if *k == sc.s3_key && present => (State::Unchanged, None),
            Some(k) if *k == sc.s3_key => (
                State::Changed,
                Some(format!(
                    "{} is missing from the bucket; a deploy uploads it again",
                    url(k)
                )),
            ),
            Some(k) if present => {
                downloads.push((scripts.len(), k.clone()));
                (State::Changed, None)
            }
            Some(k) => (
                State::Changed,
                Some(format!(
                    "the deployed {} is missing from the bucket: no diff",
                    url(k)
                )),
            ),
        };
        scripts.push(ScriptDiff {
            stage: sc.stage.clone(),
            key: url(&sc.s3_key),
            state,
            sha256: crate::render::sha256_hex(&sc.text),
            deployed_key: old_key,
            deployed_present: present,
            diff: String::new(),
            note,
        });
    }
    deployed.listed = Some(listed);
    let got = bounded(downloads, |(i, key)| {
        let (aws, bucket) = (aws.clone(), bucket.clone());
        async move { (i, key.clone(), get_text(&aws, &bucket, &key).await) }
    })
    .await;
    for (i, key, text) in got {
        let Some(sd) = scripts.get_mut(i) else {
            continue;
        };
        let Some((sc, _)) = used.get(i) else {
            continue;
        };
        match text {
            Ok(old) => {
                sd.diff = unified(
                    &format!("a/{key} (deployed)"),
                    &format!("b/{} (rendered)", sc.s3_key),
                    &old,
                    &sc.text,
                );
            }
            Err(e) => sd.note = Some(format!("cannot read the deployed {}: {e}", url(&key))),
        }
    }
    Ok(Comparison {
        stacks,
        scripts,
        deployed,
    })
}

/// An object's text (invalid UTF-8 shown as replacement characters).
pub async fn get_text(aws: &Aws, bucket: &str, key: &str) -> Result<String, String> {
    get_bytes(aws, bucket, key)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// An object's bytes.
pub async fn get_bytes(aws: &Aws, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
    let out = aws
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    out.body
        .collect()
        .await
        .map(|b| b.to_vec())
        .map_err(|e| e.to_string())
}

/// Tags that differ between the deployed stack and the pipeline.
fn tag_changes(have: &BTreeMap<String, String>, want: &BTreeMap<String, String>) -> Vec<String> {
    let mut tags = Vec::new();
    for (k, v) in want {
        match have.get(k) {
            Some(o) if o == v => {}
            Some(o) => tags.push(format!("{k}: {o} -> {v}")),
            None => tags.push(format!("{k}: (none) -> {v}")),
        }
    }
    for (k, o) in have {
        if !want.contains_key(k) {
            tags.push(format!("{k}: {o} -> (none)"));
        }
    }
    tags
}

fn unified(a: &str, b: &str, old: &str, new: &str) -> String {
    let text = TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(a, b)
        .to_string();
    printable(&text)
}

/// Deployed objects and templates come from outside pipec: control
/// characters in them are shown escaped, so they cannot drive a terminal.
pub fn printable(text: &str) -> String {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Runs `pipec diff` over pipelines and prints the result: the target
/// first, then per pipeline a warning for each committed file that differs
/// from what its source renders, then the stacks and scripts, then (with
/// `drift`) what changed behind pipec's back.
pub async fn run(
    aws: &Aws,
    pipelines: &[Pipeline],
    wanted: &[String],
    format: Format,
    drift: bool,
    target: &super::identity::Target,
) -> Outcome {
    use std::io::IsTerminal;
    let account = target.account.clone();
    let color = format == Format::Text
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let mut any = false;
    let mut any_drift = false;
    let mut json_pipelines = Vec::new();
    let mut out = match format {
        Format::Text => format!("{}\n", target.line()),
        Format::Markdown => format!(
            "Target: account `{}`, region `{}`, endpoint `{}`\n\n",
            target.account, target.region, target.endpoint
        ),
        Format::Json => String::new(),
    };
    for p in pipelines {
        let warnings: Vec<String> = p.findings.iter().map(|f| f.message()).collect();
        any |= !warnings.is_empty();
        let w = super::plan::wanted_in(p, wanted);
        let cmp = match compare(aws, p, &w, &account).await {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {}", e.message());
                return Outcome::Usage;
            }
        };
        let drifted = if drift {
            match super::drift::detect(aws, &cmp).await {
                Ok(r) => Some(r),
                Err(e) => {
                    eprintln!("error: {}", e.message());
                    return Outcome::Usage;
                }
            }
        } else {
            None
        };
        let differs = cmp.differs();
        let has_drifted = drifted.as_ref().is_some_and(|r| r.drifted());
        any_drift |= has_drifted;
        any |= differs || has_drifted;
        match format {
            Format::Text => out.push_str(&super::diff_output::text(
                &cmp,
                &warnings,
                drifted.as_ref(),
                color,
            )),
            Format::Markdown => out.push_str(&super::diff_output::markdown(
                &p.name,
                &cmp,
                &warnings,
                drifted.as_ref(),
            )),
            Format::Json => json_pipelines.push(super::diff_output::json(
                &p.name,
                &cmp,
                &warnings,
                drifted.as_ref(),
            )),
        }
    }
    if format == Format::Json {
        let mut doc = serde_json::json!({
            "target": target.json(),
            "differs": any,
            "pipelines": json_pipelines,
        });
        if let (true, Some(o)) = (drift, doc.as_object_mut()) {
            o.insert("drifted".into(), any_drift.into());
        }
        out = doc.to_string();
        out.push('\n');
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    if any { Outcome::Failed } else { Outcome::Done }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_from_outside_are_escaped() {
        let d = unified("a", "b", "x = '\x1b[2J'\n", "x = 1\n");
        assert!(!d.contains('\x1b'), "{d}");
        assert!(d.contains("-x = '\\u{1b}[2J'"), "{d}");
        assert_eq!(printable("a\tb\n"), "a\tb\n");
    }

    #[test]
    fn the_deployed_key_of_a_script_is_found_by_its_shape() {
        let hash = "0123456789abcdef";
        let new = format!("scripts/clean-{hash}.py");
        let body = "ScriptLocation: s3://b/scripts/clean-fedcba9876543210.py\n\
                    Other: s3://b/scripts/clean-x-fedcba9876543210.py\n";
        assert_eq!(
            find_key(body, &new, hash).as_deref(),
            Some("scripts/clean-fedcba9876543210.py")
        );
        // Another stage whose name starts alike, a short hash, upper case.
        for other in [
            "s3://b/scripts/clean-x-fedcba9876543210.py",
            "s3://b/scripts/clean-fedcba987654321.py",
            "s3://b/scripts/clean-FEDCBA9876543210.py",
            "s3://b/myscripts/clean-fedcba9876543210.py",
        ] {
            assert_eq!(find_key(other, &new, hash), None, "{other}");
        }
        let rt = format!("scripts/runtime-{hash}/pipec_runtime.py");
        assert_eq!(
            find_key(
                "--extra-py-files: s3://b/scripts/runtime-00000000000000aa/pipec_runtime.py",
                &rt,
                hash
            )
            .as_deref(),
            Some("scripts/runtime-00000000000000aa/pipec_runtime.py")
        );
    }

    #[test]
    fn tag_changes_name_both_sides() {
        let have: BTreeMap<String, String> = [("a".into(), "1".into()), ("b".into(), "2".into())]
            .into_iter()
            .collect();
        let want: BTreeMap<String, String> = [("a".into(), "1".into()), ("c".into(), "3".into())]
            .into_iter()
            .collect();
        assert_eq!(
            tag_changes(&have, &want),
            ["c: (none) -> 3", "b: 2 -> (none)"]
        );
    }
}
