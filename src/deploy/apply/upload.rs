//! Uploads to the artifacts bucket: job scripts and large templates.
//!
//! In: the pipeline's scripts and the keys already in the bucket (listed
//! once, `ListObjectsV2` over `scripts/`). Out: each missing script put
//! once, however many stacks wait for it, at most `PARALLEL` at a time; a
//! template over 51,200 bytes put under its hash and given back as the URL
//! CloudFormation reads it from. Keys are content addresses, so a listed key
//! holds the same text: no HEAD and no download per script.

use super::super::plan::{Script, Stack};
use super::super::{Aws, describe};
use super::{Ctx, DeployError, SCRIPTS};
use aws_sdk_s3::error::ProvideErrorMetadata;
use std::collections::{BTreeMap, BTreeSet};

use tokio::sync::{OnceCell, Semaphore};

/// Uploads running at once: enough to hide S3's latency, few enough to stay
/// far from its request rates.
pub const PARALLEL: usize = 8;

/// The script uploads of one run: each key is put at most once.
pub struct Uploads {
    scripts: BTreeMap<String, Script>,
    present: BTreeSet<String>,
    done: BTreeMap<String, OnceCell<Result<bool, DeployError>>>,
    gate: Semaphore,
}

impl Uploads {
    /// `present`: the keys the bucket already holds.
    pub fn new(scripts: &[Script], present: BTreeSet<String>) -> Uploads {
        Uploads {
            scripts: scripts
                .iter()
                .map(|s| (s.s3_key.clone(), s.clone()))
                .collect(),
            present,
            done: scripts
                .iter()
                .map(|s| (s.s3_key.clone(), OnceCell::new()))
                .collect(),
            gate: Semaphore::new(PARALLEL),
        }
    }

    /// The keys of scripts not in the bucket yet.
    pub fn missing(&self) -> Vec<String> {
        self.scripts
            .keys()
            .filter(|k| !self.present.contains(*k))
            .cloned()
            .collect()
    }

    /// Makes sure each script `stack` names is in the bucket, uploading the
    /// missing ones (all of them at once, up to `PARALLEL`).
    pub async fn ensure_for(&self, ctx: &Ctx, stack: &Stack) -> Result<(), DeployError> {
        let named = referenced(&stack.template);
        let keys: Vec<&String> = self.scripts.keys().filter(|k| named.contains(*k)).collect();
        let mut set = Vec::new();
        for k in keys {
            set.push(self.ensure(ctx, k));
        }
        for r in join_all(set).await {
            r?;
        }
        Ok(())
    }

    /// Every missing script, whatever stack names it.
    pub async fn ensure_all(&self, ctx: &Ctx) -> Result<(), DeployError> {
        let keys = self.missing();
        let set: Vec<_> = keys.iter().map(|k| self.ensure(ctx, k)).collect();
        for r in join_all(set).await {
            r?;
        }
        Ok(())
    }

    /// True when the script was uploaded now, false when it was there.
    async fn ensure(&self, ctx: &Ctx, key: &str) -> Result<bool, DeployError> {
        if self.present.contains(key) {
            return Ok(false);
        }
        let (Some(cell), Some(script)) = (self.done.get(key), self.scripts.get(key)) else {
            return Ok(false);
        };
        cell.get_or_init(|| async {
            let _permit = self.gate.acquire().await;
            put_script(ctx, script).await.map(|()| true)
        })
        .await
        .clone()
    }
}

/// The script keys a template names: every `scripts/...` run of key
/// characters, found in one pass (a 200-stage pipeline names 201 scripts
/// in 3 MB of templates; searching for each key would read them 201 times).
pub fn referenced(template: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = template;
    while let Some(i) = rest.find("scripts/") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_./".contains(c)))
            .unwrap_or(tail.len());
        out.insert(tail[..end].to_string());
        rest = &tail["scripts/".len()..];
    }
    out
}

/// Polls a set of futures to completion on one task, in order of the set.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futures.iter_mut().enumerate() {
            if out[i].is_some() {
                continue;
            }
            match f.as_mut().poll(cx) {
                std::task::Poll::Ready(v) => out[i] = Some(v),
                std::task::Poll::Pending => pending = true,
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

async fn put_script(ctx: &Ctx, s: &Script) -> Result<(), DeployError> {
    ctx.aws
        .s3
        .put_object()
        .bucket(&ctx.bucket)
        .key(&s.s3_key)
        .content_type("text/x-python")
        .body(s.text.clone().into_bytes().into())
        .send()
        .await
        .map_err(|e| DeployError::Upload {
            key: format!("s3://{}/{}", ctx.bucket, s.s3_key),
            detail: describe(&e),
        })?;
    ctx.log.event(
        &ctx.pipeline,
        SCRIPTS,
        "uploaded",
        &format!("s3://{}/{}", ctx.bucket, s.s3_key),
    );
    Ok(())
}

/// The keys under `scripts/` in the artifacts bucket: one ListObjectsV2 per
/// 1,000 keys. A bucket that does not exist yet holds none.
pub async fn listed(aws: &Aws, bucket: &str) -> Result<BTreeSet<String>, DeployError> {
    let mut keys = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix("scripts/")
            .set_continuation_token(token.take())
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) if e.code() == Some("NoSuchBucket") => return Ok(keys),
            Err(e) => {
                return Err(DeployError::Upload {
                    key: format!("s3://{bucket}/scripts/"),
                    detail: format!("cannot list: {}", describe(&e)),
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

/// Puts a large template in the artifacts bucket; returns its URL.
pub async fn template(ctx: &Ctx, stack: &Stack) -> Result<String, DeployError> {
    let sha = crate::render::sha256_hex(&stack.template);
    let key = format!("templates/{}-{}.yaml", stack.name, &sha[..16]);
    ctx.aws
        .s3
        .put_object()
        .bucket(&ctx.bucket)
        .key(&key)
        .content_type("application/x-yaml")
        .body(stack.template.clone().into_bytes().into())
        .send()
        .await
        .map_err(|e| DeployError::Upload {
            key: format!("s3://{}/{key}", ctx.bucket),
            detail: describe(&e),
        })?;
    ctx.log.event(
        &ctx.pipeline,
        &stack.stack_name,
        "uploaded",
        &format!(
            "template of {} bytes to s3://{}/{key}",
            stack.template.len(),
            ctx.bucket
        ),
    );
    Ok(format!(
        "https://{}.s3.{}.amazonaws.com/{key}",
        ctx.bucket, ctx.aws.region
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn referenced_finds_every_script_key_of_a_template() {
        let t = "A: s3://b/scripts/clean-0123456789abcdef.py\nB: [\"--extra-py-files\", \"s3://b/scripts/runtime-0123/pipec_runtime.py\"]\nC: scripts/\n";
        let keys: Vec<String> = super::referenced(t).into_iter().collect();
        assert_eq!(
            keys,
            [
                "scripts/",
                "scripts/clean-0123456789abcdef.py",
                "scripts/runtime-0123/pipec_runtime.py"
            ]
        );
    }
}
