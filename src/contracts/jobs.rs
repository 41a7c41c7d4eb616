//! Contracts of `AWS::Glue::Job`: which `DefaultArguments` exist for which
//! job kind and Glue version, worker types per Glue version, and the Python
//! shell settings (library set, capacity, Python and Glue versions).
//!
//! In: a job resource. Out: messages for `contracts::check`.

use super::{Resource, Rule, version};
use serde_json::Value;

/// Which jobs an argument applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Spark,
    PythonShell,
    Both,
}

/// One special job argument Glue reads, where it exists, and its page.
pub struct Argument {
    pub key: &'static str,
    pub kind: JobKind,
    /// Lowest and highest Glue version (inclusive) that reads it.
    pub versions: (&'static str, &'static str),
    pub doc: &'static str,
}

const PARAMS: &str =
    "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html";
const SHELL: &str = "https://docs.aws.amazon.com/glue/latest/dg/add-job-python.html";
const CONTINUOUS_4: &str =
    "https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging-enable.html";
const LOGGING_5: &str =
    "https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html";

/// The job arguments Glue itself reads. Keys pipec's scripts read for
/// themselves start with `--pipec_` and are covered by `job-script-arguments`.
pub const ARGUMENTS: &[Argument] = &[
    Argument {
        key: "--job-language",
        kind: JobKind::Both,
        versions: ("0.9", "99.0"),
        doc: PARAMS,
    },
    Argument {
        key: "--TempDir",
        kind: JobKind::Both,
        versions: ("0.9", "99.0"),
        doc: PARAMS,
    },
    Argument {
        key: "--extra-py-files",
        kind: JobKind::Both,
        versions: ("0.9", "99.0"),
        doc: PARAMS,
    },
    Argument {
        key: "--additional-python-modules",
        kind: JobKind::Both,
        versions: ("2.0", "99.0"),
        doc: PARAMS,
    },
    // Python shell jobs cannot use job bookmarks (add-job-python, Limitations).
    Argument {
        key: "--job-bookmark-option",
        kind: JobKind::Spark,
        versions: ("0.9", "99.0"),
        doc: PARAMS,
    },
    Argument {
        key: "--enable-metrics",
        kind: JobKind::Spark,
        versions: ("0.9", "99.0"),
        doc: PARAMS,
    },
    // Job run insights are documented for Glue 2.0 to 5.0.
    Argument {
        key: "--enable-job-insights",
        kind: JobKind::Spark,
        versions: crate::glue::JOB_INSIGHTS,
        doc: "https://docs.aws.amazon.com/glue/latest/dg/monitor-job-insights.html",
    },
    Argument {
        key: "--enable-observability-metrics",
        kind: JobKind::Spark,
        versions: ("4.0", "99.0"),
        doc: PARAMS,
    },
    Argument {
        key: "--enable-glue-datacatalog",
        kind: JobKind::Spark,
        versions: ("0.9", "99.0"),
        doc: PARAMS,
    },
    Argument {
        key: "--enable-spark-ui",
        kind: JobKind::Spark,
        versions: ("0.9", "99.0"),
        doc: PARAMS,
    },
    Argument {
        key: "--spark-event-logs-path",
        kind: JobKind::Spark,
        versions: ("0.9", "99.0"),
        doc: PARAMS,
    },
    // Iceberg tables: the data lake framework (Glue 3.0 and later) and the
    // Spark settings that name the Glue catalog, as "Using the Iceberg
    // framework in AWS Glue" documents them.
    Argument {
        key: "--datalake-formats",
        kind: JobKind::Spark,
        versions: ("3.0", "99.0"),
        doc: "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-format-iceberg.html",
    },
    Argument {
        key: "--conf",
        kind: JobKind::Spark,
        versions: ("0.9", "99.0"),
        doc: "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-format-iceberg.html",
    },
    Argument {
        key: "--enable-auto-scaling",
        kind: JobKind::Spark,
        versions: ("3.0", "99.0"),
        doc: PARAMS,
    },
    // Continuous logging as configured by these two is documented for Glue 4.0 and earlier.
    Argument {
        key: "--enable-continuous-cloudwatch-log",
        kind: JobKind::Spark,
        versions: ("0.9", "4.0"),
        doc: CONTINUOUS_4,
    },
    Argument {
        key: "--continuous-log-logGroup",
        kind: JobKind::Spark,
        versions: ("0.9", "4.0"),
        doc: CONTINUOUS_4,
    },
    Argument {
        key: "--enable-continuous-log-filter",
        kind: JobKind::Spark,
        versions: ("0.9", "4.0"),
        doc: CONTINUOUS_4,
    },
    Argument {
        key: "--continuous-log-logStreamPrefix",
        kind: JobKind::Spark,
        versions: ("0.9", "4.0"),
        doc: CONTINUOUS_4,
    },
    // From Glue 5.0 a custom group prefix gives <prefix>/output and <prefix>/error.
    Argument {
        key: "--custom-logGroup-prefix",
        kind: JobKind::Spark,
        versions: ("5.0", "99.0"),
        doc: LOGGING_5,
    },
    // The library set of Python shell 3.9; the key has no `--` prefix.
    Argument {
        key: "library-set",
        kind: JobKind::PythonShell,
        versions: ("3.0", "99.0"),
        doc: SHELL,
    },
];

