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
        #[command(flatten)]
        env: EnvFlag,
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
        #[command(flatten)]
        env: EnvFlag,
    },
    /// Deploy the stacks and job scripts to AWS through change sets, in dependency order.
    ///
    /// With no FILE, deploys the committed output (`generated/*/manifest.yaml`);
    /// with FILE, builds it in memory first. Independent stacks deploy at the
    /// same time. Exit codes: 0 done, 1 a stack failed, 2 usage or configuration error.
    Deploy {
        /// A pipeline file to build and deploy (default: the committed `generated/` output).
        file: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
        /// Deploy only the named stacks, not their missing or out-of-date dependencies.
        #[arg(long, requires = "stacks")]
        only: bool,
        /// Execute change sets without asking (required without a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Allow replacing or removing buckets, KMS keys, Glue databases or tables (a renamed zone or table).
        #[arg(long = "allow-data-loss", visible_alias = "allow-replace")]
        allow_replace: bool,
        /// Allow table changes that break readers: partition keys, a moved path, a narrowed, removed or renamed column.
        #[arg(long)]
        allow_breaking_schema: bool,
        /// Delete and recreate stacks left in ROLLBACK_COMPLETE by a failed create.
        #[arg(long)]
        recreate: bool,
        /// Deploy committed files that differ from what their pipeline source renders.
        #[arg(long)]
        allow_edited: bool,
        /// Remove the deploy lock another (dead) deploy of the pipeline left, then take it.
        #[arg(long)]
        break_lock: bool,
        /// Progress as text, or as one JSON object per line.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Compare the deployed stacks and scripts with the rendered ones (exit 1 when anything differs).
    Diff {
        /// A pipeline file to build and compare (default: the committed `generated/` output).
        file: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
        /// Output: a unified diff, JSON, or Markdown to paste into a pull request.
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
        /// Also run CloudFormation drift detection and check the deployed scripts' content.
        #[arg(long)]
        drift: bool,
    },
    /// Delete the stacks in reverse dependency order; data is retained unless --delete-data.
    Destroy {
        /// A pipeline file to build (default: the committed `generated/` output).
        file: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
        /// Delete without asking (required without a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Also empty (every object version) and delete the retained data buckets.
        #[arg(long)]
        delete_data: bool,
        /// Progress as text, or as one JSON object per line.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Check a pipeline against the AWS account it will run in.
    ///
    /// With --live: reads (EC2 Describe* calls only, nothing is changed) the
    /// VPC network of every JDBC connection and reports each piece Glue
    /// needs and lacks: the subnet and security groups, a self-referencing
    /// security group rule, and a path (VPC endpoint or NAT gateway) to S3,
    /// Secrets Manager, KMS, Glue and CloudWatch Logs. Exit codes: 0 nothing
    /// missing (or no connections), 1 something missing or an invalid file,
    /// 2 usage, configuration or connection error.
    Check {
        /// The pipeline file whose connections are checked.
        file: PathBuf,
        /// Read the AWS account (required; the offline checks are `pipec validate`).
        #[arg(long)]
        live: bool,
        /// AWS profile (default: the standard credential chain).
        #[arg(long, requires = "live")]
        profile: Option<String>,
        /// AWS region (default: AWS_REGION or the profile's region).
        #[arg(long, requires = "live")]
        region: Option<String>,
        /// One endpoint for every AWS call (default: AWS_ENDPOINT_URL, else AWS's own).
        #[arg(long, value_name = "URL", requires = "live")]
        endpoint_url: Option<String>,
        /// Diagnostics as text, or as one JSON object per line.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run the pipeline's workflow: stages and crawlers, as its triggers start them.
    ///
    /// With --local, on this machine with local PySpark (one JVM per Glue
    /// version) over local directories, with no AWS account. Without it, on
    /// AWS: starts the deployed Glue workflow (or one stage's job, --stage)
    /// and watches it; a failed job shows its ErrorMessage and CloudWatch log
    /// group and stream. With no FILE, the pipeline in `generated/`. Exit
    /// codes: 0 every node that ran succeeded, 1 one failed, timed out or
    /// stopped (or the file is invalid), 2 usage, credentials or a refused call.
    Run {
        /// The pipeline file (default: the one pipeline in `generated/`).
        file: Option<PathBuf>,
        /// Run on this machine instead of AWS.
        #[arg(long)]
        local: bool,
        /// Start at this stage, then follow the triggers (local runs).
        #[arg(
            long,
            value_name = "STAGE",
            conflicts_with = "only",
            requires = "local"
        )]
        from: Option<String>,
        /// Run this stage alone (local runs).
        #[arg(long, value_name = "STAGE", requires = "local")]
        only: Option<String>,
        /// Files for a table (copied into its local location first), instead of its samples; repeatable.
        #[arg(long = "input", value_name = "TABLE=PATH", requires = "local")]
        inputs: Vec<String>,
        /// Root of the local zones (default: $PIPEC_LOCAL_DIR, else .pipec/local).
        #[arg(long, value_name = "DIR", requires = "local")]
        local_dir: Option<PathBuf>,
        /// The Python to run stages with (default: $PIPEC_PYTHON, else .pipec/venv/pyspark-<version>).
        #[arg(long, value_name = "PATH", requires = "local")]
        python: Option<PathBuf>,
        /// The database of a JDBC connection, as a JDBC URL; repeatable. User and password come from $PIPEC_JDBC_USER and $PIPEC_JDBC_PASSWORD.
        #[arg(long = "jdbc", value_name = "CONNECTION=URL", requires = "local")]
        jdbc: Vec<String>,
        /// Nodes run at the same time (default: the number of cores; local runs).
        #[arg(long, value_name = "N", requires = "local")]
        jobs: Option<usize>,
        #[command(flatten)]
        on: OnAws,
        /// Start this stage's job alone on AWS, with its default arguments.
        #[arg(long, value_name = "STAGE", conflicts_with = "local")]
        stage: Option<String>,
        /// Print the run id and return without watching (AWS).
        #[arg(long, conflicts_with = "local")]
        no_wait: bool,
        /// Stop watching after this many seconds (exit 1); the run goes on in Glue.
        #[arg(long, value_name = "SECONDS", conflicts_with_all = ["no_wait", "local"])]
        timeout: Option<u64>,
    },
    /// Show the last runs of the deployed pipeline's Glue workflow.
    Status {
        /// A pipeline file (default: the committed `generated/` output).
        file: Option<PathBuf>,
        #[command(flatten)]
        on: OnAws,
        /// How many runs to show, newest first.
        #[arg(long, short = 'n', default_value_t = 10, value_parser = clap::value_parser!(i32).range(1..=1000))]
        last: i32,
    },
    /// Run Athena-style SQL over the pipeline's tables and print the result.
    ///
    /// Without --local, through Athena in the pipeline's workgroup (which
    /// enforces its scan limit) and Glue database. With --local: DuckDB over
    /// the local Glue Data Catalog that `pipec run --local` and its crawlers
    /// keep (`.pipec/local/<pipeline>/`), every table by name and by
    /// `database.table`, partition keys as columns. Exit codes: 0 done, 1 the
    /// query or the file failed (Athena's reason is shown), 2 usage or
    /// credentials.
    Query {
        /// `[FILE] SQL`: the pipeline file (default: the one `generated/` was
        /// built from), then the SQL to run.
        #[arg(required = true, num_args = 1..=2, value_names = ["FILE", "SQL"])]
        args: Vec<String>,
        /// Query the local catalog instead of Athena.
        #[arg(long)]
        local: bool,
        /// The result as an aligned table, CSV or one JSON object per row.
        #[arg(long, value_enum, default_value_t = QueryFormat::Text)]
        format: QueryFormat,
        /// The root of local data (default: $PIPEC_LOCAL_DIR, else .pipec/local).
        #[arg(long, value_name = "DIR", requires = "local")]
        local_dir: Option<PathBuf>,
        /// The Python with duckdb and pyarrow (default: the local run's).
        #[arg(long, value_name = "PATH", requires = "local")]
        python: Option<PathBuf>,
        #[command(flatten)]
        on: OnAws,
    },
    /// Explain what a change to `generated/` means, from git alone (no AWS).
    ///
    /// Compares the output folder with where --base and HEAD forked: per
    /// stack the resources added, removed and replaced, IAM grants added and
    /// removed with widening flagged, data at risk, table schema changes
    /// graded for readers, each stage's script diff, and the workflow graph
    /// with changed nodes marked. With --live instead: compares each declared
    /// table with the deployed Glue Data Catalog (GetTable only). Exit codes:
    /// 0 done, 1 a --fail-on concern occurs (with --live: a breaking
    /// difference), 2 usage, git or AWS configuration error.
    Review {
        /// With --live: the pipeline file (default: the committed `generated/` output).
        file: Option<PathBuf>,
        /// The commit to compare with: a branch, tag or commit.
        #[arg(
            long,
            value_name = "REF",
            default_value = "HEAD",
            conflicts_with = "live"
        )]
        base: String,
        /// Compare this revision's output instead of the working tree's.
        #[arg(long, value_name = "REF", conflicts_with = "live")]
        head: Option<String>,
        /// Text for a terminal, Markdown for a pull-request comment, or JSON.
        #[arg(long, value_enum, default_value_t = ReviewFormat::Text)]
        format: ReviewFormat,
        /// Exit 1 when any of these occurs (comma-separated).
        #[arg(long, value_enum, value_delimiter = ',', value_name = "LIST")]
        fail_on: Vec<FailOn>,
        /// Compare the declared tables with the deployed Glue Data Catalog.
        #[arg(long)]
        live: bool,
        #[command(flatten)]
        on: OnAws,
    },
    /// Draw the pipeline's workflow: stages, crawlers and tables as nodes, triggers as edges.
    Graph {
        /// The pipeline file (default: the one pipeline in `generated/`).
        file: Option<PathBuf>,
        /// Mermaid (renders inline on GitHub) or Graphviz DOT (`dot -Tsvg`).
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
        /// Draw this pipeline (when `generated/` holds several).
        #[arg(long, value_name = "NAME")]
        pipeline: Option<String>,
        /// The committed output folder read when no FILE is given.
        #[arg(long, default_value = "generated")]
        generated: PathBuf,
        /// The environment drawn (default: the file's own pipeline).
        #[command(flatten)]
        env: EnvFlag,
    },
    /// Print the JSON Schema of pipeline files.
    Schema,
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

