//! The command line: subcommands, output formats and exit codes.
//!
//! In: `std::env::args`. Out: text on stdout/stderr and an exit code. Exit
//! codes are decided in one place, `Exit`, and nowhere else.

use crate::diagnostic::Diagnostic;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// pipec compiles one YAML file describing an AWS Glue pipeline into validated
/// CloudFormation stacks and Glue job scripts.
#[derive(Debug, Parser)]
#[command(name = "pipec", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check pipeline files against the schema and the semantic rules.
    Validate {
        /// Pipeline files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format of diagnostics: `text` for people, `json` (one object per line) for tools.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Render CloudFormation stacks, job scripts and a manifest into `generated/<pipeline>/`.
    Build {
        /// Pipeline files to build.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output folder; each pipeline gets a sub-folder named after it.
        #[arg(long, default_value = "generated")]
        out: PathBuf,
        /// Write nothing; print a diff and exit 1 if the output folder is out of date.
        #[arg(long)]
        check: bool,
    },
    /// Print the JSON Schema of pipeline files.
    Schema,
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Exit codes, in one place: 0 success, 1 invalid input, 2 usage or I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Invalid = 1,
    Usage = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            }
            .into();
        }
    };
    let exit = run(cli);
    // For benchmarks: the process's peak memory, read where Linux keeps it.
    if std::env::var_os("PIPEC_STATS").is_some()
        && let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
    {
        eprintln!(
            "pipec-stats: peak {}",
            line.trim_start_matches("VmHWM:").trim()
        );
    }
    exit.into()
}

pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Validate { files, format } => validate(&files, format),
        Command::Build { files, out, check } => build(&files, &out, check),
        Command::Schema => {
            print!("{}", crate::schema::generate_text());
            Exit::Ok
        }
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "pipec", &mut std::io::stdout());
            Exit::Ok
        }
    }
}

fn validate(files: &[PathBuf], format: Format) -> Exit {
    let mut exit = Exit::Ok;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    for path in files {
        let loaded = match crate::load_path(path) {
            Ok(l) => l,
            Err(e) => {
                let _ = writeln!(stderr.lock(), "error: cannot read {}: {e}", path.display());
                exit = Exit::Usage;
                continue;
            }
        };
        match format {
            Format::Text => {
                let mut err = stderr.lock();
                for d in &loaded.diagnostics {
                    let _ = write!(err, "{}", d.render_text(&loaded.file));
                }
            }
            Format::Json => {
                let mut out = stdout.lock();
                for d in &loaded.diagnostics {
                    let _ = writeln!(out, "{}", d.render_json(&loaded.file));
                }
            }
        }
        let errors = loaded.errors();
        if errors > 0 {
            if exit == Exit::Ok {
                exit = Exit::Invalid;
            }
            if format == Format::Text {
                let _ = writeln!(
                    stderr.lock(),
                    "{}: {} error{}",
                    loaded.file.name,
                    errors,
                    if errors == 1 { "" } else { "s" }
                );
            }
        } else if format == Format::Text
            && let Some(p) = &loaded.pipeline
        {
            let p = p.pipeline();
            let _ = writeln!(
                stdout.lock(),
                "{}: ok: pipeline `{}`, {} stages, {} tables, {} crawlers, {} triggers",
                loaded.file.name,
                p.pipeline,
                p.stages.len(),
                p.schemas.len(),
                p.crawlers.len(),
                p.triggers.len()
            );
        }
    }
    exit
}

fn worse(a: Exit, b: Exit) -> Exit {
    if (b as u8) > (a as u8) { b } else { a }
}

fn build(files: &[PathBuf], out: &std::path::Path, check: bool) -> Exit {
    let mut exit = Exit::Ok;
    let mut stderr = std::io::stderr().lock();
    let mut stdout = std::io::stdout().lock();
    for path in files {
        let loaded = match crate::load_path(path) {
            Ok(l) => l,
            Err(e) => {
                let _ = writeln!(stderr, "error: cannot read {}: {e}", path.display());
                exit = worse(exit, Exit::Usage);
                continue;
            }
        };
        for d in &loaded.diagnostics {
            let _ = write!(stderr, "{}", d.render_text(&loaded.file));
        }
        let Some(valid) = &loaded.pipeline else {
            let _ = writeln!(
                stderr,
                "{}: {} errors; nothing built",
                loaded.file.name,
                loaded.errors()
            );
            exit = worse(exit, Exit::Invalid);
            continue;
        };
        let rendered = match crate::render::render(valid) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(stderr, "error: {}", e.message());
                exit = worse(exit, Exit::Usage);
                continue;
            }
        };
        let dir = out.join(&valid.pipeline().pipeline);
        let changes = match crate::build::compare(&rendered, &dir) {
            Ok(c) => c,
            Err(e) => {
                let _ = writeln!(stderr, "error: cannot read {}: {e}", dir.display());
                exit = worse(exit, Exit::Usage);
                continue;
            }
        };
        if check {
            if changes.is_empty() {
                let _ = writeln!(
                    stdout,
                    "{}: up to date ({} files)",
                    dir.display(),
                    rendered.files.len()
                );
            } else {
                let _ = write!(stdout, "{}", changes.unified_diff(&dir));
                let _ = writeln!(
                    stderr,
                    "{}: {} file(s) out of date; run `pipec build {}`",
                    dir.display(),
                    changes.changed.len(),
                    path.display()
                );
                exit = worse(exit, Exit::Invalid);
            }
            continue;
        }
        match crate::build::write(&changes, &dir) {
            Ok(touched) => {
                let _ = writeln!(
                    stdout,
                    "{}: {} files, {} changed",
                    dir.display(),
                    rendered.files.len(),
                    touched.len()
                );
            }
            Err(e) => {
                let _ = writeln!(stderr, "error: cannot write {}: {e}", dir.display());
                exit = worse(exit, Exit::Usage);
            }
        }
    }
    exit
}

/// Renders diagnostics as text, for tests and callers that want a string.
pub fn render_all(file: &crate::source::SourceFile, diags: &[Diagnostic]) -> String {
    diags.iter().map(|d| d.render_text(file)).collect()
}
