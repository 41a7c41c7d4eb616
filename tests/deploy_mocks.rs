//! What moto cannot emulate, tested with SDK-level mocks (aws-smithy-mocks):
//! ROLLBACK_COMPLETE and `--recreate`, UPDATE_ROLLBACK_FAILED, a stack busy in
//! another operation, throttling retried with backoff, change sets that
//! replace or remove data (one refusal stops every stack of the run), the
//! first failing resource, termination protection.
//! No network: every call is answered by a mock rule.

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::operation::list_change_sets::ListChangeSetsOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, Replacement, ResourceChange, ResourceStatus, Stack,
    StackEvent, StackStatus,
};
use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock};
use pipec::deploy::apply::{DeployError, Done, Options, deploy_pipeline};
use pipec::deploy::plan::{Pipeline, Stack as PlanStack};
use pipec::deploy::{Aws, Log, Outcome, Style};
use std::time::Duration;

const NAME: &str = "demo-alerts";
const TEMPLATE: &str = "Resources:\n  Topic: {Type: AWS::SNS::Topic}\n";

fn config() -> (
    aws_sdk_cloudformation::config::Region,
    aws_sdk_cloudformation::config::Credentials,
) {
    (
        aws_sdk_cloudformation::config::Region::new("us-east-1"),
        aws_sdk_cloudformation::config::Credentials::new("a", "b", None, None, "mock"),
    )
}

/// S3 as a deploy of these stacks uses it: the lock is taken and given
/// back, and no script is listed.
fn s3_rules() -> Vec<Rule> {
    vec![
        mock!(aws_sdk_s3::Client::put_object)
            .match_requests(|r| r.if_none_match() == Some("*"))
            .then_output(|| PutObjectOutput::builder().e_tag("\"lock\"").build()),
        mock!(aws_sdk_s3::Client::delete_object)
            .then_output(|| DeleteObjectOutput::builder().build()),
        mock!(aws_sdk_s3::Client::list_objects_v2)
            .then_output(|| ListObjectsV2Output::builder().build()),
    ]
}

fn aws(rules: &[&Rule]) -> Aws {
    let mut i = aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in rules {
        i = i.with_rule(r);
    }
    // No change set left by an earlier run, unless a test says otherwise.
    let listed =
        mock!(Client::list_change_sets).then_output(|| ListChangeSetsOutput::builder().build());
    i = i.with_rule(&listed);
    let mut s3_mock =
        aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in &s3_rules() {
        s3_mock = s3_mock.with_rule(r);
    }
    // The deploy gate reads every stack's template first; a test without its
    // own GetTemplate rule has no deployed template to compare with.
    i = i.with_rule(&mock!(Client::get_template).then_error(|| {
        aws_sdk_cloudformation::operation::get_template::GetTemplateError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message(format!("Stack with id {NAME} does not exist"))
                .build(),
        )
    }));
    let (region, creds) = config();
    let conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(aws_sdk_cloudformation::config::BehaviorVersion::latest())
        .region(region.clone())
        .credentials_provider(creds.clone())
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(i)
        .retry_config(
            aws_sdk_cloudformation::config::retry::RetryConfig::standard()
                .with_max_attempts(5)
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
        .interceptor(s3_mock)
        .build();
    let sts = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .build();
    let ec2 = aws_sdk_ec2::Config::builder()
        .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
        .region(aws_sdk_ec2::config::Region::new("us-east-1"))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .build();
    Aws {
        cfn: Client::from_conf(conf),
        ec2: aws_sdk_ec2::Client::from_conf(ec2),
        s3: aws_sdk_s3::Client::from_conf(s3),
        sts: aws_sdk_sts::Client::from_conf(sts),
        glue: aws_sdk_glue::Client::from_conf(
            aws_sdk_glue::Config::builder()
                .behavior_version(aws_sdk_glue::config::BehaviorVersion::latest())
                .region(aws_sdk_glue::config::Region::new("us-east-1"))
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .build(),
        ),
        athena: aws_sdk_athena::Client::from_conf(
            aws_sdk_athena::Config::builder()
                .behavior_version(aws_sdk_athena::config::BehaviorVersion::latest())
                .region(aws_sdk_athena::config::Region::new("us-east-1"))
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .build(),
        ),
        region: "us-east-1".into(),
        endpoint: None,
        profile: None,
    }
}

