//! Deploying to AWS: `diff`, `deploy` and `destroy`. The only code that
//! talks to AWS.
//!
//! In: the stacks, scripts and tags `build` renders (read back by `plan`),
//! the user's choices (`--stack`, `--yes`, ...) and an AWS connection
//! (`Aws`: the standard credential chain, `--profile`, `--region`, and
//! `AWS_ENDPOINT_URL` for LocalStack or moto). Out: CloudFormation stacks and
//! S3 objects changed, progress on the terminal, and an `Outcome` that
//! `cli::Exit` turns into an exit code.
//!
//! Phases, each a module with its own error type and wording:
//! `plan` (no AWS: what to act on, `PlanError`), `diff` (read only,
//! `DiffError`), `apply` (`deploy`: change sets, `DeployError`) and
//! `destroy` (`DestroyError`).

pub mod apply;
pub mod destroy;
pub mod diff;
pub mod plan;

use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_cloudformation::types::StackStatus;
use std::io::Write;
use std::time::{Duration, Instant};

/// How a command ended; `cli::Exit` maps it to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Done, or (diff) nothing differs.
    Done,
    /// A stack failed, a change was refused, or (diff) something differs.
    Failed,
    /// A usage or configuration problem (including a missing `--yes`).
    Usage,
}

/// Clients for the services pipec uses, from one shared configuration.
#[derive(Clone, Debug)]
pub struct Aws {
    pub cfn: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    pub region: String,
}

/// Connection choices from the command line.
#[derive(Debug, Clone, Default)]
pub struct Connect {
    pub profile: Option<String>,
    pub region: Option<String>,
}

impl Aws {
    /// Loads the standard AWS configuration (environment, profile files, SSO,
    /// instance roles), overridden by `--profile`/`--region`. The SDK honours
    /// `AWS_ENDPOINT_URL` by itself. Throttling and transient errors are
    /// retried by the SDK with exponential backoff and jitter.
    pub async fn connect(c: &Connect) -> Result<Aws, String> {
        use aws_config::retry::RetryConfig;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).retry_config(
            RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(10)),
        );
        if let Some(p) = &c.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &c.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        let conf = loader.load().await;
        let Some(region) = conf.region().map(|r| r.to_string()) else {
            return Err(
                "no AWS region: pass --region, or set AWS_REGION or a region in your profile"
                    .into(),
            );
        };
        if conf.credentials_provider().is_none() {
            return Err("no AWS credentials provider could be configured".into());
        }
        let s3_conf = aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build();
        Ok(Aws {
            cfn: aws_sdk_cloudformation::Client::new(&conf),
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            sts: aws_sdk_sts::Client::new(&conf),
            region,
        })
    }

    /// The account the credentials belong to.
    pub async fn account(&self) -> Result<String, String> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| format!("cannot tell which AWS account this is: {}", describe(&e)))?;
        out.account()
            .map(str::to_string)
            .ok_or_else(|| "STS returned no account id".to_string())
    }

    /// A stack as CloudFormation has it now, or `None` when there is none.
    pub async fn stack(
        &self,
        stack_name: &str,
    ) -> Result<Option<aws_sdk_cloudformation::types::Stack>, String> {
        match self
            .cfn
            .describe_stacks()
            .stack_name(stack_name)
            .send()
            .await
        {
            Ok(out) => Ok(out.stacks.unwrap_or_default().into_iter().next()),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(describe(&e)),
        }
    }

    /// The deployed template body, as submitted.
    pub async fn template(&self, stack_name: &str) -> Result<Option<String>, String> {
        match self
            .cfn
            .get_template()
            .stack_name(stack_name)
            .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original)
            .send()
            .await
        {
            Ok(out) => Ok(out.template_body),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(describe(&e)),
        }
    }
}

/// "Stack with id X does not exist" comes back as a `ValidationError`.
pub fn is_missing<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.message().is_some_and(|m| m.contains("does not exist"))
}

