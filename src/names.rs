//! Names that pipec derives from the user's names: AWS physical names,
//! CloudFormation logical IDs, and the snake_case rule of `rename`.
//!
//! In: the names a user wrote. Out: the derived names. Validation checks these
//! against AWS limits and renderers print them, so both use this one module
//! and can never disagree.

/// Longest AWS region code in use (`ap-southeast-4`), for bucket name budgets.
pub const MAX_REGION_LEN: usize = 14;
/// Length of an AWS account ID.
pub const ACCOUNT_ID_LEN: usize = 12;

pub fn glue_job(pipeline: &str, stage: &str) -> String {
    format!("{pipeline}-{stage}")
}

pub fn glue_crawler(pipeline: &str, crawler: &str) -> String {
    format!("{pipeline}-{crawler}")
}

pub fn glue_trigger(pipeline: &str, trigger: &str) -> String {
    format!("{pipeline}-{trigger}")
}

pub fn glue_connection(pipeline: &str, connection: &str) -> String {
    format!("{pipeline}-{connection}")
}

/// Glue database of the pipeline: Athena accepts only `[a-z0-9_]` here.
pub fn glue_database(pipeline: &str) -> String {
    pipeline.replace('-', "_")
}

pub fn job_role(pipeline: &str, stage: &str) -> String {
    format!("{pipeline}-{stage}-job")
}

pub fn crawler_role(pipeline: &str, crawler: &str) -> String {
    format!("{pipeline}-{crawler}-crawler")
}

pub fn stack(pipeline: &str, stack: &str) -> String {
    format!("{pipeline}-{stack}")
}

/// The default bucket name of a zone, with placeholders for what only
/// CloudFormation knows. Its longest possible length is `default_bucket_max_len`.
pub fn default_bucket(pipeline: &str, zone: &str) -> String {
    format!("{pipeline}-{zone}-${{AWS::AccountId}}-${{AWS::Region}}")
}

pub fn default_bucket_max_len(pipeline: &str, zone: &str) -> usize {
    pipeline.len() + 1 + zone.len() + 1 + ACCOUNT_ID_LEN + 1 + MAX_REGION_LEN
}

/// The bucket that holds job scripts and templates too large to inline. It
/// has a computed name because `glue-jobs` and `deploy` must find it without
/// a cross-stack export.
pub fn artifacts_bucket(pipeline: &str) -> String {
    default_bucket(pipeline, "artifacts")
}

/// Job argument that carries the location (an `s3://` URI on Glue, a local
/// path in a local run) of a zone table a stage reads. Scripts read every
/// location from arguments, so the same script runs on Glue and locally.
pub fn input_arg(table: &str) -> String {
    format!("pipec_input_{table}")
}

/// Job argument that carries the location of a zone table a stage writes.
pub fn output_arg(table: &str) -> String {
    format!("pipec_output_{table}")
}

/// Job argument that carries the Glue connection name of a JDBC connection.
pub fn connection_arg(connection: &str) -> String {
    format!("pipec_connection_{}", connection.replace('-', "_"))
}

/// Job argument that carries the Secrets Manager secret id of a JDBC connection.
pub fn secret_arg(connection: &str) -> String {
    format!("pipec_secret_{}", connection.replace('-', "_"))
}

/// Job argument that carries the JDBC URL of a connection.
pub fn jdbc_url_arg(connection: &str) -> String {
    format!("pipec_jdbc_url_{}", connection.replace('-', "_"))
}

/// The Python module of a pipeline's shared Spark runtime: the generated
/// scripts import it, and it is written as `scripts/pipec_runtime.py`, so no
/// stage may take the name.
pub const RUNTIME_MODULE: &str = "pipec_runtime";

/// Optional job argument of a download stage that replaces the URL of the
/// pipeline (for a mirror, or a test server); it must use `https://` too.
pub fn download_url_arg() -> String {
    "pipec_download_url".to_string()
}

/// KMS alias of the pipeline's data key; other stacks name the key by it.
pub fn kms_alias(pipeline: &str) -> String {
    format!("alias/{pipeline}-data")
}

/// Glue security configuration used by every job and crawler.
pub fn security_configuration(pipeline: &str) -> String {
    format!("{pipeline}-glue")
}

/// `raw-data` and `raw_data` -> `RawData`: the user's name as a logical ID part.
pub fn pascal(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// Kinds of resources named after a user's name. Each kind prefixes its logical
/// IDs, and no prefix is a prefix of another, so IDs of different kinds never clash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Zone,
    Table,
    Stage,
    Crawler,
    Trigger,
    Connection,
    Alert,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Zone => "Zone",
            Kind::Table => "Table",
            Kind::Stage => "Stage",
            Kind::Crawler => "Crawler",
            Kind::Trigger => "Trigger",
            Kind::Connection => "Connection",
            Kind::Alert => "Alert",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Kind::Zone => "zone",
            Kind::Table => "table",
            Kind::Stage => "stage",
            Kind::Crawler => "crawler",
            Kind::Trigger => "trigger",
            Kind::Connection => "connection",
            Kind::Alert => "alert",
        }
    }
}

/// The logical ID stem of a user's resource, such as `StageClean`; renderers
/// add a suffix per resource (`StageCleanJob`, `StageCleanRole`).
pub fn logical_id(kind: Kind, name: &str) -> String {
    format!("{}{}", kind.prefix(), pascal(name))
}

/// The `rename: snake_case` rule, exactly as the generated scripts apply it:
/// `Country Name` -> `country_name`, `GDPPerCapita` -> `gdp_per_capita`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && i > 0 {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
                if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower) {
                    out.push('_');
                }
            }
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let trimmed = out.trim_matches('_');
    if trimmed.is_empty() {
        "_".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The catalog name of a CSV column that Athena can query: lower case ASCII
/// letters, digits and underscores only. CSV is read by position, so the
/// catalog may rename freely:
/// https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html
pub fn athena_column(name: &str) -> String {
    snake_case(name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_examples() {
        assert_eq!(snake_case("Country Name"), "country_name");
        assert_eq!(snake_case("GDPPerCapita"), "gdp_per_capita");
        assert_eq!(snake_case("already_snake"), "already_snake");
        assert_eq!(
            snake_case("  Life-Expectancy (years) "),
            "life_expectancy_years"
        );
        assert_eq!(snake_case("id2Name"), "id2_name");
        assert_eq!(snake_case("!!!"), "_");
    }

    #[test]
    fn pascal_joins_segments() {
        assert_eq!(pascal("raw-data"), "RawData");
        assert_eq!(pascal("raw_data"), "RawData");
        assert_eq!(logical_id(Kind::Stage, "clean"), "StageClean");
    }
}
