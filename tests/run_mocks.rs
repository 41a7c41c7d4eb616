//! What moto cannot produce for `pipec run`, `status` and `query`, tested
//! with SDK-level mocks (aws-smithy-mocks): failed, timed-out and stopped
//! runs, a failed job's ErrorMessage and log group, graphs with crawls, and
//! a FAILED Athena query. No network: every call is answered by a mock rule.

use aws_sdk_glue::operation::get_job::GetJobOutput;
use aws_sdk_glue::operation::get_job_run::GetJobRunOutput;
use aws_sdk_glue::operation::get_workflow_run::GetWorkflowRunOutput;
use aws_sdk_glue::operation::start_job_run::StartJobRunOutput;
use aws_sdk_glue::operation::start_workflow_run::StartWorkflowRunOutput;
use aws_sdk_glue::primitives::DateTime;
use aws_sdk_glue::types::{
    Crawl, CrawlState, CrawlerNodeDetails, Job, JobNodeDetails, JobRun, JobRunState, Node,
    NodeType, WorkflowGraph, WorkflowRun, WorkflowRunStatus,
};
use aws_smithy_mocks::{Rule, RuleMode, mock};
use pipec::deploy::Outcome;
use pipec::deploy::resources::{Named, Resources};
use pipec::deploy::run::{self, Options, Poll};
use pipec::run::status::NodeState;
use std::time::Duration;

