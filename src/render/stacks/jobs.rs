//! The `glue-jobs` stack: per stage, a Glue job, its own IAM role and the
//! log groups Glue writes for that job alone.
//!
//! In: the pipeline's stages, with the hashes of their scripts. Out: resource
//! groups for `split`. Each role may read exactly the prefixes of the tables
//! its stage reads, write exactly those it writes, write its own logs, use
//! the stage's JDBC connections and secrets, and nothing else. The features
//! each role serves are listed, with their actions, in `contracts::iam`.

use super::{Ctx, GroupList, Groups, iam, resource, table_prefix};
use crate::contracts::iam as contract;
use crate::model::{Bookmarks, ExecutionClass, Stage, StageKind};
use crate::names::{self, Kind};
use crate::render::cfn::{get_att, sub};
use crate::validate::settings;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The S3 key of a stage's script: content-addressed, so a changed script is a
/// new object and the job's `ScriptLocation` changes with it.
pub fn script_key(stage: &str, sha256: &str) -> String {
    format!("scripts/{stage}-{}.py", &sha256[..16.min(sha256.len())])
}

/// The S3 key of the shared runtime of the Spark scripts: content-addressed
/// like the scripts, in a folder of its own, because the file's name is the
/// module's name (`--extra-py-files` puts the file itself on the Python path).
pub fn runtime_key(sha256: &str) -> String {
    format!(
        "scripts/runtime-{}/{}.py",
        &sha256[..16.min(sha256.len())],
        crate::render::scripts::RUNTIME_MODULE
    )
}

/// Tables a stage reads and writes: (zone tables by zone, JDBC connections).
struct Access<'a> {
    reads: BTreeMap<&'a str, Vec<String>>,
    writes: BTreeMap<&'a str, Vec<String>>,
    read_tables: Vec<&'a str>,
    write_tables: Vec<&'a str>,
    connections: Vec<&'a str>,
}

fn access<'a>(cx: &Ctx<'a>, s: &'a Stage) -> Access<'a> {
    let p = cx.p;
    let mut a = Access {
        reads: BTreeMap::new(),
        writes: BTreeMap::new(),
        read_tables: Vec::new(),
        write_tables: Vec::new(),
        connections: Vec::new(),
    };
    let note = |table: &'a str, write: bool, a: &mut Access<'a>| {
        let Some((tname, t)) = p.schemas.get_key_value(table) else {
            return;
        };
        if let Some(z) = &t.zone {
            let prefixes = if write {
                a.writes.entry(z.as_str())
            } else {
                a.reads.entry(z.as_str())
            }
            .or_default();
            let prefix = table_prefix(tname, t);
            if !prefixes.contains(&prefix) {
                prefixes.push(prefix);
            }
            let list = if write {
                &mut a.write_tables
            } else {
                &mut a.read_tables
            };
            if !list.contains(&tname.as_str()) {
                list.push(tname.as_str());
            }
        }
        if let Some(c) = &t.connection
            && !a.connections.contains(&c.as_str())
        {
            a.connections.push(c.as_str());
        }
    };
    for i in &s.inputs {
        note(i.table(), false, &mut a);
    }
    for o in &s.outputs {
        note(&o.table, true, &mut a);
    }
    if let Some(d) = &s.download {
        note(&d.to, true, &mut a);
    }
    a
}

