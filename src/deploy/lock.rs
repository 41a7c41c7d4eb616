//! The deploy lock: one `pipec deploy` of a pipeline at a time.
//!
//! In: the artifacts bucket, the pipeline's name and who is deploying (the
//! caller's ARN, host, process, run ID). Out: a `Lock` held as the object
//! `pipec/lock/<pipeline>` in the artifacts bucket, or `LockError::Held`
//! naming the holder and since when. Nothing but S3 is used: the object is
//! written with `If-None-Match: *`, which S3 refuses with 412 when the key
//! exists, so of two deploys racing exactly one gets it
//! (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
//! moto 5.2.5 honours `If-None-Match` and `If-Match` on PutObject and
//! DeleteObject (checked against moto_server), so the tests exercise the
//! same calls as AWS.
//!
//! A lock is stale when it is older than `STALE` or was taken on this host
//! by a process that no longer exists (a killed deploy); a stale lock, or
//! any lock with `--break-lock`, is removed with `If-Match` on the ETag that
//! was read, so a lock taken meanwhile by someone else is never removed
//! (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html).

use super::{Aws, describe};
use aws_sdk_s3::error::ProvideErrorMetadata;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// After this long a lock is taken to be left by a deploy that died: far
/// longer than a deploy of pipec's stacks takes.
pub const STALE: Duration = Duration::from_secs(2 * 3600);

/// Who holds a lock: written as the object's JSON body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holder {
    /// The caller's ARN (STS GetCallerIdentity).
    pub who: String,
    pub host: String,
    pub pid: u32,
    /// The run ID (`changeset::run_id`).
    pub run: String,
    /// Seconds since the Unix epoch.
    pub since: u64,
}

impl Holder {
    /// This process, deploying as `who`.
    pub fn me(who: &str) -> Holder {
        Holder {
            who: who.to_string(),
            host: hostname(),
            pid: std::process::id(),
            run: super::changeset::run_id().to_string(),
            since: now(),
        }
    }

    /// `arn:... on host h (process 12, run r) since 2026-12-02 14:00:00 UTC (5 s ago)`.
    pub fn describe(&self) -> String {
        format!(
            "{} on host {} (process {}, run {}) since {} ({} ago)",
            self.who,
            self.host,
            self.pid,
            self.run,
            utc(self.since),
            ago(now().saturating_sub(self.since))
        )
    }

    /// Left by a deploy that is gone: too old, or from a process of this
    /// host that no longer runs.
    pub fn is_stale(&self) -> bool {
        now().saturating_sub(self.since) > STALE.as_secs()
            || (self.host == hostname() && !process_alive(self.pid))
    }
}

/// A lock this process holds.
#[derive(Debug, Clone)]
pub struct Lock {
    pub bucket: String,
    pub key: String,
    pub etag: Option<String>,
}

/// Why the lock was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockError {
    /// Someone else holds it (`holder` as `Holder::describe` words it).
    Held {
        holder: String,
    },
    /// The artifacts bucket does not exist yet (a first deploy).
    NoBucket,
    Api(String),
}

/// The lock's key for a pipeline.
pub fn key(pipeline: &str) -> String {
    format!("pipec/lock/{pipeline}")
}

