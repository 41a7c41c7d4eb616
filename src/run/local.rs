//! `pipec run --local`: the engine's `Executor` on this machine.
//!
//! In: a `ValidPipeline`, its rendered scripts, a `LocalLayout` and options
//! (`--input`, `--python`, `--jobs`). Out: the nodes' final states and each
//! stage's `StageReport` and crawler's `CrawlReport`. Spark stages run in
//! one driver process per pyspark version (`driver`); Python shell stages
//! and stages with their own script run as processes of their own; a
//! download whose table has samples or an `--input` copies them instead of
//! fetching. Logs: one file per node and attempt under `layout.run_logs`.

use super::driver::{Driver, Message};
use super::engine::{Executor, Finished};
use super::layout::LocalLayout;
use super::plan::Plan;
use super::status::{
    CrawlReport, NodeError, NodeKind, NodeState, NodeStatus, QualityOutcome, StageReport,
};
use crate::model::StageKind;
use crate::validate::{ValidPipeline, settings};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Options of a local run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--input TABLE=PATH`: files copied into a table's location.
    pub inputs: Vec<(String, PathBuf)>,
    /// `--python PATH`.
    pub python: Option<PathBuf>,
    /// `--jdbc CONNECTION=URL`: the database a connection's tables are in.
    pub jdbc: Vec<(String, String)>,
    /// The `.pipec/` folder (venvs, the driver script).
    pub pipec_dir: PathBuf,
    /// Environment for every Python process (Spark's quiet settings).
    pub env: Vec<(String, String)>,
}

/// Everything that reaches the executor's loop.
enum Event {
    Driver(Message),
    Process { node: usize, ok: bool },
}

fn wrap(m: Message) -> Event {
    Event::Driver(m)
}

/// The results of a local run.
pub struct Outcome {
    pub nodes: Vec<NodeStatus>,
    pub stages: HashMap<String, StageReport>,
    pub crawls: HashMap<String, CrawlReport>,
    /// Where the run's logs are.
    pub logs: PathBuf,
    /// Notes shown after the summary (for example: samples used).
    pub notes: Vec<String>,
}

pub struct LocalExecutor<'a> {
    v: &'a ValidPipeline,
    plan: &'a Plan,
    layout: &'a LocalLayout,
    opts: &'a Options,
    scripts: PathBuf,
    logs: PathBuf,
    began: Instant,
    tx: Sender<Event>,
    rx: Receiver<Event>,
    drivers: HashMap<String, Driver>,
    /// The driver key each running Spark stage runs on.
    on_driver: HashMap<usize, String>,
    processes: HashMap<usize, Arc<Mutex<Child>>>,
    /// Results of nodes that ended within `start` (copies, crawls).
    done_now: Vec<Finished>,
    attempt: HashMap<usize, u32>,
    pub stages: HashMap<String, StageReport>,
    pub crawls: HashMap<String, CrawlReport>,
    pub notes: Vec<String>,
    display: &'a mut dyn FnMut(&[NodeStatus]),
}

impl<'a> LocalExecutor<'a> {
    pub fn new(
        v: &'a ValidPipeline,
        plan: &'a Plan,
        layout: &'a LocalLayout,
        opts: &'a Options,
        scripts: PathBuf,
        logs: PathBuf,
        display: &'a mut dyn FnMut(&[NodeStatus]),
    ) -> LocalExecutor<'a> {
        let (tx, rx) = channel();
        LocalExecutor {
            v,
            plan,
            layout,
            opts,
            scripts,
            logs,
            began: Instant::now(),
            tx,
            rx,
            drivers: HashMap::new(),
            on_driver: HashMap::new(),
            processes: HashMap::new(),
            done_now: Vec::new(),
            attempt: HashMap::new(),
            stages: HashMap::new(),
            crawls: HashMap::new(),
            notes: Vec::new(),
            display,
        }
    }

    fn node_by_stage(&self, stage: &str) -> Option<usize> {
        self.plan.index(stage, NodeKind::Stage)
    }

    fn log_path(&self, node: usize) -> PathBuf {
        let attempt = self.attempt.get(&node).copied().unwrap_or(1);
        self.logs
            .join(format!("{}.{attempt}.log", self.plan.nodes[node].name))
    }

    /// The Glue version whose environment crawlers use: the first Spark stage's.
    fn crawler_glue_version(&self) -> String {
        let p = self.v.pipeline();
        p.stages
            .values()
            .find(|s| s.kind == crate::model::StageKind::Spark)
            .map(|s| settings(p, s).glue_version)
            .unwrap_or_else(|| "5.0".to_string())
    }

    fn python(&self, glue_version: &str) -> Result<PathBuf, String> {
        super::venv::ensure(
            self.opts.python.as_deref(),
            &self.opts.pipec_dir,
            glue_version,
        )
    }

    /// The arguments of a stage: its tables' local locations, its settings'
    /// arguments, then the trigger action's.
    fn argv(&self, stage: &str, extra: &[(String, String)]) -> Vec<String> {
        let p = self.v.pipeline();
        let mut argv = vec!["--JOB_NAME".to_string(), stage.to_string()];
        let Some(s) = p.stages.get(stage) else {
            return argv;
        };
        let mut push = |flag: String, table: &str| {
            if let Some(t) = p.schemas.get(table)
                && let Some(loc) = self.layout.table(table, t)
            {
                argv.push(format!("--{flag}"));
                argv.push(loc.to_string_lossy().into_owned());
            }
        };
        for i in &s.inputs {
            push(crate::names::input_arg(i.table()), i.table());
        }
        for o in &s.outputs {
            push(crate::names::output_arg(&o.table), &o.table);
        }
        if let Some(d) = &s.download {
            push(crate::names::output_arg(&d.to), &d.to);
        }
        // JDBC connections: the URL given with --jdbc; the runtime takes the
        // credentials from $PIPEC_JDBC_USER and $PIPEC_JDBC_PASSWORD.
        let mut connections: Vec<&str> = Vec::new();
        let tables = s
            .inputs
            .iter()
            .map(|i| i.table())
            .chain(s.outputs.iter().map(|o| o.table.as_str()));
        for t in tables {
            if let Some(c) = p.schemas.get(t).and_then(|t| t.connection.as_deref())
                && !connections.contains(&c)
            {
                connections.push(c);
            }
        }
        for c in connections {
            let url = self
                .opts
                .jdbc
                .iter()
                .find(|(k, _)| k == c)
                .map(|(_, u)| u.clone())
                .unwrap_or_default();
            let secret = p
                .connections
                .get(c)
                .map(|k| k.secret.clone())
                .unwrap_or_default();
            argv.push(format!("--{}", crate::names::connection_arg(c)));
            argv.push(crate::names::glue_connection(&p.pipeline, c));
            argv.push(format!("--{}", crate::names::secret_arg(c)));
            argv.push(secret);
            argv.push(format!("--{}", crate::names::jdbc_url_arg(c)));
            argv.push(url);
        }
        if crate::validate::iceberg::maintains(p, s) {
            // Table optimizers are Glue's; a local run sets none up.
            argv.push(format!(
                "--{}",
                crate::validate::iceberg::OPTIMIZER_ROLE_ARG
            ));
            argv.push("local".into());
        }
        for (k, v) in s
            .arguments
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain(extra.iter().cloned())
        {
            argv.push(format!("--{}", k.trim_start_matches("--")));
            argv.push(v);
        }
        argv
    }

    fn start_stage(
        &mut self,
        node: usize,
        extra: &[(String, String)],
    ) -> Result<Option<Finished>, String> {
        let p = self.v.pipeline();
        let name = self.plan.nodes[node].name.clone();
        let Some(s) = p.stages.get(&name) else {
            return Err(format!("no stage `{name}`"));
        };
        let log = self.log_path(node);
        if let Some(d) = &s.download
            && let Some(from) = self.sample_of(&d.to)?
        {
            let to = p
                .schemas
                .get(&d.to)
                .and_then(|t| self.layout.table(&d.to, t))
                .ok_or_else(|| format!("table `{}` has no local location", d.to))?;
            let copied = copy_into(&from, &to)?;
            let _ = std::fs::write(
                &log,
                format!(
                    "copied {} file(s) from {} into {} instead of downloading\n",
                    copied.len(),
                    from.iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    to.display()
                ),
            );
            self.notes.push(format!(
                "stage {name}: copied {} sample file(s) into {} instead of downloading {}",
                copied.len(),
                to.display(),
                d.url
            ));
            return Ok(Some(Finished {
                node,
                state: NodeState::Succeeded,
                error: None,
            }));
        }
        let st = settings(p, s);
        let script = self.scripts.join(format!("{name}.py"));
        let argv = self.argv(&name, extra);
        let own_process = s.kind == StageKind::PythonShell || s.script.is_some();
        let missing = self.missing_jdbc(s);
        if own_process && let Some(c) = missing.first() {
            // Only the driver's runtime knows stand-ins; a script of the
            // user's own talks to the database itself.
            return Err(format!(
                "stage {name} uses JDBC connection {c}: a local run of a stage with its own script needs its database, given as --jdbc {c}=URL (user and password from $PIPEC_JDBC_USER and $PIPEC_JDBC_PASSWORD)"
            ));
        }
        let standins: Vec<(String, PathBuf)> = missing
            .iter()
            .map(|c| (c.clone(), self.layout.jdbc_connection(c)))
            .collect();
        self.note_standins(&name, s, &missing);
        if own_process {
            let python = self.python(if s.kind == StageKind::PythonShell {
                crate::validate::DEFAULT_SPARK_GLUE_VERSION
            } else {
                &st.glue_version
            })?;
            let log_file = std::fs::File::create(&log)
                .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
            let err_file = log_file.try_clone().map_err(|e| e.to_string())?;
            let child = Command::new(&python)
                .arg(&script)
                .args(&argv)
                .envs(self.opts.env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(log_file)
                .stderr(err_file)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
            let child = Arc::new(Mutex::new(child));
            self.processes.insert(node, child.clone());
            let tx = self.tx.clone();
            std::thread::spawn(move || {
                loop {
                    let status = child
                        .lock()
                        .ok()
                        .and_then(|mut c| c.try_wait().ok().flatten());
                    if let Some(status) = status {
                        let _ = tx.send(Event::Process {
                            node,
                            ok: status.success(),
                        });
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
            return Ok(None);
        }
        let iceberg = uses_iceberg(p, s);
        if iceberg
            && !crate::glue::local_pyspark_version(&st.glue_version)
                .is_some_and(|v| v.starts_with("3.5"))
        {
            return Err(format!(
                "stage {name} reads or writes Iceberg tables on Glue {}, whose local PySpark is not 3.5: the local Iceberg runtime (snowpark-connect-deps-iceberg) is built for Spark 3.5 only; run it on AWS, or on Glue 5.1 or older",
                st.glue_version
            ));
        }
        let key = self.driver_for(&st.glue_version)?;
        let warehouse = iceberg.then(|| self.layout.dir().to_path_buf());
        let Some(driver) = self.drivers.get_mut(&key) else {
            return Err("the Spark driver did not start".into());
        };
        driver.run(&name, &script, &argv, &log, &standins, warehouse.as_deref())?;
        self.on_driver.insert(node, key);
        Ok(None)
    }

    /// The JDBC connections of the stage that `--jdbc` does not give, each once.
    fn missing_jdbc(&self, s: &crate::model::Stage) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, t, _) in self.jdbc_tables(s) {
            if let Some(c) = &t.connection
                && !self.opts.jdbc.iter().any(|(k, _)| k == c)
                && !out.contains(c)
            {
                out.push(c.clone());
            }
        }
        out
    }

    /// The stage's JDBC tables: name, schema, and whether the stage writes it.
    fn jdbc_tables<'s>(
        &'s self,
        s: &'s crate::model::Stage,
    ) -> Vec<(&'s str, &'s crate::model::TableSchema, bool)> {
        let p = self.v.pipeline();
        s.inputs
            .iter()
            .map(|i| (i.table(), false))
            .chain(s.outputs.iter().map(|o| (o.table.as_str(), true)))
            .filter_map(|(name, writes)| {
                p.schemas
                    .get(name)
                    .filter(|t| t.connection.is_some())
                    .map(|t| (name, t, writes))
            })
            .collect()
    }

    /// One note per JDBC table the stage reads or writes as a Parquet
    /// stand-in, so the summary says no database was touched.
    fn note_standins(&mut self, stage: &str, s: &crate::model::Stage, missing: &[String]) {
        let mut notes = Vec::new();
        for (name, t, writes) in self.jdbc_tables(s) {
            let Some(c) = t
                .connection
                .as_deref()
                .filter(|c| missing.iter().any(|m| m == c))
            else {
                continue;
            };
            let jdbc_table = t.jdbc_table.as_deref().unwrap_or(name);
            notes.push(format!(
                "stage {stage}: {} JDBC table {jdbc_table} ({name}) {} a Parquet stand-in at {}, as no --jdbc {c}=URL was given",
                if writes { "wrote" } else { "read" },
                if writes { "as" } else { "from" },
                self.layout.jdbc_standin(c, jdbc_table).display()
            ));
        }
        self.notes.extend(notes);
    }

    /// The key of the driver of a Glue version, started if it is not yet.
    fn driver_for(&mut self, glue_version: &str) -> Result<String, String> {
        let key = super::venv::pins(glue_version)
            .map(|p| p.pyspark().to_string())
            .unwrap_or_else(|| glue_version.to_string());
        if !self.drivers.contains_key(&key) {
            let python = self.python(glue_version)?;
            let mut env = self.opts.env.clone();
            let p = self.v.pipeline();
            if p.stages.values().any(|s| uses_iceberg(p, s)) {
                // The driver builds the Iceberg jars into this cache once.
                let cache = self.opts.pipec_dir.join("iceberg-jars");
                env.push((
                    "PIPEC_ICEBERG_CACHE".into(),
                    cache.to_string_lossy().into_owned(),
                ));
            }
            let launch = super::driver::Launch {
                key: &key,
                python: &python,
                script: &self.opts.pipec_dir.join("driver").join("driver.py"),
                scripts_dir: &self.scripts,
                log: &self.logs.join(format!("driver-{key}.log")),
                env: &env,
            };
            let driver = Driver::start(&launch, self.tx.clone(), wrap)?;
            self.drivers.insert(key.clone(), driver);
        }
        Ok(key)
    }

    /// Starts the drivers the run's Spark stages need before the first of
    /// them is due, so the JVM starts while earlier stages (downloads) run.
    /// A driver that cannot start now fails its first stage later, with the
    /// reason.
    pub fn warm(&mut self) {
        let p = self.v.pipeline();
        let mut versions: Vec<String> = Vec::new();
        // With --only, just that stage can run; else any stage may.
        let may_run: Vec<usize> = if self.plan.follow_triggers {
            (0..self.plan.nodes.len()).collect()
        } else {
            self.plan.first.iter().map(|s| s.node).collect()
        };
        for n in may_run.iter().map(|&i| &self.plan.nodes[i]) {
            if n.kind == NodeKind::Stage
                && let Some(s) = p.stages.get(&n.name)
                && s.kind == StageKind::Spark
                && s.script.is_none()
            {
                let v = settings(p, s).glue_version;
                if !versions.contains(&v) {
                    versions.push(v);
                }
            }
        }
        for v in versions {
            let _ = self.driver_for(&v);
        }
    }

    /// The files given for a table: `--input`, else its `samples:`.
    fn sample_of(&self, table: &str) -> Result<Option<Vec<PathBuf>>, String> {
        let given: Vec<PathBuf> = self
            .opts
            .inputs
            .iter()
            .filter(|(t, _)| t == table)
            .map(|(_, p)| p.clone())
            .collect();
        if !given.is_empty() {
            return Ok(Some(given));
        }
        let Some(t) = self.v.pipeline().schemas.get(table) else {
            return Ok(None);
        };
        if t.samples.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            t.samples
                .iter()
                .map(|s| self.v.base_dir().join(s))
                .collect(),
        ))
    }

    /// Copies samples of tables no download writes into their locations,
    /// before the run: the first stage's inputs.
    pub fn seed_inputs(&mut self) -> Result<(), String> {
        let p = self.v.pipeline();
        for (name, t) in &p.schemas {
            if p.stages
                .values()
                .any(|s| s.download.as_ref().is_some_and(|d| &d.to == name))
            {
                continue;
            }
            let written = p
                .stages
                .values()
                .any(|s| s.outputs.iter().any(|o| &o.table == name));
            let explicit = self.opts.inputs.iter().any(|(t, _)| t == name);
            let Some(to) = self.layout.table(name, t) else {
                continue;
            };
            // A table a stage writes is seeded only when asked, or on a first run.
            if written && !explicit && to.exists() {
                continue;
            }
            if !explicit && to.exists() {
                continue;
            }
            if let Some(from) = self.sample_of(name)? {
                let n = copy_into(&from, &to)?.len();
                self.notes.push(format!(
                    "table {name}: {n} sample file(s) copied into {}",
                    to.display()
                ));
            }
        }
        Ok(())
    }

    fn on_report(&mut self, stage: &str, kind: &str, f: &serde_json::Value) {
        let r = self.stages.entry(stage.to_string()).or_default();
        let table = f
            .get("table")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let rows = f.get("rows").and_then(|v| v.as_u64()).unwrap_or(0);
        match kind {
            "rows_read" => r.rows_read.push((table, rows)),
            "rows_written" => r.rows_written.push((table, rows)),
            // A merge reports its source's rows and its deleting rows apart,
            // in either order; both land on one entry per table.
            "rows_merged" | "rows_deleting" => {
                let i = match r.rows_merged.iter().position(|m| m.0 == table) {
                    Some(i) => i,
                    None => {
                        r.rows_merged.push((table, 0, 0));
                        r.rows_merged.len() - 1
                    }
                };
                if kind == "rows_merged" {
                    r.rows_merged[i].1 = rows;
                } else {
                    r.rows_merged[i].2 = rows;
                }
            }
            "quality" => r.quality.push(QualityOutcome {
                table,
                rule: f
                    .get("rule")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string(),
                passed: f.get("passed").and_then(|v| v.as_bool()).unwrap_or(false),
                reason: f.get("reason").and_then(|v| v.as_str()).map(str::to_string),
            }),
            "cast_nulls" => r.cast_nulls.push((
                f.get("frame")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string(),
                f.get("column")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string(),
                f.get("count").and_then(|v| v.as_u64()).unwrap_or(0),
            )),
            _ => {}
        }
    }

    /// Stops the drivers.
    pub fn finish(
        self,
    ) -> (
        HashMap<String, StageReport>,
        HashMap<String, CrawlReport>,
        Vec<String>,
    ) {
        for (_, d) in self.drivers {
            d.quit();
        }
        (self.stages, self.crawls, self.notes)
    }
}

/// The error of a process stage: the last `Error:` line of its log and the
/// tail of the traceback.
pub fn error_from_log(log: &Path) -> NodeError {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let message = lines
        .iter()
        .rev()
        .find(|l| {
            !l.starts_with(' ')
                && l.contains(": ")
                && (l.contains("Error") || l.contains("Exception"))
        })
        .map(|l| l.to_string())
        .unwrap_or_else(|| "the stage's process failed".to_string());
    let tail = lines[lines.len().saturating_sub(12)..]
        .iter()
        .map(|l| l.to_string())
        .collect();
    NodeError {
        message,
        traceback_tail: tail,
        log: Some(log.display().to_string()),
    }
}

/// Copies files (or folders' contents) into `to`, replacing what was there.
pub fn copy_into(from: &[PathBuf], to: &Path) -> Result<Vec<PathBuf>, String> {
    if to.exists() {
        std::fs::remove_dir_all(to).map_err(|e| format!("cannot empty {}: {e}", to.display()))?;
    }
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let mut out = Vec::new();
    for f in from {
        copy_one(f, to, &mut out)?;
    }
    Ok(out)
}

fn copy_one(from: &Path, to: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta =
        std::fs::metadata(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    let Some(name) = from.file_name() else {
        return Err(format!("{} has no file name", from.display()));
    };
    if meta.is_dir() {
        let entries =
            std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        for e in entries.flatten() {
            let target = if e.path().is_dir() {
                to.join(e.file_name())
            } else {
                to.to_path_buf()
            };
            std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
            copy_one(&e.path(), &target, out)?;
        }
        return Ok(());
    }
    let target = to.join(name);
    std::fs::copy(from, &target).map_err(|e| {
        format!(
            "cannot copy {} to {}: {e}",
            from.display(),
            target.display()
        )
    })?;
    out.push(target);
    Ok(())
}

impl Executor for LocalExecutor<'_> {
    fn start(&mut self, node: usize, attempt: u32, arguments: &[(String, String)]) {
        self.attempt.insert(node, attempt);
        let n = &self.plan.nodes[node];
        let result = match n.kind {
            NodeKind::Crawler => {
                // Crawlers need pyarrow, which the Spark environment has.
                let python = self.python(&self.crawler_glue_version());
                match python.and_then(|py| super::crawl::crawl(self.v, &n.name, self.layout, &py)) {
                    Ok(r) => {
                        self.crawls.insert(n.name.clone(), r);
                        Ok(Some(Finished {
                            node,
                            state: NodeState::Succeeded,
                            error: None,
                        }))
                    }
                    Err(e) => Ok(Some(Finished {
                        node,
                        state: NodeState::Failed,
                        error: Some(NodeError {
                            message: e,
                            ..NodeError::default()
                        }),
                    })),
                }
            }
            NodeKind::Stage => self.start_stage(node, arguments),
        };
        match result {
            Ok(Some(f)) => self.done_now.push(f),
            Ok(None) => {}
            Err(message) => self.done_now.push(Finished {
                node,
                state: NodeState::Failed,
                error: Some(NodeError {
                    message,
                    ..NodeError::default()
                }),
            }),
        }
    }

    fn stop(&mut self, node: usize) {
        if let Some(key) = self.on_driver.remove(&node)
            && let Some(d) = self.drivers.get_mut(&key)
        {
            let _ = d.cancel(&self.plan.nodes[node].name);
        }
        if let Some(c) = self.processes.remove(&node)
            && let Ok(mut c) = c.lock()
        {
            let _ = c.kill();
        }
    }

    fn wait(&mut self, deadline: Option<Duration>) -> Vec<Finished> {
        if !self.done_now.is_empty() {
            return std::mem::take(&mut self.done_now);
        }
        let mut out = Vec::new();
        let mut first = true;
        loop {
            let event = if first {
                first = false;
                // At least once a second, so the live status shows time passing.
                let tick = self.now() + Duration::from_secs(1);
                let until = deadline.map_or(tick, |d| d.min(tick));
                match self.rx.recv_timeout(until.saturating_sub(self.now())) {
                    Ok(e) => e,
                    Err(_) => return out,
                }
            } else {
                match self.rx.try_recv() {
                    Ok(e) => e,
                    Err(_) => return out,
                }
            };
            match event {
                Event::Process { node, ok } => {
                    self.processes.remove(&node);
                    let error = (!ok).then(|| error_from_log(&self.log_path(node)));
                    out.push(Finished {
                        node,
                        state: if ok {
                            NodeState::Succeeded
                        } else {
                            NodeState::Failed
                        },
                        error,
                    });
                }
                Event::Driver(Message::Ready { .. }) => {}
                Event::Driver(Message::Report {
                    stage,
                    kind,
                    fields,
                }) => self.on_report(&stage, &kind, &fields),
                Event::Driver(Message::Done {
                    stage,
                    ok,
                    error,
                    traceback,
                }) => {
                    let Some(node) = self.node_by_stage(&stage) else {
                        continue;
                    };
                    self.on_driver.remove(&node);
                    let log = Some(self.log_path(node).display().to_string());
                    out.push(Finished {
                        node,
                        state: if ok {
                            NodeState::Succeeded
                        } else {
                            NodeState::Failed
                        },
                        error: (!ok).then(|| NodeError {
                            message: error.unwrap_or_else(|| "the stage failed".into()),
                            traceback_tail: traceback,
                            log,
                        }),
                    });
                }
                Event::Driver(Message::Exited { driver }) => {
                    let log = self.logs.join(format!("driver-{driver}.log"));
                    let lost: Vec<usize> = self
                        .on_driver
                        .iter()
                        .filter(|(_, k)| **k == driver)
                        .map(|(n, _)| *n)
                        .collect();
                    for node in lost {
                        self.on_driver.remove(&node);
                        let mut e = error_from_log(&log);
                        e.message = format!("the Spark driver exited: {}", e.message);
                        out.push(Finished {
                            node,
                            state: NodeState::Failed,
                            error: Some(e),
                        });
                    }
                    self.drivers.remove(&driver);
                }
            }
        }
    }

    fn now(&self) -> Duration {
        self.began.elapsed()
    }

    fn changed(&mut self, nodes: &[NodeStatus]) {
        (self.display)(nodes);
    }
}

/// Runs a pipeline locally: renders its scripts under the run's folder,
/// seeds inputs, runs the engine, stops the drivers.
pub fn run(
    v: &ValidPipeline,
    plan: &Plan,
    layout: &LocalLayout,
    opts: &Options,
    jobs: usize,
    display: &mut dyn FnMut(&[NodeStatus]),
) -> Result<Outcome, String> {
    let run_id = run_id();
    let logs = layout.run_logs(&run_id);
    let scripts = logs.join("scripts");
    std::fs::create_dir_all(&scripts)
        .map_err(|e| format!("cannot create {}: {e}", scripts.display()))?;
    let rendered = crate::render::scripts::render(v).map_err(|e| e.message())?;
    for (path, text) in &rendered {
        let name = path.trim_start_matches("scripts/");
        std::fs::write(scripts.join(name), text)
            .map_err(|e| format!("cannot write {name}: {e}"))?;
    }
    // The catalog holds every declared table before anything runs, as the
    // glue-catalog stack does on AWS; crawlers then add partitions.
    super::catalog::seed(v.pipeline(), layout)?;
    let mut exec = LocalExecutor::new(v, plan, layout, opts, scripts, logs.clone(), display);
    exec.seed_inputs()?;
    exec.warm();
    let nodes = super::engine::run(plan, &mut exec, jobs);
    let (stages, crawls, notes) = exec.finish();
    Ok(Outcome {
        nodes,
        stages,
        crawls,
        logs,
        notes,
    })
}

/// A run's id: the time it began, sortable (`20261202T123456-1234`).
fn run_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{secs}-{}", std::process::id())
}

/// The environment of every local Python process: Spark quiet and local.
pub fn spark_env() -> Vec<(String, String)> {
    let mut env = vec![
        ("SPARK_LOCAL_IP".to_string(), "127.0.0.1".to_string()),
        ("PYTHONUNBUFFERED".to_string(), "1".to_string()),
    ];
    // Spark options the user set are kept; the driver turns the UI off itself.
    if std::env::var_os("PYSPARK_SUBMIT_ARGS").is_none() {
        env.push((
            "PYSPARK_SUBMIT_ARGS".to_string(),
            "--conf spark.ui.enabled=false --conf spark.ui.showConsoleProgress=false pyspark-shell"
                .to_string(),
        ));
    }
    env
}

/// The pipeline file of the one pipeline in `generated/` (its manifest's
/// `source`); several or none are a usage error.
pub fn generated_source(dir: &Path) -> Result<PathBuf, String> {
    // A pipeline with environments counts once (its file is the same).
    let built = crate::build::built_pipelines(dir)
        .map_err(|e| format!("cannot read {}: {e}; give a pipeline FILE", dir.display()))?;
    let names: Vec<String> = built.iter().map(|(n, _)| n.clone()).collect();
    let found: Vec<PathBuf> = built.into_iter().map(|(_, d)| d).collect();
    match found.as_slice() {
        [] => Err(format!(
            "{} holds no pipeline (no */manifest.yaml); give a pipeline FILE",
            dir.display()
        )),
        [one] => {
            let manifest = one.join("manifest.yaml");
            let text = std::fs::read_to_string(&manifest)
                .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
            let source = text
                .lines()
                .find_map(|l| l.strip_prefix("source:"))
                .map(|s| s.trim().trim_matches('"').to_string())
                .ok_or_else(|| {
                    format!(
                        "{} names no source file; give a pipeline FILE",
                        manifest.display()
                    )
                })?;
            Ok(one.join(source))
        }
        many => Err(format!(
            "{} holds {} pipelines ({}); give one pipeline FILE",
            dir.display(),
            many.len(),
            names.join(", ")
        )),
    }
}

/// Whether a stage reads or writes an Iceberg table.
fn uses_iceberg(p: &crate::model::Pipeline, s: &crate::model::Stage) -> bool {
    let iceberg = |t: &str| {
        p.schemas
            .get(t)
            .is_some_and(|t| t.format == Some(crate::model::Format::Iceberg))
    };
    s.inputs.iter().any(|i| iceberg(i.table())) || s.outputs.iter().any(|o| iceberg(&o.table))
}
