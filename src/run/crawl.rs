//! PLACEHOLDER (h9-local): the seam to local crawlers. The lead replaces this
//! file at merge with h9-crawl's real one, which infers schemas and
//! partitions and writes the local catalog.
//!
//! In: a pipeline, a crawler's name, the local layout and the Python to use.
//! Out: what the crawler found (here: nothing).

use super::layout::LocalLayout;
use super::status::CrawlReport;
use crate::validate::ValidPipeline;
use std::path::Path;

/// Crawls the tables of `crawler`. Placeholder: finds nothing.
pub fn crawl(
    pipeline: &ValidPipeline,
    crawler: &str,
    layout: &LocalLayout,
    python: &Path,
) -> Result<CrawlReport, String> {
    let _ = (pipeline, crawler, layout, python);
    Ok(CrawlReport::default())
}