/// One line saying what went wrong with an AWS call: code and message when
/// the service gave them, the whole error chain otherwise.
pub fn describe<E>(e: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (None, Some(m)) => m.to_string(),
        _ => {
            let mut text = DisplayErrorContext(e).to_string();
            if let Some(i) = text.find(" (ServiceError(") {
                text.truncate(i);
            }
            if text.len() > 300 {
                let mut cut = 300;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                text.push_str("...");
            }
            text
        }
    }
}

/// Stable states in which a stack can take a change set.
pub fn is_settled(s: &StackStatus) -> bool {
    matches!(
        s,
        StackStatus::CreateComplete
            | StackStatus::UpdateComplete
            | StackStatus::UpdateRollbackComplete
            | StackStatus::ImportComplete
            | StackStatus::ImportRollbackComplete
    )
}

/// Waits between polls: 50 ms first (moto and small stacks finish at once),
/// then growing by half each time up to 5 s, which keeps a long deploy of
/// several stacks within CloudFormation's Describe* rate limits.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: Duration::from_millis(50),
        }
    }
}

impl Backoff {
    pub const MAX: Duration = Duration::from_secs(5);

    pub async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 3 / 2).min(Self::MAX);
    }
}

/// How progress is shown: text for people, or one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Text,
    Json,
}

/// Progress lines on stdout, each with the time since the command started.
#[derive(Debug, Clone)]
pub struct Log {
    pub style: Style,
    pub start: Instant,
    pub color: bool,
    /// Stacks expected and stacks finished, for the `[k/n]` progress in text.
    progress: std::sync::Arc<std::sync::Mutex<(usize, std::collections::BTreeSet<String>)>>,
}

impl Log {
    pub fn new(style: Style) -> Log {
        use std::io::IsTerminal;
        Log {
            style,
            start: Instant::now(),
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            progress: Default::default(),
        }
    }

    /// Starts counting progress over `total` stacks.
    pub fn expect(&self, total: usize) {
        if let Ok(mut p) = self.progress.lock() {
            *p = (total, Default::default());
        }
    }

    /// `[k/n]` once a stack reaches a final state, for text output.
    fn progress(&self, stack: &str, what: &str) -> String {
        if !matches!(
            what,
            "done" | "unchanged" | "failed" | "refused" | "deleted" | "skipped"
        ) {
            return String::new();
        }
        let Ok(mut p) = self.progress.lock() else {
            return String::new();
        };
        if p.0 == 0 || stack.starts_with('(') {
            return String::new();
        }
        p.1.insert(stack.to_string());
        format!(" [{}/{}]", p.1.len().min(p.0), p.0)
    }

    /// One event: `what` is a short fixed word (`start`, `done`, ...) that
    /// tools can match; `detail` is free text.
    pub fn event(&self, pipeline: &str, stack: &str, what: &str, detail: &str) {
        let ms = self.start.elapsed().as_millis();
        let line = match self.style {
            Style::Json => serde_json::json!({
                "t_ms": ms as u64,
                "pipeline": pipeline,
                "stack": stack,
                "event": what,
                "detail": detail,
            })
            .to_string(),
            Style::Text => {
                let progress = self.progress(stack, what);
                let secs = format!("{:>6.2}s", ms as f64 / 1000.0);
                let what = if self.color {
                    let code = match what {
                        "failed" | "refused" | "error" => "31",
                        "done" | "deleted" => "32",
                        "unchanged" => "2",
                        _ => "36",
                    };
                    format!("\x1b[{code}m{what}\x1b[0m")
                } else {
                    what.to_string()
                };
                if detail.is_empty() {
                    format!("{secs} {stack}: {what}{progress}")
                } else {
                    format!("{secs} {stack}: {what}: {detail}{progress}")
                }
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// A note about the whole run (not one stack).
    pub fn note(&self, text: &str) {
        match self.style {
            Style::Json => self.event("", "", "note", text),
            Style::Text => {
                let _ = writeln!(std::io::stdout().lock(), "{text}");
            }
        }
    }
}

/// Asks a yes/no question on the terminal. `None` when there is no terminal.
pub fn confirm(question: &str) -> Option<bool> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).ok()?;
    Some(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Resource types that hold data: replacing or removing one loses it.
pub const STATEFUL_TYPES: [&str; 4] = [
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
];
