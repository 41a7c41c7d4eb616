// Fixtures of `tests/adopt_mocks.rs`, included there with `include!`: a small
// basic-infra template with retained resources, clients answered by mock
// rules (CloudFormation, S3, Glue), and the calls those rules record.

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
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeSetType, ResourceChange, Stack, StackStatus,
};
use aws_smithy_mocks::{MockResponse, Rule, RuleMode, mock};
use pipec::deploy::apply::{DeployError, Done, Options, deploy_pipeline};
use pipec::deploy::plan::{Pipeline, Stack as PlanStack};
use pipec::deploy::{Aws, Log, Outcome, Style};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NAME: &str = "demo-basic-infra";
const ACCOUNT: &str = "123456789012";
const RAW: &str = "demo-raw-123456789012-us-east-1";
const LOGS: &str = "demo-basic-infra-accesslogbucket-1a2b3c4d5e6f";
const KEY_ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-aaaa-bbbb-cccc-000000000001";
const KEY_ID: &str = "0f1e2d3c-aaaa-bbbb-cccc-000000000001";

/// basic-infra in small: the key, a named zone bucket that logs to an
/// unnamed access-log bucket, the catalog's database and a table (all
/// retained), and a topic that is not.
const TEMPLATE: &str = r#"Resources:
  DataKey:
    Type: AWS::KMS::Key
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      KeyPolicy: {Version: "2012-10-17", Statement: []}
  AccessLogBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      Tags: [{Key: "pipec:pipeline", Value: demo}]
  ZoneRawBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      BucketName:
        Fn::Sub: "demo-raw-${AWS::AccountId}-${AWS::Region}"
      BucketEncryption:
        ServerSideEncryptionConfiguration:
        - ServerSideEncryptionByDefault:
            SSEAlgorithm: aws:kms
            KMSMasterKeyID:
              Fn::GetAtt: [DataKey, Arn]
      LoggingConfiguration:
        DestinationBucketName:
          Ref: AccessLogBucket
      Tags: [{Key: "pipec:pipeline", Value: demo}]
  GlueDatabase:
    Type: AWS::Glue::Database
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      CatalogId:
        Ref: AWS::AccountId
      DatabaseInput:
        Name: demo
        Description: Tables of pipeline demo.
  TableOrders:
    Type: AWS::Glue::Table
    DependsOn:
    - GlueDatabase
    - Topic
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      CatalogId:
        Ref: AWS::AccountId
      DatabaseName: demo
      TableInput:
        Name: orders
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  TopicArn:
    Value:
      Ref: Topic
"#;

/// One `ResourcesToImport` entry: logical ID, type, identifier (sorted).
type Import = (String, String, Vec<(String, String)>);

/// What the mocked endpoint was asked, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Create {
        kind: ChangeSetType,
        imports: Vec<Import>,
        body: String,
    },
    Execute(String),
    DeleteChangeSet,
}

type Calls = Arc<Mutex<Vec<Call>>>;

fn pipeline() -> Pipeline {
    Pipeline {
        environment: None,
        name: "demo".into(),
        artifacts_bucket: "demo-artifacts-${AWS::AccountId}-${AWS::Region}".into(),
        tags: [("pipec:pipeline".to_string(), "demo".to_string())]
            .into_iter()
            .collect(),
        stacks: vec![PlanStack {
            name: "basic-infra".into(),
            stack_name: NAME.into(),
            template: TEMPLATE.into(),
            depends_on: vec![],
            termination_protection: false,
        }],
        scripts: vec![],
        findings: vec![],
    }
}

fn interceptor(rules: &[&Rule]) -> aws_smithy_mocks::MockResponseInterceptor {
    let mut i = aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in rules {
        i = i.with_rule(r);
    }
    i
}