fn pipeline(protect: bool) -> Pipeline {
    Pipeline {
        name: "demo".into(),
        artifacts_bucket: "demo-artifacts-${AWS::AccountId}-${AWS::Region}".into(),
        tags: Default::default(),
        stacks: vec![PlanStack {
            name: "alerts".into(),
            stack_name: NAME.into(),
            template: TEMPLATE.into(),
            depends_on: vec![],
            termination_protection: protect,
        }],
        scripts: vec![],
        findings: vec![],
        environment: None,
    }
}

fn stack(status: StackStatus) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name(NAME)
                .stack_status(status)
                .build(),
        )
        .build()
}

fn missing() -> DescribeStacksError {
    DescribeStacksError::generic(
        ErrorMetadata::builder()
            .code("ValidationError")
            .message(format!("Stack with id {NAME} does not exist"))
            .build(),
    )
}

fn event(id: &str, logical: &str, ty: &str, status: ResourceStatus, reason: &str) -> StackEvent {
    StackEvent::builder()
        .event_id(id)
        .stack_name(NAME)
        .logical_resource_id(logical)
        .resource_type(ty)
        .resource_status(status)
        .resource_status_reason(reason)
        .build()
}

/// Events of a failed create, newest first as CloudFormation lists them.
fn failed_create_events() -> DescribeStackEventsOutput {
    DescribeStackEventsOutput::builder()
        .stack_events(event(
            "3",
            NAME,
            "AWS::CloudFormation::Stack",
            ResourceStatus::CreateFailed,
            "rolled back",
        ))
        .stack_events(event(
            "2",
            "Topic",
            "AWS::SNS::Topic",
            ResourceStatus::CreateFailed,
            "Topic name already exists",
        ))
        .stack_events(event(
            "1",
            "Topic",
            "AWS::SNS::Topic",
            ResourceStatus::CreateInProgress,
            "",
        ))
        .build()
}

async fn run(aws: &Aws, opts: Options, protect: bool) -> (Outcome, Result<Done, DeployError>) {
    let log = Log::new(Style::Json);
    let (o, mut results) = deploy_pipeline(aws, &pipeline(protect), &opts, &log, &target()).await;
    (o, results.remove("alerts").expect("a result for the stack"))
}

fn yes() -> Options {
    Options {
        yes: true,
        ..Options::default()
    }
}

#[tokio::test]
async fn rollback_complete_is_explained_with_its_first_failure() {
    let d = mock!(Client::describe_stacks).then_output(|| stack(StackStatus::RollbackComplete));
    let e = mock!(Client::describe_stack_events).then_output(failed_create_events);
    let cs =
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().build());
    let aws = aws(&[&d, &e, &cs]);
    let (o, r) = run(&aws, yes(), false).await;
    assert_eq!(o, Outcome::Failed);
    let err = r.unwrap_err();
    let msg = err.message();
    assert!(msg.contains("ROLLBACK_COMPLETE"), "{msg}");
    assert!(msg.contains("--recreate"), "{msg}");
    assert!(
        msg.contains("Topic (AWS::SNS::Topic): Topic name already exists"),
        "{msg}"
    );
    assert_eq!(cs.num_calls(), 0, "no change set for a rolled-back stack");
}

/// The calls of a create through a change set that succeeds.
fn create_rules() -> Vec<Rule> {
    vec![
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().build()),
        mock!(Client::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .changes(
                    Change::builder()
                        .resource_change(
                            ResourceChange::builder()
                                .action(ChangeAction::Add)
                                .logical_resource_id("Topic")
                                .resource_type("AWS::SNS::Topic")
                                .build(),
                        )
                        .build(),
                )
                .build()
        }),
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build()),
        mock!(Client::describe_stack_events)
            .then_output(|| DescribeStackEventsOutput::builder().build()),
    ]
}

#[tokio::test]
async fn recreate_deletes_a_rolled_back_stack_and_creates_it_again() {
    let d = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack(StackStatus::RollbackComplete))
        .times(2)
        .error(missing)
        .output(|| stack(StackStatus::CreateComplete))
        .repeatedly()
        .build();
    let del = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let rules = create_rules();
    let mut all: Vec<&Rule> = vec![&d, &del];
    all.extend(rules.iter());
    let aws = aws(&all);
    let opts = Options {
        recreate: true,
        ..yes()
    };
    let (o, r) = run(&aws, opts, false).await;
    assert_eq!(r, Ok(Done::Created));
    assert_eq!(o, Outcome::Done);
    assert_eq!(del.num_calls(), 1);
    assert_eq!(rules[2].num_calls(), 1, "change set executed once");
}

