//! The lengths and character sets AWS enforces on values pipec writes from
//! user text, in one table, and the check that applies them.
//!
//! In: a checked `Pipeline` (through `Ctx`) and the pipeline file's name. Out:
//! diagnostics for values that would validate here and then fail at deploy.
//! Each limit cites the AWS page that states it. Lengths are counted the way
//! the service counts them (bytes for Glue and CloudFormation, characters for
//! tags), so a multi-byte character counts as AWS counts it.

use super::{Ctx, SemanticError, ptr};
use crate::yaml::push_pointer;

/// What characters a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chars {
    /// Glue's "URI address multi-line string pattern": no control characters
    /// but tab, newline and carriage return.
    MultiLine,
    /// Glue's "single-line string pattern": no control characters but tab.
    SingleLine,
    /// AWS tags: letters, digits, white space and `_ . : / = + - @`.
    Tag,
}

/// How a field's length is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Chars,
}

/// One field's limit.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub what: &'static str,
    pub min: usize,
    pub max: usize,
    pub unit: Unit,
    pub chars: Chars,
}

const fn limit(what: &'static str, min: usize, max: usize, unit: Unit, chars: Chars) -> Limit {
    Limit {
        what,
        min,
        max,
        unit,
        chars,
    }
}

// https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-job.html
// (Job.Description: "not more than 2048 bytes long, matching the URI address multi-line string pattern").
pub const JOB_DESCRIPTION: Limit = limit(
    "this stage description",
    0,
    2048,
    Unit::Bytes,
    Chars::MultiLine,
);
// https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-catalog-tables.html (TableInput.Description, 2048 bytes).
pub const TABLE_DESCRIPTION: Limit = limit(
    "this table description",
    0,
    2048,
    Unit::Bytes,
    Chars::MultiLine,
);
// https://docs.aws.amazon.com/glue/latest/webapi/API_Column.html (Name 1-255, Comment 0-255, single-line pattern).
pub const COLUMN_NAME: Limit = limit("this column name", 1, 255, Unit::Bytes, Chars::SingleLine);
pub const COLUMN_COMMENT: Limit = limit(
    "this column comment",
    0,
    255,
    Unit::Bytes,
    Chars::SingleLine,
);
// https://docs.aws.amazon.com/glue/latest/webapi/API_Column.html (Parameters values at most 512000),
// the same bound as the SerDe parameters that carry `null_value`.
pub const SERDE_PARAMETER: Limit = limit(
    "this SerDe parameter",
    0,
    512_000,
    Unit::Bytes,
    Chars::MultiLine,
);
// https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-crawling.html (Crawler.Description, 2048 bytes).
pub const CRAWLER_DESCRIPTION: Limit = limit(
    "this crawler description",
    0,
    2048,
    Unit::Bytes,
    Chars::MultiLine,
);
// https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-trigger.html (Trigger.Description, 2048 bytes).
pub const TRIGGER_DESCRIPTION: Limit = limit(
    "this trigger description",
    0,
    2048,
    Unit::Bytes,
    Chars::MultiLine,
);
// https://docs.aws.amazon.com/glue/latest/webapi/API_CreateWorkflow.html
// (Description at most 120000; DefaultRunProperties keys 1-255, single-line pattern).
pub const WORKFLOW_DESCRIPTION: Limit = limit(
    "the workflow description",
    0,
    120_000,
    Unit::Bytes,
    Chars::MultiLine,
);
// Glue documents no length of its own for one argument name, but the name is
// written as a YAML mapping key, and YAML 1.2 restricts implicit keys to 1,024
// Unicode characters (https://yaml.org/spec/1.2.2/ section 7.4); pipec keeps
// argument names well below that, as single-line text.
pub const ARGUMENT_NAME: Limit =
    limit("this argument name", 1, 512, Unit::Bytes, Chars::SingleLine);
