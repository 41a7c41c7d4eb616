//! Casts: the target type, the datetime `format`, numeric `clean` and the
//! `on_invalid` policy of one `cast` entry.
//!
//! In: one cast entry and the type of its column before the cast, when
//! known. Out: diagnostics, and whether the target type is usable (so the
//! column tracker can record it).
//!
//! Datetime patterns are checked against the pattern letters of Spark 3.5
//! (https://spark.apache.org/docs/3.5.0/sql-ref-datetime-pattern.html), as
//! `to_timestamp` and `to_date` parse with them. The letter counts below were
//! also checked on local PySpark 3.5: each accepted count builds a parser, each
//! refused one raises an error at run time. Letters Spark's parser takes but
//! its page does not document (`g`, `v`) are refused.

use super::{Ctx, SemanticError, rules};
use crate::model::CastSpec;
use crate::yaml::push_pointer;

/// The types a `format` can parse into.
pub fn is_datetime(ty: &str) -> bool {
    matches!(
        ty.trim().to_ascii_lowercase().as_str(),
        "date" | "timestamp"
    )
}

fn is_text(ty: &str) -> bool {
    let t = ty.trim().to_ascii_lowercase();
    t == "string" || t.starts_with("varchar") || t.starts_with("char")
}

/// The counts of a parsing pattern letter that Spark 3.5 accepts, or why the
/// letter cannot be used for parsing at all.
fn letter_counts(c: char) -> Result<&'static [usize], String> {
    Ok(match c {
        'G' | 'M' | 'L' | 'z' => &[1, 2, 3, 4],
        'y' => &[1, 2, 3, 4, 5, 6],
        'D' => &[1, 2, 3],
        'd' | 'h' | 'K' | 'k' | 'H' | 'm' | 's' => &[1, 2],
        'a' => &[1],
        'S' => &[1, 2, 3, 4, 5, 6, 7, 8, 9],
        'V' => &[2],
        'O' => &[1, 4],
        'X' | 'x' | 'Z' => &[1, 2, 3, 4, 5],
        'E' | 'F' | 'Q' | 'q' => {
            return Err(format!(
                "`{c}` only formats dates in Spark; it cannot be used to parse them"
            ));
        }
        'Y' | 'w' | 'W' | 'u' | 'e' | 'c' => {
            return Err(format!(
                "`{c}` is a week-based field, which Spark 3 no longer supports; use `y` for the year and `d` or `D` for the day"
            ));
        }
        _ => {
            return Err(format!(
                "`{c}` is not a Spark pattern letter; put literal text in single quotes, for example `'T'`"
            ));
        }
    })
}

/// Checks a Spark datetime parsing pattern. The error names the offending
/// part and its position (1-based, in characters).
pub fn datetime_pattern(pattern: &str) -> Result<(), String> {
    let chars: Vec<char> = pattern.chars().collect();
    if pattern.trim().is_empty() {
        return Err("the pattern is empty; for example `yyyy-MM-dd HH:mm:ss`".into());
    }
    let mut i = 0;
    let mut depth = 0usize;
    let mut fields = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        if c == '\'' {
            // `''` is a literal quote; otherwise text runs to the next quote.
            if chars.get(i + 1) == Some(&'\'') {
                i += 2;
                continue;
            }
            let Some(close) = chars[i + 1..].iter().position(|&q| q == '\'') else {
                return Err(format!(
                    "the quote at character {at} is never closed; write `''` for a literal quote"
                ));
            };
            i += close + 2;
            continue;
        }
        if c == '[' {
            depth += 1;
            i += 1;
            continue;
        }
        if c == ']' {
            if depth == 0 {
                return Err(format!(
                    "`]` at character {at} closes no optional section `[`"
                ));
            }
            depth -= 1;
            i += 1;
            continue;
        }
        if matches!(c, '{' | '}' | '#') {
            return Err(format!(
                "`{c}` at character {at} is reserved in Spark patterns; quote it: `'{c}'`"
            ));
        }
        if !c.is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        let counts = letter_counts(c).map_err(|e| format!("{e} (character {at})"))?;
        if !counts.contains(&n) {
            let run: String = std::iter::repeat_n(c, n).collect();
            let (first, last) = (counts[0], counts[counts.len() - 1]);
            let allowed = if counts.len() == 1 {
                format!("exactly {first}")
            } else if last - first + 1 == counts.len() {
                format!("{first} to {last}")
            } else {
                format!("{first} or {last}")
            };
            return Err(format!(
                "`{run}` at character {at}: Spark parses `{c}` with {allowed} letters"
            ));
        }
        fields += 1;
        i += n;
    }
    // Spark closes optional sections left open at the end, so `depth > 0` is fine.
    if fields == 0 {
        return Err(
            "the pattern has no field letters (`yyyy`, `MM`, `dd`, `HH`, ...), only literal text"
                .into(),
        );
    }
    Ok(())
}

