//! Stages: kinds, inputs, outputs, scripts, downloads and frames.
//!
//! In: the `stages` section. Out: diagnostics for references, write modes and
//! the users' own scripts (read once here, so renderers stay pure); the columns
//! of every frame are checked by `columns`.

use super::settings::check_settings;
use super::*;

pub(super) fn check_stages(cx: &mut Ctx, base_dir: &Path) {
    let p = cx.p;
    if p.stages.is_empty() {
        cx.empty_section(
            "stages",
            SemanticError::Missing {
                what: "a pipeline needs at least one stage".into(),
                hint: None,
            },
        );
    }
    for (name, s) in &p.stages {
        let base = ptr(&["stages", name]);
        check_settings(cx, &base, s);
        check_arguments(cx, &["stages", name, "arguments"], &s.arguments);
        let shell = s.kind == StageKind::PythonShell;
        if let Some(script) = &s.script {
            let sp = push_pointer(&base, "script");
            if Path::new(script).is_absolute() || script.split(['/', '\\']).any(|c| c == "..") {
                cx.at_value(
                    &sp,
                    SemanticError::BadValue {
                        what: "script path",
                        value: script.clone(),
                        reason: "give a path inside the repository, relative to the pipeline file"
                            .into(),
                    },
                );
            } else if !script.ends_with(".py") {
                cx.at_value(
                    &sp,
                    SemanticError::BadValue {
                        what: "script path",
                        value: script.clone(),
                        reason: "Glue runs Python scripts (`.py`)".into(),
                    },
                );
            } else {
                let full = base_dir.join(script);
                match std::fs::read_to_string(&full) {
                    Ok(text) => {
                        cx.user_scripts.insert(name.clone(), text);
                    }
                    Err(e) => cx.at_value(
                        &sp,
                        SemanticError::BadValue {
                            what: "script path",
                            value: script.clone(),
                            reason: if full.is_file() {
                                format!("cannot read {}: {e}", full.display())
                            } else {
                                format!("no such file next to the pipeline ({})", full.display())
                            },
                        },
                    ),
                }
            }
            for (key, set) in [
                ("steps", !s.steps.is_empty()),
                ("frames", !s.frames.is_empty()),
                ("download", s.download.is_some()),
            ] {
                if set {
                    cx.at_key(&push_pointer(&base, key), SemanticError::Conflict { what: format!("`{key}` and `script` cannot be used together"), reason: "pipec generates code from steps only when you do not bring your own script" });
                }
            }
        }
        if let Some(d) = &s.download {
            let dp = push_pointer(&base, "download");
            if !shell {
                cx.at_key(
                    &dp,
                    SemanticError::Conflict {
                        what: "`download` runs in a Python shell stage".into(),
                        reason: "add `kind: python-shell` to this stage",
                    },
                );
            }
            if !d.url.starts_with("https://")
                || d.url.len() <= "https://".len()
                || d.url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                cx.at_value(
                    &push_pointer(&dp, "url"),
                    SemanticError::BadValue {
                        what: "URL",
                        value: d.url.clone(),
                        reason: "downloads use an `https://` URL".into(),
                    },
                );
            }
            if !d.members.is_empty() && !d.unzip {
                cx.at_key(
                    &push_pointer(&dp, "members"),
                    SemanticError::Conflict {
                        what: "`members` selects files inside a zip archive".into(),
                        reason: "set `unzip: true` too",
                    },
                );
            }
            match p.schemas.get(&d.to) {
                None => cx.unknown(
                    &push_pointer(&dp, "to"),
                    "table",
                    &d.to,
                    p.schemas.keys().cloned(),
                ),
                Some(t) if t.zone.is_none() => cx.at_value(
                    &push_pointer(&dp, "to"),
                    SemanticError::Conflict {
                        what: format!("table `{}` is a JDBC table", d.to),
                        reason: "downloads land in a zone table",
                    },
                ),
                _ => {}
            }
        }
        if shell {
            for (key, set) in [
                ("steps", !s.steps.is_empty()),
                ("frames", !s.frames.is_empty()),
            ] {
                if set {
                    cx.at_key(
                        &push_pointer(&base, key),
                        SemanticError::Conflict {
                            what: format!("`{key}` needs a Spark stage"),
                            reason: "Python shell stages run `download` or your own `script`",
                        },
                    );
                }
            }
            if s.download.is_none() && s.script.is_none() {
                cx.at_key(
                    &base,
                    SemanticError::Missing {
                        what: format!("Python shell stage `{name}` needs `download` or `script`"),
                        hint: None,
                    },
                );
            }
        } else if s.script.is_none() {
            if s.inputs.is_empty() {
                cx.at_key(
                    &base,
                    SemanticError::Missing {
                        what: format!("stage `{name}` reads nothing: add `inputs`"),
                        hint: Some("or bring your own code with `script`"),
                    },
                );
            }
            if s.outputs.is_empty() {
                cx.at_key(
                    &base,
                    SemanticError::Missing {
                        what: format!("stage `{name}` writes nothing: add `outputs`"),
                        hint: None,
                    },
                );
            }
        }
        // Inputs and outputs exist; frame names are unique.
        let mut frames_seen: HashMap<&str, usize> = HashMap::new();
        for (i, input) in s.inputs.iter().enumerate() {
            let ip = ptr(&["stages", name, "inputs", &i.to_string()]);
            let tp = match input {
                Input::Table(_) => ip.clone(),
                Input::Aliased(_) => push_pointer(&ip, "table"),
            };
            if !p.schemas.contains_key(input.table()) {
                cx.unknown(&tp, "table", input.table(), p.schemas.keys().cloned());
            }
            if let Input::Aliased(a) = input
                && let Some(alias) = &a.alias
                && let Err(reason) = rules::frame_name(alias)
            {
                cx.at_value(
                    &push_pointer(&ip, "as"),
                    SemanticError::BadName {
                        what: "frame",
                        name: alias.clone(),
                        reason,
                    },
                );
            }
            if frames_seen.insert(input.frame(), i).is_some() {
                cx.at_value(
                    &ip,
                    SemanticError::Duplicate {
                        what: "input frame",
                        name: input.frame().to_string(),
                    },
                );
            }
        }
        let mut written: HashMap<&str, usize> = HashMap::new();
        for (i, o) in s.outputs.iter().enumerate() {
            let op = ptr(&["stages", name, "outputs", &i.to_string()]);
            match p.schemas.get(&o.table) {
                None => cx.unknown(
                    &push_pointer(&op, "table"),
                    "table",
                    &o.table,
                    p.schemas.keys().cloned(),
                ),
                Some(t) => {
                    super::iceberg::check_output(cx, &op, o, t);
                    if t.connection.is_some() && o.compression.is_some() {
                        cx.at_key(
                            &push_pointer(&op, "compression"),
                            SemanticError::Conflict {
                                what: "`compression` is for files".into(),
                                reason: "this output is a JDBC table",
                            },
                        );
                    }
                    if let (Some(c), Some(f)) = (
                        o.compression,
                        t.format.or(t.zone.as_ref().map(|_| Format::Parquet)),
                    ) {
                        let ok = match f {
                            Format::Parquet => matches!(
                                c,
                                Compression::None
                                    | Compression::Snappy
                                    | Compression::Gzip
                                    | Compression::Zstd
                                    | Compression::Lz4
                            ),
                            Format::Orc => matches!(
                                c,
                                Compression::None
                                    | Compression::Snappy
                                    | Compression::Zstd
                                    | Compression::Lz4
                            ),
                            // Reported by the Iceberg checks.
                            Format::Iceberg => true,
                            Format::Csv | Format::Json => matches!(
                                c,
                                Compression::None
                                    | Compression::Gzip
                                    | Compression::Bzip2
                                    | Compression::Snappy
                                    | Compression::Lz4
                            ),
                        };
                        if !ok {
                            cx.at_value(
                                &push_pointer(&op, "compression"),
                                SemanticError::Conflict {
                                    what: format!(
                                        "{c:?} compression does not apply to {f:?} files"
                                    )
                                    .to_lowercase(),
                                    reason: "choose one the format supports",
                                },
                            );
                        }
                    }
                    // An Iceberg overwrite reads the snapshot it replaces, so it may.
                    if o.mode == WriteMode::Overwrite
                        && t.format != Some(Format::Iceberg)
                        && s.inputs.iter().any(|inp| inp.table() == o.table)
                    {
                        cx.at_value(
                            &push_pointer(&op, "table"),
                            SemanticError::ReadsAndOverwrites {
                                table: o.table.clone(),
                            },
                        );
                    }
                }
            }
            if let Some(prev) = written.insert(o.table.as_str(), i) {
                let _ = prev;
                cx.at_value(
                    &push_pointer(&op, "table"),
                    SemanticError::Duplicate {
                        what: "output table",
                        name: o.table.clone(),
                    },
                );
            }
            if o.files == Some(0) {
                cx.at_value(
                    &push_pointer(&op, "files"),
                    SemanticError::BadValue {
                        what: "files",
                        value: "0".into(),
                        reason: "write at least 1 file".into(),
                    },
                );
            }
        }
        if !shell && s.script.is_none() {
            let frames = columns::check_stage(cx, name, s);
            for (i, o) in s.outputs.iter().enumerate() {
                let from = o.from.as_deref().unwrap_or("main");
                if let Some(f) = frames.frames.get(from) {
                    let op = ptr(&["stages", name, "outputs", &i.to_string()]);
                    super::iceberg::check_merge_frame(cx, &op, o, f.end());
                }
            }
            cx.frames.insert(name.clone(), frames);
        }
    }
}