pub const RUN_PROPERTY_KEY: Limit = limit(
    "this run property name",
    1,
    255,
    Unit::Bytes,
    Chars::SingleLine,
);
// https://docs.aws.amazon.com/glue/latest/webapi/API_ConnectionInput.html
// (Description at most 2048; ConnectionProperties values, such as the JDBC URL, at most 1024).
pub const CONNECTION_DESCRIPTION: Limit = limit(
    "this connection description",
    0,
    2048,
    Unit::Bytes,
    Chars::MultiLine,
);
// Its characters are checked with the credentials in `check_connections`.
pub const JDBC_URL: Limit = limit("this JDBC URL", 1, 1024, Unit::Bytes, Chars::MultiLine);
// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Tag.html
// (stack tags: Key 1-128, Value 1-256 characters, `aws:` reserved) and the character set of
// https://docs.aws.amazon.com/tag-editor/latest/userguide/best-practices-and-strats.html.
pub const TAG_KEY: Limit = limit("this tag key", 1, 128, Unit::Chars, Chars::Tag);
pub const TAG_VALUE: Limit = limit("this tag value", 1, 256, Unit::Chars, Chars::Tag);
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-glue-dataqualityruleset.html
// (Ruleset: 1 to 65536 characters).
pub const RULESET: Limit = limit(
    "this table's DQDL ruleset",
    1,
    65_536,
    Unit::Bytes,
    Chars::MultiLine,
);
// https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html
// ("Job arguments have a maximum size limit of 260KB"). pipec's own arguments
// (locations, connections, settings) take the rest; 16 KiB holds them for
// a stage with dozens of tables.
pub const USER_ARGUMENTS_BYTES: usize = 260 * 1024 - 16 * 1024;
// RFC 5321 section 4.5.3.1.3: a path is at most 256 octets with its angle
// brackets, so an address has at most 254. SNS subscribes the address as given.
pub const EMAIL: Limit = limit(
    "this e-mail address",
    3,
    254,
    Unit::Bytes,
    Chars::SingleLine,
);

/// CloudFormation's template Description: "a literal string that is between 0
/// and 1024 bytes in length"
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-description-structure.html).
pub const STACK_DESCRIPTION_MAX: usize = 1024;
/// The longest stack summary pipec puts before the pipeline's description
/// (the basic-infra stack's; see `render::stacks`).
const LONGEST_STACK_WHAT: &str =
    "basic infrastructure: KMS key, buckets, Athena workgroup, Glue security configuration";
/// The longest suffix a split stack adds: ` (part 1024 of 1024)`.
const PART_SUFFIX_MAX: usize = " (part 1024 of 1024)".len();

/// How many bytes of the pipeline's `description` fit into every stack's
/// Description: 1024 bytes less what pipec composes around it (the stack
/// summary, the generated-file header with the pipeline's name, and the part
/// suffix of a split stack). `tests/limits.rs` renders a pipeline at this
/// bound to keep the two in step.
pub fn pipeline_description_max(pipeline: &str) -> usize {
    let base = format!(
        "{pipeline} {LONGEST_STACK_WHAT}. Generated by pipec from pipeline {pipeline}. Do not edit: change the pipeline file and run `pipec build`. Pipeline: "
    );
    STACK_DESCRIPTION_MAX.saturating_sub(base.len() + PART_SUFFIX_MAX)
}

