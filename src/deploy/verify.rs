//! The committed output is untrusted input: `pipec diff` runs on pull
//! requests before anyone has reviewed them.
//!
//! In: a pipeline's folder under `generated/`, the paths its manifest names,
//! and the manifest's `source:` (the pipeline file, relative to the folder).
//! Out: file texts read only from inside the folder (no absolute paths, no
//! `..`, no symlink anywhere below `generated/`), and `Finding`s: the files
//! that differ from what the source renders today, or why the source could
//! not be checked. `deploy` refuses findings unless `--allow-edited`; `diff`
//! shows them as warnings.

use std::collections::BTreeMap;
use std::path::{Component, Path};

/// Why a path named by a manifest is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Absolute, `..`, `.` or empty: it could leave the folder.
    Outside { path: String },
    /// The file or a folder on the way to it is a symlink.
    Symlink { path: String, link: String },
    /// Not a regular file (a folder, a FIFO, a device).
    NotFile { path: String },
    /// Missing or unreadable.
    Io { path: String, detail: String },
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Refusal::Outside { path } => format!(
                "`{path}` points outside the pipeline's folder; manifest paths must be relative and stay inside it"
            ),
            Refusal::Symlink { path, link } => format!(
                "`{path}` is refused: {link} is a symlink, and files under generated/ must be regular files"
            ),
            Refusal::NotFile { path } => format!("`{path}` is not a regular file"),
            Refusal::Io { path, detail } => format!("cannot read `{path}`: {detail}"),
        }
    }

    /// True for refusals that mean tampering rather than a stale build.
    pub fn is_untrusted(&self) -> bool {
        !matches!(self, Refusal::Io { .. })
    }
}

/// Reads `rel` inside `dir`, refusing any path that could leave it and any
/// symlink from `dir` down to the file (checked with `symlink_metadata`).
pub fn read_inside(dir: &Path, rel: &str) -> Result<String, Refusal> {
    let outside = || Refusal::Outside {
        path: rel.to_string(),
    };
    if rel.is_empty() || rel.contains('\0') || rel.contains('\\') {
        return Err(outside());
    }
    let io = |e: std::io::Error| Refusal::Io {
        path: rel.to_string(),
        detail: e.to_string(),
    };
    let mut cur = dir.to_path_buf();
    let top = std::fs::symlink_metadata(&cur).map_err(io)?;
    if top.file_type().is_symlink() {
        return Err(Refusal::Symlink {
            path: rel.to_string(),
            link: cur.display().to_string(),
        });
    }
    let mut meta = top;
    for c in Path::new(rel).components() {
        let Component::Normal(name) = c else {
            return Err(outside());
        };
        cur.push(name);
        meta = std::fs::symlink_metadata(&cur).map_err(io)?;
        if meta.file_type().is_symlink() {
            return Err(Refusal::Symlink {
                path: rel.to_string(),
                link: cur.display().to_string(),
            });
        }
    }
    if !meta.file_type().is_file() {
        return Err(Refusal::NotFile {
            path: rel.to_string(),
        });
    }
    if meta.len() > crate::MAX_FILE_BYTES {
        return Err(Refusal::Io {
            path: rel.to_string(),
            detail: format!("larger than {} MiB", crate::MAX_FILE_BYTES / 1024 / 1024),
        });
    }
    std::fs::read_to_string(&cur).map_err(io)
}

/// A way the committed files differ from what their source renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A file differs from the rendered one, is missing, or is not rendered.
    Edited { file: String, source: String },
    /// The source could not be read.
    SourceMissing { source: String, detail: String },
    /// The source has errors, so it renders nothing to compare with.
    SourceInvalid { source: String, errors: usize },
    /// The source declares another pipeline.
    SourceOther {
        source: String,
        declared: String,
        manifest: String,
    },
}

