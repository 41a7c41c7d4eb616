//! `pipec status` on AWS: the last runs of a pipeline's Glue workflow, and
//! of each later workflow when the pipeline is split into chained ones.
//!
//! In: the pipeline's `Resources` (its workflow names), a Glue client and how
//! many runs to show. Out: one line per run, newest first (run id, state,
//! start time, duration, node counts), and an `Outcome`.

use super::resources::Resources;
use super::run::seconds_between;
use super::{Outcome, describe};
use crate::run::status::human;
use aws_sdk_glue::primitives::{DateTime, DateTimeFormat};
use aws_sdk_glue::types::WorkflowRun;

/// One run as a line: `<id>  completed  2026-12-02T10:00:00Z  3m07s  4/4 succeeded`.
pub fn run_line(run: &WorkflowRun, now: &DateTime) -> String {
    let state = run
        .status()
        .map(|s| s.as_str().to_lowercase())
        .unwrap_or_else(|| "unknown".into());
    let started = run
        .started_on()
        .and_then(|d| d.fmt(DateTimeFormat::DateTime).ok())
        .unwrap_or_else(|| "-".into());
    let took = run
        .started_on()
        .map(|s| human(seconds_between(s, run.completed_on().unwrap_or(now))))
        .unwrap_or_else(|| "-".into());
    let counts = match run.statistics() {
        Some(st) => {
            let mut parts = vec![format!(
                "{}/{} succeeded",
                st.succeeded_actions(),
                st.total_actions()
            )];
            for (n, word) in [
                (st.running_actions(), "running"),
                (st.failed_actions(), "failed"),
                (st.timeout_actions(), "timed out"),
                (st.stopped_actions(), "stopped"),
                (st.errored_actions(), "errored"),
                (st.waiting_actions(), "waiting"),
            ] {
                if n > 0 {
                    parts.push(format!("{n} {word}"));
                }
            }
            parts.join(", ")
        }
        None => "-".into(),
    };
    format!(
        "{}  {state:<9}  {started:<20}  {took:>7}  {counts}",
        run.workflow_run_id().unwrap_or_default()
    )
}

/// Prints the last `limit` runs of the workflow, then of each later one.
pub async fn status(glue: &aws_sdk_glue::Client, r: &Resources, limit: i32) -> Outcome {
    let Some(workflow) = &r.workflow else {
        eprintln!(
            "error: pipeline `{}` has no Glue workflow in its stacks",
            r.pipeline
        );
        return Outcome::Usage;
    };
    let first = workflow_status(glue, r, workflow, limit).await;
    if first != Outcome::Done {
        return first;
    }
    for c in &r.chain {
        let o = workflow_status(glue, r, &c.workflow, limit).await;
        if o != Outcome::Done {
            return o;
        }
    }
    Outcome::Done
}

async fn workflow_status(
    glue: &aws_sdk_glue::Client,
    r: &Resources,
    workflow: &str,
    limit: i32,
) -> Outcome {
    let out = match glue
        .get_workflow_runs()
        .name(workflow)
        .max_results(limit)
        .include_graph(false)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "error: cannot list the runs of workflow `{workflow}` (is pipeline `{}` deployed?): {}",
                r.pipeline,
                describe(&e)
            );
            return Outcome::Usage;
        }
    };
    let mut runs: Vec<&WorkflowRun> = out.runs().iter().collect();
    if runs.is_empty() {
        println!("workflow {workflow} has no runs yet (start one with `pipec run`)");
        return Outcome::Done;
    }
    // Newest first, whatever order Glue answers in.
    runs.sort_by_key(|r| std::cmp::Reverse(r.started_on().and_then(|d| d.to_millis().ok())));
    let now = DateTime::from(std::time::SystemTime::now());
    println!("workflow {workflow}: last {} run(s)", runs.len());
    for run in runs {
        println!("{}", run_line(run, &now));
    }
    Outcome::Done
}