/// `--env NAME`: one environment of the pipelines that declare `environments:`.
/// Shared by every command that takes it, so each parses and words it alike.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EnvFlag {
    /// One environment of the pipeline (`environments:`); `build` and
    /// `validate` take every environment without it, commands that act on
    /// AWS need it when the pipeline declares environments.
    #[arg(long = "env", value_name = "NAME")]
    pub env: Option<String>,
}

impl EnvFlag {
    pub fn name(&self) -> Option<&str> {
        self.env.as_deref()
    }
}

/// Which pipelines and stacks `deploy`, `diff` and `destroy` act on, and where.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    #[command(flatten)]
    pub env: EnvFlag,
    /// A stack, by short name (`glue-jobs`) or CloudFormation name (`etl-glue-jobs`); repeatable.
    #[arg(long = "stack", value_name = "NAME")]
    pub stacks: Vec<String>,
    /// Act on this pipeline only (when `generated/` holds several).
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,
    /// The committed output folder read when no FILE is given.
    #[arg(long, default_value = "generated", conflicts_with = "file")]
    pub generated: PathBuf,
    /// AWS profile (default: the standard credential chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// AWS region (default: AWS_REGION or the profile's region).
    #[arg(long)]
    pub region: Option<String>,
}

/// Which deployed pipeline `run`, `status` and `query` act on, and where.
#[derive(Debug, Clone, clap::Args)]
pub struct OnAws {
    #[command(flatten)]
    pub env: EnvFlag,
    /// Act on this pipeline (when `generated/` holds several).
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,
    /// The committed output folder read when no FILE is given.
    #[arg(long, default_value = "generated")]
    pub generated: PathBuf,
    /// AWS profile (default: the standard credential chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// AWS region (default: AWS_REGION or the profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// One endpoint for every AWS call (default: AWS_ENDPOINT_URL, else AWS's own).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReviewFormat {
    Text,
    Markdown,
    Json,
}

