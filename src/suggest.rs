//! "Did you mean ...?" hints.
//!
//! In: a misspelt name and the names that would be valid there. Out: a hint
//! naming the closest valid name, when one is close enough to be a typo.

/// The valid name nearest to `name`, as a ready-made hint.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    nearest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// The candidate nearest to `name` by edit distance, if it is close enough:
/// at most a third of the name's length, and never for very short names
/// unless only case or separators differ.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let folded = fold(name);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let d = if fold(c) == folded {
            0
        } else {
            strsim::damerau_levenshtein(name, c)
        };
        let limit = (name.chars().count().max(c.chars().count()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Lowercase without `_`, `-` and spaces, so `worker-type` finds `worker_type`
/// and `Event Id` finds `event_id`.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_separator_changes() {
        let keys = ["inputs", "outputs", "steps", "worker_type"];
        assert_eq!(nearest("inptus", keys), Some("inputs"));
        assert_eq!(nearest("worker-type", keys), Some("worker_type"));
        assert_eq!(nearest("stpes", keys), Some("steps"));
        assert_eq!(nearest("zzzzzz", keys), None);
    }
}
