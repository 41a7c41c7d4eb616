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

/// The Glue workflow of a later part of a split pipeline, named after the
/// trigger that starts it. No user name holds `.`, so it never meets another
/// pipeline's workflow or a trigger name of part 1.
pub fn glue_part_workflow(pipeline: &str, entry: &str) -> String {
    format!("{pipeline}.{entry}")
}

/// A trigger of a later part, other than the one that starts it.
pub fn glue_part_trigger(pipeline: &str, entry: &str, trigger: &str) -> String {
    format!("{pipeline}.{entry}.{trigger}")
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

/// The IAM role of a consumer (`consumers:`).
pub fn consumer_role(pipeline: &str, consumer: &str) -> String {
    format!("{pipeline}-{consumer}-consumer")
}

/// The Athena workgroup of a consumer.
pub fn consumer_workgroup(pipeline: &str, consumer: &str) -> String {
    format!("{pipeline}-{consumer}-consumer")
}

/// The bucket that holds the consumers' query results, one prefix each. Same
/// length as the artifacts bucket's name, whose bound the pipeline name keeps.
pub fn consumers_bucket(pipeline: &str) -> String {
    default_bucket(pipeline, "consumers")
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
    Consumer,
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
            Kind::Consumer => "Consumer",
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
            Kind::Consumer => "consumer",
        }
    }
}

/// The logical ID stem of a user's resource, such as `StageClean`; renderers
/// add a suffix per resource (`StageCleanJob`, `StageCleanRole`).
pub fn logical_id(kind: Kind, name: &str) -> String {
    format!("{}{}", kind.prefix(), pascal(name))
}

/// What a character is to the snake_case rule.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Upper,
    Lower,
    /// A letter without case (Devanagari, CJK, ...), or a titlecase one.
    Uncased,
    /// A combining mark: it belongs to the letter before it.
    Mark,
    Digit,
    Separator,
}

fn part(c: char) -> Part {
    use unicode_general_category::{GeneralCategory as G, get_general_category};
    match get_general_category(c) {
        G::UppercaseLetter => Part::Upper,
        G::LowercaseLetter => Part::Lower,
        G::TitlecaseLetter | G::ModifierLetter | G::OtherLetter => Part::Uncased,
        G::NonspacingMark | G::SpacingMark | G::EnclosingMark => Part::Mark,
        G::DecimalNumber | G::LetterNumber | G::OtherNumber => Part::Digit,
        _ => Part::Separator,
    }
}

/// The `rename: snake_case` rule. pipec applies it at compile time, and the
/// generated script renames each column by name.
///
/// Words are runs of letters, combining marks and digits; every other
/// character separates words, and a run of separators becomes one `_`
/// (none at either end). A combining mark (Unicode categories Mn, Mc, Me)
/// stays with the letter before it, so `मूल्य` is one word. In cased scripts
/// a new word starts at an upper case letter after a lower case letter or a
/// digit, and at the last upper case letter of a run followed by a lower
/// case one (`HTTPServer` -> `http_server`); marks are skipped when looking
/// at the letters around a boundary, so NFC and NFD text split alike. Letters
/// are lower-cased; text is not normalized. A name with no letter or digit
/// becomes `_`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<(char, Part)> = name.chars().map(|c| (c, part(c))).collect();
    // The nearest character before or after `i` that is not a mark.
    let base_before = |i: usize| {
        chars[..i]
            .iter()
            .rev()
            .map(|(_, p)| *p)
            .find(|p| *p != Part::Mark)
    };
    let base_after = |i: usize| {
        chars[i + 1..]
            .iter()
            .map(|(_, p)| *p)
            .find(|p| *p != Part::Mark)
    };
    let mut out = String::with_capacity(name.len() + 4);
    let mut pending_separator = false;
    for (i, &(c, p)) in chars.iter().enumerate() {
        match p {
            Part::Separator => {
                pending_separator = !out.is_empty();
                continue;
            }
            Part::Mark if out.is_empty() => continue,
            Part::Upper if !pending_separator && !out.is_empty() => {
                let prev = base_before(i);
                let boundary = match prev {
                    Some(Part::Lower | Part::Digit) => true,
                    Some(Part::Upper) => base_after(i) == Some(Part::Lower),
                    _ => false,
                };
                pending_separator = boundary;
            }
            _ => {}
        }
        if pending_separator {
            out.push('_');
            pending_separator = false;
        }
        out.extend(c.to_lowercase());
    }
    if out.is_empty() { "_".to_string() } else { out }
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

/// Whether two column names are the same to Spark, which compares them
/// ignoring case (Java's `equalsIgnoreCase`, so `É` and `é` are equal too).
pub fn same_name(a: &str, b: &str) -> bool {
    a == b
        || a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
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
        assert_eq!(snake_case(""), "_");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("a__b"), "a_b");
        assert_eq!(snake_case("__a__"), "a");
        assert_eq!(snake_case("2019 Sales"), "2019_sales");
        assert_eq!(snake_case("2019Sales"), "2019_sales");
        assert_eq!(snake_case("1st place"), "1st_place");
        assert_eq!(snake_case("Q4"), "q4");
    }

    #[test]
    fn snake_case_non_ascii() {
        // Devanagari: vowel sign U+0942 and virama U+094D are marks (Mn).
        assert_eq!(snake_case("मूल्य"), "मूल्य");
        assert_eq!(snake_case("कुल मूल्य"), "कुल_मूल्य");
        // Greek is cased.
        assert_eq!(snake_case("ΤιμήΜονάδας"), "τιμή_μονάδας");
        assert_eq!(snake_case("Τιμή μονάδας"), "τιμή_μονάδας");
        // CJK has no case: one word until a separator.
        assert_eq!(snake_case("日本 売上"), "日本_売上");
        assert_eq!(snake_case("売上Total"), "売上total");
        // Accents, composed (NFC) and decomposed (NFD), split alike.
        assert_eq!(snake_case("Größe"), "größe");
        assert_eq!(snake_case("\u{c9}t\u{e9}Count"), "\u{e9}t\u{e9}_count");
        assert_eq!(
            snake_case("E\u{301}te\u{301}Count"),
            "e\u{301}te\u{301}_count"
        );
        assert_eq!(snake_case("CAFE\u{301}Bar"), "cafe\u{301}_bar");
        // A mark with no letter before it is dropped.
        assert_eq!(snake_case("\u{301}x"), "x");
        // Other numbers count as digits; symbols separate.
        assert_eq!(snake_case("x²Total"), "x²_total");
        assert_eq!(snake_case("price€net"), "price_net");
    }

    #[test]
    fn pascal_joins_segments() {
        assert_eq!(pascal("raw-data"), "RawData");
        assert_eq!(pascal("raw_data"), "RawData");
        assert_eq!(logical_id(Kind::Stage, "clean"), "StageClean");
    }
}
