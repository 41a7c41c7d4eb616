//! Who and where: the account, region and endpoint a command is about to
//! change, printed before anything else.
//!
//! In: a connected `Aws`. Out: a `Target` from STS GetCallerIdentity, which
//! every `deploy`, `diff` and `destroy` prints first (text line, JSON
//! event, or the first key of diff's JSON document). A failure here is a
//! configuration or connection problem: nothing has been read or changed.

use super::{Aws, Connect, describe};

/// The account, identity, region and endpoint of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub account: String,
    pub arn: String,
    pub region: String,
    /// `AWS_ENDPOINT_URL`, or the AWS default endpoints.
    pub endpoint: String,
    pub profile: Option<String>,
}

/// What the endpoint is called when none is configured.
pub const DEFAULT_ENDPOINT: &str = "AWS default endpoints";

impl Target {
    /// One line for people: `target: account 1234..., region us-east-1, endpoint ...`.
    pub fn line(&self) -> String {
        let profile = match &self.profile {
            Some(p) => format!(", profile {p}"),
            None => String::new(),
        };
        format!(
            "target: account {}, region {}, endpoint {} (as {}{profile})",
            self.account, self.region, self.endpoint, self.arn
        )
    }

    /// The same as fields, for JSON output.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "account": self.account,
            "arn": self.arn,
            "region": self.region,
            "endpoint": self.endpoint,
            "profile": self.profile,
        })
    }
}

/// Asks STS who the credentials belong to. Few attempts: when the endpoint
/// is unreachable or the credentials are refused, the user should hear so
/// at once rather than after the full retry schedule.
pub async fn identify(aws: &Aws) -> Result<Target, String> {
    let endpoint = aws
        .endpoint
        .clone()
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
    let few = aws_sdk_sts::config::Builder::default()
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::standard().with_max_attempts(3));
    let out = aws
        .sts
        .get_caller_identity()
        .customize()
        .config_override(few)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot confirm the AWS account at endpoint {endpoint} (region {}): {}",
                aws.region,
                describe(&e)
            )
        })?;
    let account = out
        .account()
        .ok_or_else(|| format!("STS at {endpoint} returned no account id"))?
        .to_string();
    Ok(Target {
        account,
        arn: out.arn().unwrap_or("unknown identity").to_string(),
        region: aws.region.clone(),
        endpoint,
        profile: aws.profile.clone(),
    })
}

/// Connects and confirms the target: what every AWS command does first.
pub async fn connect(c: &Connect) -> Result<(Aws, Target), String> {
    let aws = Aws::connect(c).await?;
    let who = identify(&aws).await?;
    Ok((aws, who))
}
