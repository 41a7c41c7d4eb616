//! The typed hand-off from validation to rendering: every frame's columns.
//!
//! In: what `columns` computes while it checks a Spark stage. Out:
//! `StageFrames`, the columns (name and Hive type) of every frame of the
//! stage at its start and after each of its steps. Renderers read these
//! instead of tracking columns themselves, so a script never has to discover
//! a schema at run time, and the rules that name columns (join prefixes and
//! renames) are written once, here, for both.

use crate::model::{Join, JoinKey};
use indexmap::IndexMap;

/// One column of a frame: the SQL checker's type, shared so that a `sql`
/// step hands its derived columns on unchanged.
pub use crate::sql::Column;

/// The columns of one frame: where it starts, and after each step.
#[derive(Debug, Clone, Default)]
pub struct FrameColumns {
    pub start: Vec<Column>,
    /// `steps[i]` holds the columns after step `i`.
    pub steps: Vec<Vec<Column>>,
}

impl FrameColumns {
    /// The columns before step `i` (the start for the first step).
    pub fn before(&self, i: usize) -> &[Column] {
        match i {
            0 => &self.start,
            _ => &self.steps[i - 1],
        }
    }
    /// The columns after step `i`.
    pub fn after(&self, i: usize) -> &[Column] {
        &self.steps[i]
    }
    /// The columns after the last step.
    pub fn end(&self) -> &[Column] {
        self.steps.last().unwrap_or(&self.start)
    }
}

/// Every frame of a Spark stage: inputs (by frame name), named frames and
/// `main`, in the order the script builds them.
#[derive(Debug, Clone, Default)]
pub struct StageFrames {
    pub frames: IndexMap<String, FrameColumns>,
}

impl StageFrames {
    /// A frame by name. Validation made every frame the stage uses, so a
    /// missing one is a bug in pipec.
    pub fn frame(&self, name: &str) -> &FrameColumns {
        self.frames
            .get(name)
            .unwrap_or_else(|| panic!("validation records every frame, not `{name}`"))
    }
}

pub use crate::names::same_name;

/// The position of a column by name: exact first, then ignoring case, as
/// Spark resolves names.
pub fn find_column(cols: &[Column], name: &str) -> Option<usize> {
    cols.iter()
        .position(|c| c.name == name)
        .or_else(|| cols.iter().position(|c| same_name(&c.name, name)))
}

/// The keys of a join named the same on both sides: they appear once in
/// the result, as in a join `USING` them.
pub fn same_keys(j: &Join) -> Vec<&str> {
    j.on.iter()
        .filter_map(|k| match k {
            JoinKey::Same(n) => Some(n.as_str()),
            JoinKey::Pair(_) => None,
        })
        .collect()
}

/// A right-side column of a join, under each of its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RightColumn {
    /// Its name in the right frame.
    pub from: String,
    /// After the join's `rename`: the name `on` refers to.
    pub renamed: String,
    /// After `prefix` too: its name in the join's result.
    pub name: String,
}

/// The right side's columns of a join as the join sees them: first the
/// join's `rename`, then `prefix` on each column whose name clashes with a
/// left-side column (keys named alike excepted). One entry per right-side
/// column, in order.
pub fn join_right_names(left: &[Column], right: &[Column], j: &Join) -> Vec<RightColumn> {
    let same = same_keys(j);
    right
        .iter()
        .map(|c| {
            let renamed = j
                .rename
                .iter()
                .find(|(old, _)| **old == c.name)
                .or_else(|| j.rename.iter().find(|(old, _)| same_name(old, &c.name)))
                .map_or_else(|| c.name.clone(), |(_, new)| new.clone());
            let mut name = renamed.clone();
            if let Some(prefix) = &j.prefix
                && !same.iter().any(|k| same_name(k, &renamed))
                && find_column(left, &renamed).is_some()
            {
                name = format!("{prefix}{renamed}");
            }
            RightColumn {
                from: c.name.clone(),
                renamed,
                name,
            }
        })
        .collect()
}
