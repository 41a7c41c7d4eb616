//! Glue job scripts: one Python file per stage.
//!
//! In: a `ValidPipeline`. Out: `scripts/<stage>.py` -> contents.
//! (Being written: PySpark and Python shell generation from `templates/`.)

use super::RenderError;
use crate::validate::ValidPipeline;
use std::collections::BTreeMap;

/// Renders the job script of every stage.
pub fn render(v: &ValidPipeline) -> Result<BTreeMap<String, String>, RenderError> {
    let _ = v;
    Ok(BTreeMap::new())
}
