//! The Glue version facts pipec relies on, in one place: which Glue versions
//! Spark stages may use, the Spark and Python each runs, which worker types
//! each offers, where the FLEX execution class and auto-scaling apply, and
//! the pyspark version a local run of a stage uses.
//!
//! In: a Glue version string (`"5.1"`) or a worker type. Out: facts, or
//! `None` for a version pipec does not know. Validation, the contract rules
//! and `pipec run --local` read these; nothing else states them.

use crate::model::WorkerType;

/// One Glue version Spark stages may use.
pub struct GlueVersion {
    pub version: &'static str,
    /// The Spark version AWS runs.
    pub spark: &'static str,
    pub python: &'static str,
    /// The pyspark pin a local run uses: the Spark AWS runs when that is
    /// published, else the nearest release of the same minor version.
    pub local_pyspark: &'static str,
}

/// AWS's table of Glue versions:
/// https://docs.aws.amazon.com/glue/latest/dg/release-notes.html
/// 6.0 (Spark 4.1.1, Scala 2.13.17, Python 3.13, Iceberg 1.11.0):
/// https://docs.aws.amazon.com/glue/latest/dg/migrating-version-60.html
pub const SPARK_VERSIONS: [GlueVersion; 5] = [
    GlueVersion {
        version: "3.0",
        spark: "3.1.1",
        python: "3.7",
        local_pyspark: "3.5.4",
    },
    GlueVersion {
        version: "4.0",
        spark: "3.3.0",
        python: "3.10",
        local_pyspark: "3.5.4",
    },
    GlueVersion {
        version: "5.0",
        spark: "3.5.4",
        python: "3.11",
        local_pyspark: "3.5.4",
    },
    GlueVersion {
        version: "5.1",
        spark: "3.5.6",
        python: "3.11",
        local_pyspark: "3.5.6",
    },
    GlueVersion {
        version: "6.0",
        spark: "4.1.1",
        python: "3.13",
        local_pyspark: "4.1.1",
    },
];

/// The Glue versions Spark stages may use, oldest first.
pub const SPARK_GLUE_VERSIONS: [&str; 5] = ["3.0", "4.0", "5.0", "5.1", "6.0"];

/// The newest Glue version, named in hints.
pub const NEWEST_GLUE_VERSION: &str = "6.0";

/// The facts of a Glue version pipec accepts for Spark stages.
pub fn spark_version(version: &str) -> Option<&'static GlueVersion> {
    SPARK_VERSIONS.iter().find(|v| v.version == version)
}

/// The pyspark version `pipec run --local` installs for a stage on this Glue
/// version (5.0 -> 3.5.4, 5.1 -> 3.5.6, 6.0 -> 4.1.1); `None` for a version
/// pipec does not accept. Earlier versions run on 3.5.4, the oldest pyspark
/// pipec's scripts are tested on.
pub fn local_pyspark_version(glue_version: &str) -> Option<&'static str> {
    spark_version(glue_version).map(|v| v.local_pyspark)
}

/// `(major, minor)` of a version string such as `5.1`.
pub fn parse(version: &str) -> Option<(u32, u32)> {
    let (a, b) = version.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Worker types and the first Glue version that offers each for batch Spark
/// jobs (AWS's worker type page,
/// https://docs.aws.amazon.com/glue/latest/dg/worker-types.html, and the
/// launch of R, G.12X and G.16X workers for Glue 4.0 and later,
/// https://aws.amazon.com/blogs/big-data/scale-your-aws-glue-for-apache-spark-jobs-with-r-type-g-12x-and-g-16x-workers/).
/// G.025X is for streaming jobs only and Standard for Glue 1.0 and older, so
/// neither suits a batch stage.
pub fn batch_worker_since(wt: WorkerType) -> Option<&'static str> {
    match wt {
        WorkerType::G1X | WorkerType::G2X => Some("2.0"),
        WorkerType::G4X | WorkerType::G8X => Some("3.0"),
        WorkerType::G12X
        | WorkerType::G16X
        | WorkerType::R1X
        | WorkerType::R2X
        | WorkerType::R4X
        | WorkerType::R8X => Some("4.0"),
        WorkerType::G025X | WorkerType::Standard => None,
    }
}

