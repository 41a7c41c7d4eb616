//! `pipec run` on AWS: starts the pipeline's Glue workflow (or one stage's
//! job) and watches it to the end. A pipeline split into chained workflows
//! is followed from workflow to workflow: when a watched run's node reached
//! the state that starts a later workflow, the later workflow's run that
//! began after it is found (GetWorkflowRuns) and watched in turn.
//!
//! In: the pipeline's `Resources` (workflow and job names from its stacks), a
//! Glue client and the user's choices (`--stage`, `--no-wait`, `--timeout`).
//! Out: one status line per node change, a summary (per node: state,
//! duration, attempts; for a failure its `ErrorMessage` and CloudWatch log
//! group and stream), and an `Outcome`.
//!
//! Polling stays well inside Glue's API rate limits
//! (https://docs.aws.amazon.com/general/latest/gr/glue.html, "Service
//! quotas"): one GetWorkflowRun per tick, 2 s growing to 15 s, and GetJobRun
//! or GetJob only for a node that has just failed.

use super::resources::Resources;
use super::{Outcome, describe};
use crate::run::status::{NodeError, NodeKind, NodeState, NodeStatus, human, status_lines};
use aws_sdk_glue::primitives::DateTime;
use aws_sdk_glue::types::{
    CrawlState, JobRun, JobRunState, Node, NodeType, WorkflowRun, WorkflowRunStatus,
};
use std::time::{Duration, SystemTime};

/// The user's choices for one `pipec run`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Start this stage's job alone (StartJobRun with its default arguments).
    pub stage: Option<String>,
    /// Print the run id and return without watching.
    pub no_wait: bool,
    /// Stop watching (and fail) after this long; the run goes on in Glue.
    pub timeout: Option<Duration>,
    pub poll: Poll,
}

/// How often to ask Glue: `first`, growing by half each tick up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Poll {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Poll {
    fn default() -> Self {
        Poll {
            first: Duration::from_secs(2),
            max: Duration::from_secs(15),
        }
    }
}

/// A node as the last poll saw it, with what Glue said about its run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub status: NodeStatus,
    /// The AWS name (job or crawler).
    pub aws_name: String,
    /// The job run id, or the crawl id.
    pub run_id: Option<String>,
}

/// Glue's job-run states as node states
/// (https://docs.aws.amazon.com/glue/latest/dg/job-run-statuses.html).
pub fn job_state(s: &JobRunState) -> NodeState {
    match s {
        JobRunState::Succeeded => NodeState::Succeeded,
        JobRunState::Failed | JobRunState::Error | JobRunState::Expired => NodeState::Failed,
        JobRunState::Timeout => NodeState::Timeout,
        JobRunState::Stopped => NodeState::Stopped,
        JobRunState::Starting
        | JobRunState::Running
        | JobRunState::Stopping
        | JobRunState::Waiting => NodeState::Running,
        _ => NodeState::Running,
    }
}

/// Glue's crawl states as node states.
pub fn crawl_state(s: &CrawlState) -> NodeState {
    match s {
        CrawlState::Succeeded => NodeState::Succeeded,
        CrawlState::Failed | CrawlState::Error => NodeState::Failed,
        CrawlState::Cancelled => NodeState::Cancelled,
        _ => NodeState::Running,
    }
}

