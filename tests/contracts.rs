//! The contract layer (`pipec::contracts`) over everything pipec renders:
//! every example and good fixture breaks no documented AWS rule, every
//! resource type and Glue job argument pipec emits has a rule, every rule
//! names its AWS page, and each rule catches a hand-made violation.

use pipec::contracts::{self, ARGUMENTS};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

/// Every rendered template of every example and good fixture, parsed.
fn templates() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut files = yaml_files("pipelines");
    files.extend(yaml_files("tests/cases/good"));
    for path in files {
        let loaded = pipec::load_path(&path).unwrap();
        let v = loaded
            .pipeline
            .unwrap_or_else(|| panic!("{}: {:?}", path.display(), loaded.diagnostics));
        for (name, body) in pipec::render::render(&v).unwrap().files {
            if name.starts_with("stacks/") {
                let label = format!("{}:{name}", path.display());
                out.push((label.clone(), parse(&label, body)));
            }
        }
    }
    assert!(
        out.len() > 20,
        "expected every example's stacks, got {}",
        out.len()
    );
    out
}

fn parse(label: &str, body: String) -> Value {
    let file = pipec::source::SourceFile::new(label, body);
    let (doc, diags) = pipec::yaml::parse(&file).unwrap_or_else(|d| panic!("{label}: {d:?}"));
    assert!(diags.is_empty(), "{diags:?}");
    doc.value
}

