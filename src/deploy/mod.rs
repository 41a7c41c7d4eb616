//! Deploying to AWS: `diff`, `deploy`, `destroy` and `check --live`. The
//! only code that talks to AWS.
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
//! `destroy` (`DestroyError`), with `adopt` (retained resources found again,
//! re-imported or listed for deletion, `AdoptError`); `preflight` (`check --live`: EC2 read only,
//! `GatherError`). Running: `run` (`pipec run`: a workflow or one job, watched),
//! `runs` (`pipec status`), `athena` (`pipec query`), all naming what they
//! call from the stacks (`resources`).

pub mod adopt;
pub mod apply;
pub mod athena;
pub mod changeset;
pub mod destroy;
pub mod diff;
pub mod diff_output;
pub mod drift;
pub mod gate;
pub mod identity;
pub mod live_catalog;
pub mod lock;
pub mod plan;
pub mod preflight;
pub mod resources;
pub mod run;
pub mod runs;
pub mod verify;

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
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
    /// Read only, by `check --live`.
    pub ec2: aws_sdk_ec2::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    /// Runs workflows and jobs (`pipec run`, `pipec status`).
    pub glue: aws_sdk_glue::Client,
    /// Runs queries (`pipec query`).
    pub athena: aws_sdk_athena::Client,
    pub region: String,
    /// `--endpoint-url` or `AWS_ENDPOINT_URL` when set (LocalStack, moto);
    /// `None`: AWS itself.
    pub endpoint: Option<String>,
    /// The `--profile` whose credentials sign every call.
    pub profile: Option<String>,
}

/// Connection choices from the command line.
#[derive(Debug, Clone, Default)]
pub struct Connect {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// `--endpoint-url`: one endpoint for every service, over
    /// `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
}

