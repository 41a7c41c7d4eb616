//! `pipec diff` and `pipec diff --drift` against SDK-level mocks
//! (aws-smithy-mocks), for what moto cannot do: CloudFormation drift
//! detection (IN_SYNC, MODIFIED with property differences, DELETED,
//! detection FAILED, an endpoint without it), and the request count of a
//! diff (one DescribeStacks and one GetTemplate per stack, one listing of
//! the scripts, a download only for a changed script). No network: every
//! call is answered by a mock rule.

use aws_sdk_cloudformation::Client as Cfn;
use aws_sdk_cloudformation::operation::describe_stack_drift_detection_status::DescribeStackDriftDetectionStatusOutput;
use aws_sdk_cloudformation::operation::describe_stack_resource_drifts::DescribeStackResourceDriftsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::detect_stack_drift::DetectStackDriftOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::types::{
    DifferenceType, PropertyDifference, Stack, StackDriftDetectionStatus, StackDriftStatus,
    StackResourceDrift, StackResourceDriftStatus, StackStatus,
};
use aws_sdk_s3::Client as S3;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_smithy_mocks::{Rule, RuleMode, mock};
use pipec::deploy::diff::{Format, State, compare};
use pipec::deploy::drift::{ScriptState, StackState, detect};
use pipec::deploy::identity::Target;
use pipec::deploy::plan::{Pipeline, Script, Stack as PlanStack};
use pipec::deploy::{Aws, Outcome};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const ACCOUNT: &str = "123456789012";
const BUCKET: &str = "demo-artifacts-123456789012-us-east-1";

fn aws(rules: &[&Rule]) -> Aws {
    // One interceptor per client, each with every rule (a rule counts its
    // calls across both).
    let interceptor = || {
        let mut i = aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for r in rules {
            i = i.with_rule(r);
        }
        i
    };
    let cfn = aws_sdk_cloudformation::Config::builder()
        .behavior_version(aws_sdk_cloudformation::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudformation::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "a", "b", None, None, "mock",
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(interceptor())
        .retry_config(
            aws_sdk_cloudformation::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .build();
    let s3 = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "a", "b", None, None, "mock",
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(interceptor())
        .build();
    let other = || aws_smithy_mocks::create_mock_http_client();
    Aws {
        cfn: Cfn::from_conf(cfn),
        ec2: aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::Config::builder()
                .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
                .region(aws_sdk_ec2::config::Region::new("us-east-1"))
                .http_client(other())
                .build(),
        ),
        s3: S3::from_conf(s3),
        sts: aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::Config::builder()
                .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
                .region(aws_sdk_sts::config::Region::new("us-east-1"))
                .http_client(other())
                .build(),
        ),
        glue: aws_sdk_glue::Client::from_conf(
            aws_sdk_glue::Config::builder()
                .behavior_version(aws_sdk_glue::config::BehaviorVersion::latest())
                .region(aws_sdk_glue::config::Region::new("us-east-1"))
                .http_client(other())
                .build(),
        ),
        athena: aws_sdk_athena::Client::from_conf(
            aws_sdk_athena::Config::builder()
                .behavior_version(aws_sdk_athena::config::BehaviorVersion::latest())
                .region(aws_sdk_athena::config::Region::new("us-east-1"))
                .http_client(other())
                .build(),
        ),
        region: "us-east-1".into(),
        endpoint: None,
        profile: None,
    }
}

fn target() -> Target {
    Target {
        account: ACCOUNT.into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:user/mock"),
        region: "us-east-1".into(),
        endpoint: "mock".into(),
        profile: None,
    }
}

const SCRIPT: &str = "print('clean v2')\n";
const OLD_SCRIPT: &str = "print('clean v1')\n";

fn key_of(text: &str) -> String {
    pipec::render::stacks::script_key("clean", &pipec::render::sha256_hex(text))
}

fn jobs_template(script: &str) -> String {
    format!(
        "Resources:\n  JobClean:\n    Type: AWS::Glue::Job\n    Properties:\n      Command: {{ScriptLocation: 's3://{BUCKET}/{}'}}\n",
        key_of(script)
    )
}