/// What `review --fail-on` fails on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// A role or policy grants more than before.
    IamWidening,
    /// A data-holding resource removed or replaced, a deletion policy that no longer keeps data, a partition-key change.
    DataLoss,
    /// A table change that breaks its readers.
    BreakingSchema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    Text,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Exit codes, in one place: 0 success (for `diff`: nothing differs), 1
/// invalid input, a stack failed or a change refused (for `diff`: something
/// differs), 2 usage, configuration or I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Invalid = 1,
    Usage = 2,
}

impl From<crate::deploy::Outcome> for Exit {
    fn from(o: crate::deploy::Outcome) -> Exit {
        match o {
            crate::deploy::Outcome::Done => Exit::Ok,
            crate::deploy::Outcome::Failed => Exit::Invalid,
            crate::deploy::Outcome::Usage => Exit::Usage,
        }
    }
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
        Command::Validate { files, format, env } => validate(&files, format, env.name()),
        Command::Build {
            files,
            out,
            check,
            env,
        } => build(&files, &out, check, env.name()),
        Command::Deploy {
            file,
            target,
            only,
            yes,
            allow_replace,
            allow_breaking_schema,
            recreate,
            allow_edited,
            break_lock,
            format,
        } => aws_command(file, &target.clone(), |aws, pipelines, who| async move {
            let opts = crate::deploy::apply::Options {
                break_lock,
                stacks: target.stacks,
                only,
                yes,
                allow_replace,
                allow_breaking_schema,
                recreate,
                allow_edited,
            };
            let log = crate::deploy::Log::new(style(format));
            crate::deploy::apply::run(&aws, &pipelines, &opts, &log, &who).await
        }),
        Command::Diff {
            file,
            target,
            format,
            drift,
        } => aws_command(file, &target.clone(), |aws, pipelines, who| async move {
            let format = match format {
                DiffFormat::Text => crate::deploy::diff::Format::Text,
                DiffFormat::Json => crate::deploy::diff::Format::Json,
                DiffFormat::Markdown => crate::deploy::diff::Format::Markdown,
            };
            crate::deploy::diff::run(&aws, &pipelines, &target.stacks, format, drift, &who).await
        }),
        Command::Destroy {
            file,
            target,
            yes,
            delete_data,
            format,
        } => aws_command(file, &target.clone(), |aws, pipelines, who| async move {
            let opts = crate::deploy::destroy::Options {
                stacks: target.stacks,
                yes,
                delete_data,
            };
            let log = crate::deploy::Log::new(style(format));
            crate::deploy::destroy::run(&aws, &pipelines, &opts, &log, &who).await
        }),
        Command::Check {
            file,
            live,
            profile,
            region,
            endpoint_url,
            format,
        } => {
            let connect = crate::deploy::Connect {
                profile,
                region,
                endpoint_url,
            };
            check_live(&file, live, &connect, format)
        }
        Command::Run {
            file,
            local: true,
            from,
            only,
            inputs,
            local_dir,
            python,
            jdbc,
            jobs,
            on,
            ..
        } => {
            let start = match (from, only) {
                (Some(s), _) => crate::run::plan::Start::From(s),
                (None, Some(s)) => crate::run::plan::Start::Only(s),
                (None, None) => crate::run::plan::Start::Triggers,
            };
            let args = RunArgs {
                file,
                start,
                inputs,
                local_dir,
                python,
                jdbc,
                jobs,
                generated: on.generated,
                env: on.env.env,
            };
            run_local(&args)
        }
        Command::Run {
            file,
            on,
            stage,
            no_wait,
            timeout,
            ..
        } => on_aws(file, &on, |aws, r| async move {
            let opts = crate::deploy::run::Options {
                stage,
                no_wait,
                timeout: timeout.map(std::time::Duration::from_secs),
                poll: crate::deploy::run::Poll::default(),
            };
            crate::deploy::run::run(&aws.glue, &r, &opts).await
        }),
        Command::Status { file, on, last } => on_aws(file, &on, |aws, r| async move {
            crate::deploy::runs::status(&aws.glue, &r, last).await
        }),
        Command::Query {
            args,
            local,
            format,
            local_dir,
            python,
            on,
        } => {
            let (file, sql) = match args.as_slice() {
                [sql] => (None, sql.clone()),
                [file, sql] => (Some(PathBuf::from(file)), sql.clone()),
                _ => {
                    eprintln!("error: `pipec query` takes [FILE] SQL");
                    return Exit::Usage;
                }
            };
            if !local {
                let format = match format {
                    QueryFormat::Text => crate::deploy::athena::Format::Text,
                    QueryFormat::Csv => crate::deploy::athena::Format::Csv,
                    QueryFormat::Json => crate::deploy::athena::Format::Json,
                };
                return on_aws(file, &on, |aws, r| async move {
                    crate::deploy::athena::query(&aws.athena, &r, &sql, format).await
                });
            }
            let file = match file {
                Some(f) => f,
                None => {
                    match crate::run::query::resolve_source(&on.generated, on.pipeline.as_deref()) {
                        Ok(f) => f,
                        Err(e) => {
                            eprintln!("error: {e}");
                            return Exit::Usage;
                        }
                    }
                }
            };
            query_local(&file, &sql, format, local_dir.as_deref(), python.as_deref())
        }
        Command::Review {
            file,
            base,
            head,
            format,
            fail_on,
            live,
            on,
        } => {
            if live {
                return review_live(file, &on, format == ReviewFormat::Json);
            }
            if file.is_some() {
                eprintln!(
                    "error: `pipec review` reads `generated/` from git; a FILE is only for --live"
                );
                return Exit::Usage;
            }
            review(&base, head, &on.generated, format, &fail_on, on.env.name())
        }
        Command::Graph {
            file,
            format,
            pipeline,
            generated,
            env,
        } => graph(file, format, pipeline.as_deref(), &generated, env.name()),
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

fn validate(files: &[PathBuf], format: Format, env: Option<&str>) -> Exit {
    let mut exit = Exit::Ok;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    for path in files {
        // Without --env every environment is validated, each in full.
        let loaded =
            match crate::load_path_envs(path, crate::Envs::from_flag(env, crate::Envs::All)) {
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
            continue;
        }
        if let Some(problem) = loaded.env_problem(env) {
            let _ = writeln!(stderr.lock(), "error: {problem}");
            exit = Exit::Usage;
            continue;
        }
        if format == Format::Text {
            for v in &loaded.pipelines {
                let p = v.pipeline();
                let count =
                    |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
                let env = v
                    .environment()
                    .map(|e| format!(" (environment `{}`)", e.name))
                    .unwrap_or_default();
                let _ = writeln!(
                    stdout.lock(),
                    "{}: ok: pipeline `{}`{env}, {}, {}, {}, {}",
                    loaded.file.name,
                    p.pipeline,
                    count(p.stages.len(), "stage"),
                    count(p.schemas.len(), "table"),
                    count(p.crawlers.len(), "crawler"),
                    count(p.triggers.len(), "trigger")
                );
            }
        }
    }
    exit
}

fn review(
    base: &str,
    head: Option<String>,
    generated: &std::path::Path,
    format: ReviewFormat,
    fail_on: &[FailOn],
    env: Option<&str>,
) -> Exit {
    use crate::review::{Concern, render};
    let opts = crate::review::Options {
        base: base.to_string(),
        head,
        generated: generated.to_path_buf(),
        env: env.map(str::to_string),
    };
    let r = match crate::review::load(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", e.message());
            return Exit::Usage;
        }
    };
    let f = match format {
        ReviewFormat::Text => render::Format::Text,
        ReviewFormat::Markdown => render::Format::Markdown,
        ReviewFormat::Json => render::Format::Json,
    };
    print!("{}", render::render(&r, f));
    let failing: Vec<Concern> = fail_on
        .iter()
        .map(|f| match f {
            FailOn::IamWidening => Concern::IamWidening,
            FailOn::DataLoss => Concern::DataLoss,
            FailOn::BreakingSchema => Concern::BreakingSchema,
        })
        .filter(|c| r.has(*c))
        .collect();
    if failing.is_empty() {
        Exit::Ok
    } else {
        let names: Vec<&str> = failing.iter().map(|c| c.name()).collect();
        eprintln!("review: failing on {}", names.join(", "));
        Exit::Invalid
    }
}