/// The deploy lock (a conditional write), its release, and the one listing
/// of the scripts: every deploy makes these calls.
fn lock_rules() -> Vec<Rule> {
    use aws_sdk_s3::Client as S3;
    use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
    use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    vec![
        mock!(S3::put_object)
            .match_requests(|r| r.if_none_match() == Some("*"))
            .then_output(|| PutObjectOutput::builder().e_tag("\"lock\"").build()),
        mock!(S3::delete_object).then_output(|| DeleteObjectOutput::builder().build()),
        mock!(S3::list_objects_v2).then_output(|| ListObjectsV2Output::builder().build()),
    ]
}

/// Clients whose every call is answered by the given rules.
fn aws(cfn: &[&Rule], s3: &[&Rule], glue: &[&Rule]) -> Aws {
    let cfn_conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(aws_sdk_cloudformation::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudformation::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "a", "b", None, None, "mock",
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(interceptor(cfn))
        .retry_config(
            aws_sdk_cloudformation::config::retry::RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .build();
    let s3_conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "a", "b", None, None, "mock",
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(interceptor(&[s3, &lock_rules().iter().collect::<Vec<_>>()].concat()))
        .build();
    let glue_conf = aws_sdk_glue::Config::builder()
        .behavior_version(aws_sdk_glue::config::BehaviorVersion::latest())
        .region(aws_sdk_glue::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_glue::config::Credentials::new(
            "a", "b", None, None, "mock",
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(interceptor(glue))
        .build();
    Aws {
        cfn: Client::from_conf(cfn_conf),
        ec2: aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::Config::builder()
                .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
                .region(aws_sdk_ec2::config::Region::new("us-east-1"))
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .build(),
        ),
        s3: aws_sdk_s3::Client::from_conf(s3_conf),
        sts: aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::Config::builder()
                .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
                .region(aws_sdk_sts::config::Region::new("us-east-1"))
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .build(),
        ),
        glue: aws_sdk_glue::Client::from_conf(glue_conf),
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

fn s3_tag(k: &str, v: &str) -> aws_sdk_s3::types::Tag {
    aws_sdk_s3::types::Tag::builder()
        .key(k)
        .value(v)
        .build()
        .unwrap()
}

/// The account's buckets as S3 answers: `raw_owner` is the
/// `pipec:pipeline` tag of the zone bucket.
fn s3_rules(raw_owner: &'static str) -> Vec<Rule> {
    use aws_sdk_s3::Client as S3;
    use aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput;
    use aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingOutput;
    use aws_sdk_s3::operation::list_buckets::ListBucketsOutput;
    use aws_sdk_s3::types::{
        Bucket, ServerSideEncryption, ServerSideEncryptionByDefault,
        ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    };
    vec![
        mock!(S3::get_bucket_tagging).then_compute_output(move |req| {
            let mut out = GetBucketTaggingOutput::builder();
            match req.bucket() {
                Some(RAW) => out = out.tag_set(s3_tag("pipec:pipeline", raw_owner)),
                Some(LOGS) => {
                    out = out
                        .tag_set(s3_tag("pipec:pipeline", "demo"))
                        .tag_set(s3_tag("aws:cloudformation:stack-name", NAME))
                        .tag_set(s3_tag("aws:cloudformation:logical-id", "AccessLogBucket"))
                }
                _ => {}
            }
            out.build().unwrap()
        }),
        mock!(S3::list_buckets).then_output(|| {
            ListBucketsOutput::builder()
                .buckets(Bucket::builder().name(RAW).build())
                .buckets(Bucket::builder().name(LOGS).build())
                .buckets(Bucket::builder().name("unrelated-bucket").build())
                .build()
        }),
        mock!(S3::get_bucket_encryption).then_output(|| {
            GetBucketEncryptionOutput::builder()
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(
                            ServerSideEncryptionRule::builder()
                                .apply_server_side_encryption_by_default(
                                    ServerSideEncryptionByDefault::builder()
                                        .sse_algorithm(ServerSideEncryption::AwsKms)
                                        .kms_master_key_id(KEY_ARN)
                                        .build()
                                        .unwrap(),
                                )
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
        }),
    ]
}

fn glue_rules() -> Vec<Rule> {
    use aws_sdk_glue::Client as Glue;
    use aws_sdk_glue::operation::get_database::GetDatabaseOutput;
    use aws_sdk_glue::operation::get_table::GetTableOutput;
    use aws_sdk_glue::types::{Database, Table};
    vec![
        mock!(Glue::get_database).then_output(|| {
            GetDatabaseOutput::builder()
                .database(
                    Database::builder()
                        .name("demo")
                        .description("Tables of pipeline demo.")
                        .build()
                        .unwrap(),
                )
                .build()
        }),
        mock!(Glue::get_table).then_output(|| {
            GetTableOutput::builder()
                .table(Table::builder().name("orders").build().unwrap())
                .build()
        }),
    ]
}

fn missing() -> DescribeStacksError {
    DescribeStacksError::generic(
        ErrorMetadata::builder()
            .code("ValidationError")
            .message(format!("Stack with id {NAME} does not exist"))
            .build(),
    )
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

fn change(action: ChangeAction, id: &str, ty: &str) -> Change {
    Change::builder()
        .resource_change(
            ResourceChange::builder()
                .action(action)
                .logical_resource_id(id)
                .resource_type(ty)
                .build(),
        )
        .build()
}

const IMPORTED: [(&str, &str); 5] = [
    ("DataKey", "AWS::KMS::Key"),
    ("AccessLogBucket", "AWS::S3::Bucket"),
    ("ZoneRawBucket", "AWS::S3::Bucket"),
    ("GlueDatabase", "AWS::Glue::Database"),
    ("TableOrders", "AWS::Glue::Table"),
];

/// CloudFormation: no stack at first; the IMPORT change set lists each
/// resource with `import_action` (AWS says Import); after the first
/// execution the stack is IMPORT_COMPLETE, after the second UPDATE_COMPLETE.
fn cfn_rules(calls: &Calls, import_action: ChangeAction) -> Vec<Rule> {
    let (c1, c2, c3, c4) = (calls.clone(), calls.clone(), calls.clone(), calls.clone());
    vec![
        mock!(Client::describe_stacks).then_compute_response(move |_| {
            let executed = c1
                .lock()
                .unwrap()
                .iter()
                .filter(|c| matches!(c, Call::Execute(_)))
                .count();
            match executed {
                0 => MockResponse::Error(missing()),
                1 => MockResponse::Output(stack(StackStatus::ImportComplete)),
                _ => MockResponse::Output(stack(StackStatus::UpdateComplete)),
            }
        }),
        mock!(Client::create_change_set).then_compute_output(move |req| {
            let kind = req
                .change_set_type()
                .cloned()
                .unwrap_or(ChangeSetType::Update);
            let imports = req
                .resources_to_import()
                .iter()
                .map(|r| {
                    let mut ids: Vec<(String, String)> = r
                        .resource_identifier()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    ids.sort();
                    (
                        r.logical_resource_id().unwrap_or_default().to_string(),
                        r.resource_type().unwrap_or_default().to_string(),
                        ids,
                    )
                })
                .collect();
            let arn = format!(
                "arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/{}/{}",
                req.change_set_name().unwrap_or_default(),
                kind.as_str()
            );
            c2.lock().unwrap().push(Call::Create {
                kind,
                imports,
                body: req.template_body().unwrap_or_default().to_string(),
            });
            CreateChangeSetOutput::builder().id(arn).build()
        }),
        mock!(Client::describe_change_set).then_compute_output(move |req| {
            let arn = req.change_set_name().unwrap_or_default();
            let mut out =
                DescribeChangeSetOutput::builder().status(ChangeSetStatus::CreateComplete);
            if arn.ends_with("/IMPORT") {
                for (id, ty) in IMPORTED {
                    out = out.changes(change(import_action.clone(), id, ty));
                }
            } else {
                out = out
                    .changes(change(ChangeAction::Add, "Topic", "AWS::SNS::Topic"))
                    .changes(change(
                        ChangeAction::Modify,
                        "ZoneRawBucket",
                        "AWS::S3::Bucket",
                    ));
            }
            out.build()
        }),
        mock!(Client::execute_change_set).then_compute_output(move |req| {
            c3.lock().unwrap().push(Call::Execute(
                req.change_set_name().unwrap_or_default().to_string(),
            ));
            ExecuteChangeSetOutput::builder().build()
        }),
        mock!(Client::delete_change_set).then_compute_output(move |_| {
            c4.lock().unwrap().push(Call::DeleteChangeSet);
            DeleteChangeSetOutput::builder().build()
        }),
        mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build()),
        mock!(Client::describe_stack_events)
            .then_output(|| DescribeStackEventsOutput::builder().build()),
    ]
}

async fn deploy(aws: &Aws) -> (Outcome, Result<Done, DeployError>) {
    let opts = Options {
        yes: true,
        ..Options::default()
    };
    let (o, mut r) =
        deploy_pipeline(aws, &pipeline(), &opts, &Log::new(Style::Json), &target()).await;
    (o, r.remove("basic-infra").expect("a result for the stack"))
}

fn ids(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}


/// The S3 and Glue calls that delete data, in order.
type Deleted = Arc<Mutex<Vec<String>>>;

fn deleting_rules(deleted: &Deleted) -> (Vec<Rule>, Vec<Rule>) {
    use aws_sdk_glue::Client as Glue;
    use aws_sdk_glue::operation::delete_database::DeleteDatabaseOutput;
    use aws_sdk_glue::operation::delete_table::DeleteTableOutput;
    use aws_sdk_s3::Client as S3;
    use aws_sdk_s3::operation::delete_bucket::DeleteBucketOutput;
    use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
    use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
    use aws_sdk_s3::types::ObjectVersion;
    let (d1, d2, d3, d4, d5) = (
        deleted.clone(),
        deleted.clone(),
        deleted.clone(),
        deleted.clone(),
        deleted.clone(),
    );
    let s3 = vec![
        // One version per bucket until its objects are deleted.
        mock!(S3::list_object_versions).then_compute_output(move |req| {
            let bucket = req.bucket().unwrap_or_default().to_string();
            let emptied = d1.lock().unwrap().contains(&format!("objects {bucket}"));
            let mut out = ListObjectVersionsOutput::builder();
            if !emptied {
                out = out.versions(
                    ObjectVersion::builder()
                        .key("data/x")
                        .version_id("v1")
                        .build(),
                );
            }
            out.build()
        }),
        mock!(S3::delete_objects).then_compute_output(move |req| {
            d2.lock()
                .unwrap()
                .push(format!("objects {}", req.bucket().unwrap_or_default()));
            DeleteObjectsOutput::builder().build()
        }),
        mock!(S3::delete_bucket).then_compute_output(move |req| {
            d3.lock()
                .unwrap()
                .push(format!("bucket {}", req.bucket().unwrap_or_default()));
            DeleteBucketOutput::builder().build()
        }),
    ];
    let glue = vec![
        mock!(Glue::delete_table).then_compute_output(move |req| {
            d4.lock().unwrap().push(format!(
                "table {}.{}",
                req.database_name().unwrap_or_default(),
                req.name().unwrap_or_default()
            ));
            DeleteTableOutput::builder().build()
        }),
        mock!(Glue::delete_database).then_compute_output(move |req| {
            d5.lock()
                .unwrap()
                .push(format!("database {}", req.name().unwrap_or_default()));
            DeleteDatabaseOutput::builder().build()
        }),
    ];
    (s3, glue)
}

fn target() -> pipec::deploy::identity::Target {
    pipec::deploy::identity::Target {
        account: ACCOUNT.into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:user/test"),
        region: "us-east-1".into(),
        endpoint: "mock".into(),
        profile: None,
    }
}
