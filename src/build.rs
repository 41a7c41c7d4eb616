//! `build` and `build --check`: the only code that writes generated files.
//!
//! In: rendered files of one pipeline and the output folder. Out: the files
//! written (only those whose contents changed, and stale ones removed), or,
//! with `--check`, a unified diff of what is out of date, writing nothing.

use crate::render::Rendered;
use similar::TextDiff;
use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

/// Sub-folders of a pipeline's output folder that pipec owns entirely.
const OWNED: [&str; 2] = ["stacks", "scripts"];

/// What differs between rendered files and a folder.
#[derive(Debug, Default)]
pub struct Changes {
    /// Relative paths with their old (if any) and new (if any) contents.
    pub changed: Vec<(String, Option<String>, Option<String>)>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty()
    }

    /// A unified diff of every change, with paths shown under `dir`.
    pub fn unified_diff(&self, dir: &Path) -> String {
        let mut out = String::new();
        for (path, old, new) in &self.changed {
            let shown = dir.join(path).display().to_string();
            let old_s = old.as_deref().unwrap_or("");
            let new_s = new.as_deref().unwrap_or("");
            let diff = TextDiff::from_lines(old_s, new_s);
            let a = if old.is_some() {
                format!("a/{shown}")
            } else {
                "/dev/null".into()
            };
            let b = if new.is_some() {
                format!("b/{shown}")
            } else {
                "/dev/null".into()
            };
            out.push_str(
                &diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&a, &b)
                    .to_string(),
            );
        }
        out
    }
}

/// Compares rendered files with the pipeline's folder.
pub fn compare(rendered: &Rendered, dir: &Path) -> io::Result<Changes> {
    let mut changes = Changes::default();
    for (path, new) in &rendered.files {
        match std::fs::read_to_string(dir.join(path)) {
            Ok(old) if &old == new => {}
            Ok(old) => changes
                .changed
                .push((path.clone(), Some(old), Some(new.clone()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                changes
                    .changed
                    .push((path.clone(), None, Some(new.clone())))
            }
            Err(e) => return Err(e),
        }
    }
    for path in existing(dir)? {
        if !rendered.files.contains_key(&path) {
            let old = std::fs::read_to_string(dir.join(&path)).unwrap_or_default();
            changes.changed.push((path, Some(old), None));
        }
    }
    changes.changed.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(changes)
}

/// Files pipec owns in a pipeline folder: the manifest and everything under
/// `stacks/` and `scripts/`.
fn existing(dir: &Path) -> io::Result<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    if dir.join("manifest.yaml").is_file() {
        found.insert("manifest.yaml".to_string());
    }
    for sub in OWNED {
        let d = dir.join(sub);
        if !d.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                found.insert(format!("{sub}/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    Ok(found)
}

/// Writes what changed and removes what is no longer rendered.
pub fn write(changes: &Changes, dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut touched = Vec::new();
    for (path, _, new) in &changes.changed {
        let full = dir.join(path);
        match new {
            Some(text) => {
                if let Some(parent) = full.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&full, text)?;
            }
            None => std::fs::remove_file(&full)?,
        }
        touched.push(full);
    }
    Ok(touched)
}