fn glue(rules: &[&Rule]) -> aws_sdk_glue::Client {
    let mut i = aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in rules {
        i = i.with_rule(r);
    }
    let conf = aws_sdk_glue::Config::builder()
        .behavior_version(aws_sdk_glue::config::BehaviorVersion::latest())
        .region(aws_sdk_glue::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_glue::config::Credentials::new(
            "a", "b", None, None, "mock",
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(i)
        .build();
    aws_sdk_glue::Client::from_conf(conf)
}

fn athena(rules: &[&Rule]) -> aws_sdk_athena::Client {
    let mut i = aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in rules {
        i = i.with_rule(r);
    }
    let conf = aws_sdk_athena::Config::builder()
        .behavior_version(aws_sdk_athena::config::BehaviorVersion::latest())
        .region(aws_sdk_athena::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_athena::config::Credentials::new(
            "a", "b", None, None, "mock",
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(i)
        .build();
    aws_sdk_athena::Client::from_conf(conf)
}

fn resources() -> Resources {
    let named = |n: &str| Named {
        name: n.into(),
        aws_name: format!("etl-{n}"),
    };
    Resources {
        pipeline: "etl".into(),
        workflow: Some("etl".into()),
        chain: Vec::new(),
        jobs: vec![named("extract"), named("clean")],
        crawlers: vec![named("raw")],
        database: Some("etl".into()),
        workgroup: Some("etl".into()),
    }
}

fn opts() -> Options {
    Options {
        stage: None,
        no_wait: false,
        timeout: Some(Duration::from_secs(20)),
        poll: Poll {
            first: Duration::from_millis(1),
            max: Duration::from_millis(2),
        },
    }
}

fn at(s: i64) -> DateTime {
    DateTime::from_secs(1_700_000_000 + s)
}

/// A job run: state, attempt, start and end (seconds), ErrorMessage.
fn job_run(id: &str, state: JobRunState, attempt: i32, end: i64, msg: Option<&str>) -> JobRun {
    JobRun::builder()
        .id(id)
        .attempt(attempt)
        .job_run_state(state)
        .started_on(at(0))
        .completed_on(at(end))
        .set_error_message(msg.map(str::to_string))
        .build()
}

fn job_node(name: &str, runs: Vec<JobRun>) -> Node {
    Node::builder()
        .r#type(NodeType::Job)
        .name(name)
        .job_details(JobNodeDetails::builder().set_job_runs(Some(runs)).build())
        .build()
}

fn crawler_node(name: &str, state: CrawlState, msg: Option<&str>) -> Node {
    Node::builder()
        .r#type(NodeType::Crawler)
        .name(name)
        .crawler_details(
            CrawlerNodeDetails::builder()
                .crawls(
                    Crawl::builder()
                        .state(state)
                        .started_on(at(0))
                        .completed_on(at(30))
                        .set_error_message(msg.map(str::to_string))
                        .log_group("/aws-glue/crawlers")
                        .log_stream("etl-raw")
                        .build(),
                )
                .build(),
        )
        .build()
}

fn workflow_run(status: WorkflowRunStatus, nodes: Vec<Node>) -> WorkflowRun {
    WorkflowRun::builder()
        .workflow_run_id("wr_1")
        .status(status)
        .started_on(at(0))
        .completed_on(at(95))
        .graph(WorkflowGraph::builder().set_nodes(Some(nodes)).build())
        .build()
}

struct Case {
    name: &'static str,
    status: WorkflowRunStatus,
    nodes: fn() -> Vec<Node>,
    outcome: Outcome,
    /// Node states in graph order.
    states: &'static [NodeState],
    /// Lines the summary must hold.
    lines: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "all succeeded, with a crawl and a retried job",
            status: WorkflowRunStatus::Completed,
            nodes: || {
                vec![
                    job_node(
                        "etl-extract",
                        vec![job_run("jr_1", JobRunState::Succeeded, 0, 40, None)],
                    ),
                    crawler_node("etl-raw", CrawlState::Succeeded, None),
                    job_node(
                        "etl-clean",
                        vec![
                            job_run("jr_2", JobRunState::Failed, 0, 10, Some("first try")),
                            job_run("jr_3", JobRunState::Succeeded, 1, 50, None),
                        ],
                    ),
                ]
            },
            outcome: Outcome::Done,
            states: &[
                NodeState::Succeeded,
                NodeState::Succeeded,
                NodeState::Succeeded,
            ],
            lines: &[
                "workflow run wr_1 completed in 1m35s",
                "  stage   clean    succeeded  50.0s (attempt 2)",
                "  crawler raw      succeeded  30.0s",
            ],
        },
        Case {
            name: "a failed job shows its ErrorMessage and its own log group",
            status: WorkflowRunStatus::Completed,
            nodes: || {
                vec![
                    job_node(
                        "etl-extract",
                        vec![job_run("jr_1", JobRunState::Succeeded, 0, 40, None)],
                    ),
                    job_node(
                        "etl-clean",
                        vec![job_run(
                            "jr_9",
                            JobRunState::Failed,
                            0,
                            12,
                            Some("AnalysisException: column `qty` not found"),
                        )],
                    ),
                ]
            },
            outcome: Outcome::Failed,
            states: &[NodeState::Succeeded, NodeState::Failed],
            lines: &[
                "  clean failed: AnalysisException: column `qty` not found",
                "    log group /aws-glue/jobs/etl/clean/error, stream jr_9",
            ],
        },
        Case {
            name: "a timed-out job fails the run, and the job after it never ran",
            status: WorkflowRunStatus::Completed,
            nodes: || {
                vec![
                    job_node(
                        "etl-extract",
                        vec![job_run(
                            "jr_4",
                            JobRunState::Timeout,
                            0,
                            2880,
                            Some("Job run timed out"),
                        )],
                    ),
                    job_node("etl-clean", vec![]),
                ]
            },
            outcome: Outcome::Failed,
            states: &[NodeState::Timeout, NodeState::NotRun],
            lines: &[
                "  stage   extract  timeout    48m00s",
                "  stage   clean    not run    ",
                "  extract timeout: Job run timed out",
            ],
        },
        Case {
            name: "a stopped workflow run fails",
            status: WorkflowRunStatus::Stopped,
            nodes: || {
                vec![
                    job_node(
                        "etl-extract",
                        vec![job_run("jr_5", JobRunState::Stopped, 0, 5, None)],
                    ),
                    job_node("etl-clean", vec![]),
                ]
            },
            outcome: Outcome::Failed,
            states: &[NodeState::Stopped, NodeState::NotRun],
            lines: &[
                "workflow run wr_1 stopped in 1m35s",
                "  stage   extract  stopped    5.0s",
            ],
        },
        Case {
            name: "a failed crawl shows its message and CloudWatch stream",
            status: WorkflowRunStatus::Completed,
            nodes: || {
                vec![crawler_node(
                    "etl-raw",
                    CrawlState::Failed,
                    Some("Access denied"),
                )]
            },
            outcome: Outcome::Failed,
            states: &[NodeState::Failed],
            lines: &[
                "  raw failed: Access denied",
                "    log group /aws-glue/crawlers, stream etl-raw",
            ],
        },
    ]
}

/// Each case: the run is RUNNING at the first poll, then ends; the watch
/// sees both, asks GetJob for a failed job's log arguments, and ends with
/// the outcome. The summary is checked from the same graph.
#[tokio::test]
async fn workflow_runs_end_as_glue_reports_them() {
    for case in cases() {
        let nodes = case.nodes;
        let status = case.status.clone();
        let start = mock!(aws_sdk_glue::Client::start_workflow_run)
            .then_output(|| StartWorkflowRunOutput::builder().run_id("wr_1").build());
        let get = mock!(aws_sdk_glue::Client::get_workflow_run)
            .sequence()
            .output(move || {
                GetWorkflowRunOutput::builder()
                    .run(workflow_run(WorkflowRunStatus::Running, vec![]))
                    .build()
            })
            .output(move || {
                GetWorkflowRunOutput::builder()
                    .run(workflow_run(status.clone(), nodes()))
                    .build()
            })
            .build();
        let job = mock!(aws_sdk_glue::Client::get_job).then_output(|| {
            GetJobOutput::builder()
                .job(
                    Job::builder()
                        .name("etl-clean")
                        .default_arguments("--custom-logGroup-prefix", "/aws-glue/jobs/etl/clean")
                        .build(),
                )
                .build()
        });
        // A stopped job's run has no ErrorMessage in the graph or here.
        let job_run_rule = mock!(aws_sdk_glue::Client::get_job_run).then_output(|| {
            GetJobRunOutput::builder()
                .job_run(JobRun::builder().build())
                .build()
        });
        let client = glue(&[&start, &get, &job, &job_run_rule]);
        let outcome = run::run(&client, &resources(), &opts()).await;
        assert_eq!(outcome, case.outcome, "{}", case.name);
        assert_eq!(
            get.num_calls(),
            2,
            "{}: one GetWorkflowRun per tick",
            case.name
        );

        let wr = workflow_run(case.status.clone(), (case.nodes)());
        let mut watched = run::graph_nodes(&wr, &resources(), &at(100));
        let states: Vec<NodeState> = watched.iter().map(|w| w.status.state).collect();
        assert_eq!(states, case.states, "{}", case.name);
        for w in watched.iter_mut() {
            if let Some(e) = w.status.error.as_mut()
                && e.log.is_none()
                && let Some(id) = &w.run_id
            {
                let mut args = std::collections::HashMap::new();
                args.insert(
                    "--custom-logGroup-prefix".to_string(),
                    format!("/aws-glue/jobs/etl/{}", w.status.name),
                );
                e.log = Some(run::error_log(Some(&args), None, id));
            }
        }
        let (lines, summary_outcome) = run::summary_lines(&wr, &case.status, &watched);
        assert_eq!(summary_outcome, case.outcome, "{}", case.name);
        for want in case.lines {
            assert!(
                lines.iter().any(|l| l == want),
                "{}: no line {want:?} in\n{}",
                case.name,
                lines.join("\n")
            );
        }
    }
}

/// The graph may lack a failed job's ErrorMessage: GetJobRun supplies it,
/// with the group Glue reports when the job sets no log arguments.
#[tokio::test]
async fn a_failed_job_without_a_message_in_the_graph_gets_it_from_get_job_run() {
    let start = mock!(aws_sdk_glue::Client::start_workflow_run)
        .then_output(|| StartWorkflowRunOutput::builder().run_id("wr_1").build());
    let get = mock!(aws_sdk_glue::Client::get_workflow_run).then_output(|| {
        GetWorkflowRunOutput::builder()
            .run(workflow_run(
                WorkflowRunStatus::Completed,
                vec![job_node(
                    "etl-clean",
                    vec![job_run("jr_7", JobRunState::Failed, 0, 9, None)],
                )],
            ))
            .build()
    });
    let job_run_rule = mock!(aws_sdk_glue::Client::get_job_run)
        .match_requests(|r| r.run_id() == Some("jr_7") && r.job_name() == Some("etl-clean"))
        .then_output(|| {
            GetJobRunOutput::builder()
                .job_run(
                    JobRun::builder()
                        .id("jr_7")
                        .job_run_state(JobRunState::Failed)
                        .error_message("ModuleNotFoundError: No module named 'pipec_runtime'")
                        .log_group_name("/aws-glue/jobs")
                        .build(),
                )
                .build()
        });
    let job = mock!(aws_sdk_glue::Client::get_job).then_output(|| {
        GetJobOutput::builder()
            .job(Job::builder().name("etl-clean").build())
            .build()
    });
    let client = glue(&[&start, &get, &job_run_rule, &job]);
    assert_eq!(
        run::run(&client, &resources(), &opts()).await,
        Outcome::Failed
    );
    assert_eq!(job_run_rule.num_calls(), 1);
    assert_eq!(job.num_calls(), 1);
    assert_eq!(
        run::error_log(None, Some("/aws-glue/jobs"), "jr_7"),
        "log group /aws-glue/jobs/error, stream jr_7"
    );
    assert_eq!(
        run::error_log(None, None, "jr_7"),
        "log group /aws-glue/jobs/error, stream jr_7"
    );
}

/// `--stage`: StartJobRun with no arguments (the job's defaults apply), then
/// GetJobRun until it ends; each final state maps to an outcome.
#[tokio::test]
async fn one_stage_runs_to_each_final_state() {
    let cases = [
        (JobRunState::Succeeded, None, Outcome::Done),
        (JobRunState::Failed, Some("boom"), Outcome::Failed),
        (JobRunState::Timeout, None, Outcome::Failed),
        (JobRunState::Stopped, None, Outcome::Failed),
        (JobRunState::Error, Some("internal"), Outcome::Failed),
    ];
    for (state, msg, want) in cases {
        let start = mock!(aws_sdk_glue::Client::start_job_run)
            .match_requests(|r| r.job_name() == Some("etl-clean") && r.arguments().is_none())
            .then_output(|| StartJobRunOutput::builder().job_run_id("jr_1").build());
        let st = state.clone();
        let get = mock!(aws_sdk_glue::Client::get_job_run)
            .sequence()
            .output(|| {
                GetJobRunOutput::builder()
                    .job_run(
                        JobRun::builder()
                            .id("jr_1")
                            .job_run_state(JobRunState::Running)
                            .build(),
                    )
                    .build()
            })
            .output(move || {
                GetJobRunOutput::builder()
                    .job_run(job_run("jr_1", st.clone(), 0, 3, msg))
                    .build()
            })
            .build();
        let job = mock!(aws_sdk_glue::Client::get_job).then_output(|| {
            GetJobOutput::builder()
                .job(Job::builder().name("etl-clean").build())
                .build()
        });
        let client = glue(&[&start, &get, &job]);
        let mut o = opts();
        o.stage = Some("clean".into());
        assert_eq!(run::run(&client, &resources(), &o).await, want, "{state:?}");
        assert_eq!(start.num_calls(), 1);
        assert_eq!(get.num_calls(), 2, "{state:?}");
    }
}

/// A pipeline split into chained workflows: once the first run ends with the
/// stage that starts the next workflow succeeded, the next workflow's run
/// that began after it is found and watched too; when that stage failed,
/// nothing more is looked for.
#[tokio::test]
async fn a_chained_workflow_is_followed_to_its_end() {
    use aws_sdk_glue::operation::get_workflow_runs::GetWorkflowRunsOutput;
    let mut r = resources();
    r.jobs.push(Named {
        name: "repartition".into(),
        aws_name: "etl-repartition".into(),
    });
    r.chain.push(pipec::deploy::resources::Chained {
        workflow: "etl.after-clean".into(),
        after: "etl-clean".into(),
        state: "SUCCEEDED".into(),
    });
    for (clean, want, followed) in [
        (JobRunState::Succeeded, Outcome::Done, true),
        (JobRunState::Failed, Outcome::Failed, false),
    ] {
        let state = clean.clone();
        let start = mock!(aws_sdk_glue::Client::start_workflow_run)
            .match_requests(|q| q.name() == Some("etl"))
            .then_output(|| StartWorkflowRunOutput::builder().run_id("wr_1").build());
        let first = mock!(aws_sdk_glue::Client::get_workflow_run)
            .match_requests(|q| q.name() == Some("etl") && q.run_id() == Some("wr_1"))
            .then_output(move || {
                let nodes = vec![job_node(
                    "etl-clean",
                    vec![job_run("jr_1", state.clone(), 0, 40, None)],
                )];
                GetWorkflowRunOutput::builder()
                    .run(workflow_run(WorkflowRunStatus::Completed, nodes))
                    .build()
            });
        // An older run of the later workflow, and the one this run started.
        let runs = mock!(aws_sdk_glue::Client::get_workflow_runs)
            .match_requests(|q| q.name() == Some("etl.after-clean"))
            .then_output(|| {
                let run = |id: &str, s: i64| {
                    WorkflowRun::builder()
                        .workflow_run_id(id)
                        .started_on(at(s))
                        .build()
                };
                GetWorkflowRunsOutput::builder()
                    .runs(run("wr_old", -500))
                    .runs(run("wr_2", 45))
                    .build()
            });
        let second = mock!(aws_sdk_glue::Client::get_workflow_run)
            .match_requests(|q| q.name() == Some("etl.after-clean") && q.run_id() == Some("wr_2"))
            .then_output(|| {
                let nodes = vec![job_node(
                    "etl-repartition",
                    vec![job_run("jr_2", JobRunState::Succeeded, 0, 90, None)],
                )];
                GetWorkflowRunOutput::builder()
                    .run(workflow_run(WorkflowRunStatus::Completed, nodes))
                    .build()
            });
        let job = mock!(aws_sdk_glue::Client::get_job).then_output(|| {
            GetJobOutput::builder()
                .job(Job::builder().name("etl-clean").build())
                .build()
        });
        let job_run_rule = mock!(aws_sdk_glue::Client::get_job_run).then_output(|| {
            GetJobRunOutput::builder()
                .job_run(JobRun::builder().build())
                .build()
        });
        let client = glue(&[&start, &first, &runs, &second, &job, &job_run_rule]);
        assert_eq!(run::run(&client, &r, &opts()).await, want, "{clean:?}");
        assert_eq!(first.num_calls(), 1);
        assert_eq!(runs.num_calls(), usize::from(followed), "{clean:?}");
        assert_eq!(second.num_calls(), usize::from(followed), "{clean:?}");
    }
}

#[tokio::test]
async fn an_unknown_stage_is_a_usage_error_before_any_call() {
    let client = glue(&[]);
    let mut o = opts();
    o.stage = Some("nope".into());
    assert_eq!(run::run(&client, &resources(), &o).await, Outcome::Usage);
}

#[test]
fn glue_states_map_to_node_states() {
    use run::{crawl_state, job_state};
    let jobs = [
        (JobRunState::Starting, NodeState::Running),
        (JobRunState::Running, NodeState::Running),
        (JobRunState::Stopping, NodeState::Running),
        (JobRunState::Waiting, NodeState::Running),
        (JobRunState::Succeeded, NodeState::Succeeded),
        (JobRunState::Failed, NodeState::Failed),
        (JobRunState::Error, NodeState::Failed),
        (JobRunState::Expired, NodeState::Failed),
        (JobRunState::Timeout, NodeState::Timeout),
        (JobRunState::Stopped, NodeState::Stopped),
    ];
    for (g, n) in jobs {
        assert_eq!(job_state(&g), n, "{g:?}");
    }
    let crawls = [
        (CrawlState::Running, NodeState::Running),
        (CrawlState::Cancelling, NodeState::Running),
        (CrawlState::Cancelled, NodeState::Cancelled),
        (CrawlState::Succeeded, NodeState::Succeeded),
        (CrawlState::Failed, NodeState::Failed),
        (CrawlState::Error, NodeState::Failed),
    ];
    for (g, n) in crawls {
        assert_eq!(crawl_state(&g), n, "{g:?}");
    }
}

mod athena {
    use super::*;
    use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
    use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
    use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionOutput;
    use aws_sdk_athena::types::{
        ColumnInfo, Datum, QueryExecution, QueryExecutionState, QueryExecutionStatus, ResultSet,
        ResultSetMetadata, Row,
    };
    use pipec::deploy::athena::{Format, Poll, execute};

    fn poll() -> Poll {
        Poll {
            first: Duration::from_millis(1),
            max: Duration::from_millis(2),
        }
    }

    fn state(s: QueryExecutionState, reason: Option<&str>) -> GetQueryExecutionOutput {
        GetQueryExecutionOutput::builder()
            .query_execution(
                QueryExecution::builder()
                    .query_execution_id("q-1")
                    .status(
                        QueryExecutionStatus::builder()
                            .state(s)
                            .set_state_change_reason(reason.map(str::to_string))
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    fn row(cells: &[Option<&str>]) -> Row {
        Row::builder()
            .set_data(Some(
                cells
                    .iter()
                    .map(|c| {
                        Datum::builder()
                            .set_var_char_value(c.map(str::to_string))
                            .build()
                    })
                    .collect(),
            ))
            .build()
    }

    fn start() -> Rule {
        mock!(aws_sdk_athena::Client::start_query_execution)
            .match_requests(|r| {
                r.work_group() == Some("etl")
                    && r.query_execution_context().and_then(|c| c.database()) == Some("etl")
            })
            .then_output(|| {
                StartQueryExecutionOutput::builder()
                    .query_execution_id("q-1")
                    .build()
            })
    }

    /// Pages are joined, the header row Athena repeats is dropped, NULLs stay
    /// NULL, and each format prints the same rows.
    #[tokio::test]
    async fn results_are_paginated_and_printed_in_each_format() {
        let start = start();
        let exec = mock!(aws_sdk_athena::Client::get_query_execution)
            .sequence()
            .output(|| state(QueryExecutionState::Running, None))
            .output(|| state(QueryExecutionState::Succeeded, None))
            .build();
        let meta = || {
            ResultSetMetadata::builder()
                .column_info(
                    ColumnInfo::builder()
                        .name("country")
                        .r#type("varchar")
                        .build()
                        .unwrap(),
                )
                .column_info(
                    ColumnInfo::builder()
                        .name("revenue")
                        .r#type("double")
                        .build()
                        .unwrap(),
                )
                .build()
        };
        let page1 = mock!(aws_sdk_athena::Client::get_query_results)
            .match_requests(|r| r.next_token().is_none())
            .then_output(move || {
                GetQueryResultsOutput::builder()
                    .result_set(
                        ResultSet::builder()
                            .result_set_metadata(meta())
                            .rows(row(&[Some("country"), Some("revenue")]))
                            .rows(row(&[Some("France"), Some("12.5")]))
                            .build(),
                    )
                    .next_token("t2")
                    .build()
            });
        let page2 = mock!(aws_sdk_athena::Client::get_query_results)
            .match_requests(|r| r.next_token() == Some("t2"))
            .then_output(move || {
                GetQueryResultsOutput::builder()
                    .result_set(
                        ResultSet::builder()
                            .result_set_metadata(meta())
                            .rows(row(&[Some("United Kingdom, the"), None]))
                            .build(),
                    )
                    .build()
            });
        let client = athena(&[&start, &exec, &page1, &page2]);
        let t = execute(&client, &resources(), "SELECT * FROM gold", poll())
            .await
            .expect("query succeeds");
        assert_eq!(t.columns, ["country", "revenue"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(
            t.render(Format::Text),
            "country              revenue\n-------------------  -------\nFrance               12.5\nUnited Kingdom, the  NULL\n(2 rows)\n"
        );
        assert_eq!(
            t.render(Format::Csv),
            "country,revenue\nFrance,12.5\n\"United Kingdom, the\",\n"
        );
        assert_eq!(
            t.render(Format::Json),
            "{\"country\":\"France\",\"revenue\":\"12.5\"}\n{\"country\":\"United Kingdom, the\",\"revenue\":null}\n"
        );
    }

    #[tokio::test]
    async fn a_failed_query_shows_athenas_reason() {
        for (s, word) in [
            (QueryExecutionState::Failed, "failed"),
            (QueryExecutionState::Cancelled, "was cancelled"),
        ] {
            let start = start();
            let st = s.clone();
            let exec = mock!(aws_sdk_athena::Client::get_query_execution).then_output(move || {
                state(
                    st.clone(),
                    Some("Query exhausted resources: bytes scanned limit was exceeded"),
                )
            });
            let client = athena(&[&start, &exec]);
            let (msg, outcome) = execute(&client, &resources(), "SELECT 1", poll())
                .await
                .expect_err("query fails");
            assert_eq!(outcome, Outcome::Failed);
            assert_eq!(
                msg,
                format!(
                    "query q-1 {word}: Query exhausted resources: bytes scanned limit was exceeded"
                )
            );
        }
    }

    #[tokio::test]
    async fn no_workgroup_is_a_usage_error() {
        let client = athena(&[]);
        let mut r = resources();
        r.workgroup = None;
        let (msg, outcome) = execute(&client, &r, "SELECT 1", poll()).await.unwrap_err();
        assert_eq!(outcome, Outcome::Usage);
        assert!(msg.contains("`athena:` section"), "{msg}");
    }
}
