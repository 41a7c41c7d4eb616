//! The import of a generated Spark script: the names of the pipeline's
//! shared runtime (`pipec_runtime.py`) that the script's own code uses.
//!
//! In: the laid-out Python code of a stage. Out: the import statement, one
//! line or wrapped as `ruff format` wraps it. A name the code does not use is
//! not imported (ruff's F401), and a name it uses always is. The scan reads
//! identifiers outside string literals and comments, and leaves out
//! attribute names (`x.col`) and keyword-argument names (`quote='"'`), so no
//! user text decides what is imported.
//!
//! Every name, `F` and `Window` included, comes from the runtime, so the
//! script has one import block whatever section isort places the runtime
//! module in (third-party or first-party depends on where ruff runs).

use super::py;
use std::collections::BTreeSet;

pub use crate::names::RUNTIME_MODULE;

/// Every name the runtime exports. The template defines each; `exports`
/// says which of them a pipeline's runtime holds.
pub const RUNTIME_NAMES: &[&str] = &[
    "F",
    "Window",
    "check_casts",
    "check_quality",
    "col",
    "conform",
    "jdbc_options",
    "merge_source",
    "observed",
    "observed_merge",
    "quote",
    "read_iceberg",
    "read_jdbc",
    "schema_of",
    "start",
    "write_iceberg",
    "write_jdbc",
];

/// The runtime names used as identifiers in `code`.
pub fn used(code: &str) -> BTreeSet<&'static str> {
    let b = code.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'"' || c == b'\'' {
            i = skip_string(b, i);
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let attribute = start > 0 && b[start - 1] == b'.';
            let keyword = b.get(i) == Some(&b'=') && b.get(i + 1) != Some(&b'=');
            if !attribute
                && !keyword
                && let Some(name) = RUNTIME_NAMES.iter().find(|n| **n == &code[start..i])
            {
                out.insert(*name);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The index just past the string literal that opens at `i` (single, double
/// or triple quotes; backslash escapes).
fn skip_string(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let triple = b.len() >= i + 3 && b[i + 1] == q && b[i + 2] == q;
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < b.len() {
        if b[j] == b'\\' {
            j += 2;
        } else if b[j] == q && (!triple || (b.len() >= j + 3 && b[j + 1] == q && b[j + 2] == q)) {
            return j + if triple { 3 } else { 1 };
        } else {
            j += 1;
        }
    }
    j
}

/// `from pipec_runtime import ...` of these names, in isort's order (classes,
/// then functions, each alphabetical), wrapped one name a line when the
/// statement is longer than ruff's line length.
pub fn statement(names: &BTreeSet<&str>) -> String {
    let mut sorted: Vec<&str> = names.iter().copied().collect();
    // isort's order by type: CamelCase (and one capital letter) before the rest.
    sorted.sort_by_key(|n| (!n.starts_with(|c: char| c.is_ascii_uppercase()), *n));
    let line = format!("from {RUNTIME_MODULE} import {}", sorted.join(", "));
    if line.chars().count() <= py::WIDTH {
        return line;
    }
    let mut out = format!("from {RUNTIME_MODULE} import (\n");
    for n in sorted {
        out.push_str(&format!("    {n},\n"));
    }
    out.push(')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_identifiers_outside_strings_comments_and_keywords_count() {
        let code = "x = col(\"a\")  # conform(\nread(quote='\"', y=F.lit(1))\n\
                    s = \"start(\" + 'check_quality(' + \"\"\"schema_of(\"\"\"\nz.snake_case(w)\n";
        assert_eq!(used(code), ["F", "col"].into());
        assert_eq!(used("a = b == conform"), ["conform"].into());
        assert_eq!(used("'it\\'s col'"), BTreeSet::new());
    }

    #[test]
    fn the_statement_is_sorted_by_type_and_wrapped() {
        let names: BTreeSet<&str> = ["start", "col", "Window", "F"].into();
        assert_eq!(
            statement(&names),
            "from pipec_runtime import F, Window, col, start"
        );
        let all: BTreeSet<&str> = RUNTIME_NAMES.iter().copied().collect();
        let text = statement(&all);
        assert!(text.starts_with("from pipec_runtime import (\n    F,\n    Window,\n"));
        assert!(text.ends_with("    start,\n    write_iceberg,\n    write_jdbc,\n)"));
    }
}