/// The documented argument of a key, if Glue reads it.
pub fn argument(key: &str) -> Option<&'static Argument> {
    ARGUMENTS.iter().find(|a| a.key == key)
}

fn kind(r: &Resource) -> Option<JobKind> {
    match r.str("Command/Name")? {
        "glueetl" | "gluestreaming" => Some(JobKind::Spark),
        "pythonshell" => Some(JobKind::PythonShell),
        _ => None,
    }
}

fn job_arguments(r: &Resource) -> Vec<String> {
    let mut out = Vec::new();
    let (Some(k), Some(args)) = (
        kind(r),
        r.get("DefaultArguments").and_then(Value::as_object),
    ) else {
        return out;
    };
    let v = r.str("GlueVersion").and_then(version);
    for key in args.keys() {
        let Some(a) = argument(key) else { continue };
        if a.kind != JobKind::Both && a.kind != k {
            out.push(format!(
                "argument `{key}` is for {} jobs, not {}",
                if a.kind == JobKind::Spark {
                    "Spark"
                } else {
                    "Python shell"
                },
                if k == JobKind::Spark {
                    "Spark"
                } else {
                    "Python shell"
                }
            ));
        }
        if let (Some(v), Some(lo), Some(hi)) = (v, version(a.versions.0), version(a.versions.1))
            && (v < lo || v > hi)
        {
            out.push(format!(
                "argument `{key}` is read by Glue {} to {} only, not {}",
                a.versions.0,
                a.versions.1,
                r.str("GlueVersion").unwrap_or("")
            ));
        }
    }
    out
}

fn script_arguments(r: &Resource) -> Vec<String> {
    // getResolvedOptions reads `--name` arguments; Glue passes every
    // DefaultArguments key through, so pipec's own keys need the prefix.
    let Some(args) = r.get("DefaultArguments").and_then(Value::as_object) else {
        return Vec::new();
    };
    args.keys()
        .filter(|k| argument(k).is_none() && !k.starts_with("--"))
        .map(|k| format!("script argument `{k}` lacks the `--` that getResolvedOptions reads"))
        .collect()
}

fn worker_types(r: &Resource) -> Vec<String> {
    let Some(wt) = r.str("WorkerType") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if r.get("MaxCapacity").is_some() {
        out.push("a job sets `WorkerType` or `MaxCapacity`, not both".into());
    }
    if kind(r) == Some(JobKind::PythonShell) {
        out.push("Python shell jobs take `MaxCapacity`, not a worker type".into());
    }
    let v = r.str("GlueVersion").and_then(version).unwrap_or((0, 0));
    let streaming = r.str("Command/Name") == Some("gluestreaming");
    let ok = match wt {
        "Standard" => v < (2, 0),
        "G.1X" | "G.2X" => v >= (2, 0),
        "G.4X" | "G.8X" => v >= (3, 0) && !streaming,
        // R (memory-optimized), G.12X and G.16X workers: Glue 4.0 and later,
        // https://docs.aws.amazon.com/glue/latest/dg/worker-types.html
        "G.12X" | "G.16X" | "R.1X" | "R.2X" | "R.4X" | "R.8X" => v >= (4, 0) && !streaming,
        "G.025X" => v >= (3, 0) && streaming,
        _ => false,
    };
    if !ok {
        out.push(format!(
            "worker type `{wt}` is not available for this job on Glue {}",
            r.str("GlueVersion").unwrap_or("?")
        ));
    }
    out
}