/// Checks one value against a limit.
pub fn check_value(l: &Limit, value: &str) -> Result<(), SemanticError> {
    let len = match l.unit {
        Unit::Bytes => value.len(),
        Unit::Chars => value.chars().count(),
    };
    let unit = match l.unit {
        Unit::Bytes => "bytes",
        Unit::Chars => "characters",
    };
    if len > l.max {
        return Err(SemanticError::TooLong {
            what: l.what,
            len,
            max: l.max,
            unit,
            hint: None,
        });
    }
    if len < l.min {
        return Err(SemanticError::BadValue {
            what: l.what,
            value: value.to_string(),
            reason: if l.min == 1 {
                "AWS takes at least one character here".to_string()
            } else {
                format!("it needs at least {} {unit}", l.min)
            },
        });
    }
    let (bad, allowed): (Option<char>, &'static str) = match l.chars {
        Chars::MultiLine => (
            value
                .chars()
                .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')),
            "text without control characters (tab and newline are fine)",
        ),
        Chars::SingleLine => (
            value.chars().find(|c| c.is_control() && *c != '\t'),
            "one line of text without control characters",
        ),
        Chars::Tag => (
            value.chars().find(|c| {
                !(c.is_alphanumeric()
                    || "_.:/=+-@".contains(*c)
                    || (c.is_whitespace() && !c.is_control()))
            }),
            "letters, digits, spaces and `_ . : / = + - @`",
        ),
    };
    match bad {
        Some(ch) => Err(SemanticError::BadCharacter {
            what: l.what,
            ch,
            allowed,
        }),
        None => Ok(()),
    }
}

impl Ctx<'_> {
    /// Reports a value that breaks its limit, at the value.
    fn limit(&mut self, pointer: &str, l: &Limit, value: &str) {
        if let Err(e) = check_value(l, value) {
            self.at_value(pointer, e);
        }
    }
    /// Reports a key that breaks its limit, at the key.
    fn limit_key(&mut self, pointer: &str, l: &Limit, key: &str) {
        if let Err(e) = check_value(l, key) {
            self.at_key(pointer, e);
        }
    }
}

/// Applies the table above to every field pipec writes from user text.
/// Limits that hold for the pipeline as a whole: its workflow must fit in
/// Glue workflows of at most 100 nodes (see `workflows`).
pub(super) fn check_whole(cx: &mut Ctx) {
    super::workflows::check(cx);
}