/// `review --live`: the one pipeline's declared tables against the deployed catalog.
fn review_live(file: Option<PathBuf>, on: &OnAws, json: bool) -> Exit {
    use crate::deploy::plan;
    let source = match &file {
        Some(f) => plan::Source::File(f.clone()),
        None => plan::Source::Generated(on.generated.clone()),
    };
    let pipelines = match plan::load_env(&source, on.pipeline.as_deref(), on.env.name()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}", e.message());
            return plan_exit(&e);
        }
    };
    let [pipeline] = pipelines.as_slice() else {
        let names: Vec<&str> = pipelines.iter().map(|p| p.name.as_str()).collect();
        eprintln!(
            "error: {} pipelines ({}); name one with --pipeline NAME or give its FILE",
            names.len(),
            names.join(", ")
        );
        return Exit::Usage;
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return e,
    };
    rt.block_on(async {
        let connect = crate::deploy::Connect {
            profile: on.profile.clone(),
            region: on.region.clone(),
            endpoint_url: on.endpoint_url.clone(),
        };
        match crate::deploy::Aws::connect(&connect).await {
            Ok(aws) => crate::deploy::live_catalog::run(&aws, pipeline, json)
                .await
                .into(),
            Err(e) => {
                eprintln!("error: {e}");
                Exit::Usage
            }
        }
    })
}

