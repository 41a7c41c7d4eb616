//! User text is data: one walk over every string and key of the document.
//!
//! In: the parsed `Document` (JSON value plus locations), before the typed
//! model replaces it. Out: diagnostics for text that CloudFormation or a
//! reviewer would read as something other than plain data. Walking the whole
//! tree covers every field at once, including fields added later; only the
//! top-level `x-` keys (anchors for reuse) are skipped, since their copies are
//! checked where the aliases put them.
//!
//! Also here: the character classes that the names checks and the YAML
//! emitter share, so both agree on what counts as invisible.

use super::SemanticError;
use crate::diagnostic::Diagnostic;
use crate::yaml::{Document, push_pointer};
use serde_json::Value;
use std::borrow::Cow;

/// Checks every string and key of the document.
pub(crate) fn check(doc: &Document) -> Vec<Diagnostic> {
    let mut w = Walk {
        doc,
        path: Vec::new(),
        diags: Vec::new(),
    };
    if let Value::Object(m) = &doc.value {
        for (k, v) in m {
            if k.starts_with("x-") {
                continue;
            }
            w.path.push(Cow::Borrowed(k.as_str()));
            w.key(k);
            w.value(v);
            w.path.pop();
        }
    } else {
        w.value(&doc.value);
    }
    w.diags
}

struct Walk<'a> {
    doc: &'a Document,
    /// Reference tokens of the current node; a pointer is built only to report.
    path: Vec<Cow<'a, str>>,
    diags: Vec<Diagnostic>,
}

impl<'a> Walk<'a> {
    fn pointer(&self) -> String {
        self.path
            .iter()
            .fold(String::new(), |acc, t| push_pointer(&acc, t))
    }

    fn report(&mut self, at_key: bool, e: SemanticError) {
        let p = self.pointer();
        let span = if at_key {
            self.doc.locations.key(&p)
        } else {
            self.doc.locations.value(&p)
        };
        self.diags.push(super::diagnostic(span, &e).about(p));
    }

    fn value(&mut self, v: &'a Value) {
        match v {
            Value::String(s) => self.string(s),
            Value::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    self.path.push(Cow::Owned(i.to_string()));
                    self.value(item);
                    self.path.pop();
                }
            }
            Value::Object(m) => {
                for (k, item) in m {
                    self.path.push(Cow::Borrowed(k.as_str()));
                    self.key(k);
                    self.value(item);
                    self.path.pop();
                }
            }
            _ => {}
        }
    }

    fn key(&mut self, k: &str) {
        if let Some(found) = dynamic_reference(k) {
            self.report(true, SemanticError::DynamicReference { found });
        }
        // Keys name things (columns, frames, arguments, tags), so they are one line.
        if let Some(ch) = k.chars().find(|c| c.is_control() && *c != '\t') {
            self.report(
                true,
                SemanticError::ControlCharacter {
                    what: "this key",
                    ch,
                },
            );
        } else if let Some(ch) = k.chars().find(|c| invisible(*c)) {
            self.report(
                true,
                SemanticError::InvisibleCharacter {
                    name: k.to_string(),
                    ch,
                },
            );
        }
    }

    fn string(&mut self, s: &str) {
        if let Some(found) = dynamic_reference(s) {
            self.report(false, SemanticError::DynamicReference { found });
        }
        // CSV delimiters may be any one character (Hive's default is U+0001).
        let csv_char = self.path.len() == 4
            && self.path[0] == "schemas"
            && self.path[2] == "csv"
            && ["delimiter", "quote", "escape"].contains(&self.path[3].as_ref());
        if !csv_char
            && let Some(ch) = s
                .chars()
                .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            self.report(
                false,
                SemanticError::ControlCharacter {
                    what: "this text",
                    ch,
                },
            );
        }
    }
}

/// The start of a CloudFormation dynamic reference, `{{resolve:`, as written.
///
/// CloudFormation resolves `{{resolve:service:key}}` in any resource property
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references.html).
/// To be safe against variants CloudFormation might still accept, any `{{`
/// followed by optional whitespace and `resolve` in any case is refused.
pub fn dynamic_reference(s: &str) -> Option<String> {
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let trimmed = after.trim_start();
        if trimmed
            .get(..7)
            .is_some_and(|w| w.eq_ignore_ascii_case("resolve"))
        {
            let end = i + 2 + (after.len() - trimmed.len()) + 7;
            return Some(rest[i..end].to_string());
        }
        rest = &rest[i + 1..];
    }
    None
}

/// A map key that CloudFormation reads as an intrinsic function when it is
/// the only key of a map: `Ref`, `Condition` and `Fn::...`
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html).
pub fn intrinsic_key(k: &str) -> bool {
    k == "Ref" || k == "Condition" || k.starts_with("Fn::")
}

/// Characters that draw nothing or reorder what is drawn: Unicode's format
/// characters (category Cf: bidirectional controls, zero-width space and
/// joiners, word joiner, BOM, ...), line and paragraph separators, and the
/// fillers that render as blanks. Names refuse them; the emitter escapes them.
pub fn invisible(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x034F
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0x3164
            | 0xFEFF
            | 0xFFA0
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Why a name is refused for its characters, if it is: a control character
/// or an invisible one.
pub fn name_chars(name: &str) -> Result<(), SemanticError> {
    if let Some(ch) = name.chars().find(|c| invisible(*c)) {
        return Err(SemanticError::InvisibleCharacter {
            name: name.to_string(),
            ch,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_dynamic_references() {
        for s in [
            "{{resolve:secretsmanager:prod/db:SecretString:password}}",
            "x{{resolve:ssm:/a}}@example.com",
            "{{ resolve:ssm:/a}}",
            "{{RESOLVE:ssm:/a}}",
            "{{\tReSoLvE :ssm}}",
            "{{{resolve:ssm:/a}}",
        ] {
            assert!(dynamic_reference(s).is_some(), "{s}");
        }
        for s in [
            "{{ name }}",
            "{resolve:x}",
            "{ {resolve:x}}",
            "resolve",
            "{{res",
        ] {
            assert_eq!(dynamic_reference(s), None, "{s}");
        }
    }

    #[test]
    fn classes() {
        for c in [
            '\u{202E}',
            '\u{2066}',
            '\u{200B}',
            '\u{FEFF}',
            '\u{061C}',
            '\u{E0041}',
        ] {
            assert!(invisible(c), "{c:?}");
        }
        for c in ['a', 'é', '日', ' ', '\u{2010}'] {
            assert!(!invisible(c), "{c:?}");
        }
        assert!(intrinsic_key("Fn::ImportValue") && intrinsic_key("Ref"));
        assert!(!intrinsic_key("ref") && !intrinsic_key("env"));
    }
}