/// Four stacks (`demo-a` .. `demo-c` plain, `demo-jobs` naming the script).
fn pipeline() -> Pipeline {
    let plain = |n: &str| PlanStack {
        name: n.into(),
        stack_name: format!("demo-{n}"),
        template: format!("Resources:\n  Topic{n}: {{Type: AWS::SNS::Topic}}\n"),
        depends_on: vec![],
        termination_protection: false,
    };
    let mut jobs = plain("jobs");
    jobs.template = jobs_template(SCRIPT);
    Pipeline {
        environment: None,
        name: "demo".into(),
        artifacts_bucket: "demo-artifacts-${AWS::AccountId}-${AWS::Region}".into(),
        tags: Default::default(),
        stacks: vec![plain("a"), plain("b"), plain("c"), jobs],
        scripts: vec![Script {
            stage: "clean".into(),
            s3_key: key_of(SCRIPT),
            text: SCRIPT.into(),
        }],
        findings: vec![],
    }
}

/// DescribeStacks: every stack exists and is settled.
fn describe_stacks() -> Rule {
    mock!(Cfn::describe_stacks).then_compute_output(|r| {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_name(r.stack_name().unwrap_or_default())
                    .stack_status(StackStatus::UpdateComplete)
                    .build(),
            )
            .build()
    })
}

/// GetTemplate: the deployed templates, by stack name.
fn get_template(deployed: BTreeMap<String, String>) -> Rule {
    mock!(Cfn::get_template).then_compute_output(move |r| {
        GetTemplateOutput::builder()
            .template_body(
                deployed
                    .get(r.stack_name().unwrap_or_default())
                    .cloned()
                    .unwrap_or_default(),
            )
            .build()
    })
}

/// The pipeline's templates as deployed, the jobs stack naming `script`.
fn deployed(p: &Pipeline, script: &str) -> BTreeMap<String, String> {
    p.stacks
        .iter()
        .map(|s| {
            let t = if s.name == "jobs" {
                jobs_template(script)
            } else {
                s.template.clone()
            };
            (s.stack_name.clone(), t)
        })
        .collect()
}

fn list(keys: Vec<String>) -> Rule {
    mock!(S3::list_objects_v2).then_compute_output(move |_| {
        let mut b = ListObjectsV2Output::builder().is_truncated(false);
        for k in &keys {
            b = b.contents(aws_sdk_s3::types::Object::builder().key(k).build());
        }
        b.build()
    })
}

/// GetObject: each key's bytes.
fn objects(objects: BTreeMap<String, Vec<u8>>) -> Rule {
    mock!(S3::get_object).then_compute_output(move |r| {
        let body = objects
            .get(r.key().unwrap_or_default())
            .cloned()
            .unwrap_or_default();
        GetObjectOutput::builder()
            .body(aws_sdk_s3::primitives::ByteStream::from(body))
            .build()
    })
}

fn detect_rule() -> Rule {
    mock!(Cfn::detect_stack_drift).then_compute_output(|r| {
        DetectStackDriftOutput::builder()
            .stack_drift_detection_id(format!("det-{}", r.stack_name().unwrap_or_default()))
            .build()
    })
}

/// Drift detection's status by stack: `demo-a` in sync after one poll in
/// progress, `demo-b` and `demo-c` drifted, `demo-jobs` failed.
fn status_rule(polls_of_a: &'static AtomicUsize) -> Rule {
    mock!(Cfn::describe_stack_drift_detection_status).then_compute_output(move |r| {
        let id = r.stack_drift_detection_id().unwrap_or_default().to_string();
        let b = DescribeStackDriftDetectionStatusOutput::builder().stack_drift_detection_id(&id);
        match id.as_str() {
            "det-demo-a" if polls_of_a.fetch_add(1, Ordering::SeqCst) == 0 => b
                .detection_status(StackDriftDetectionStatus::DetectionInProgress)
                .build(),
            "det-demo-a" => b
                .detection_status(StackDriftDetectionStatus::DetectionComplete)
                .stack_drift_status(StackDriftStatus::InSync)
                .drifted_stack_resource_count(0)
                .build(),
            "det-demo-b" | "det-demo-c" => b
                .detection_status(StackDriftDetectionStatus::DetectionComplete)
                .stack_drift_status(StackDriftStatus::Drifted)
                .drifted_stack_resource_count(1)
                .build(),
            _ => b
                .detection_status(StackDriftDetectionStatus::DetectionFailed)
                .detection_status_reason("Failed to detect drift: AWS::Glue::Job is not supported")
                .stack_drift_status(StackDriftStatus::NotChecked)
                .build(),
        }
    })
}

