//! The process protocol of the local Spark driver (`templates/local/driver.py`):
//! one long-lived Python process per pyspark version, JSON lines both ways.
//!
//! In: the driver's Python, the scripts folder and a log file. Out: a handle
//! that sends `run` and `cancel` commands, and a channel of `Message`s read
//! from the driver's stdout by a thread of its own.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Sender;

/// The driver script, written under `.pipec/` before the driver starts.
pub const SCRIPT: &str = include_str!("../../templates/local/driver.py");
/// The builder of the Iceberg jars, written beside the driver.
pub const ICEBERG_JARS: &str = include_str!("../../templates/local/iceberg_jars.py");

/// What the driver says, tagged with the driver's key (its pyspark version).
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// The SparkSession is up.
    Ready { driver: String },
    /// A stage's report: `kind` and its fields as sent.
    Report {
        stage: String,
        kind: String,
        fields: Value,
    },
    /// A stage ended.
    Done {
        stage: String,
        ok: bool,
        error: Option<String>,
        traceback: Vec<String>,
    },
    /// The driver's stdout closed: it exited.
    Exited { driver: String },
}

/// Parses one protocol line; None for a line that is not a known message.
pub fn parse(driver: &str, line: &str) -> Option<Message> {
    let v: Value = serde_json::from_str(line).ok()?;
    let id = || v.get("id").and_then(Value::as_str).map(str::to_string);
    match v.get("event")?.as_str()? {
        "ready" => Some(Message::Ready {
            driver: driver.to_string(),
        }),
        "report" => {
            let mut fields = v.clone();
            if let Some(o) = fields.as_object_mut() {
                o.remove("event");
                o.remove("id");
                o.remove("kind");
            }
            Some(Message::Report {
                stage: id()?,
                kind: v.get("kind")?.as_str()?.to_string(),
                fields,
            })
        }
        "done" => Some(Message::Done {
            stage: id()?,
            ok: v.get("ok")?.as_bool()?,
            error: v.get("error").and_then(Value::as_str).map(str::to_string),
            traceback: v
                .get("traceback")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        }),
        _ => None,
    }
}

/// How to start a driver.
pub struct Launch<'a> {
    /// The driver's key (its pyspark version), in its messages.
    pub key: &'a str,
    pub python: &'a Path,
    /// Where the driver script is written.
    pub script: &'a Path,
    /// The folder of the run's scripts (put on sys.path).
    pub scripts_dir: &'a Path,
    /// The driver's stderr: the JVM's output.
    pub log: &'a Path,
    pub env: &'a [(String, String)],
}

/// A running driver.
pub struct Driver {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Driver {
    /// Writes the driver script and starts it, its stderr in the log. Messages go to `tx`, each
    /// wrapped by `wrap`.
    pub fn start<T: Send + 'static>(
        l: &Launch,
        tx: Sender<T>,
        wrap: fn(Message) -> T,
    ) -> Result<Driver, String> {
        let Launch {
            key,
            python,
            script,
            scripts_dir,
            log,
            env,
        } = *l;
        if let Some(dir) = script.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(script, SCRIPT)
            .map_err(|e| format!("cannot write {}: {e}", script.display()))?;
        let jars = script.with_file_name("iceberg_jars.py");
        std::fs::write(&jars, ICEBERG_JARS)
            .map_err(|e| format!("cannot write {}: {e}", jars.display()))?;
        let log_file = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut child = Command::new(python)
            .arg(script)
            .arg(scripts_dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
        let stdin = child.stdin.take();
        let Some(stdout) = child.stdout.take() else {
            return Err("the driver has no stdout".into());
        };
        let key = key.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(m) = parse(&key, &line)
                    && tx.send(wrap(m)).is_err()
                {
                    return;
                }
            }
            let _ = tx.send(wrap(Message::Exited { driver: key }));
        });
        Ok(Driver { child, stdin })
    }

    fn send(&mut self, v: Value) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("the driver's stdin is closed")?;
        writeln!(stdin, "{v}")
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("the Spark driver stopped: {e}"))
    }

    /// Runs a generated script in a thread of the driver; `jdbc_standins`
    /// maps each connection given no database to its stand-in folder, and
    /// `iceberg_warehouse` is the Hadoop catalog's folder for Iceberg tables.
    pub fn run(
        &mut self,
        stage: &str,
        script: &Path,
        argv: &[String],
        log: &Path,
        jdbc_standins: &[(String, PathBuf)],
        iceberg_warehouse: Option<&Path>,
    ) -> Result<(), String> {
        let standins: serde_json::Map<String, serde_json::Value> = jdbc_standins
            .iter()
            .map(|(c, d)| (c.clone(), json!(d.to_string_lossy())))
            .collect();
        self.send(json!({
            "op": "run",
            "id": stage,
            "script": script.to_string_lossy(),
            "argv": argv,
            "log": log.to_string_lossy(),
            "jdbc_standins": standins,
            "iceberg_warehouse": iceberg_warehouse.map(|w| w.to_string_lossy()),
        }))
    }

    /// Cancels a stage's Spark jobs (its job group).
    pub fn cancel(&mut self, stage: &str) -> Result<(), String> {
        self.send(json!({"op": "cancel", "id": stage}))
    }

    /// Asks the driver to stop its SparkSession and exit, and waits a while.
    pub fn quit(mut self) {
        let _ = self.send(json!({"op": "quit"}));
        self.stdin = None;
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_lines_parse_into_messages() {
        assert_eq!(
            parse("3.5.4", r#"{"event": "ready"}"#),
            Some(Message::Ready {
                driver: "3.5.4".into()
            })
        );
        assert_eq!(
            parse(
                "k",
                r#"{"event": "done", "id": "clean", "ok": false, "error": "E: x", "traceback": ["a", "b"]}"#
            ),
            Some(Message::Done {
                stage: "clean".into(),
                ok: false,
                error: Some("E: x".into()),
                traceback: vec!["a".into(), "b".into()],
            })
        );
        assert_eq!(
            parse(
                "k",
                r#"{"event": "report", "id": "s", "kind": "rows_read", "table": "t", "rows": 3}"#
            ),
            Some(Message::Report {
                stage: "s".into(),
                kind: "rows_read".into(),
                fields: json!({"table": "t", "rows": 3}),
            })
        );
        assert_eq!(parse("k", "not json"), None);
        assert_eq!(parse("k", r#"{"event": "done"}"#), None);
    }
}