pub(crate) fn seconds_between(a: &DateTime, b: &DateTime) -> Duration {
    let ms = b.to_millis().unwrap_or(0) - a.to_millis().unwrap_or(0);
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn elapsed(started: Option<&DateTime>, completed: Option<&DateTime>, now: &DateTime) -> Duration {
    match started {
        Some(s) => seconds_between(s, completed.unwrap_or(now)),
        None => Duration::ZERO,
    }
}

/// A job run as a node: the state, attempt and time Glue reports.
pub fn job_run_status(name: &str, run: &JobRun, now: &DateTime) -> NodeStatus {
    let state = run
        .job_run_state()
        .map(job_state)
        .unwrap_or(NodeState::Running);
    let error = (state.is_final() && state != NodeState::Succeeded).then(|| NodeError {
        message: run.error_message().unwrap_or_default().to_string(),
        traceback_tail: Vec::new(),
        log: None,
    });
    NodeStatus {
        name: name.to_string(),
        kind: NodeKind::Stage,
        state,
        attempt: u32::try_from(run.attempt()).unwrap_or(0) + 1,
        elapsed: elapsed(run.started_on(), run.completed_on(), now),
        error,
    }
}

/// The nodes of a workflow run's graph (jobs and crawlers; triggers are
/// not shown), in the graph's order. A node with no run yet is pending, or
/// not run once the workflow run has ended.
pub fn graph_nodes(run: &WorkflowRun, r: &Resources, now: &DateTime) -> Vec<Watched> {
    let ended = run.status().is_some_and(|s| !is_running(s));
    let nodes: &[Node] = run.graph().map(|g| g.nodes()).unwrap_or_default();
    let idle = if ended {
        NodeState::NotRun
    } else {
        NodeState::Pending
    };
    let mut out = Vec::new();
    for n in nodes {
        let aws_name = n.name().unwrap_or_default().to_string();
        let name = r.short_name(&aws_name);
        let blank = |kind| NodeStatus {
            name: name.clone(),
            kind,
            state: idle,
            attempt: 1,
            elapsed: Duration::ZERO,
            error: None,
        };
        match n.r#type() {
            Some(NodeType::Job) => {
                let runs = n.job_details().map(|d| d.job_runs()).unwrap_or_default();
                // The latest attempt is the one that counts.
                let last = runs
                    .iter()
                    .max_by_key(|j| (j.attempt(), j.started_on().cloned()));
                let (status, run_id) = match last {
                    Some(j) => (job_run_status(&name, j, now), j.id().map(str::to_string)),
                    None => (blank(NodeKind::Stage), None),
                };
                out.push(Watched {
                    status,
                    aws_name,
                    run_id,
                });
            }
            Some(NodeType::Crawler) => {
                let crawls = n.crawler_details().map(|d| d.crawls()).unwrap_or_default();
                let last = crawls.iter().max_by_key(|c| c.started_on().cloned());
                let (status, run_id) = match last {
                    Some(c) => {
                        let state = c.state().map(crawl_state).unwrap_or(NodeState::Running);
                        let error =
                            (state.is_final() && state != NodeState::Succeeded).then(|| {
                                NodeError {
                                    message: c.error_message().unwrap_or_default().to_string(),
                                    traceback_tail: Vec::new(),
                                    log: match (c.log_group(), c.log_stream()) {
                                        (Some(g), Some(s)) => {
                                            Some(format!("log group {g}, stream {s}"))
                                        }
                                        (Some(g), None) => Some(format!("log group {g}")),
                                        _ => None,
                                    },
                                }
                            });
                        let status = NodeStatus {
                            name: name.clone(),
                            kind: NodeKind::Crawler,
                            state,
                            attempt: 1,
                            elapsed: elapsed(c.started_on(), c.completed_on(), now),
                            error,
                        };
                        (status, c.log_stream().map(str::to_string))
                    }
                    None => (blank(NodeKind::Crawler), None),
                };
                out.push(Watched {
                    status,
                    aws_name,
                    run_id,
                });
            }
            _ => {}
        }
    }
    out
}

fn is_running(s: &WorkflowRunStatus) -> bool {
    matches!(s, WorkflowRunStatus::Running | WorkflowRunStatus::Stopping)
}

/// Where a failed job run's error log is: the job's own group when pipec
/// set one (`--custom-logGroup-prefix` on Glue 5.0 and later,
/// `--continuous-log-logGroup` before), else the group Glue reports, else
/// Glue's default `/aws-glue/jobs/error`; the stream is the job run id
/// (https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html).
pub fn error_log(
    default_arguments: Option<&std::collections::HashMap<String, String>>,
    reported_group: Option<&str>,
    run_id: &str,
) -> String {
    let arg = |k: &str| default_arguments.and_then(|a| a.get(k)).map(String::as_str);
    let group = if let Some(prefix) = arg("--custom-logGroup-prefix") {
        format!("{}/error", prefix.trim_end_matches('/'))
    } else if let Some(g) = arg("--continuous-log-logGroup") {
        g.to_string()
    } else if let Some(g) = reported_group {
        format!("{}/error", g.trim_end_matches('/'))
    } else {
        "/aws-glue/jobs/error".to_string()
    };
    format!("log group {group}, stream {run_id}")
}