pub(super) fn render(cx: &Ctx) -> Groups {
    let p = cx.p;
    let mut groups = GroupList::default();
    for (name, s) in &p.stages {
        let st = settings(p, s);
        let id = names::logical_id(Kind::Stage, name);
        let a = access(cx, s);
        let shell = s.kind == StageKind::PythonShell;
        let artifacts = cx.artifacts_bucket_sub();
        let hash = cx.script_hashes.get(name).cloned().unwrap_or_default();
        let key = script_key(name, &hash);
        // Generated Spark scripts import the pipeline's shared runtime.
        let runtime = cx
            .runtime_hash
            .filter(|_| contract::uses_runtime(s))
            .map(runtime_key);

        // The role: exactly what the stage declares, and nothing more.
        let mut statements = vec![iam::statement(
            "ReadScript",
            &["s3:GetObject"],
            vec![format!("arn:${{AWS::Partition}}:s3:::{artifacts}/{key}")],
        )];
        if let Some(runtime) = &runtime {
            statements.push(iam::statement(
                "ReadRuntime",
                &["s3:GetObject"],
                vec![format!(
                    "arn:${{AWS::Partition}}:s3:::{artifacts}/{runtime}"
                )],
            ));
        }
        statements.extend(iam::s3_write("Temp", &artifacts, &[format!("tmp/{name}/")]));
        for (zone, prefixes) in &a.reads {
            statements.extend(iam::s3_read(
                &format!("Read{}", names::pascal(zone)),
                &cx.zone_bucket_sub(zone),
                prefixes,
            ));
        }
        for (zone, prefixes) in &a.writes {
            statements.extend(iam::s3_write(
                &format!("Write{}", names::pascal(zone)),
                &cx.zone_bucket_sub(zone),
                prefixes,
            ));
        }
        let mut tables = a.read_tables.clone();
        tables.extend(a.write_tables.iter().copied());
        if !tables.is_empty() {
            statements.push(iam::statement(
                "Catalog",
                &["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
                iam::catalog_arns(cx, &tables),
            ));
        }
        let iceberg = super::iceberg::job(cx, name, s);
        statements.extend(iceberg.statements.iter().cloned());
        let mut subnets = Vec::new();
        let mut groups_sg = Vec::new();
        let mut glue_connections = Vec::new();
        for c in &a.connections {
            let Some(conn) = p.connections.get(*c) else {
                continue;
            };
            let cname = names::glue_connection(cx.name, c);
            statements.push(iam::statement(
                &format!("Connection{}", names::pascal(c)),
                &["glue:GetConnection"],
                vec![
                    "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog".to_string(),
                    format!("arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:connection/{cname}"),
                ],
            ));
            statements.push(iam::statement(
                &format!("Secret{}", names::pascal(c)),
                &[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:DescribeSecret",
                ],
                vec![iam::secret_arn(&conn.secret)],
            ));
            subnets.push(conn.subnet.clone());
            groups_sg.extend(conn.security_groups.iter().cloned());
            glue_connections.push(cname);
        }
        if !subnets.is_empty() {
            statements.extend(iam::vpc_access(&subnets, &groups_sg));
        }
        let mut buckets = vec![artifacts.clone()];
        buckets.extend(
            a.reads
                .keys()
                .chain(a.writes.keys())
                .map(|z| cx.zone_bucket_sub(z)),
        );
        statements.push(iam::bucket_location(&buckets));
        let logs = contract::job_logs(cx.name, name, p, s);
        statements.extend(iam::logs("Logs", &logs.groups));
        statements.push(iam::kms_use(cx));
        if st.metrics && !shell {
            // https://docs.aws.amazon.com/glue/latest/dg/monitoring-awsglue-with-cloudwatch-metrics.html
            statements.push(iam::metrics("Metrics", "Glue"));
        }
        if contract::publishes_data_quality(p, s) {
            // The script publishes results and CloudWatch metrics, which
            // Glue Data Quality puts in its own namespace:
            // https://docs.aws.amazon.com/glue/latest/dg/data-quality-alerts.html
            statements.push(iam::data_quality_publish());
            statements.push(iam::metrics("DataQualityMetrics", "Glue Data Quality"));
        }
        if contract::publishes_cast_metrics(p, s) {
            // What the casts lost, in pipec's own namespace; the condition key
            // keeps the grant to it:
            // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html
            statements.push(iam::metrics("CastMetrics", contract::METRICS_NAMESPACE));
        }
        let role_id = format!("{id}Role");
        let role = resource(
            "AWS::IAM::Role",
            json!({
                "RoleName": names::job_role(cx.name, name),
                "Description": format!("Stage {name} of pipeline {}: only the tables, connections and secrets it declares.", cx.name),
                "AssumeRolePolicyDocument": iam::assume_role("glue.amazonaws.com"),
                "Policies": [{"PolicyName": "stage", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]
            }),
            false,
        );
        let log_groups: Vec<(String, Value)> = logs
            .groups
            .iter()
            .filter(|g| g.own)
            .map(|g| {
                (
                    format!("{id}Logs{}", g.id),
                    iam::log_group_resource(cx, &g.name, st.log_retention_days),
                )
            })
            .collect();

        // Job arguments: settings, then every location the script reads or writes.
        let mut args = Map::new();
        args.insert("--job-language".into(), json!("python"));
        args.insert(
            "--TempDir".into(),
            sub(&format!("s3://{artifacts}/tmp/{name}/")),
        );
        if shell {
            // The `analytics` library set is the one AWS lists with boto3 for
            // Python shell 3.9 (the set `none` has only awscli and botocore).
            // The key has no `--` prefix:
            // https://docs.aws.amazon.com/glue/latest/dg/add-job-python.html#python-shell-supported-library
            args.insert("library-set".into(), json!("analytics"));
        } else {
            let bookmark = match st.bookmarks {
                Bookmarks::Enable => "job-bookmark-enable",
                Bookmarks::Disable => "job-bookmark-disable",
                Bookmarks::Pause => "job-bookmark-pause",
            };
            args.insert("--job-bookmark-option".into(), json!(bookmark));
            for (k, v) in &logs.arguments {
                args.insert((*k).into(), json!(v));
            }
            if crate::glue::job_insights(&st.glue_version) {
                args.insert("--enable-job-insights".into(), json!("true"));
            }
            if st.auto_scaling {
                // NumberOfWorkers is then the most Glue scales to:
                // https://docs.aws.amazon.com/glue/latest/dg/auto-scaling.html
                args.insert("--enable-auto-scaling".into(), json!("true"));
            }
            if let Some(runtime) = &runtime {
                // A .py file in --extra-py-files is put on the Python path
                // under its own name, as with Spark's --py-files:
                // https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-python-libraries.html
                args.insert(
                    "--extra-py-files".into(),
                    sub(&format!("s3://{artifacts}/{runtime}")),
                );
            }
            if st.metrics {
                args.insert("--enable-metrics".into(), json!("true"));
            }
            for (k, v) in &iceberg.arguments {
                args.insert(k.clone(), v.clone());
            }
        }
        for t in &a.read_tables {
            if let Some(loc) = cx.table_location_sub(t) {
                args.insert(format!("--{}", names::input_arg(t)), sub(&loc));
            }
        }
        for t in &a.write_tables {
            if let Some(loc) = cx.table_location_sub(t) {
                args.insert(format!("--{}", names::output_arg(t)), sub(&loc));
            }
        }
        for c in &a.connections {
            let Some(conn) = p.connections.get(*c) else {
                continue;
            };
            args.insert(
                format!("--{}", names::connection_arg(c)),
                json!(names::glue_connection(cx.name, c)),
            );
            args.insert(format!("--{}", names::secret_arg(c)), json!(conn.secret));
            args.insert(format!("--{}", names::jdbc_url_arg(c)), json!(conn.url));
        }
        for (k, v) in &s.arguments {
            let k = if k.starts_with("--") {
                k.clone()
            } else {
                format!("--{k}")
            };
            args.insert(k, json!(v));
        }

        let mut props = json!({
            "Name": names::glue_job(cx.name, name),
            "Description": s.description.clone().unwrap_or_else(|| format!("Stage {name} of pipeline {}.", cx.name)),
            "Role": get_att(&role_id, "Arn"),
            "Command": {
                "Name": if shell { "pythonshell" } else { "glueetl" },
                "ScriptLocation": sub(&format!("s3://{artifacts}/{key}")),
                "PythonVersion": if shell { "3.9" } else { "3" }
            },
            "GlueVersion": st.glue_version,
            "Timeout": st.timeout_minutes,
            "MaxRetries": st.retries,
            "ExecutionProperty": {"MaxConcurrentRuns": st.max_concurrent_runs},
            "SecurityConfiguration": names::security_configuration(cx.name),
            "DefaultArguments": Value::Object(args)
        });
        match (st.worker_type, st.workers, st.max_capacity) {
            (_, _, Some(mc)) => props["MaxCapacity"] = json!(mc),
            (Some(wt), Some(n), None) => {
                props["WorkerType"] = json!(wt.as_str());
                props["NumberOfWorkers"] = json!(n);
            }
            _ => {}
        }
        if st.execution_class == ExecutionClass::Flex {
            // ExecutionClass and JobRunQueuingEnabled are properties of AWS::Glue::Job:
            // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-glue-job.html
            props["ExecutionClass"] = json!(st.execution_class.as_str());
        }
        if st.job_run_queuing {
            props["JobRunQueuingEnabled"] = json!(true);
        }
        if !glue_connections.is_empty() {
            props["Connections"] = json!({"Connections": glue_connections});
        }
        let mut job = resource("AWS::Glue::Job", props, false);
        if let Some(m) = &iceberg.metadata {
            job["Metadata"] = json!({ "pipec:iceberg": m });
        }
        let mut resources = vec![(role_id, role)];
        resources.extend(iceberg.resources.iter().cloned());
        resources.extend(log_groups);
        resources.push((format!("{id}Job"), job));
        groups.push((format!("stage {name}"), resources));
    }
    Groups {
        description: cx
            .description("Glue jobs, one least-privilege role and its log groups per stage"),
        shared: Vec::new(),
        groups,
    }
}