fn separator(s: &str) -> Result<(), String> {
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c), None) if c.is_ascii_digit() || c == '-' || c == '+' => Err(format!(
            "`{c}` is part of a number; a separator is another character"
        )),
        (Some(_), None) => Ok(()),
        _ => Err("a separator is one character".into()),
    }
}

/// Checks one cast entry at `p` (the pointer of `cast/<column>`). `from` is
/// the column's type before the cast, when known. Returns whether the target
/// type is valid.
pub(super) fn check(
    cx: &mut Ctx,
    p: &str,
    column: &str,
    spec: &CastSpec,
    from: Option<&str>,
) -> bool {
    let ty = spec.ty();
    let tp = match spec {
        CastSpec::Type(_) => p.to_string(),
        CastSpec::Full(_) => push_pointer(p, "type"),
    };
    if let Err(reason) = rules::hive_type(ty) {
        cx.at_value(
            &tp,
            SemanticError::BadValue {
                what: "type",
                value: ty.to_string(),
                reason,
            },
        );
        return false;
    }
    let CastSpec::Full(full) = spec else {
        return true;
    };
    if let Some(f) = &full.format {
        let fp = push_pointer(p, "format");
        if !is_datetime(ty) {
            cx.at_value(
                &fp,
                SemanticError::CastOption {
                    option: "format",
                    column: column.to_string(),
                    reason: format!(
                        "parses text into a date or timestamp, and this cast is to `{ty}`"
                    ),
                },
            );
        } else if let Err(reason) = datetime_pattern(f) {
            cx.at_value(
                &fp,
                SemanticError::BadValue {
                    what: "datetime pattern",
                    value: f.clone(),
                    reason,
                },
            );
        }
        if let Some(t) = from.filter(|t| !is_text(t)) {
            cx.at_value(
                &fp,
                SemanticError::CastOption {
                    option: "format",
                    column: column.to_string(),
                    reason: format!("parses text, and the column is `{t}` here"),
                },
            );
        }
    }
    if let Some(clean) = &full.clean {
        let cp = push_pointer(p, "clean");
        if !rules::is_numeric(&ty.trim().to_ascii_lowercase()) {
            cx.at_value(
                &cp,
                SemanticError::CastOption {
                    option: "clean",
                    column: column.to_string(),
                    reason: format!("prepares text for a numeric cast, and this cast is to `{ty}`"),
                },
            );
        }
        if let Some(t) = from.filter(|t| !is_text(t)) {
            cx.at_value(
                &cp,
                SemanticError::CastOption {
                    option: "clean",
                    column: column.to_string(),
                    reason: format!("cleans text, and the column is `{t}` here"),
                },
            );
        }
        for (key, value) in [("thousands", &clean.thousands), ("decimal", &clean.decimal)] {
            if let Some(v) = value
                && let Err(reason) = separator(v)
            {
                cx.at_value(
                    &push_pointer(&cp, key),
                    SemanticError::BadValue {
                        what: "separator",
                        value: v.clone(),
                        reason,
                    },
                );
            }
        }
        if let (Some(t), Some(d)) = (&clean.thousands, &clean.decimal)
            && t == d
        {
            cx.at_value(
                &push_pointer(&cp, "decimal"),
                SemanticError::Conflict {
                    what: format!("`{d}` is both the thousands and the decimal separator"),
                    reason: "a number has one decimal separator; give the other one to `thousands`",
                },
            );
        }
        if !clean.trim && clean.thousands.is_none() && clean.decimal.is_none() {
            cx.at_value(
                &cp,
                SemanticError::Missing {
                    what: "`clean` does nothing without `trim`, `thousands` or `decimal`".into(),
                    hint: Some("for example `clean: {trim: true, thousands: \",\"}`"),
                },
            );
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        for ok in [
            "M/d/yyyy H:mm",
            "yyyy-MM-dd HH:mm:ss",
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            "dd.MM.yy[ HH:mm]",
            "yyyy''MM",
            "d MMM yyyy",
            "[yyyy",
        ] {
            assert_eq!(datetime_pattern(ok), Ok(()), "{ok}");
        }
        for bad in [
            "YYYY-MM-dd",
            "yyyy-MM-dd T HH",
            "EEE, d MMM yyyy",
            "yyyy-MM-ddd",
            "yyyy'T",
            "yyyy]",
            "yyyy-MM-dd OO",
            "",
            "'only text'",
            "MMMMM yyyy",
        ] {
            assert!(datetime_pattern(bad).is_err(), "{bad}");
        }
        assert!(
            datetime_pattern("yyyy-MM-dd T")
                .unwrap_err()
                .contains("character 12")
        );
    }
}