/// Takes the lock, or says who holds it. A stale lock (or any, with
/// `break_lock`) is removed and the write tried once more.
pub async fn acquire(
    aws: &Aws,
    bucket: &str,
    pipeline: &str,
    me: &Holder,
    break_lock: bool,
) -> Result<(Lock, Option<Holder>), LockError> {
    let key = key(pipeline);
    let body = serde_json::to_string(me).unwrap_or_default();
    let mut broken = None;
    for _ in 0..2 {
        let put = aws
            .s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .if_none_match("*")
            .content_type("application/json")
            .body(body.clone().into_bytes().into())
            .send()
            .await;
        let e = match put {
            Ok(out) => {
                let lock = Lock {
                    bucket: bucket.to_string(),
                    key,
                    etag: out.e_tag().map(str::to_string),
                };
                return Ok((lock, broken));
            }
            Err(e) => e,
        };
        let code = e.code().unwrap_or_default().to_string();
        let status = e.raw_response().map(|r| r.status().as_u16());
        if code == "NoSuchBucket" {
            return Err(LockError::NoBucket);
        }
        // 412: the key exists. 409: a write raced this one; read who won.
        if !(code == "PreconditionFailed"
            || code == "ConditionalRequestConflict"
            || matches!(status, Some(412 | 409)))
        {
            return Err(LockError::Api(describe(&e)));
        }
        let Some((holder, etag)) = read(aws, bucket, &key).await? else {
            // Released between the write and the read: try again.
            continue;
        };
        let Some(holder) = holder else {
            if !break_lock {
                return Err(LockError::Held {
                    holder: "an unreadable lock object".into(),
                });
            }
            remove(aws, bucket, &key, etag.as_deref()).await?;
            continue;
        };
        if !(break_lock || holder.is_stale()) {
            return Err(LockError::Held {
                holder: holder.describe(),
            });
        }
        remove(aws, bucket, &key, etag.as_deref()).await?;
        broken = Some(holder);
    }
    Err(LockError::Held {
        holder: "another deploy that took it again at once".into(),
    })
}

/// The holder of a lock (None inside when the body is not pipec's) and its
/// ETag; `None` when there is no lock.
async fn read(
    aws: &Aws,
    bucket: &str,
    key: &str,
) -> Result<Option<(Option<Holder>, Option<String>)>, LockError> {
    match aws.s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let etag = out.e_tag().map(str::to_string);
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| LockError::Api(e.to_string()))?
                .to_vec();
            Ok(Some((serde_json::from_slice(&bytes).ok(), etag)))
        }
        Err(e) if e.code() == Some("NoSuchKey") => Ok(None),
        Err(e) => Err(LockError::Api(describe(&e))),
    }
}

/// Deletes the lock object if it is still the one read (`etag`).
async fn remove(aws: &Aws, bucket: &str, key: &str, etag: Option<&str>) -> Result<(), LockError> {
    let mut req = aws.s3.delete_object().bucket(bucket).key(key);
    if let Some(t) = etag {
        req = req.if_match(t);
    }
    match req.send().await {
        Ok(_) => Ok(()),
        // Someone else replaced it meanwhile: the next write finds them.
        Err(e) if e.code() == Some("PreconditionFailed") => Ok(()),
        Err(e) => Err(LockError::Api(describe(&e))),
    }
}

/// Gives the lock back. Only this lock's object is removed (`If-Match`).
pub async fn release(aws: &Aws, lock: &Lock) -> Result<(), String> {
    remove(aws, &lock.bucket, &lock.key, lock.etag.as_deref())
        .await
        .map_err(|e| match e {
            LockError::Api(d) => d,
            other => format!("{other:?}"),
        })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Whether a process of this host runs; where that cannot be told (no
/// `/proc`), it is taken to run, so only age makes its lock stale.
fn process_alive(pid: u32) -> bool {
    if !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn ago(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC` (civil from days,
/// after Howard Hinnant's algorithm).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_printed_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_796_173_323), "2026-12-02 01:02:03 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn a_lock_is_stale_when_old_or_its_process_is_gone() {
        let mut h = Holder::me("arn:aws:iam::1:user/a");
        assert!(!h.is_stale(), "this process holds it");
        h.since = now() - STALE.as_secs() - 1;
        assert!(h.is_stale(), "too old");
        let mut other = Holder::me("arn:aws:iam::1:user/a");
        other.host = "another-host".into();
        other.pid = u32::MAX;
        assert!(!other.is_stale(), "another host's process is not looked at");
        let mut dead = Holder::me("arn:aws:iam::1:user/a");
        dead.pid = u32::MAX;
        assert!(dead.is_stale(), "no such process here");
        let text = Holder::me("arn:x").describe();
        assert!(
            text.starts_with("arn:x on host ") && text.contains(" UTC (0 s ago)"),
            "{text}"
        );
    }
}