/// `demo-b`: one modified topic over two pages; `demo-c`: a deleted one.
fn resource_drifts_rule() -> Rule {
    mock!(Cfn::describe_stack_resource_drifts).then_compute_output(|r| {
        let filters = r.stack_resource_drift_status_filters().to_vec();
        assert!(
            filters.contains(&StackResourceDriftStatus::Modified)
                && filters.contains(&StackResourceDriftStatus::Deleted)
                && !filters.contains(&StackResourceDriftStatus::InSync),
            "{filters:?}"
        );
        let diff = |path: &str, e: &str, a: &str| {
            PropertyDifference::builder()
                .property_path(path)
                .expected_value(e)
                .actual_value(a)
                .difference_type(DifferenceType::NotEqual)
                .build()
        };
        match (r.stack_name().unwrap_or_default(), r.next_token()) {
            ("demo-b", None) => DescribeStackResourceDriftsOutput::builder()
                .stack_resource_drifts(
                    StackResourceDrift::builder()
                        .logical_resource_id("Topicb")
                        .resource_type("AWS::SNS::Topic")
                        .stack_resource_drift_status(StackResourceDriftStatus::Modified)
                        .property_differences(diff("/DisplayName", "alerts", "hacked"))
                        .property_differences(diff("/KmsMasterKeyId", "alias/demo", ""))
                        .build(),
                )
                .next_token("page-2")
                .build(),
            ("demo-b", Some(_)) => DescribeStackResourceDriftsOutput::builder()
                .stack_resource_drifts(
                    StackResourceDrift::builder()
                        .logical_resource_id("Queue")
                        .resource_type("AWS::SQS::Queue")
                        .stack_resource_drift_status(StackResourceDriftStatus::Modified)
                        .property_differences(diff("/VisibilityTimeout", "30", "60"))
                        .build(),
                )
                .build(),
            _ => DescribeStackResourceDriftsOutput::builder()
                .stack_resource_drifts(
                    StackResourceDrift::builder()
                        .logical_resource_id("Topicc")
                        .resource_type("AWS::SNS::Topic")
                        .stack_resource_drift_status(StackResourceDriftStatus::Deleted)
                        .build(),
                )
                .build(),
        }
    })
}