fn graph(
    file: Option<PathBuf>,
    format: GraphFormat,
    pipeline: Option<&str>,
    generated: &std::path::Path,
    env: Option<&str>,
) -> Exit {
    use crate::deploy::plan;
    let source = match file {
        Some(f) => plan::Source::File(f),
        None => plan::Source::Generated(generated.to_path_buf()),
    };
    // A picture changes no account: without --env, a file's own pipeline
    // is drawn (its environments differ in names, not in shape).
    let loaded = match (&source, env) {
        (plan::Source::File(path), None) => plan::load_file_base(path).map(|p| vec![p]),
        _ => plan::load_env(&source, pipeline, env),
    };
    let pipelines = match loaded {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}", e.message());
            return plan_exit(&e);
        }
    };
    let [p] = pipelines.as_slice() else {
        let names: Vec<&str> = pipelines.iter().map(|p| p.name.as_str()).collect();
        eprintln!(
            "error: {} pipelines ({}); name one with --pipeline NAME or give its FILE",
            names.len(),
            names.join(", ")
        );
        return Exit::Usage;
    };
    let templates: Vec<&str> = p.stacks.iter().map(|s| s.template.as_str()).collect();
    match crate::graph::from_templates(&p.name, &templates) {
        Ok(g) => {
            let f = match format {
                GraphFormat::Mermaid => crate::graph::Format::Mermaid,
                GraphFormat::Dot => crate::graph::Format::Dot,
            };
            print!("{}", g.render(f));
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Invalid
        }
    }
}

fn style(f: Format) -> crate::deploy::Style {
    match f {
        Format::Text => crate::deploy::Style::Text,
        Format::Json => crate::deploy::Style::Json,
    }
}

/// The exit code of a planning error: tampered committed output is invalid
/// input (1); everything else is usage or configuration (2).
fn plan_exit(e: &crate::deploy::plan::PlanError) -> Exit {
    match e {
        crate::deploy::plan::PlanError::Untrusted { .. } => Exit::Invalid,
        _ => Exit::Usage,
    }
}

/// Plans (no AWS), connects, confirms the target (STS), then runs one AWS
/// command on a small runtime. Configuration and connection problems up to
/// the target exit 2 for every command.
fn aws_command<F, Fut>(file: Option<PathBuf>, target: &Target, body: F) -> Exit
where
    F: FnOnce(
        crate::deploy::Aws,
        Vec<crate::deploy::plan::Pipeline>,
        crate::deploy::identity::Target,
    ) -> Fut,
    Fut: std::future::Future<Output = crate::deploy::Outcome>,
{
    use crate::deploy::plan;
    let source = match &file {
        Some(f) => plan::Source::File(f.clone()),
        None => plan::Source::Generated(target.generated.clone()),
    };
    let pipelines = match plan::load_env(&source, target.pipeline.as_deref(), target.env.name())
        .and_then(|ps| plan::narrow(ps, &target.stacks))
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}", e.message());
            return plan_exit(&e);
        }
    };
    if pipelines.len() > 1 {
        let names: Vec<&str> = pipelines.iter().map(|p| p.name.as_str()).collect();
        eprintln!(
            "note: {} pipelines ({}); acting on each (narrow with --pipeline NAME)",
            names.len(),
            names.join(", ")
        );
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return e,
    };
    let envs: Vec<crate::env::Chosen> = pipelines
        .iter()
        .filter_map(|p| p.environment.clone())
        .collect();
    let env_refs: Vec<&crate::env::Chosen> = envs.iter().collect();
    let region =
        match crate::deploy::identity::environment_region(&env_refs, target.region.as_deref()) {
            Ok(r) => r.or_else(|| target.region.clone()),
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Usage;
            }
        };
    rt.block_on(async {
        let connect = crate::deploy::Connect {
            profile: target.profile.clone(),
            region,
            endpoint_url: None,
        };
        match crate::deploy::identity::connect(&connect).await {
            Ok((aws, who)) => {
                // The account guard, before anything is read or changed.
                if let Err(e) = crate::deploy::identity::guard(&env_refs, &who) {
                    eprintln!("{}", who.line());
                    eprintln!("error: {e}");
                    return Exit::Usage;
                }
                body(aws, pipelines, who).await.into()
            }
            Err(e) => {
                eprintln!("error: {e}");
                Exit::Usage
            }
        }
    })
}