impl Finding {
    pub fn message(&self) -> String {
        match self {
            Finding::Edited { file, source } => format!(
                "{file} differs from what {source} renders (edited by hand?); run `pipec build {source}`"
            ),
            Finding::SourceMissing { source, detail } => format!(
                "cannot find the pipeline source {source} that the manifest names ({detail}), so the generated files cannot be checked against it"
            ),
            Finding::SourceInvalid { source, errors } => format!(
                "the pipeline source {source} has {errors} error(s), so the generated files cannot be checked against it"
            ),
            Finding::SourceOther {
                source,
                declared,
                manifest,
            } => format!(
                "the pipeline source {source} declares pipeline `{declared}`, but the manifest is for `{manifest}`"
            ),
        }
    }
}

/// Re-renders the pipeline the manifest names and compares every file.
///
/// `source` is the manifest's `source:` (relative to `dir`), `pipeline` its
/// pipeline name, and `read` the files already read from `dir` by their
/// relative paths (manifest, templates, scripts).
pub fn check_rendered(
    dir: &Path,
    source: Option<&str>,
    pipeline: &str,
    env: Option<&str>,
    read: &BTreeMap<String, String>,
) -> Vec<Finding> {
    let Some(source) = source else {
        return vec![Finding::SourceMissing {
            source: "(none)".into(),
            detail: "the manifest has no `source:`".into(),
        }];
    };
    let path = dir.join(source);
    let shown = lexical(&path);
    let missing = |detail: String| {
        vec![Finding::SourceMissing {
            source: shown.clone(),
            detail: format!("`source: {source}`: {detail}"),
        }]
    };
    if Path::new(source).is_absolute() {
        return missing("an absolute path, which pipec never writes".into());
    }
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return missing("not a regular file".into()),
        Err(e) => return missing(e.to_string()),
    }
    // An environment's files are compared with that environment's overlay.
    let choice = crate::Envs::from_flag(env, crate::Envs::Base);
    let loaded = match crate::load_path_envs(&path, choice) {
        Ok(l) => l,
        Err(e) => return missing(e.to_string()),
    };
    if loaded.errors() == 0
        && let Some(problem) = loaded.env_problem(env)
    {
        return missing(problem);
    }
    let Some(valid) = loaded.pipelines.first() else {
        return vec![Finding::SourceInvalid {
            source: shown,
            errors: loaded.errors(),
        }];
    };
    let declared = &valid.pipeline().pipeline;
    if declared != pipeline {
        return vec![Finding::SourceOther {
            source: shown,
            declared: declared.clone(),
            manifest: pipeline.to_string(),
        }];
    }
    let rendered = match crate::render::render_with_source(valid, Some(source)) {
        Ok(r) => r.files,
        Err(e) => return missing(e.message()),
    };
    let mut edited = Vec::new();
    for (rel, text) in &rendered {
        let have = match read.get(rel) {
            Some(t) => Some(t.clone()),
            None => read_inside(dir, rel).ok(),
        };
        if have.as_ref() != Some(text) {
            edited.push(rel.clone());
        }
    }
    edited.extend(read.keys().filter(|k| !rendered.contains_key(*k)).cloned());
    edited.sort();
    edited.dedup();
    edited
        .into_iter()
        .map(|rel| Finding::Edited {
            file: dir.join(rel).display().to_string(),
            source: shown.clone(),
        })
        .collect()
}

/// A path for messages with `.` and inner `..` resolved by text alone
/// (`generated/etl/../../pipelines/etl.yaml` is `pipelines/etl.yaml`).
fn lexical(p: &Path) -> String {
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    let shown: std::path::PathBuf = out.iter().collect();
    if shown.as_os_str().is_empty() {
        ".".into()
    } else {
        shown.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_could_leave_the_folder_are_refused() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated/etl/dev");
        for bad in [
            "../../Cargo.toml",
            "/etc/passwd",
            "",
            "./manifest.yaml",
            "a\\b",
        ] {
            assert!(
                matches!(read_inside(&dir, bad), Err(Refusal::Outside { .. })),
                "{bad}"
            );
        }
        assert!(read_inside(&dir, "manifest.yaml").is_ok());
        assert_eq!(
            lexical(Path::new("generated/etl/../../pipelines/etl.yaml")),
            "pipelines/etl.yaml"
        );
        assert_eq!(lexical(Path::new("../x/./y")), "../x/y");
        assert!(matches!(
            read_inside(&dir, "stacks"),
            Err(Refusal::NotFile { .. })
        ));
    }
}