#[test]
fn every_rendered_template_keeps_every_contract() {
    let mut broken = Vec::new();
    for (label, t) in templates() {
        for v in contracts::check(&t) {
            broken.push(format!("{label}: {v}"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn every_emitted_resource_type_and_job_argument_has_a_rule() {
    let covered: BTreeSet<&str> = contracts::coverage().iter().map(|(t, _)| *t).collect();
    let mut missing = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for (label, t) in templates() {
        for (id, ty, props) in contracts::resources(&t) {
            if !covered.contains(ty) {
                missing.insert(format!(
                    "{label}: resource {id} of type {ty} has no contract rule"
                ));
            }
            if ty == "AWS::Glue::Job"
                && let Some(args) = props.get("DefaultArguments").and_then(Value::as_object)
            {
                keys.extend(args.keys().cloned());
            }
        }
    }
    // Keys a stage's own `arguments:` declares belong to the user's script.
    let mut files = yaml_files("pipelines");
    files.extend(yaml_files("tests/cases/good"));
    let user: BTreeSet<String> = files
        .iter()
        .filter_map(|f| pipec::load_path(f).unwrap().pipeline)
        .flat_map(|v| {
            v.pipeline()
                .stages
                .values()
                .flat_map(|s| s.arguments.keys())
                .map(|k| format!("--{}", k.trim_start_matches("--")))
                .collect::<Vec<_>>()
        })
        .collect();
    for k in &keys {
        if !k.starts_with("--pipec_") && !user.contains(k) && !ARGUMENTS.iter().any(|a| a.key == k)
        {
            missing.insert(format!(
                "job argument {k} has no entry in contracts::ARGUMENTS"
            ));
        }
    }
    assert!(
        keys.contains("library-set") && keys.contains("--TempDir"),
        "{keys:?}"
    );
    assert!(
        missing.is_empty(),
        "{}",
        missing.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn every_rule_names_an_aws_documentation_page_and_covers_something() {
    let mut ids = BTreeSet::new();
    for r in contracts::rules() {
        assert!(
            r.doc.starts_with("https://docs.aws.amazon.com/"),
            "{}: {}",
            r.id,
            r.doc
        );
        assert!(!r.covers.is_empty(), "{} covers nothing", r.id);
        assert!(ids.insert(r.id), "rule {} twice", r.id);
    }
    for a in ARGUMENTS {
        assert!(
            a.doc.starts_with("https://docs.aws.amazon.com/"),
            "{}",
            a.key
        );
    }
}

/// The rule IDs one resource breaks, with neighbour resources beside it.
fn broken(ty: &str, props: Value, neighbours: Value) -> BTreeSet<&'static str> {
    let mut resources = neighbours.as_object().cloned().unwrap_or_default();
    resources.insert("Subject".into(), json!({"Type": ty, "Properties": props}));
    let t = json!({"Resources": resources});
    contracts::check(&t)
        .into_iter()
        .filter(|v| v.resource == "Subject")
        .map(|v| v.rule)
        .collect()
}

fn assert_caught(rule: &str, ty: &str, props: Value, neighbours: Value) {
    let got = broken(ty, props, neighbours);
    assert!(got.contains(rule), "{rule} not caught; got {got:?}");
}

fn none() -> Value {
    json!({})
}

fn job(version: &str, command: &str, args: Value) -> Value {
    json!({"GlueVersion": version, "Command": {"Name": command, "PythonVersion": if command == "pythonshell" {"3.9"} else {"3"}}, "DefaultArguments": args})
}

#[test]
fn each_job_rule_catches_a_violation() {
    let j = "AWS::Glue::Job";
    // Continuous-log arguments are documented for Glue 4.0 and earlier only.
    assert_caught(
        "job-arguments-per-version",
        j,
        job("5.0", "glueetl", json!({"--continuous-log-logGroup": "/x"})),
        none(),
    );
    assert_caught(
        "job-arguments-per-version",
        j,
        job("4.0", "glueetl", json!({"--custom-logGroup-prefix": "/x"})),
        none(),
    );
    assert_caught(
        "job-arguments-per-version",
        j,
        job(
            "3.0",
            "pythonshell",
            json!({"--job-bookmark-option": "job-bookmark-enable", "library-set": "analytics"}),
        ),
        none(),
    );
    assert!(
        broken(
            j,
            job(
                "5.0",
                "glueetl",
                json!({"--custom-logGroup-prefix": "/aws-glue/jobs/x"})
            ),
            none()
        )
        .is_empty()
    );
    assert!(
        broken(
            j,
            job(
                "4.0",
                "glueetl",
                json!({"--enable-continuous-cloudwatch-log": "true"})
            ),
            none()
        )
        .is_empty()
    );
    assert_caught(
        "job-script-arguments",
        j,
        job("5.0", "glueetl", json!({"pipec_input_x": "s3://b/"})),
        none(),
    );
    let mut w = job("5.0", "glueetl", json!({}));
    w["WorkerType"] = json!("Standard");
    assert_caught("job-worker-types", j, w.clone(), none());
    w["WorkerType"] = json!("G.025X");
    assert_caught("job-worker-types", j, w.clone(), none());
    // Memory-optimized and the largest general workers: Glue 4.0 and later.
    w["WorkerType"] = json!("R.4X");
    w["GlueVersion"] = json!("3.0");
    assert_caught("job-worker-types", j, w.clone(), none());
    w["GlueVersion"] = json!("6.0");
    assert!(broken(j, w.clone(), none()).is_empty());
    // FLEX: glueetl on Glue 3.0+ with G.1X or G.2X only.
    w["ExecutionClass"] = json!("FLEX");
    assert_caught("job-execution-class", j, w.clone(), none());
    w["WorkerType"] = json!("G.2X");
    assert!(broken(j, w.clone(), none()).is_empty());
    w["Command"]["Name"] = json!("gluestreaming");
    assert_caught("job-execution-class", j, w.clone(), none());
    w["Command"]["Name"] = json!("glueetl");
    w["JobRunQueuingEnabled"] = json!("yes");
    assert_caught("job-run-queuing", j, w.clone(), none());
    // Job run insights are documented up to Glue 5.0.
    assert_caught(
        "job-arguments-per-version",
        j,
        job("6.0", "glueetl", json!({"--enable-job-insights": "true"})),
        none(),
    );
    let mut s = job("4.0", "pythonshell", json!({"library-set": "analytics"}));
    s["MaxCapacity"] = json!(2.0);
    assert_caught("python-shell-settings", j, s, none());
    // Finding 3: without `library-set: analytics`, boto3 is not documented.
    assert_caught(
        "python-shell-boto3",
        j,
        job("3.0", "pythonshell", json!({"--TempDir": "s3://b/t/"})),
        none(),
    );
    assert_caught(
        "python-shell-boto3",
        j,
        job("3.0", "pythonshell", json!({"library-set": "none"})),
        none(),
    );
}

/// The Glue job settings of the Glue 6.0 fixture: version, workers, FLEX,
/// auto-scaling and run queuing as rendered.
#[test]
fn glue_cost_levers_render_as_job_properties() {
    let path = root().join("tests/cases/good/glue-6-cost-levers.yaml");
    let v = pipec::load_path(&path).unwrap().pipeline.unwrap();
    let files = pipec::render::render(&v).unwrap().files;
    let body = files
        .into_iter()
        .find(|(n, _)| n == "stacks/glue-jobs.yaml")
        .map(|(_, b)| b)
        .unwrap();
    let t = parse("glue-jobs", body);
    let mut out = String::new();
    for (id, r) in t["Resources"].as_object().unwrap() {
        if r["Type"] != "AWS::Glue::Job" {
            continue;
        }
        let p = &r["Properties"];
        let keys = [
            "GlueVersion",
            "WorkerType",
            "NumberOfWorkers",
            "MaxCapacity",
            "ExecutionClass",
            "JobRunQueuingEnabled",
        ];
        out.push_str(&format!("{id}:\n"));
        for k in keys {
            if let Some(x) = p.get(k) {
                out.push_str(&format!("  {k}: {x}\n"));
            }
        }
        let glue_args: Vec<&String> = p["DefaultArguments"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| contracts::ARGUMENTS.iter().any(|a| a.key == k.as_str()))
            .collect();
        out.push_str(&format!("  Glue arguments: {glue_args:?}\n"));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn each_catalog_rule_catches_a_violation() {
    let c = "AWS::Glue::Crawler";
    // Finding 1: incremental recrawls on catalog targets fail CreateCrawler.
    let crawler = json!({
        "Targets": {"CatalogTargets": [{"DatabaseName": "d", "Tables": ["t"]}]},
        "SchemaChangePolicy": {"UpdateBehavior": "LOG", "DeleteBehavior": "DELETE_FROM_DATABASE"},
        "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
        "Configuration": "{\"Version\":2.0}"
    });
    let got = broken(c, crawler, none());
    for rule in [
        "crawler-recrawl-s3-only",
        "crawler-catalog-delete-behavior",
        "crawler-configuration-json",
    ] {
        assert!(got.contains(rule), "{rule}: {got:?}");
    }
    let s3 = json!({"Targets": {"S3Targets": [{"Path": "s3://b/p/"}]}, "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}});
    assert!(broken(c, s3, none()).is_empty());

    let t = "AWS::Glue::Table";
    // Finding 7: names with spaces, typed OpenCSVSerde columns, ignored parameters.
    let table = |serde: &str, params: Value| {
        json!({"TableInput": {"StorageDescriptor": {
            "Columns": [{"Name": "Invoice No", "Type": "string"}, {"Name": "ts", "Type": "timestamp"}],
            "SerdeInfo": {"SerializationLibrary": serde, "Parameters": params}}}})
    };
    let open = table(
        "org.apache.hadoop.hive.serde2.OpenCSVSerde",
        json!({"separatorChar": ",", "serialization.null.format": "NA"}),
    );
    let got = broken(t, open, none());
    assert!(
        got.contains("athena-column-names") && got.contains("athena-open-csv-strings"),
        "{got:?}"
    );
    assert_caught(
        "athena-text-serde",
        t,
        table(
            "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
            json!({}),
        ),
        none(),
    );
    assert_caught(
        "athena-database-name",
        "AWS::Glue::Database",
        json!({"DatabaseInput": {"Name": "My-DB"}}),
        none(),
    );
    assert_caught(
        "jdbc-connection-in-vpc",
        "AWS::Glue::Connection",
        json!({"ConnectionInput": {"ConnectionType": "JDBC", "ConnectionProperties": {"JDBC_CONNECTION_URL": "postgresql://h/db"}, "PhysicalConnectionRequirements": {"SubnetId": "subnet-1"}}}),
        none(),
    );
    assert_caught(
        "dq-ruleset-shape",
        "AWS::Glue::DataQualityRuleset",
        json!({"Ruleset": "IsComplete \"id\""}),
        none(),
    );
    assert_caught(
        "catalog-encryption-keys",
        "AWS::Glue::DataCatalogEncryptionSettings",
        json!({"DataCatalogEncryptionSettings": {"ConnectionPasswordEncryption": {"ReturnConnectionPasswordEncrypted": true}}}),
        none(),
    );
}

#[test]
fn each_workflow_rule_catches_a_violation() {
    let t = "AWS::Glue::Trigger";
    assert_caught(
        "trigger-type-properties",
        t,
        json!({"Type": "SCHEDULED", "Actions": [{"JobName": "j"}], "StartOnCreation": true}),
        none(),
    );
    assert_caught(
        "trigger-type-properties",
        t,
        json!({"Type": "CONDITIONAL", "Actions": [{"JobName": "j"}], "StartOnCreation": true}),
        none(),
    );
    assert_caught(
        "trigger-start-on-creation",
        t,
        json!({"Type": "ON_DEMAND", "Actions": [{"JobName": "j"}], "StartOnCreation": true}),
        none(),
    );
    assert_caught(
        "trigger-start-on-creation",
        t,
        json!({"Type": "SCHEDULED", "Schedule": "cron(0 1 * * ? *)", "Actions": [{"JobName": "j"}]}),
        none(),
    );
    assert_caught(
        "trigger-condition-states",
        t,
        json!({"Type": "CONDITIONAL", "StartOnCreation": true, "Actions": [{"JobName": "j"}], "Predicate": {"Conditions": [{"JobName": "a", "State": "ERROR"}]}}),
        none(),
    );
    assert_caught(
        "trigger-event-batching",
        t,
        json!({"Type": "EVENT", "Actions": [{"JobName": "j"}], "EventBatchingCondition": {"BatchSize": 101, "BatchWindow": 901}}),
        none(),
    );
    assert_caught(
        "trigger-actions",
        t,
        json!({"Type": "ON_DEMAND", "Actions": [{"JobName": "j", "CrawlerName": "c"}]}),
        none(),
    );
    let mut triggers = serde_json::Map::new();
    // 51 triggers and the 51 distinct jobs they start.
    for i in 0..51 {
        triggers.insert(format!("T{i}"), json!({"Type": "AWS::Glue::Trigger", "Properties": {"WorkflowName": "wf", "Type": "CONDITIONAL", "Actions": [{"JobName": format!("j{i}")}]}}));
    }
    assert_caught(
        "workflow-size",
        "AWS::Glue::Workflow",
        json!({"Name": "wf"}),
        Value::Object(triggers),
    );
    let mut starts = serde_json::Map::new();
    for (i, ty) in ["ON_DEMAND", "EVENT"].iter().enumerate() {
        starts.insert(format!("T{i}"), json!({"Type": "AWS::Glue::Trigger", "Properties": {"WorkflowName": "wf", "Type": ty, "Actions": [{"JobName": "j"}]}}));
    }
    assert_caught(
        "workflow-one-start-trigger",
        "AWS::Glue::Workflow",
        json!({"Name": "wf"}),
        Value::Object(starts),
    );
    let e = "AWS::Events::Rule";
    assert_caught(
        "events-glue-crawler-states",
        e,
        json!({"EventPattern": {"source": ["aws.glue"], "detail-type": ["Glue Crawler State Change"], "detail": {"state": ["SUCCEEDED"]}}}),
        none(),
    );
    // Finding 9: Glue never emits a job state ERROR.
    assert_caught(
        "events-glue-job-states",
        e,
        json!({"EventPattern": {"source": ["aws.glue"], "detail-type": ["Glue Job State Change"], "detail": {"state": ["FAILED", "ERROR"]}}}),
        none(),
    );
    assert_caught(
        "events-workflow-target-role",
        e,
        json!({"Targets": [{"Id": "w", "Arn": {"Fn::Sub": "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:workflow/wf"}}]}),
        none(),
    );
}

#[test]
fn each_infrastructure_rule_catches_a_violation() {
    // Finding 6: the source condition breaks EventBridge to encrypted SNS.
    let key = json!({"KeyPolicy": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]}});
    assert_caught(
        "kms-eventbridge-encrypted-topics",
        "AWS::KMS::Key",
        key,
        none(),
    );
    let logs = json!({"G": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/aws-glue/x", "KmsKeyId": "k"}}});
    assert_caught(
        "kms-cloudwatch-logs",
        "AWS::KMS::Key",
        json!({"KeyPolicy": {"Statement": []}}),
        logs,
    );
    assert_caught(
        "kms-alias-name",
        "AWS::KMS::Alias",
        json!({"AliasName": "alias/aws/mine"}),
        none(),
    );
    let logged = json!({"Data": {"Type": "AWS::S3::Bucket", "Properties": {"LoggingConfiguration": {"DestinationBucketName": {"Ref": "Subject"}}}}});
    assert_caught(
        "s3-access-log-destination-sse-s3",
        "AWS::S3::Bucket",
        json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}}),
        logged,
    );
    let logged_by = json!({
        "Logs": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "Data": {"Type": "AWS::S3::Bucket", "Properties": {"LoggingConfiguration": {"DestinationBucketName": {"Ref": "Logs"}}}}
    });
    assert_caught(
        "s3-access-log-destination-policy",
        "AWS::S3::BucketPolicy",
        json!({"Bucket": {"Ref": "Logs"}, "PolicyDocument": {"Statement": []}}),
        logged_by,
    );
    assert_caught(
        "ssm-dynamic-reference-type",
        "AWS::SSM::Parameter",
        json!({"Type": "SecureString"}),
        none(),
    );
    assert_caught(
        "athena-workgroup-limits",
        "AWS::Athena::WorkGroup",
        json!({"WorkGroupConfiguration": {"BytesScannedCutoffPerQuery": 1000}}),
        none(),
    );
    assert_caught(
        "athena-workgroup-engine",
        "AWS::Athena::WorkGroup",
        json!({"WorkGroupConfiguration": {"EngineVersion": {"SelectedEngineVersion": "Athena engine version 2"}}}),
        none(),
    );
    assert_caught(
        "glue-security-configuration-keys",
        "AWS::Glue::SecurityConfiguration",
        json!({"EncryptionConfiguration": {"JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "CSE-KMS"}}}),
        none(),
    );
    assert_caught(
        "logs-glue-log-group",
        "AWS::Logs::LogGroup",
        json!({"LogGroupName": "/custom/x", "KmsKeyId": "k"}),
        none(),
    );
    let job = json!({"J": {"Type": "AWS::Glue::Job", "Properties": {"Role": {"Fn::GetAtt": ["Subject", "Arn"]}}}});
    assert_caught(
        "iam-role-trust",
        "AWS::IAM::Role",
        json!({"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}),
        job,
    );
    let rule = json!({"R": {"Type": "AWS::Events::Rule", "Properties": {"Targets": [{"Id": "t", "Arn": {"Ref": "Subject"}}]}}});
    assert_caught(
        "sns-topic-customer-key",
        "AWS::SNS::Topic",
        json!({"KmsMasterKeyId": "alias/aws/sns"}),
        rule,
    );
    let rule_topic = json!({
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "R": {"Type": "AWS::Events::Rule", "Properties": {"Targets": [{"Id": "t", "Arn": {"Ref": "Topic"}}]}}
    });
    assert_caught(
        "sns-topic-policy-eventbridge",
        "AWS::SNS::TopicPolicy",
        json!({"Topics": [{"Ref": "Topic"}], "PolicyDocument": {"Statement": []}}),
        rule_topic,
    );
}

#[test]
fn every_rule_has_a_negative_test_above() {
    // Keeps this file honest: a new rule needs a caught example here.
    let source = std::fs::read_to_string(root().join("tests/contracts.rs")).unwrap();
    for r in contracts::rules() {
        assert!(
            source.contains(&format!("\"{}\"", r.id)),
            "rule {} has no negative test in tests/contracts.rs",
            r.id
        );
    }
}

/// The rendered catalog of one example, by table logical ID.
fn table_of(pipeline: &str, id: &str) -> Value {
    let (_, t) = templates()
        .into_iter()
        .find(|(l, _)| l.ends_with(&format!("{pipeline}.yaml:stacks/glue-catalog.yaml")))
        .expect("catalog stack");
    t["Resources"][id]["Properties"]["TableInput"].clone()
}

#[test]
fn raw_csv_tables_are_read_by_athena_as_declared() {
    // etl: quoted CSV, Athena-safe names, OpenCSVSerde with its three parameters.
    let orders = table_of("etl", "TableOrdersRaw");
    let sd = &orders["StorageDescriptor"];
    assert_eq!(sd["Columns"][0]["Name"], "invoice_no");
    assert_eq!(
        sd["SerdeInfo"]["SerializationLibrary"],
        "org.apache.hadoop.hive.serde2.OpenCSVSerde"
    );
    // leads: unquoted files keep their types under LazySimpleSerDe.
    let hits = table_of("leads", "TableArticleHits");
    let sd = &hits["StorageDescriptor"];
    assert_eq!(
        sd["SerdeInfo"]["SerializationLibrary"],
        "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    );
    assert_eq!(sd["Columns"][1]["Type"], "timestamp");
    assert_eq!(sd["SerdeInfo"]["Parameters"]["field.delim"], ",");
}

#[test]
fn each_consumer_rule_catches_a_violation() {
    let w = "AWS::Athena::WorkGroup";
    assert_caught(
        "athena-workgroup-enforces-results",
        w,
        json!({"WorkGroupConfiguration": {"ResultConfiguration": {"OutputLocation": "s3://b/c/"}}}),
        none(),
    );
    assert_caught(
        "athena-results-sse-s3-no-key",
        w,
        json!({"WorkGroupConfiguration": {"EnforceWorkGroupConfiguration": true, "ResultConfiguration": {
            "OutputLocation": "s3://b/c/", "EncryptionConfiguration": {"EncryptionOption": "SSE_S3", "KmsKey": "k"}}}}),
        none(),
    );
    let r = "AWS::IAM::Role";
    let trust = |p: Value| json!({"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"}]}});
    assert_caught("iam-trust-principals", r, trust(json!("*")), none());
    assert_caught(
        "iam-trust-principals",
        r,
        trust(json!({"AWS": ["arn:aws:iam::123456789012:role/team-*"]})),
        none(),
    );
    assert_caught(
        "iam-trust-principals",
        r,
        trust(json!({"AWS": "analyst"})),
        none(),
    );
    let policy =
        |s: Value| json!({"Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [s]}}]});
    assert_caught(
        "kms-via-service-endpoint",
        r,
        policy(
            json!({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["k"],
            "Condition": {"StringEquals": {"kms:ViaService": ["s3"]}}}),
        ),
        none(),
    );
    assert_caught(
        "s3-prefix-condition-listing-only",
        r,
        policy(
            json!({"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": ["arn:aws:s3:::b"],
            "Condition": {"StringLike": {"s3:prefix": ["a/"]}}}),
        ),
        none(),
    );
    // What the consumers stack renders keeps them all.
    assert!(
        broken(
            r,
            policy(json!({"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::b"],
                "Condition": {"StringLike": {"s3:prefix": ["a/", "a/*"]}}})),
            none()
        )
        .is_empty()
    );
}