/// Whether a batch Spark job on this Glue version can use this worker type.
pub fn batch_worker_available(wt: WorkerType, glue_version: &str) -> bool {
    match (batch_worker_since(wt).and_then(parse), parse(glue_version)) {
        (Some(since), Some(v)) => v >= since,
        _ => false,
    }
}

/// The most workers of a type one job may have (Glue's service quotas:
/// https://docs.aws.amazon.com/general/latest/gr/glue.html); `None` where
/// pipec knows no limit below the account's DPU quota.
pub fn max_workers(wt: WorkerType) -> Option<u32> {
    match wt {
        WorkerType::G1X => Some(299),
        WorkerType::G2X => Some(149),
        _ => None,
    }
}

/// FLEX runs Spark ETL (`glueetl`) jobs on Glue 3.0 or later with G.1X or
/// G.2X workers; not streaming or Python shell jobs:
/// https://docs.aws.amazon.com/glue/latest/dg/add-job.html (Execution class)
/// and https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-job.html
/// (ExecutionClass: "Only jobs with AWS Glue version 3.0 and above and command
/// type glueetl will be allowed to set ExecutionClass to FLEX").
pub const FLEX_SINCE: &str = "3.0";

/// Whether FLEX runs this worker type.
pub fn flex_worker(wt: WorkerType) -> bool {
    matches!(wt, WorkerType::G1X | WorkerType::G2X)
}

/// Auto-scaling (`--enable-auto-scaling`) needs Glue 3.0 or later; the job's
/// NumberOfWorkers is then the most it scales to:
/// https://docs.aws.amazon.com/glue/latest/dg/auto-scaling.html
pub const AUTO_SCALING_SINCE: &str = "3.0";

/// Job run insights (`--enable-job-insights`) are documented for Glue 2.0,
/// 3.0, 4.0 and 5.0 only, so pipec asks for them on those versions:
/// https://docs.aws.amazon.com/glue/latest/dg/monitor-job-insights.html
pub const JOB_INSIGHTS: (&str, &str) = ("2.0", "5.0");

/// Whether Glue documents job run insights for this version.
pub fn job_insights(version: &str) -> bool {
    at_least(version, JOB_INSIGHTS.0) && !at_least(version, "5.1")
}

/// The Iceberg that `--datalake-formats iceberg` puts on a Glue version's
/// jobs: https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-format-iceberg.html
/// (3.0 to 5.1) and https://docs.aws.amazon.com/glue/latest/dg/migrating-version-60.html (6.0).
pub fn iceberg_version(glue_version: &str) -> Option<&'static str> {
    Some(match glue_version {
        "3.0" => "0.13.1",
        "4.0" => "1.0.0",
        "5.0" => "1.7.1",
        "5.1" => "1.10.0",
        "6.0" => "1.11.0",
        _ => return None,
    })
}

/// Iceberg format version 3 needs Iceberg 1.8 or later
/// (https://iceberg.apache.org/spec/#version-3), so Glue 5.1 or later.
pub const ICEBERG_V3_SINCE: &str = "5.1";

/// Whether `version` is `since` or later; false for a version that does not parse.
pub fn at_least(version: &str, since: &str) -> bool {
    matches!((parse(version), parse(since)), (Some(v), Some(s)) if v >= s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_pyspark_follows_the_spark_aws_runs() {
        assert_eq!(local_pyspark_version("5.0"), Some("3.5.4"));
        assert_eq!(local_pyspark_version("5.1"), Some("3.5.6"));
        assert_eq!(local_pyspark_version("6.0"), Some("4.1.1"));
        assert_eq!(local_pyspark_version("2.0"), None);
    }

    #[test]
    fn the_version_list_and_the_table_agree() {
        let table: Vec<&str> = SPARK_VERSIONS.iter().map(|v| v.version).collect();
        assert_eq!(table, SPARK_GLUE_VERSIONS);
        assert_eq!(SPARK_GLUE_VERSIONS.last(), Some(&NEWEST_GLUE_VERSION));
    }

    #[test]
    fn memory_optimized_workers_need_glue_4() {
        assert!(!batch_worker_available(WorkerType::R2X, "3.0"));
        assert!(batch_worker_available(WorkerType::R2X, "4.0"));
        assert!(batch_worker_available(WorkerType::G16X, "6.0"));
        assert!(!batch_worker_available(WorkerType::G025X, "6.0"));
    }
}