/// Loads exactly one pipeline (no AWS), names its resources, connects, then
/// runs one of `run`, `status`, `query`.
fn on_aws<F, Fut>(file: Option<PathBuf>, on: &OnAws, body: F) -> Exit
where
    F: FnOnce(crate::deploy::Aws, crate::deploy::resources::Resources) -> Fut,
    Fut: std::future::Future<Output = crate::deploy::Outcome>,
{
    use crate::deploy::plan;
    let source = match &file {
        Some(f) => plan::Source::File(f.clone()),
        None => plan::Source::Generated(on.generated.clone()),
    };
    let pipelines = match plan::load_env(&source, on.pipeline.as_deref(), on.env.name()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}", e.message());
            return plan_exit(&e);
        }
    };
    let pipeline = match pipelines.as_slice() {
        [p] => p,
        ps => {
            let names: Vec<&str> = ps.iter().map(|p| p.name.as_str()).collect();
            eprintln!(
                "error: {} pipelines ({}); name one with --pipeline NAME or give its FILE",
                names.len(),
                names.join(", ")
            );
            return Exit::Usage;
        }
    };
    let resources = crate::deploy::resources::Resources::of(pipeline);
    let env: Vec<&crate::env::Chosen> = pipeline.environment.iter().collect();
    let region = match crate::deploy::identity::environment_region(&env, on.region.as_deref()) {
        Ok(r) => r.or_else(|| on.region.clone()),
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return e,
    };
    rt.block_on(async {
        let connect = crate::deploy::Connect {
            profile: on.profile.clone(),
            region,
            endpoint_url: on.endpoint_url.clone(),
        };
        let aws = match crate::deploy::Aws::connect(&connect).await {
            Ok(aws) => aws,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Usage;
            }
        };
        // An environment with an account is guarded as deploys are.
        if env.iter().any(|e| e.account.is_some()) {
            let guarded = crate::deploy::identity::identify(&aws)
                .await
                .and_then(|who| crate::deploy::identity::guard(&env, &who));
            if let Err(e) = guarded {
                eprintln!("error: {e}");
                return Exit::Usage;
            }
        }
        body(aws, resources).await.into()
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            Exit::Usage
        })
}

/// `pipec check --live FILE`: validates the file (no AWS), then checks the
/// network of its connections through EC2. A file with no connections needs
/// no AWS access at all.
fn check_live(
    file: &std::path::Path,
    live: bool,
    connect: &crate::deploy::Connect,
    format: Format,
) -> Exit {
    use crate::deploy::preflight;
    if !live {
        eprintln!(
            "error: `pipec check` needs --live: it reads the AWS account the pipeline runs in (EC2 Describe* calls only); the offline checks are `pipec validate {}`",
            file.display()
        );
        return Exit::Usage;
    }
    let loaded = match crate::load_path(file) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return Exit::Usage;
        }
    };
    let Some(valid) = &loaded.pipeline else {
        let mut err = std::io::stderr().lock();
        for d in &loaded.diagnostics {
            let _ = write!(err, "{}", d.render_text(&loaded.file));
        }
        let _ = writeln!(
            err,
            "{}: {} errors; the network was not checked",
            loaded.file.name,
            loaded.errors()
        );
        return Exit::Invalid;
    };
    let format = match format {
        Format::Text => preflight::Format::Text,
        Format::Json => preflight::Format::Json,
    };
    let connections = &valid.pipeline().connections;
    if connections.is_empty() {
        preflight::nothing_to_check(&loaded.file, format);
        return Exit::Ok;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return e,
    };
    rt.block_on(async {
        match crate::deploy::identity::connect(connect).await {
            Ok((aws, who)) => preflight::run(&aws, &loaded.file, connections, format, &who)
                .await
                .into(),
            Err(e) => {
                eprintln!("error: {e}");
                Exit::Usage
            }
        }
    })
}

struct RunArgs {
    file: Option<PathBuf>,
    start: crate::run::plan::Start,
    inputs: Vec<String>,
    local_dir: Option<PathBuf>,
    python: Option<PathBuf>,
    jdbc: Vec<String>,
    jobs: Option<usize>,
    generated: PathBuf,
    env: Option<String>,
}