#[tokio::test]
async fn update_rollback_failed_and_busy_stacks_get_clear_messages() {
    let d = mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateRollbackFailed));
    let e = mock!(Client::describe_stack_events).then_output(failed_create_events);
    let aws1 = aws(&[&d, &e]);
    let (_, r) = run(&aws1, yes(), false).await;
    let msg = r.unwrap_err().message();
    assert!(msg.contains("UPDATE_ROLLBACK_FAILED"), "{msg}");
    assert!(msg.contains("continue-update-rollback"), "{msg}");

    let d = mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateInProgress));
    let aws2 = aws(&[&d]);
    let (o, r) = run(&aws2, yes(), false).await;
    assert_eq!(o, Outcome::Failed);
    let msg = r.unwrap_err().message();
    assert!(
        msg.contains("busy in another operation (UPDATE_IN_PROGRESS)"),
        "{msg}"
    );
}

#[tokio::test]
async fn throttling_is_retried_with_backoff() {
    let throttled = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>";
    let d = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(throttled.to_string()))
        .times(2)
        .output(|| stack(StackStatus::CreateComplete))
        .repeatedly()
        .build();
    let t = mock!(Client::get_template)
        .then_output(|| GetTemplateOutput::builder().template_body(TEMPLATE).build());
    let aws = aws(&[&d, &t]);
    let (o, r) = run(&aws, yes(), false).await;
    assert_eq!(r, Ok(Done::Unchanged));
    assert_eq!(o, Outcome::Done);
    assert_eq!(d.num_calls(), 3, "two throttled calls, then the answer");
}

fn replacing_change_set(action: ChangeAction, replacement: Option<Replacement>) -> Rule {
    mock!(Client::describe_change_set).then_output(move || {
        let mut rc = ResourceChange::builder()
            .action(action.clone())
            .logical_resource_id("ZoneRawBucket")
            .resource_type("AWS::S3::Bucket");
        if let Some(r) = replacement.clone() {
            rc = rc.replacement(r);
        }
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .changes(Change::builder().resource_change(rc.build()).build())
            .build()
    })
}

#[tokio::test]
async fn replacing_or_removing_data_is_refused_unless_allowed() {
    for (action, replacement) in [
        (ChangeAction::Modify, Some(Replacement::True)),
        (ChangeAction::Modify, Some(Replacement::Conditional)),
        (ChangeAction::Remove, None),
    ] {
        let d = mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateComplete));
        let t = mock!(Client::get_template).then_output(|| {
            GetTemplateOutput::builder()
                .template_body("Resources: {}\n")
                .build()
        });
        let cs = mock!(Client::create_change_set)
            .then_output(|| CreateChangeSetOutput::builder().build());
        let dcs = replacing_change_set(action.clone(), replacement.clone());
        let del = mock!(Client::delete_change_set)
            .then_output(|| DeleteChangeSetOutput::builder().build());
        let ex = mock!(Client::execute_change_set)
            .then_output(|| ExecuteChangeSetOutput::builder().build());
        let ev = mock!(Client::describe_stack_events)
            .then_output(|| DescribeStackEventsOutput::builder().build());
        let a = aws(&[&d, &t, &cs, &dcs, &del, &ex, &ev]);
        let (o, r) = run(&a, yes(), false).await;
        assert_eq!(o, Outcome::Failed);
        let msg = r.unwrap_err().message();
        assert!(msg.contains("ZoneRawBucket (AWS::S3::Bucket)"), "{msg}");
        assert!(msg.contains("--allow-data-loss"), "{msg}");
        assert_eq!(ex.num_calls(), 0, "refused change set not executed");
        assert_eq!(del.num_calls(), 1, "refused change set deleted");

        let opts = Options {
            allow_replace: true,
            ..yes()
        };
        let (o, r) = run(&a, opts, false).await;
        assert_eq!((o, r), (Outcome::Done, Ok(Done::Updated)));
        assert_eq!(ex.num_calls(), 1);
    }
}