/// Fills in a failed job node's `ErrorMessage` (GetJobRun, when the graph
/// lacks it) and its log group and stream (GetJob, once per failure).
async fn explain_failure(glue: &aws_sdk_glue::Client, w: &mut Watched) {
    let Some(run_id) = w.run_id.clone() else {
        return;
    };
    let mut reported_group = None;
    let lacks_message = w.status.error.as_ref().is_none_or(|e| e.message.is_empty());
    if lacks_message
        && let Ok(out) = glue
            .get_job_run()
            .job_name(&w.aws_name)
            .run_id(&run_id)
            .send()
            .await
        && let Some(j) = out.job_run()
    {
        reported_group = j.log_group_name().map(str::to_string);
        if let Some(e) = w.status.error.as_mut() {
            e.message = j.error_message().unwrap_or_default().to_string();
        }
    }
    let args = match glue.get_job().job_name(&w.aws_name).send().await {
        Ok(out) => out.job().and_then(|j| j.default_arguments().cloned()),
        Err(_) => None,
    };
    if let Some(e) = w.status.error.as_mut() {
        e.log = Some(error_log(args.as_ref(), reported_group.as_deref(), &run_id));
    }
}

fn now() -> DateTime {
    DateTime::from(SystemTime::now())
}

/// Starts the workflow (or `--stage`'s job) and watches it, printing as it
/// goes. Errors before anything started are usage errors (exit 2).
pub async fn run(glue: &aws_sdk_glue::Client, r: &Resources, opts: &Options) -> Outcome {
    match &opts.stage {
        Some(stage) => run_stage(glue, r, stage, opts).await,
        None => run_workflow(glue, r, opts).await,
    }
}

async fn run_workflow(glue: &aws_sdk_glue::Client, r: &Resources, opts: &Options) -> Outcome {
    let Some(workflow) = &r.workflow else {
        eprintln!(
            "error: pipeline `{}` has no Glue workflow in its stacks; run one stage with --stage NAME",
            r.pipeline
        );
        return Outcome::Usage;
    };
    let run_id = match glue.start_workflow_run().name(workflow).send().await {
        Ok(out) => out.run_id().unwrap_or_default().to_string(),
        Err(e) => {
            eprintln!(
                "error: cannot start workflow `{workflow}` (is pipeline `{}` deployed?): {}",
                r.pipeline,
                describe(&e)
            );
            return Outcome::Usage;
        }
    };
    println!("started workflow {workflow} run {run_id}");
    if opts.no_wait {
        return Outcome::Done;
    }
    watch_workflow(glue, r, workflow, &run_id, opts).await
}

/// Watches one workflow run until it ends or `--timeout` passes, then the
/// runs of the later workflows it started. Done only when every run is.
pub async fn watch_workflow(
    glue: &aws_sdk_glue::Client,
    r: &Resources,
    workflow: &str,
    run_id: &str,
    opts: &Options,
) -> Outcome {
    let mut queue = std::collections::VecDeque::from([(workflow.to_string(), run_id.to_string())]);
    let mut outcome = Outcome::Done;
    while let Some((wf, id)) = queue.pop_front() {
        let (o, ended) = watch_one(glue, r, &wf, &id, opts).await;
        if o != Outcome::Done {
            outcome = Outcome::Failed;
        }
        let Some((started, nodes)) = ended else {
            continue;
        };
        for link in r.chain.iter().filter(|c| starts_next(c, &nodes)) {
            match next_run(glue, &link.workflow, &started, opts).await {
                Some(next) => {
                    println!(
                        "workflow {wf} started workflow {} run {next}",
                        link.workflow
                    );
                    queue.push_back((link.workflow.clone(), next));
                }
                None => {
                    println!(
                        "error: workflow {} did not start after {} ended {} (EventBridge delivers Glue events on a best-effort basis; start it with `aws glue start-workflow-run --name {}`)",
                        link.workflow,
                        r.short_name(&link.after),
                        link.state.to_lowercase(),
                        link.workflow
                    );
                    outcome = Outcome::Failed;
                }
            }
        }
    }
    outcome
}

/// The node a chain link waits for ended in the link's state in this run.
fn starts_next(link: &super::resources::Chained, nodes: &[Watched]) -> bool {
    let word = match link.state.to_ascii_uppercase().as_str() {
        "SUCCEEDED" => NodeState::Succeeded,
        "FAILED" => NodeState::Failed,
        "TIMEOUT" => NodeState::Timeout,
        "STOPPED" => NodeState::Stopped,
        _ => return false,
    };
    nodes
        .iter()
        .any(|n| n.aws_name == link.after && n.status.state == word)
}

/// How long a later workflow may take to start after the event that starts it.
const CHAIN_WAIT: Duration = Duration::from_secs(300);