pub(super) fn check(cx: &mut Ctx) {
    let p = cx.p;
    if let Some(d) = &p.description {
        let max = pipeline_description_max(&p.pipeline);
        if d.len() > max {
            cx.at_value(
                "/description",
                SemanticError::TooLong {
                    what: "the pipeline description",
                    len: d.len(),
                    max,
                    unit: "bytes",
                    hint: Some(format!(
                        "it is part of every stack's Description, which CloudFormation limits to {STACK_DESCRIPTION_MAX} bytes with pipec's summary and header; put longer text in a comment"
                    )),
                },
            );
        }
    }
    for (name, c) in &p.connections {
        if let Some(d) = &c.description {
            cx.limit(
                &ptr(&["connections", name, "description"]),
                &CONNECTION_DESCRIPTION,
                d,
            );
        }
        cx.limit(&ptr(&["connections", name, "url"]), &JDBC_URL, &c.url);
    }
    for (name, t) in &p.schemas {
        if let Some(d) = &t.description {
            cx.limit(
                &ptr(&["schemas", name, "description"]),
                &TABLE_DESCRIPTION,
                d,
            );
        }
        for (col, c) in &t.columns {
            // Column names are checked with the others in `rules::column_name`.
            let cp = ptr(&["schemas", name, "columns", col]);
            if let Some(comment) = c.comment() {
                cx.limit(&push_pointer(&cp, "comment"), &COLUMN_COMMENT, comment);
            }
        }
        if let Some(csv) = &t.csv {
            cx.limit(
                &ptr(&["schemas", name, "csv", "null_value"]),
                &SERDE_PARAMETER,
                &csv.null_value,
            );
        }
        if let Some(q) = &t.quality {
            // The ruleset is `Rules = [ r1, r2 ]`: the rules plus a few bytes each.
            let len = 10 + q.rules.iter().map(|r| r.len() + 4).sum::<usize>();
            if len > RULESET.max {
                cx.at_value(
                    &ptr(&["schemas", name, "quality", "rules"]),
                    SemanticError::TooLong {
                        what: RULESET.what,
                        len,
                        max: RULESET.max,
                        unit: "bytes",
                        hint: Some("split the checks over several tables or simplify them".into()),
                    },
                );
            }
        }
    }
    for (name, s) in &p.stages {
        if let Some(d) = &s.description {
            cx.limit(&ptr(&["stages", name, "description"]), &JOB_DESCRIPTION, d);
        }
        for k in s.arguments.keys() {
            cx.limit_key(&ptr(&["stages", name, "arguments", k]), &ARGUMENT_NAME, k);
        }
        let total: usize = s.arguments.iter().map(|(k, v)| k.len() + 2 + v.len()).sum();
        if total > USER_ARGUMENTS_BYTES {
            cx.at_value(
                &ptr(&["stages", name, "arguments"]),
                SemanticError::TooLong {
                    what: "this stage's arguments",
                    len: total,
                    max: USER_ARGUMENTS_BYTES,
                    unit: "bytes",
                    hint: Some("Glue takes at most 260 KB of job arguments, pipec's own included; keep large data in S3".into()),
                },
            );
        }
    }
    for (name, c) in &p.crawlers {
        if let Some(d) = &c.description {
            cx.limit(
                &ptr(&["crawlers", name, "description"]),
                &CRAWLER_DESCRIPTION,
                d,
            );
        }
    }
    for (name, t) in &p.triggers {
        for (i, a) in t.start.iter().enumerate() {
            if let crate::model::Action::Full(f) = a {
                for k in f.arguments.keys() {
                    let kp = ptr(&["triggers", name, "start", &i.to_string(), "arguments", k]);
                    cx.limit_key(&kp, &ARGUMENT_NAME, k);
                }
            }
        }
        if let Some(d) = &t.description {
            cx.limit(
                &ptr(&["triggers", name, "description"]),
                &TRIGGER_DESCRIPTION,
                d,
            );
        }
    }
    if let Some(d) = &p.workflow.description {
        cx.limit("/workflow/description", &WORKFLOW_DESCRIPTION, d);
    }
    for k in p.workflow.properties.keys() {
        let kp = ptr(&["workflow", "properties", k]);
        cx.limit_key(&kp, &RUN_PROPERTY_KEY, k);
        if super::text::intrinsic_key(k) {
            cx.at_key(&kp, SemanticError::IntrinsicKey { key: k.clone() });
        }
    }
    for (name, a) in &p.alerts {
        for (i, e) in a.email.iter().enumerate() {
            cx.limit(&ptr(&["alerts", name, "email", &i.to_string()]), &EMAIL, e);
        }
    }
    for (k, v) in &p.tags {
        let tp = ptr(&["tags", k]);
        cx.limit_key(&tp, &TAG_KEY, k);
        cx.limit(&tp, &TAG_VALUE, v);
        let lower = k.to_ascii_lowercase();
        for prefix in ["aws:", "pipec:"] {
            if lower.starts_with(prefix) {
                cx.at_key(
                    &tp,
                    SemanticError::ReservedTag {
                        key: k.clone(),
                        prefix,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_against_limits() {
        assert!(check_value(&JOB_DESCRIPTION, "Cleans the orders.\nDaily.").is_ok());
        assert!(check_value(&JOB_DESCRIPTION, &"x".repeat(2049)).is_err());
        assert!(check_value(&JOB_DESCRIPTION, "a\u{0}b").is_err());
        assert!(check_value(&COLUMN_COMMENT, "two\nlines").is_err());
        // Bytes, not characters: 128 three-byte characters are 384 bytes.
        assert!(check_value(&COLUMN_NAME, &"日".repeat(100)).is_err());
        assert!(check_value(&TAG_KEY, &"日".repeat(100)).is_ok());
        assert!(check_value(&TAG_VALUE, "").is_err());
        assert!(check_value(&TAG_VALUE, "team-a@example.com").is_ok());
        assert!(check_value(&TAG_VALUE, "a{b}").is_err());
    }

    #[test]
    fn description_budget_counts_the_pipeline_name_not_the_file() {
        let short = pipeline_description_max("etl");
        let long = pipeline_description_max(&"e".repeat(23));
        // The name appears twice: the stack summary and the header.
        assert_eq!(short - long, 2 * (23 - 3));
        assert!(short > 700, "{short}");
    }
}
