//! `pipec check --live`: does the VPC network of each JDBC connection give
//! Glue what AWS documents it needs?
//!
//! In: a validated pipeline, its source file (for locations), a connected
//! `Aws` and its `Target`. Out: the target line, then one located
//! diagnostic per missing piece (`FILE:LINE:COL: error: ...`, hint with the
//! fix and the AWS page), all collected before printing, and an `Outcome`
//! (`Done` when nothing is missing, `Failed` otherwise, `Usage` when EC2
//! cannot be read). Only EC2 Describe* calls are made; nothing is changed.
//!
//! `facts.rs` gathers what EC2 says (`NetworkFacts`); `rules.rs` judges it
//! without any AWS call (`check`), so the rules are unit-tested on their own.

pub mod facts;
pub mod rules;

use super::identity::Target;
use super::{Aws, Outcome};
use crate::diagnostic::Diagnostic;
use crate::model::Connection;
use crate::source::SourceFile;
use indexmap::IndexMap;
use std::io::Write;

/// How results are printed: text for people, or one JSON object per line
/// (the target first, then the diagnostics as `pipec validate --format json`
/// prints them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// The findings as diagnostics located at the connection's values in the
/// pipeline file.
pub fn diagnostics(
    file: &SourceFile,
    findings: &[rules::Finding],
    region: &str,
) -> Vec<Diagnostic> {
    // The validated pipeline keeps no locations; the file parsed before, so
    // parsing it again gives them back.
    let locations = crate::yaml::parse(file).ok().map(|(doc, _)| doc.locations);
    findings
        .iter()
        .map(|f| {
            let span = match &locations {
                Some(l) if f.pointer.ends_with("/security_groups") => l.key(&f.pointer),
                Some(l) => l.value(&f.pointer),
                None => Default::default(),
            };
            Diagnostic::error(f.code(), span, f.message(region)).with_hint(Some(f.hint(region)))
        })
        .collect()
}

/// Says that there is nothing to check: the pipeline has no connections.
/// No AWS call is made for it.
pub fn nothing_to_check(file: &SourceFile, format: Format) {
    let text = format!(
        "{}: no JDBC connections, so nothing to check (no AWS call made)",
        file.name
    );
    let line = match format {
        Format::Text => text,
        Format::Json => {
            serde_json::json!({"event": "nothing-to-check", "detail": text}).to_string()
        }
    };
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Gathers the facts, checks every connection and prints the result.
pub async fn run(
    aws: &Aws,
    file: &SourceFile,
    connections: &IndexMap<String, Connection>,
    format: Format,
    target: &Target,
) -> Outcome {
    let mut stdout = std::io::stdout().lock();
    let line = match format {
        Format::Text => target.line(),
        Format::Json => {
            let mut v = serde_json::json!({"event": "target", "detail": target.line()});
            if let (Some(o), serde_json::Value::Object(extra)) = (v.as_object_mut(), target.json())
            {
                o.extend(extra);
            }
            v.to_string()
        }
    };
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
    drop(stdout);

    let facts = match facts::gather(&aws.ec2, &aws.region, connections).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {}", e.message());
            return Outcome::Usage;
        }
    };
    let findings = rules::check(&facts, connections);
    let diags = diagnostics(file, &findings, &facts.region);
    match format {
        Format::Text => {
            let mut err = std::io::stderr().lock();
            for d in &diags {
                let _ = write!(err, "{}", d.render_text(file));
            }
        }
        Format::Json => {
            let mut out = std::io::stdout().lock();
            for d in &diags {
                let _ = writeln!(out, "{}", d.render_json(file));
            }
        }
    }
    if findings.is_empty() {
        if format == Format::Text {
            let names: Vec<String> = connections
                .iter()
                .map(|(n, c)| format!("`{n}` ({})", c.subnet))
                .collect();
            println!(
                "{}: ok: connection{} {}: subnet, security groups, Amazon S3, Secrets Manager, KMS, Glue and CloudWatch Logs are reachable as AWS documents",
                file.name,
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            );
        }
        return Outcome::Done;
    }
    if format == Format::Text {
        let mut affected: Vec<&str> = findings.iter().map(|f| f.connection.as_str()).collect();
        affected.dedup();
        eprintln!(
            "{}: {} network problem{} in connection{} {}; nothing was changed",
            file.name,
            findings.len(),
            if findings.len() == 1 { "" } else { "s" },
            if affected.len() == 1 { "" } else { "s" },
            affected
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Outcome::Failed
}