#[tokio::test]
async fn a_failed_update_names_the_first_failing_resource() {
    let d = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack(StackStatus::UpdateComplete))
        .output(|| stack(StackStatus::UpdateRollbackComplete))
        .repeatedly()
        .build();
    let t = mock!(Client::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body("Resources: {}\n")
            .build()
    });
    let cs =
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().build());
    let dcs = replacing_change_set(ChangeAction::Add, None);
    let ex =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let ev = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(event(
                    "0",
                    NAME,
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::UpdateComplete,
                    "",
                ))
                .build()
        })
        .output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(event(
                    "5",
                    "Topic",
                    "AWS::SNS::Topic",
                    ResourceStatus::UpdateFailed,
                    "second",
                ))
                .stack_events(event(
                    "4",
                    "Queue",
                    "AWS::SQS::Queue",
                    ResourceStatus::CreateFailed,
                    "Access denied for sqs:CreateQueue",
                ))
                .stack_events(event(
                    "0",
                    NAME,
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::UpdateComplete,
                    "",
                ))
                .build()
        })
        .repeatedly()
        .build();
    let a = aws(&[&d, &t, &cs, &dcs, &ex, &ev]);
    let (o, r) = run(&a, yes(), false).await;
    assert_eq!(o, Outcome::Failed);
    let msg = r.unwrap_err().message();
    assert!(msg.contains("UPDATE_ROLLBACK_COMPLETE"), "{msg}");
    assert!(
        msg.contains("first failure: Queue (AWS::SQS::Queue): Access denied for sqs:CreateQueue"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_new_protected_stack_gets_termination_protection() {
    let d = mock!(Client::describe_stacks)
        .sequence()
        .error(missing)
        .output(|| stack(StackStatus::CreateComplete))
        .repeatedly()
        .build();
    let tp = mock!(Client::update_termination_protection)
        .match_requests(|r| r.enable_termination_protection() == Some(true))
        .then_output(|| UpdateTerminationProtectionOutput::builder().build());
    let rules = create_rules();
    let mut all: Vec<&Rule> = vec![&d, &tp];
    all.extend(rules.iter());
    let a = aws(&all);
    let (o, r) = run(&a, yes(), true).await;
    assert_eq!((o, r), (Outcome::Done, Ok(Done::Created)));
    assert_eq!(tp.num_calls(), 1);
}

#[tokio::test]
async fn without_a_terminal_yes_is_required() {
    let d = mock!(Client::describe_stacks).then_error(missing);
    let rules = create_rules();
    let del =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let mut all: Vec<&Rule> = vec![&d, &del];
    all.extend(rules.iter());
    let a = aws(&all);
    // Tests run with stdin not a terminal (cargo test gives none to read).
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return;
    }
    let (o, r) = run(&a, Options::default(), false).await;
    assert_eq!(o, Outcome::Usage);
    assert!(matches!(r, Err(DeployError::NotRun { .. })), "{r:?}");
    assert_eq!(rules[0].num_calls(), 0, "refused before any change set");
    assert_eq!(rules[2].num_calls(), 0, "nothing executed");
}

fn target() -> pipec::deploy::identity::Target {
    pipec::deploy::identity::Target {
        account: "123456789012".into(),
        arn: "arn:aws:iam::123456789012:user/t".into(),
        region: "us-east-1".into(),
        endpoint: "mock".into(),
        profile: None,
    }
}

#[tokio::test]
async fn edited_files_stop_the_deploy_before_any_call_unless_allowed() {
    let d = mock!(Client::describe_stacks)
        .sequence()
        .error(missing)
        .output(|| stack(StackStatus::CreateComplete))
        .repeatedly()
        .build();
    let rules = create_rules();
    let mut all: Vec<&Rule> = vec![&d];
    all.extend(rules.iter());
    let a = aws(&all);
    let mut p = pipeline(false);
    p.findings = vec![pipec::deploy::verify::Finding::Edited {
        file: "generated/demo/stacks/alerts.yaml".into(),
        source: "pipelines/demo.yaml".into(),
    }];
    let log = Log::new(Style::Json);
    let o = pipec::deploy::apply::run(&a, std::slice::from_ref(&p), &yes(), &log, &target()).await;
    assert_eq!(o, Outcome::Failed);
    assert_eq!(d.num_calls(), 0, "no AWS call before the gate passed");
    assert_eq!(rules[0].num_calls(), 0, "no change set");
    let allowed = Options {
        allow_edited: true,
        ..yes()
    };
    let o =
        pipec::deploy::apply::run(&a, std::slice::from_ref(&p), &allowed, &log, &target()).await;
    assert_eq!(o, Outcome::Done);
    assert_eq!(rules[2].num_calls(), 1, "deployed with --allow-edited");
}

fn stack_named(name: &'static str, status: StackStatus) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name(name)
                .stack_status(status)
                .build(),
        )
        .build()
}