/// `pipec run --local`: loads the pipeline, plans the run, runs it and
/// prints the summary.
fn run_local(a: &RunArgs) -> Exit {
    use crate::run::{display, layout, local, plan};
    let file = match &a.file {
        Some(f) => f.clone(),
        None => match crate::run::local::generated_source(&a.generated) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Usage;
            }
        },
    };
    // Without --env a local run is of the file's own pipeline: no account
    // or region matters on this machine.
    let choice = crate::Envs::from_flag(a.env.as_deref(), crate::Envs::Base);
    let loaded = match crate::load_path_envs(&file, choice) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return Exit::Usage;
        }
    };
    let mut err = std::io::stderr().lock();
    for d in &loaded.diagnostics {
        let _ = write!(err, "{}", d.render_text(&loaded.file));
    }
    if loaded.errors() == 0
        && let Some(problem) = loaded.env_problem(a.env.as_deref())
    {
        let _ = writeln!(err, "error: {problem}");
        return Exit::Usage;
    }
    let Some(valid) = loaded.pipelines.first() else {
        let _ = writeln!(
            err,
            "{}: {} errors; nothing run",
            loaded.file.name,
            loaded.errors()
        );
        return Exit::Invalid;
    };
    drop(err);
    let mut inputs = Vec::new();
    for i in &a.inputs {
        let Some((table, path)) = i.split_once('=') else {
            eprintln!("error: --input {i}: expected TABLE=PATH");
            return Exit::Usage;
        };
        if !valid.pipeline().schemas.contains_key(table) {
            let hint = crate::suggest::did_you_mean(
                table,
                valid.pipeline().schemas.keys().map(String::as_str),
            )
            .map(|h| format!("; {h}"))
            .unwrap_or_default();
            eprintln!(
                "error: --input {i}: pipeline `{}` has no table `{table}`{hint}",
                valid.pipeline().pipeline
            );
            return Exit::Usage;
        }
        let path = PathBuf::from(path);
        if !path.exists() {
            eprintln!("error: --input {i}: {} does not exist", path.display());
            return Exit::Usage;
        }
        inputs.push((
            table.to_string(),
            std::path::absolute(&path).unwrap_or(path),
        ));
    }
    let mut jdbc = Vec::new();
    for j in &a.jdbc {
        let Some((conn, url)) = j.split_once('=') else {
            eprintln!("error: --jdbc {j}: expected CONNECTION=URL");
            return Exit::Usage;
        };
        let known = &valid.pipeline().connections;
        if !known.contains_key(conn) {
            let hint = crate::suggest::did_you_mean(conn, known.keys().map(String::as_str))
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            eprintln!(
                "error: --jdbc {j}: pipeline `{}` has no connection `{conn}`{hint}",
                valid.pipeline().pipeline
            );
            return Exit::Usage;
        }
        jdbc.push((conn.to_string(), url.to_string()));
    }
    let plan = match plan::plan(valid, &a.start) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    if let Err(e) = crate::run::venv::check_java() {
        eprintln!("error: {e}");
        return Exit::Usage;
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    // Absolute paths: the driver and the stages' processes get them as arguments.
    let root = a
        .local_dir
        .clone()
        .or_else(|| std::env::var_os(layout::ROOT_ENV).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(layout::DEFAULT_ROOT));
    let layout = layout::LocalLayout::new(&valid.pipeline().pipeline, Some(&cwd.join(root)));
    let opts = local::Options {
        inputs,
        python: a.python.clone(),
        jdbc,
        pipec_dir: cwd.join(".pipec"),
        env: local::spark_env(),
    };
    let jobs = a.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    use std::io::IsTerminal;
    let mut live = display::Live::new(std::io::stderr().is_terminal());
    eprintln!(
        "pipec: running pipeline {} locally in {}",
        valid.pipeline().pipeline,
        layout.dir().display()
    );
    let outcome = match local::run(valid, &plan, &layout, &opts, jobs, &mut |n| live.show(n)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    print!(
        "{}",
        display::summary(&outcome.nodes, &outcome.stages, &outcome.crawls)
    );
    for n in &outcome.notes {
        println!("note: {n}");
    }
    println!("logs: {}", outcome.logs.display());
    if crate::run::engine::all_succeeded(&outcome.nodes) {
        Exit::Ok
    } else {
        Exit::Invalid
    }
}

/// `pipec query --local`: validates the file, opens the local catalog (as
/// declared where nothing was crawled yet) and runs the SQL with DuckDB.
fn query_local(
    file: &std::path::Path,
    sql: &str,
    format: QueryFormat,
    local_dir: Option<&std::path::Path>,
    python: Option<&std::path::Path>,
) -> Exit {
    use crate::run::{catalog, layout::LocalLayout, query};
    let loaded = match crate::load_path(file) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return Exit::Usage;
        }
    };
    let Some(valid) = &loaded.pipeline else {
        let mut err = std::io::stderr().lock();
        for d in &loaded.diagnostics {
            let _ = write!(err, "{}", d.render_text(&loaded.file));
        }
        let _ = writeln!(
            err,
            "{}: {} errors; nothing queried",
            loaded.file.name,
            loaded.errors()
        );
        return Exit::Invalid;
    };
    let p = valid.pipeline();
    let layout = LocalLayout::new(&p.pipeline, local_dir);
    let cat = match catalog::open(p, &layout) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    // The same Python as a local run's (it has duckdb and pyarrow).
    let glue_version = p
        .stages
        .values()
        .find(|s| s.kind == crate::model::StageKind::Spark)
        .map(|s| crate::validate::settings(p, s).glue_version)
        .unwrap_or_else(|| "5.0".to_string());
    let pipec_dir = std::env::current_dir().unwrap_or_default().join(".pipec");
    let python = match crate::run::venv::ensure(python, &pipec_dir, &glue_version) {
        Ok(py) => py,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    match query::run(&cat, sql, &layout, &python) {
        Ok(r) => {
            let f = match format {
                QueryFormat::Text => query::OutFormat::Text,
                QueryFormat::Csv => query::OutFormat::Csv,
                QueryFormat::Json => query::OutFormat::Json,
            };
            print!("{}", query::render(&r, f));
            Exit::Ok
        }
        Err(query::QueryError::Sql(e)) => {
            eprintln!("error: {}", e.trim_end());
            Exit::Invalid
        }
        Err(query::QueryError::Setup(e)) => {
            eprintln!("error: {}", e.trim_end());
            Exit::Usage
        }
    }
}

fn worse(a: Exit, b: Exit) -> Exit {
    if (b as u8) > (a as u8) { b } else { a }
}

