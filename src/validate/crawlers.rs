//! Crawlers: what they crawl and how they treat schema changes.
//!
//! In: the `crawlers` section. Out: diagnostics for unknown tables and
//! settings Glue refuses.

use super::*;

pub(super) fn check_crawlers(cx: &mut Ctx) {
    let p = cx.p;
    for (name, c) in &p.crawlers {
        if c.tables.is_empty() {
            cx.at_value(
                &ptr(&["crawlers", name, "tables"]),
                SemanticError::Missing {
                    what: "a crawler needs at least one table".into(),
                    hint: None,
                },
            );
        }
        let mut seen = Vec::new();
        for (i, t) in c.tables.iter().enumerate() {
            let tp = ptr(&["crawlers", name, "tables", &i.to_string()]);
            match p.schemas.get(t) {
                None => cx.unknown(&tp, "table", t, p.schemas.keys().cloned()),
                Some(s) if s.zone.is_none() => cx.at_value(
                    &tp,
                    SemanticError::Conflict {
                        what: format!("table `{t}` is a JDBC table"),
                        reason: "pipec's crawlers keep S3 zone tables up to date",
                    },
                ),
                _ => {}
            }
            if seen.contains(&t) {
                cx.at_value(
                    &tp,
                    SemanticError::Duplicate {
                        what: "crawled table",
                        name: t.clone(),
                    },
                );
            }
            seen.push(t);
        }
    }
}