fn is_arn(name: Option<&str>) -> bool {
    name.is_some_and(|n| n.starts_with("arn:aws:cloudformation:us-east-1:123456789012:changeSet/"))
}

#[tokio::test]
async fn change_sets_get_distinct_names_and_are_followed_by_their_arn() {
    // Two stacks created at once: each change set gets its own name, and
    // Describe/Execute name it by the ARN CreateChangeSet returned. The
    // Describe and Execute rules answer ARNs only, so a call by name fails.
    let names = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = names.clone();
    let create = mock!(Client::create_change_set).then_compute_output(move |r| {
        let n = r.change_set_name().unwrap_or_default().to_string();
        seen.lock().unwrap().push(n.clone());
        CreateChangeSetOutput::builder()
            .id(format!(
                "arn:aws:cloudformation:us-east-1:123456789012:changeSet/{n}/{}",
                r.stack_name().unwrap_or_default()
            ))
            .build()
    });
    let describe = mock!(Client::describe_change_set)
        .match_requests(|r| is_arn(r.change_set_name()))
        .then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .build()
        });
    let execute = mock!(Client::execute_change_set)
        .match_requests(|r| is_arn(r.change_set_name()))
        .then_output(|| ExecuteChangeSetOutput::builder().build());
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let stacks = ["demo-alerts", "demo-topics"].map(|s| {
        mock!(Client::describe_stacks)
            .match_requests(move |r| r.stack_name() == Some(s))
            .sequence()
            .error(missing)
            .output(move || stack_named(s, StackStatus::CreateComplete))
            .repeatedly()
            .build()
    });
    let a = aws(&[
        &create, &describe, &execute, &events, &stacks[0], &stacks[1],
    ]);
    let mut p = pipeline(false);
    let mut second = p.stacks[0].clone();
    second.name = "topics".into();
    second.stack_name = "demo-topics".into();
    p.stacks.push(second);
    let log = Log::new(Style::Json);
    let (o, results) = deploy_pipeline(&a, &p, &yes(), &log, &target()).await;
    assert_eq!(o, Outcome::Done, "{results:?}");
    assert!(
        results.values().all(|r| r == &Ok(Done::Created)),
        "{results:?}"
    );
    let names = names.lock().unwrap().clone();
    assert_eq!(names.len(), 2);
    assert_ne!(names[0], names[1], "two stacks shared a change-set name");
    assert!(
        names.iter().all(|n| pipec::deploy::changeset::is_valid(n)),
        "{names:?}"
    );
    assert_eq!(
        execute.num_calls(),
        2,
        "each change set executed by its ARN"
    );
    assert!(describe.num_calls() >= 2);
}

#[tokio::test]
async fn an_endpoint_without_termination_protection_is_asked_once_per_run() {
    // moto answers UpdateTerminationProtection with a body that is not XML.
    // pipec notes that once and does not ask again for the next stack.
    use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionError;
    let tp = mock!(Client::update_termination_protection).then_error(|| {
        UpdateTerminationProtectionError::generic(
            ErrorMetadata::builder()
                .message("unhandled error: error parsing XML: no root element")
                .build(),
        )
    });
    let stacks = ["demo-alerts", "demo-topics"].map(|s| {
        mock!(Client::describe_stacks)
            .match_requests(move |r| r.stack_name() == Some(s))
            .sequence()
            .error(missing)
            .output(move || stack_named(s, StackStatus::CreateComplete))
            .repeatedly()
            .build()
    });
    let rules = create_rules();
    let mut all: Vec<&Rule> = vec![&tp, &stacks[0], &stacks[1]];
    all.extend(rules.iter());
    let a = aws(&all);
    let mut p = pipeline(true);
    let mut second = p.stacks[0].clone();
    second.name = "topics".into();
    second.stack_name = "demo-topics".into();
    second.depends_on = vec!["alerts".into()];
    p.stacks.push(second);
    let log = Log::new(Style::Json);
    let (o, results) = deploy_pipeline(&a, &p, &yes(), &log, &target()).await;
    assert_eq!(o, Outcome::Done, "{results:?}");
    assert_eq!(tp.num_calls(), 1, "asked again after the endpoint said no");
    assert!(pipec::deploy::apply::protection_unsupported(
        "service error: unhandled error: error parsing XML: no root element"
    ));
    assert!(!pipec::deploy::apply::protection_unsupported(
        "AccessDenied: not authorized to perform cloudformation:UpdateTerminationProtection"
    ));
}