#[tokio::test]
async fn drift_detection_reports_in_sync_modified_deleted_and_failed() {
    static POLLS: AtomicUsize = AtomicUsize::new(0);
    let p = pipeline();
    let (d, t) = (describe_stacks(), get_template(deployed(&p, SCRIPT)));
    let l = list(vec![key_of(SCRIPT)]);
    let o = objects([(key_of(SCRIPT), SCRIPT.as_bytes().to_vec())].into());
    let (det, st, rd) = (detect_rule(), status_rule(&POLLS), resource_drifts_rule());
    let aws = aws(&[&d, &t, &l, &o, &det, &st, &rd]);

    let cmp = compare(&aws, &p, &[], ACCOUNT).await.unwrap();
    assert!(!cmp.differs(), "{:?}", cmp.stacks);
    let r = detect(&aws, &cmp).await.unwrap();
    assert_eq!(r.unsupported, None);
    let by: BTreeMap<&str, &StackState> = r
        .stacks
        .iter()
        .map(|s| (s.stack_name.as_str(), &s.state))
        .collect();
    assert_eq!(by["demo-a"], &StackState::InSync);
    assert_eq!(by["demo-b"], &StackState::Drifted);
    assert_eq!(by["demo-c"], &StackState::Drifted);
    assert!(
        matches!(by["demo-jobs"], StackState::Failed(m) if m.contains("not supported")),
        "{:?}",
        by["demo-jobs"]
    );
    // In the pipeline's order, whatever order the answers came in.
    let order: Vec<&str> = r.stacks.iter().map(|s| s.stack_name.as_str()).collect();
    assert_eq!(order, ["demo-a", "demo-b", "demo-c", "demo-jobs"]);
    // demo-a was polled until its detection finished.
    assert_eq!(POLLS.load(Ordering::SeqCst), 2);
    assert_eq!(det.num_calls(), 4);
    // Resource drifts only for the drifted stacks: demo-b (two pages), demo-c.
    assert_eq!(rd.num_calls(), 3);
    let b = &r.stacks[1];
    assert_eq!(b.resources.len(), 2);
    assert_eq!(b.resources[0].status, "MODIFIED");
    assert_eq!(b.resources[0].differences.len(), 2);
    assert_eq!(b.resources[0].differences[0].path, "/DisplayName");
    assert_eq!(b.resources[0].differences[0].expected, "alerts");
    assert_eq!(b.resources[0].differences[0].actual, "hacked");
    assert_eq!(b.resources[1].logical_id, "Queue");
    let c = &r.stacks[2];
    assert_eq!(c.resources.len(), 1);
    assert_eq!(c.resources[0].status, "DELETED");
    assert!(c.resources[0].differences.is_empty());
    // The script is intact.
    assert_eq!(r.scripts_checked, 1);
    assert!(r.scripts.is_empty(), "{:?}", r.scripts);
    assert!(r.drifted());
    let text = r.text();
    for want in [
        "drift demo-a: in sync",
        "drift demo-b: drifted (2 resource(s))",
        "  modified Topicb (AWS::SNS::Topic)",
        "    not equal /DisplayName: expected alerts, actual hacked",
        "  deleted Topicc (AWS::SNS::Topic)",
        "drift demo-jobs: detection failed: Failed to detect drift",
        "drift scripts: 1 checked, 0 drifted",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
    // The command: nothing differs, but drift makes it exit 1.
    let out = pipec::deploy::diff::run(&aws, &[p], &[], Format::Json, true, &target()).await;
    assert_eq!(out, Outcome::Failed);
}

#[tokio::test]
async fn in_sync_stacks_and_intact_scripts_are_no_drift() {
    let p = pipeline();
    let (d, t) = (describe_stacks(), get_template(deployed(&p, SCRIPT)));
    let l = list(vec![key_of(SCRIPT)]);
    let o = objects([(key_of(SCRIPT), SCRIPT.as_bytes().to_vec())].into());
    let det = detect_rule();
    let st = mock!(Cfn::describe_stack_drift_detection_status).then_output(|| {
        DescribeStackDriftDetectionStatusOutput::builder()
            .detection_status(StackDriftDetectionStatus::DetectionComplete)
            .stack_drift_status(StackDriftStatus::InSync)
            .build()
    });
    let rd = resource_drifts_rule();
    let aws = aws(&[&d, &t, &l, &o, &det, &st, &rd]);
    let cmp = compare(&aws, &p, &[], ACCOUNT).await.unwrap();
    let r = detect(&aws, &cmp).await.unwrap();
    assert!(!r.drifted(), "{r:?}");
    assert_eq!(r.stacks.len(), 4);
    assert_eq!(rd.num_calls(), 0);
    let out = pipec::deploy::diff::run(&aws, &[p], &[], Format::Text, true, &target()).await;
    assert_eq!(out, Outcome::Done);
}

/// What moto answers for an action it lacks: an HTML page with HTTP 500.
fn html_500() -> aws_sdk_cloudformation::config::http::HttpResponse {
    aws_sdk_cloudformation::config::http::HttpResponse::new(
        500.try_into().expect("a status code"),
        "<!doctype html><title>500 Internal Server Error</title>".into(),
    )
}

#[tokio::test]
async fn an_endpoint_without_drift_detection_is_said_once_and_scripts_are_still_checked() {
    let p = pipeline();
    let (d, t) = (describe_stacks(), get_template(deployed(&p, SCRIPT)));
    let l = list(vec![key_of(SCRIPT)]);
    // The deployed object was overwritten behind pipec's back.
    let o = objects([(key_of(SCRIPT), b"import os\n".to_vec())].into());
    // moto answers an action it lacks with an HTML page and HTTP 500.
    let det = mock!(Cfn::detect_stack_drift).then_http_response(html_500);
    let aws = aws(&[&d, &t, &l, &o, &det]);
    let cmp = compare(&aws, &p, &[], ACCOUNT).await.unwrap();
    let r = detect(&aws, &cmp).await.unwrap();
    assert!(r.unsupported.is_some());
    assert!(r.stacks.is_empty());
    // One stack asked, with few attempts; the others not at all.
    assert!(det.num_calls() <= 2, "{}", det.num_calls());
    assert_eq!(r.scripts.len(), 1);
    match &r.scripts[0].state {
        ScriptState::Modified { actual, expected } => {
            assert_eq!(expected, &pipec::render::sha256_hex(SCRIPT));
            assert_eq!(actual, &pipec::render::sha256_hex("import os\n"));
        }
        other => panic!("{other:?}"),
    }
    let text = r.text();
    assert_eq!(text.matches("does not run CloudFormation drift").count(), 1);
    assert!(text.contains("drift script clean: s3://"), "{text}");
}

#[tokio::test]
async fn a_missing_deployed_script_is_drift_and_a_change() {
    let p = pipeline();
    let (d, t) = (describe_stacks(), get_template(deployed(&p, SCRIPT)));
    let l = list(vec![]);
    let o = objects(BTreeMap::new());
    let det = mock!(Cfn::detect_stack_drift).then_http_response(html_500);
    let aws = aws(&[&d, &t, &l, &o, &det]);
    let cmp = compare(&aws, &p, &[], ACCOUNT).await.unwrap();
    assert_eq!(cmp.scripts[0].state, State::Changed);
    assert!(
        cmp.scripts[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("missing")),
        "{:?}",
        cmp.scripts[0]
    );
    let r = detect(&aws, &cmp).await.unwrap();
    assert_eq!(r.scripts.len(), 1);
    assert_eq!(r.scripts[0].state, ScriptState::Missing);
    assert_eq!(o.num_calls(), 0, "nothing to download");
}

#[tokio::test]
async fn a_changed_script_is_shown_as_a_unified_diff_of_the_deployed_object() {
    let p = pipeline();
    let (d, t) = (describe_stacks(), get_template(deployed(&p, OLD_SCRIPT)));
    let l = list(vec![key_of(OLD_SCRIPT)]);
    let o = objects([(key_of(OLD_SCRIPT), OLD_SCRIPT.as_bytes().to_vec())].into());
    let aws = aws(&[&d, &t, &l, &o]);
    let cmp = compare(&aws, &p, &[], ACCOUNT).await.unwrap();
    let s = &cmp.scripts[0];
    assert_eq!(s.state, State::Changed);
    assert_eq!(s.deployed_key.as_deref(), Some(key_of(OLD_SCRIPT).as_str()));
    assert!(s.diff.contains("-print('clean v1')"), "{}", s.diff);
    assert!(s.diff.contains("+print('clean v2')"), "{}", s.diff);
    assert!(
        s.diff
            .contains(&format!("--- a/{} (deployed)", key_of(OLD_SCRIPT))),
        "{}",
        s.diff
    );
    assert_eq!(o.num_calls(), 1);
    // The jobs stack's template changed too (its ScriptLocation).
    let jobs = cmp
        .stacks
        .iter()
        .find(|s| s.stack_name == "demo-jobs")
        .unwrap();
    assert_eq!(jobs.state, State::Changed);
}

/// Every stack and script of the 200-stage synthetic pipeline deployed as
/// rendered: a diff reads each stack twice, lists the scripts once and
/// downloads nothing.
#[tokio::test]
async fn a_200_stage_diff_makes_at_most_three_requests_per_stack() {
    let dir = std::env::temp_dir().join(format!("pipec-drift-mocks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("synthetic.yaml");
    std::fs::write(&file, pipec::synthetic::pipeline(200)).unwrap();
    let ps = pipec::deploy::plan::load(&pipec::deploy::plan::Source::File(file), None).unwrap();
    let p = &ps[0];
    let templates: BTreeMap<String, String> = p
        .stacks
        .iter()
        .map(|s| (s.stack_name.clone(), s.template.clone()))
        .collect();
    let tags = p.tags.clone();
    let d = mock!(Cfn::describe_stacks).then_compute_output(move |r| {
        let mut s = Stack::builder()
            .stack_name(r.stack_name().unwrap_or_default())
            .stack_status(StackStatus::CreateComplete);
        for (k, v) in &tags {
            s = s.tags(
                aws_sdk_cloudformation::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build(),
            );
        }
        DescribeStacksOutput::builder().stacks(s.build()).build()
    });
    let t = get_template(templates);
    let l = list(p.scripts.iter().map(|s| s.s3_key.clone()).collect());
    let o = objects(BTreeMap::new());
    let aws = aws(&[&d, &t, &l, &o]);
    let cmp = compare(&aws, p, &[], ACCOUNT).await.unwrap();
    assert!(!cmp.differs());
    assert!(cmp.scripts.len() >= 200, "{}", cmp.scripts.len());
    let stacks = p.stacks.len();
    let requests = d.num_calls() + t.num_calls() + l.num_calls() + o.num_calls();
    assert_eq!(d.num_calls(), stacks);
    assert_eq!(t.num_calls(), stacks);
    assert_eq!(l.num_calls(), 1);
    assert_eq!(o.num_calls(), 0);
    assert!(
        requests <= 3 * stacks,
        "{requests} requests for {stacks} stacks"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