/// `pipec build`: every file's pipeline into `<out>/<pipeline>/`, or, for a
/// pipeline that declares environments, every environment (or the one of
/// `--env`) into `<out>/<pipeline>/<environment>/`.
fn build(files: &[PathBuf], out: &std::path::Path, check: bool, env: Option<&str>) -> Exit {
    let mut exit = Exit::Ok;
    let mut stderr = std::io::stderr().lock();
    let mut stdout = std::io::stdout().lock();
    // Load every file first: two files that declare one pipeline would write
    // one folder, so neither is built.
    let mut loaded_all = Vec::new();
    for path in files {
        match crate::load_path_envs(path, crate::Envs::from_flag(env, crate::Envs::All)) {
            Ok(l) => loaded_all.push((path, l)),
            Err(e) => {
                let _ = writeln!(stderr, "error: cannot read {}: {e}", path.display());
                exit = worse(exit, Exit::Usage);
            }
        }
    }
    let folder_of = |v: &crate::validate::ValidPipeline| match v.environment() {
        Some(e) => e.pipeline.clone(),
        None => v.pipeline().pipeline.clone(),
    };
    let mut declared: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (path, l) in &loaded_all {
        if let Some(v) = l.pipelines.first() {
            declared
                .entry(folder_of(v))
                .or_default()
                .push(path.display().to_string());
        }
    }
    for (name, paths) in declared.iter().filter(|(_, p)| p.len() > 1) {
        let _ = writeln!(
            stderr,
            "error: pipeline `{name}` is declared by {}; each would write {}, so none of them is built",
            paths.join(" and "),
            out.join(name).display()
        );
        exit = worse(exit, Exit::Invalid);
    }
    let mode = if check {
        crate::build::Mode::Check
    } else {
        crate::build::Mode::Write
    };
    for (path, loaded) in &loaded_all {
        for d in &loaded.diagnostics {
            let _ = write!(stderr, "{}", d.render_text(&loaded.file));
        }
        if loaded.errors() > 0 {
            let _ = writeln!(
                stderr,
                "{}: {} errors; nothing built",
                loaded.file.name,
                loaded.errors()
            );
            exit = worse(exit, Exit::Invalid);
            continue;
        }
        if let Some(problem) = loaded.env_problem(env) {
            let _ = writeln!(stderr, "error: {problem}");
            exit = worse(exit, Exit::Usage);
            continue;
        }
        let Some(first) = loaded.pipelines.first() else {
            continue;
        };
        let folder = out.join(folder_of(first));
        if declared.get(&folder_of(first)).is_some_and(|p| p.len() > 1) {
            continue;
        }
        for valid in &loaded.pipelines {
            let dir = match valid.environment() {
                Some(e) => folder.join(&e.name),
                None => folder.clone(),
            };
            let source = crate::build::source_path(path, &dir);
            // Each file is compared (and written) as it is rendered, then dropped.
            let mut output = crate::build::Output::new(&dir, mode);
            if let Err(e) =
                crate::render::render_each(valid, source.as_deref(), &mut |p, t| output.file(p, t))
            {
                let _ = writeln!(stderr, "error: {}", e.message());
                exit = worse(exit, Exit::Usage);
                continue;
            }
            let e = report(&mut stdout, &mut stderr, output.finish(), &dir, path, check);
            exit = worse(exit, e);
        }
        // What another layout left behind is stale: the file's own output
        // once it declares environments, and the folders of environments
        // it no longer declares (or every one, once it declares none).
        if env.is_none() {
            for stale in crate::build::stale_layouts(&folder, &loaded.declared) {
                let output = crate::build::Output::new(&stale, mode);
                let e = report(
                    &mut stdout,
                    &mut stderr,
                    output.finish(),
                    &stale,
                    path,
                    check,
                );
                exit = worse(exit, e);
            }
        }
    }
    exit
}

/// Prints what one folder's build did (or, checking, what is out of date).
fn report(
    stdout: &mut impl Write,
    stderr: &mut impl Write,
    finished: Result<crate::build::Changes, crate::build::Failure>,
    dir: &std::path::Path,
    path: &std::path::Path,
    check: bool,
) -> Exit {
    let changes = match finished {
        Ok(c) => c,
        Err(crate::build::Failure::Read(e)) => {
            let _ = writeln!(stderr, "error: cannot read {}: {e}", dir.display());
            return Exit::Usage;
        }
        Err(crate::build::Failure::Write(e)) => {
            let _ = writeln!(stderr, "error: cannot write {}: {e}", dir.display());
            return Exit::Usage;
        }
    };
    if check {
        if changes.is_empty() {
            if changes.rendered > 0 {
                let _ = writeln!(
                    stdout,
                    "{}: up to date ({} files)",
                    dir.display(),
                    changes.rendered
                );
            }
            return Exit::Ok;
        }
        let _ = write!(stdout, "{}", changes.unified_diff(dir));
        let _ = writeln!(
            stderr,
            "{}: {} file(s) out of date; run `pipec build {}`",
            dir.display(),
            changes.changed.len(),
            path.display()
        );
        return Exit::Invalid;
    }
    if changes.rendered > 0 || !changes.is_empty() {
        let _ = writeln!(
            stdout,
            "{}: {} files, {} changed",
            dir.display(),
            changes.rendered,
            changes.changed.len()
        );
    }
    Exit::Ok
}

/// Renders diagnostics as text, for tests and callers that want a string.
pub fn render_all(file: &crate::source::SourceFile, diags: &[Diagnostic]) -> String {
    diags.iter().map(|d| d.render_text(file)).collect()
}
