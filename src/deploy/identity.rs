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

/// The region of the environments being acted on: `None` when none
/// declares one. `--region` may repeat it but not contradict it, and one
/// command acts in one region.
pub fn environment_region(
    envs: &[&crate::env::Chosen],
    flag: Option<&str>,
) -> Result<Option<String>, String> {
    let mut declared: Vec<(&str, &str)> = envs
        .iter()
        .filter_map(|e| e.region.as_deref().map(|r| (e.name.as_str(), r)))
        .collect();
    declared.sort_by(|a, b| a.1.cmp(b.1));
    declared.dedup_by(|a, b| a.1 == b.1);
    match (declared.as_slice(), flag) {
        ([], _) => Ok(None),
        ([(env, r)], Some(f)) if *r != f => Err(format!(
            "environment `{env}` deploys to region {r}, but --region says {f}; drop --region"
        )),
        ([(_, r)], _) => Ok(Some(r.to_string())),
        (many, _) => Err(format!(
            "the environments acted on deploy to {} regions ({}); name one pipeline with --pipeline",
            many.len(),
            many.iter().map(|(_, r)| *r).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The account guard: every environment that declares an account must be
/// acted on with that account's credentials. Checked on the STS answer,
/// before anything is read or changed.
pub fn guard(envs: &[&crate::env::Chosen], who: &Target) -> Result<(), String> {
    for e in envs {
        if let Some(a) = &e.account
            && *a != who.account
        {
            return Err(format!(
                "refusing to act: environment `{}` of pipeline `{}` deploys to account {a}, but the credentials are for account {} ({}); nothing was read or changed",
                e.name, e.pipeline, who.account, who.arn
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Chosen;

    fn env(name: &str, account: Option<&str>, region: Option<&str>) -> Chosen {
        Chosen {
            name: name.into(),
            pipeline: "etl".into(),
            account: account.map(Into::into),
            region: region.map(Into::into),
        }
    }

    fn who(account: &str) -> Target {
        Target {
            account: account.into(),
            arn: "arn:aws:sts::x:assumed-role/r".into(),
            region: "us-east-1".into(),
            endpoint: DEFAULT_ENDPOINT.into(),
            profile: None,
        }
    }

    #[test]
    fn the_guard_refuses_another_account() {
        let prod = env("prod", Some("210987654321"), None);
        let any = env("dev", None, None);
        assert!(guard(&[&prod], &who("210987654321")).is_ok());
        assert!(guard(&[&any], &who("123456789012")).is_ok());
        let e = guard(&[&any, &prod], &who("123456789012")).unwrap_err();
        assert!(
            e.contains("account 210987654321") && e.contains("123456789012"),
            "{e}"
        );
    }

    #[test]
    fn the_region_comes_from_the_environment() {
        let dev = env("dev", None, Some("us-east-1"));
        let prod = env("prod", None, Some("eu-west-1"));
        let none = env("x", None, None);
        assert_eq!(environment_region(&[&none], Some("ap-south-1")), Ok(None));
        assert_eq!(
            environment_region(&[&prod], None),
            Ok(Some("eu-west-1".into()))
        );
        assert_eq!(
            environment_region(&[&prod], Some("eu-west-1")),
            Ok(Some("eu-west-1".into()))
        );
        assert!(environment_region(&[&prod], Some("us-east-1")).is_err());
        assert!(environment_region(&[&dev, &prod], None).is_err());
    }
}