/// The first run of `workflow` that started at or after `since`, waiting up
/// to `CHAIN_WAIT` (or `--timeout`, when shorter) for it to appear.
async fn next_run(
    glue: &aws_sdk_glue::Client,
    workflow: &str,
    since: &DateTime,
    opts: &Options,
) -> Option<String> {
    let limit = opts.timeout.map_or(CHAIN_WAIT, |t| t.min(CHAIN_WAIT));
    let start = std::time::Instant::now();
    let mut wait = opts.poll.first;
    let since = since.to_millis().unwrap_or(0);
    loop {
        if let Ok(out) = glue
            .get_workflow_runs()
            .name(workflow)
            .max_results(10)
            .include_graph(false)
            .send()
            .await
        {
            let found = out
                .runs()
                .iter()
                .filter_map(|run| {
                    let at = run.started_on()?.to_millis().ok()?;
                    (at >= since).then_some((at, run.workflow_run_id()?))
                })
                .min();
            if let Some((_, id)) = found {
                return Some(id.to_string());
            }
        }
        if start.elapsed() >= limit {
            return None;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 3 / 2).min(opts.poll.max);
    }
}

/// Watches one workflow run until it ends or `--timeout` passes. When it
/// ended, also returns when it started and its nodes as last seen.
async fn watch_one(
    glue: &aws_sdk_glue::Client,
    r: &Resources,
    workflow: &str,
    run_id: &str,
    opts: &Options,
) -> (Outcome, Option<(DateTime, Vec<Watched>)>) {
    let start = std::time::Instant::now();
    let mut wait = opts.poll.first;
    let mut shown: Vec<Watched> = Vec::new();
    loop {
        let out = match glue
            .get_workflow_run()
            .name(workflow)
            .run_id(run_id)
            .include_graph(true)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                eprintln!("error: cannot read workflow run {run_id}: {}", describe(&e));
                return (Outcome::Failed, None);
            }
        };
        let Some(run) = out.run() else {
            eprintln!("error: Glue returned no workflow run {run_id}");
            return (Outcome::Failed, None);
        };
        let mut nodes = graph_nodes(run, r, &now());
        for n in nodes.iter_mut() {
            let before = shown.iter().find(|s| s.aws_name == n.aws_name);
            let newly_failed = n.status.error.is_some()
                && n.status.kind == NodeKind::Stage
                && before.is_none_or(|b| b.status.state != n.status.state);
            if newly_failed {
                explain_failure(glue, n).await;
            } else if let Some(b) = before
                && b.status.state == n.status.state
                && n.status.error.is_some()
            {
                n.status.error.clone_from(&b.status.error);
            }
        }
        print_changes(&shown, &nodes);
        shown = nodes;
        let status = run.status().cloned().unwrap_or(WorkflowRunStatus::Running);
        if !is_running(&status) {
            let outcome = summary(run, &status, &shown);
            let started = run.started_on().cloned().unwrap_or_else(now);
            return (outcome, Some((started, shown)));
        }
        if opts.timeout.is_some_and(|t| start.elapsed() >= t) {
            println!(
                "stopped watching after {}: workflow run {run_id} is still {} in Glue",
                human(start.elapsed()),
                status.as_str().to_lowercase()
            );
            return (Outcome::Failed, None);
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 3 / 2).min(opts.poll.max);
    }
}

/// One status line per node whose state or attempt changed since the last
/// poll, aligned over all nodes.
fn print_changes(before: &[Watched], now: &[Watched]) {
    let all: Vec<NodeStatus> = now.iter().map(|w| w.status.clone()).collect();
    for (line, w) in status_lines(&all).iter().zip(now) {
        let old = before.iter().find(|b| b.aws_name == w.aws_name);
        if old.is_none_or(|o| {
            o.status.state != w.status.state || o.status.attempt != w.status.attempt
        }) {
            println!("{line}");
        }
    }
}

/// The closing table and the outcome: done only when the workflow run
/// completed and every node that ran succeeded.
pub fn summary_lines(
    run: &WorkflowRun,
    status: &WorkflowRunStatus,
    nodes: &[Watched],
) -> (Vec<String>, Outcome) {
    let mut lines = Vec::new();
    let total = elapsed(run.started_on(), run.completed_on(), &now());
    lines.push(format!(
        "workflow run {} {} in {}",
        run.workflow_run_id().unwrap_or_default(),
        status.as_str().to_lowercase(),
        human(total)
    ));
    let all: Vec<NodeStatus> = nodes.iter().map(|w| w.status.clone()).collect();
    lines.extend(status_lines(&all));
    let mut failed = !matches!(status, WorkflowRunStatus::Completed);
    if let Some(e) = run.error_message() {
        lines.push(format!("  error: {e}"));
    }
    for w in nodes {
        let s = &w.status;
        if !matches!(
            s.state,
            NodeState::Succeeded | NodeState::NotRun | NodeState::Pending
        ) {
            failed = true;
        }
        if let Some(e) = &s.error {
            let msg = if e.message.is_empty() {
                "(Glue gave no error message)"
            } else {
                e.message.as_str()
            };
            lines.push(format!("  {} {}: {msg}", s.name, s.state.word()));
            if let Some(log) = &e.log {
                lines.push(format!("    {log}"));
            }
        }
    }
    (
        lines,
        if failed {
            Outcome::Failed
        } else {
            Outcome::Done
        },
    )
}