fn python_shell(r: &Resource) -> Vec<String> {
    if kind(r) != Some(JobKind::PythonShell) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if r.str("Command/PythonVersion") == Some("3.9") && r.str("GlueVersion") != Some("3.0") {
        out.push("Python shell 3.9 runs on Glue version 3.0".into());
    }
    match r.get("MaxCapacity").and_then(Value::as_f64) {
        Some(c) if c == 0.0625 || c == 1.0 => {}
        Some(c) => out.push(format!("Python shell capacity is 0.0625 or 1 DPU, not {c}")),
        None => {}
    }
    out
}

fn python_shell_boto3(r: &Resource) -> Vec<String> {
    // pipec's Python shell scripts import boto3, which the `analytics` set provides.
    if kind(r) != Some(JobKind::PythonShell) {
        return Vec::new();
    }
    match r.str("DefaultArguments/library-set") {
        Some("analytics") => Vec::new(),
        other => vec![format!(
            "Python shell 3.9 provides boto3 only with `library-set: analytics`, not {}",
            other.map_or("no library set".to_string(), |o| format!("`{o}`"))
        )],
    }
}

fn execution_class(r: &Resource) -> Vec<String> {
    // FLEX: glueetl jobs on Glue 3.0 or later with G.1X or G.2X workers.
    if r.str("ExecutionClass") != Some("FLEX") {
        return Vec::new();
    }
    let mut out = Vec::new();
    if r.str("Command/Name") != Some("glueetl") {
        out.push("the FLEX execution class is for Spark ETL (glueetl) jobs only".into());
    }
    if !r
        .str("GlueVersion")
        .is_some_and(|v| crate::glue::at_least(v, crate::glue::FLEX_SINCE))
    {
        out.push("the FLEX execution class needs Glue 3.0 or later".into());
    }
    if !matches!(r.str("WorkerType"), Some("G.1X" | "G.2X")) {
        out.push("the FLEX execution class runs G.1X and G.2X workers only".into());
    }
    out
}

fn run_queuing(r: &Resource) -> Vec<String> {
    match r.get("JobRunQueuingEnabled") {
        None | Some(Value::Bool(_)) => Vec::new(),
        Some(other) => vec![format!("JobRunQueuingEnabled is a boolean, not {other}")],
    }
}

pub(super) static RULES: [Rule; 7] = [
    Rule {
        id: "job-execution-class",
        resource_type: "AWS::Glue::Job",
        covers: &[
            "ExecutionClass",
            "Command/Name",
            "GlueVersion",
            "WorkerType",
        ],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-job.html",
        check: execution_class,
    },
    Rule {
        id: "job-run-queuing",
        resource_type: "AWS::Glue::Job",
        covers: &["JobRunQueuingEnabled"],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-job.html",
        check: run_queuing,
    },
    Rule {
        id: "job-arguments-per-version",
        resource_type: "AWS::Glue::Job",
        covers: &["DefaultArguments", "GlueVersion", "Command/Name"],
        doc: PARAMS,
        check: job_arguments,
    },
    Rule {
        id: "job-script-arguments",
        resource_type: "AWS::Glue::Job",
        covers: &["DefaultArguments"],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-get-resolved-options.html",
        check: script_arguments,
    },
    Rule {
        id: "job-worker-types",
        resource_type: "AWS::Glue::Job",
        covers: &[
            "WorkerType",
            "NumberOfWorkers",
            "MaxCapacity",
            "GlueVersion",
        ],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/add-job.html",
        check: worker_types,
    },
    Rule {
        id: "python-shell-settings",
        resource_type: "AWS::Glue::Job",
        covers: &["Command/PythonVersion", "GlueVersion", "MaxCapacity"],
        doc: SHELL,
        check: python_shell,
    },
    Rule {
        id: "python-shell-boto3",
        resource_type: "AWS::Glue::Job",
        covers: &["DefaultArguments/library-set"],
        doc: "https://docs.aws.amazon.com/glue/latest/dg/add-job-python.html#python-shell-supported-library",
        check: python_shell_boto3,
    },
];