impl Aws {
    /// Loads the standard AWS configuration (environment, profile files, SSO,
    /// instance roles), overridden by `--profile`/`--region`. The SDK honours
    /// `AWS_ENDPOINT_URL` by itself. Throttling and transient errors are
    /// retried by the SDK with exponential backoff and jitter.
    ///
    /// `--profile` wins over credentials in the environment, as in the AWS
    /// CLI: its credentials come from the profile provider alone. The
    /// credentials are resolved once here, so that a missing profile or no
    /// credentials at all is a clear configuration error before any call.
    pub async fn connect(c: &Connect) -> Result<Aws, String> {
        use aws_config::retry::RetryConfig;
        use aws_sdk_sts::config::ProvideCredentials;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).retry_config(
            RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(10)),
        );
        if let Some(r) = &c.region {
            if r.is_empty() {
                return Err("--region is empty; name an AWS region such as us-east-1".into());
            }
            if !is_region_name(r) {
                return Err(format!(
                    "--region `{r}` is not an AWS region name; name one such as us-east-1"
                ));
            }
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(u) = &c.endpoint_url {
            let rest = u
                .strip_prefix("http://")
                .or_else(|| u.strip_prefix("https://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
                return Err(format!(
                    "--endpoint-url `{u}` is not a URL; give one such as http://127.0.0.1:5000"
                ));
            }
            loader = loader.endpoint_url(u);
        }
        if let Some(p) = &c.profile {
            let provider = aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(p)
                .build();
            loader = loader.profile_name(p).credentials_provider(provider);
        }
        let conf = loader.load().await;
        let Some(region) = conf.region().map(|r| r.to_string()) else {
            return Err(
                "no AWS region: pass --region, or set AWS_REGION or a region in your profile"
                    .into(),
            );
        };
        if !is_region_name(&region) {
            return Err(format!(
                "the AWS region `{region}` (from AWS_REGION or the profile) is not a region name; pass --region, such as --region us-east-1"
            ));
        }
        let Some(provider) = conf.credentials_provider() else {
            return Err("no AWS credentials provider could be configured".into());
        };
        if let Err(e) = provider.provide_credentials().await {
            return Err(match &c.profile {
                Some(p) => format!(
                    "cannot use AWS profile `{p}`: it is not defined in the AWS config or credentials file (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/), or it yields no credentials ({})",
                    chain(&e)
                ),
                None => format!(
                    "no usable AWS credentials ({}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile",
                    chain(&e)
                ),
            });
        }
        let s3_conf = aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build();
        Ok(Aws {
            cfn: aws_sdk_cloudformation::Client::new(&conf),
            ec2: aws_sdk_ec2::Client::new(&conf),
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            sts: aws_sdk_sts::Client::new(&conf),
            glue: aws_sdk_glue::Client::new(&conf),
            athena: aws_sdk_athena::Client::new(&conf),
            region,
            endpoint: conf.endpoint_url().map(str::to_string),
            profile: c.profile.clone(),
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
/// the service gave them, the chain of causes otherwise (never the SDK's
/// `Debug` dump, which `DisplayErrorContext` appends).
pub fn describe<E>(e: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (None, Some(m)) => m.to_string(),
        _ if is_connection(e) => format!("{UNREACHABLE}: {}", chain(e)),
        _ => chain(e),
    }
}

/// How `describe` opens the text of a request that never got an answer, so
/// that callers can tell a connection problem (exit 2) from a failed stack.
pub const UNREACHABLE: &str = "no answer from the AWS endpoint";

/// True when a request failed in the connector (refused, reset, timed out)
/// rather than with an answer from the service.
pub fn is_connection(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = e.source();
    while let Some(err) = cur {
        if err
            .downcast_ref::<aws_sdk_cloudformation::error::ConnectorError>()
            .is_some()
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// True for a message `describe` made from a connection problem.
pub fn is_unreachable(detail: &str) -> bool {
    detail.contains(UNREACHABLE)
}

/// An error and its causes, each by its `Display`, joined by `: `, at most
/// 300 characters.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    let mut text = parts
        .join(": ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
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

/// Region names are lower-case letters, digits and dashes (`us-east-1`);
/// anything else would only fail later inside the SDK.
pub fn is_region_name(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !r.starts_with('-')
        && !r.ends_with('-')
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
    /// Notes already given in this run, so each is said once.
    said: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<&'static str>>>,
}

impl Log {
    pub fn new(style: Style) -> Log {
        use std::io::IsTerminal;
        Log {
            style,
            start: Instant::now(),
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            progress: Default::default(),
            said: Default::default(),
        }
    }

    /// True the first time `key` is asked in this run, false after: for a
    /// fact about the endpoint that holds for every stack.
    pub fn first_time(&self, key: &'static str) -> bool {
        self.said.lock().map(|mut s| s.insert(key)).unwrap_or(true)
    }

    /// Whether `first_time(key)` has been asked.
    pub fn said(&self, key: &'static str) -> bool {
        self.said.lock().map(|s| s.contains(key)).unwrap_or(false)
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

    /// The account, region and endpoint a command acts on: the first line of
    /// every `deploy` and `destroy`.
    pub fn target(&self, t: &identity::Target) {
        let line = match self.style {
            Style::Json => {
                let mut v = serde_json::json!({
                    "t_ms": self.start.elapsed().as_millis() as u64,
                    "pipeline": "",
                    "stack": "",
                    "event": "target",
                    "detail": t.line(),
                });
                if let (Some(o), serde_json::Value::Object(extra)) = (v.as_object_mut(), t.json()) {
                    o.extend(extra);
                }
                v.to_string()
            }
            Style::Text => t.line(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dispatch_failure_is_described_without_a_debug_dump() {
        use aws_sdk_cloudformation::error::SdkError;
        use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let e: SdkError<DescribeStacksError, ()> = SdkError::dispatch_failure(
            aws_sdk_cloudformation::error::ConnectorError::io(Box::new(io)),
        );
        let text = describe(&e);
        assert!(text.contains("Connection refused"), "{text}");
        assert!(is_unreachable(&text), "{text}");
        assert!(!text.contains("DispatchFailure("), "{text}");
        assert!(!text.contains("ConnectorError {"), "{text}");
    }

    #[test]
    fn region_names() {
        assert!(is_region_name("us-east-1") && is_region_name("eu-central-2"));
        for bad in ["", "US-EAST-1", "us east", "-x", "x-", "a.b"] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }
}