fn summary(run: &WorkflowRun, status: &WorkflowRunStatus, nodes: &[Watched]) -> Outcome {
    let (lines, outcome) = summary_lines(run, status, nodes);
    for l in lines {
        println!("{l}");
    }
    outcome
}

async fn run_stage(
    glue: &aws_sdk_glue::Client,
    r: &Resources,
    stage: &str,
    opts: &Options,
) -> Outcome {
    let Some(job) = r.job(stage) else {
        let names: Vec<&str> = r.jobs.iter().map(|j| j.name.as_str()).collect();
        eprintln!(
            "error: pipeline `{}` has no stage `{stage}`; its stages are: {}",
            r.pipeline,
            names.join(", ")
        );
        return Outcome::Usage;
    };
    // No Arguments: the job's DefaultArguments, which pipec renders, apply.
    let run_id = match glue.start_job_run().job_name(&job.aws_name).send().await {
        Ok(out) => out.job_run_id().unwrap_or_default().to_string(),
        Err(e) => {
            eprintln!(
                "error: cannot start job `{}` (is pipeline `{}` deployed?): {}",
                job.aws_name,
                r.pipeline,
                describe(&e)
            );
            return Outcome::Usage;
        }
    };
    println!("started job {} run {run_id}", job.aws_name);
    // Glue emits the state change of a job run started by hand too, and the
    // chain rule does not know where the run came from.
    for c in r.chain.iter().filter(|c| c.after == job.aws_name) {
        println!(
            "note: if this run ends {}, it starts workflow {}",
            c.state.to_lowercase(),
            c.workflow
        );
    }
    if opts.no_wait {
        return Outcome::Done;
    }
    let start = std::time::Instant::now();
    let mut wait = opts.poll.first;
    let mut last: Option<NodeStatus> = None;
    loop {
        let out = match glue
            .get_job_run()
            .job_name(&job.aws_name)
            .run_id(&run_id)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                eprintln!("error: cannot read job run {run_id}: {}", describe(&e));
                return Outcome::Failed;
            }
        };
        let Some(j) = out.job_run() else {
            eprintln!("error: Glue returned no job run {run_id}");
            return Outcome::Failed;
        };
        let mut w = Watched {
            status: job_run_status(&job.name, j, &now()),
            aws_name: job.aws_name.clone(),
            run_id: Some(run_id.clone()),
        };
        if last.as_ref().is_none_or(|l| l.state != w.status.state) {
            for l in status_lines(std::slice::from_ref(&w.status)) {
                println!("{l}");
            }
        }
        if w.status.state.is_final() {
            if w.status.error.is_some() {
                let group = j.log_group_name().map(str::to_string);
                let args = match glue.get_job().job_name(&job.aws_name).send().await {
                    Ok(out) => out.job().and_then(|j| j.default_arguments().cloned()),
                    Err(_) => None,
                };
                if let Some(e) = w.status.error.as_mut() {
                    e.log = Some(error_log(args.as_ref(), group.as_deref(), &run_id));
                }
            }
            return stage_summary(&w.status);
        }
        if opts.timeout.is_some_and(|t| start.elapsed() >= t) {
            println!(
                "stopped watching after {}: job run {run_id} is still running in Glue",
                human(start.elapsed())
            );
            return Outcome::Failed;
        }
        last = Some(w.status);
        tokio::time::sleep(wait).await;
        wait = (wait * 3 / 2).min(opts.poll.max);
    }
}

fn stage_summary(s: &NodeStatus) -> Outcome {
    println!(
        "stage {} {} in {}",
        s.name,
        s.state.word(),
        human(s.elapsed)
    );
    match &s.error {
        None => Outcome::Done,
        Some(e) => {
            if !e.message.is_empty() {
                println!("  error: {}", e.message);
            }
            if let Some(log) = &e.log {
                println!("  {log}");
            }
            Outcome::Failed
        }
    }
}
