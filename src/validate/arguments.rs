//! Job arguments: which keys a stage or trigger action may set.
//!
//! In: the `arguments` map of a stage or trigger action. Out: diagnostics for
//! malformed keys and for keys that pipec or Glue owns.

use super::*;

/// Job arguments pipec sets itself; users set them through stage settings instead.
pub(super) const RESERVED_ARGUMENTS: [&str; 12] = [
    "--JOB_NAME",
    "--job-bookmark-option",
    "--enable-metrics",
    "--TempDir",
    "--enable-continuous-cloudwatch-log",
    "--enable-glue-datacatalog",
    "--job-language",
    "--extra-py-files",
    "--additional-python-modules",
    "--enable-job-insights",
    "--continuous-log-logGroup",
    "--enable-observability-metrics",
];
/// Glue's own special parameters that a stage must not set: they change where
/// code, libraries, logs and Spark settings come from, which pipec owns (its
/// IAM roles, log groups and formats are derived from them), or they are set
/// by Glue itself. From "Using job parameters in AWS Glue jobs"
/// (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html).
/// Users may still set the tuning parameters that change none of that:
/// `--enable-rename-algorithm-v2`, `--enable-s3-parquet-optimized-committer`,
/// `--executor-cores` and `--use-postgres-driver`.
pub(super) const GLUE_INTERNAL_ARGUMENTS: [&str; 29] = [
    "--JOB_ID",
    "--JOB_RUN_ID",
    "--SECURITY_CONFIGURATION",
    "--RedshiftTempDir",
    "--scriptLocation",
    "--class",
    "--conf",
    "--custom-logGroup-prefix",
    "--custom-logStream-prefix",
    "--continuous-log-logStreamPrefix",
    "--continuous-log-conversionPattern",
    "--enable-continuous-log-filter",
    "--customer-driver-env-vars",
    "--customer-executor-env-vars",
    "--datalake-formats",
    "--disable-proxy-v2",
    "--enable-auto-scaling",
    "--auto-scale-within-microbatch",
    "--enable-lakeformation-fine-grained-access",
    "--enable-spark-ui",
    "--spark-event-logs-path",
    "--encryption-type",
    "--extra-files",
    "--extra-jars",
    "--user-jars-first",
    "--python-modules-installer-option",
    "--s3-py-modules",
    "--library-set",
    "--job-type",
];

/// Why a stage or a trigger action must not set job argument `key` (with its
/// `--`), if it must not.
pub(super) fn reserved_argument(key: &str) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    if RESERVED_ARGUMENTS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(key))
        || ["--pipec_", "--pipec-", "--input-", "--output-"]
            .iter()
            .any(|p| lower.starts_with(p))
    {
        Some("set by pipec")
    } else if GLUE_INTERNAL_ARGUMENTS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(key))
    {
        Some("a Glue parameter that pipec owns")
    } else {
        None
    }
}

/// Checks the job arguments of a stage or a trigger action: their syntax, and
/// that none replaces one pipec or Glue owns.
pub(super) fn check_arguments(cx: &mut Ctx, base: &[&str], args: &IndexMap<String, String>) {
    for k in args.keys() {
        let mut parts = base.to_vec();
        parts.push(k);
        let ap = ptr(&parts);
        let key = if k.starts_with("--") {
            k.clone()
        } else {
            format!("--{k}")
        };
        if key.len() < 3
            || !key[2..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            cx.at_key(
                &ap,
                SemanticError::BadName {
                    what: "argument",
                    name: k.clone(),
                    reason: "use letters, digits, `_` and `-`".into(),
                },
            );
        } else if let Some(owner) = reserved_argument(&key) {
            cx.at_key(&ap, SemanticError::ReservedArgument { key, owner });
        }
    }
}