#[tokio::test]
async fn one_refused_stack_leaves_every_stack_of_the_run_unchanged() {
    // Two deployed stacks both change; one change set would replace a
    // bucket. Neither runs, and both change sets are deleted.
    let stacks = ["demo-alerts", "demo-topics"].map(|s| {
        mock!(Client::describe_stacks)
            .match_requests(move |r| r.stack_name() == Some(s))
            .then_output(move || stack_named(s, StackStatus::UpdateComplete))
    });
    let t = mock!(Client::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body("Resources: {}\n")
            .build()
    });
    let create = mock!(Client::create_change_set).then_compute_output(|r| {
        CreateChangeSetOutput::builder()
            .id(format!("arn:cs/{}", r.stack_name().unwrap_or_default()))
            .build()
    });
    let describe = mock!(Client::describe_change_set).then_compute_output(|r| {
        let bucket = r.change_set_name() == Some("arn:cs/demo-topics");
        let rc = if bucket {
            ResourceChange::builder()
                .action(ChangeAction::Modify)
                .replacement(Replacement::True)
                .logical_resource_id("ZoneRawBucket")
                .resource_type("AWS::S3::Bucket")
        } else {
            ResourceChange::builder()
                .action(ChangeAction::Add)
                .logical_resource_id("Topic")
                .resource_type("AWS::SNS::Topic")
        };
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .changes(Change::builder().resource_change(rc.build()).build())
            .build()
    });
    let deleted =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let ex =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let a = aws(&[
        &stacks[0], &stacks[1], &t, &create, &describe, &deleted, &ex,
    ]);
    let mut p = pipeline(false);
    let mut second = p.stacks[0].clone();
    second.name = "topics".into();
    second.stack_name = "demo-topics".into();
    p.stacks.push(second);
    let log = Log::new(Style::Json);
    let (o, results) = deploy_pipeline(&a, &p, &yes(), &log, &target()).await;
    assert_eq!(o, Outcome::Failed);
    assert_eq!(create.num_calls(), 2, "both planned");
    assert_eq!(ex.num_calls(), 0, "nothing executed");
    assert_eq!(
        deleted.num_calls(),
        2,
        "every change set of the run deleted"
    );
    let msg = results["topics"].clone().unwrap_err().message();
    assert!(
        msg.contains("replace ZoneRawBucket (AWS::S3::Bucket)"),
        "{msg}"
    );
    assert!(
        matches!(results["alerts"], Err(DeployError::NotRun { .. })),
        "{results:?}"
    );
    assert_eq!(
        pipec::deploy::apply::Counts::of(&results).line(),
        "1 failed, 1 skipped"
    );
}

#[tokio::test]
async fn destroy_turns_protection_off_only_for_confirmed_stacks_it_deletes() {
    let protected = || {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_name(NAME)
                    .stack_status(StackStatus::CreateComplete)
                    .enable_termination_protection(true)
                    .build(),
            )
            .build()
    };
    // Seen once by a run that is not confirmed, then twice by one that is
    // (present, then protected before the delete), then gone.
    let unconfirmed = usize::from(!std::io::IsTerminal::is_terminal(&std::io::stdin()));
    let d = mock!(Client::describe_stacks)
        .sequence()
        .output(protected)
        .times(2 + unconfirmed)
        .error(missing)
        .repeatedly()
        .build();
    let off = mock!(Client::update_termination_protection)
        .match_requests(|r| r.enable_termination_protection() == Some(false))
        .then_output(|| UpdateTerminationProtectionOutput::builder().build());
    let del = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let a = aws(&[&d, &off, &del]);
    let p = pipeline(true);
    let log = Log::new(Style::Json);
    if unconfirmed == 1 {
        // Not confirmed: nothing is touched.
        let opts = pipec::deploy::destroy::Options::default();
        let o =
            pipec::deploy::destroy::run(&a, std::slice::from_ref(&p), &opts, &log, &target()).await;
        assert_eq!(o, Outcome::Usage);
        assert_eq!(off.num_calls(), 0, "protection kept without confirmation");
        assert_eq!(del.num_calls(), 0);
    }
    let opts = pipec::deploy::destroy::Options {
        yes: true,
        ..Default::default()
    };
    let o = pipec::deploy::destroy::run(&a, std::slice::from_ref(&p), &opts, &log, &target()).await;
    assert_eq!(o, Outcome::Done);
    assert_eq!(
        off.num_calls(),
        1,
        "protection turned off for the deleted stack"
    );
    assert_eq!(del.num_calls(), 1);
}
