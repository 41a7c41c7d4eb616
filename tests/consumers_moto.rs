//! The consumers stack deploys: against a local moto server, the fixture
//! with three consumers deploys, each consumer role exists with its trust
//! and its read policy, which names the pipeline key through the SSM
//! parameter `basic-infra` wrote, and the results bucket exists. (moto 5.2.5
//! skips Athena workgroups, which cfn-lint checks, and keeps the dynamic
//! reference in the stored policy as text, where CloudFormation resolves it.)

#[path = "support/moto.rs"]
mod moto;

use moto::{Moto, root};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// Reads the roles and the bucket through boto3 from the venv, against moto.
fn inspect(moto: &Moto) -> Value {
    let venv = std::env::var_os("PIPEC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv"));
    let script = r#"
import ast, json, os, boto3
def doc(d):
    # moto keeps a document CloudFormation gave it as Python text.
    if isinstance(d, str):
        try:
            return json.loads(d)
        except ValueError:
            return ast.literal_eval(d)
    return d
iam = boto3.client("iam", endpoint_url=os.environ["URL"])
s3 = boto3.client("s3", endpoint_url=os.environ["URL"])
out = {"roles": {}, "buckets": [b["Name"] for b in s3.list_buckets()["Buckets"]]}
for name in ["shop-analysts-consumer", "shop-finance-consumer", "shop-returns-desk-consumer"]:
    role = iam.get_role(RoleName=name)["Role"]
    policy = iam.get_role_policy(RoleName=name, PolicyName="read")["PolicyDocument"]
    out["roles"][name] = {"trust": doc(role["AssumeRolePolicyDocument"]), "policy": doc(policy)}
print(json.dumps(out))
"#;
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", script])
        .env("URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn as_doc(v: &Value) -> Value {
    // IAM returns policy documents as objects (boto3 decodes them), or text.
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    }
}

#[test]
fn the_consumers_stack_deploys_with_its_roles() {
    let moto = Moto::start();
    let out = moto.pipec(&["deploy", "tests/cases/good/consumers.yaml", "--yes"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("shop-consumers: done: CREATE_COMPLETE"),
        "{stdout}"
    );
    let v = inspect(&moto);
    assert!(
        v["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b == "shop-consumers-123456789012-us-east-1"),
        "{v}"
    );
    let analysts = &v["roles"]["shop-analysts-consumer"];
    let trust = as_doc(&analysts["trust"]);
    assert_eq!(
        trust["Statement"][0]["Principal"]["AWS"][0],
        "arn:aws:iam::123456789012:role/analyst"
    );
    for (name, role) in v["roles"].as_object().unwrap() {
        let policy = as_doc(&role["policy"]);
        let key = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "DataKeyDecrypt")
            .unwrap_or_else(|| panic!("{name}: {policy}"));
        let arn = key["Resource"][0].as_str().unwrap_or_default();
        assert!(
            arn.starts_with("arn:aws:kms:us-east-1:123456789012:key/")
                || arn == "{{resolve:ssm:/pipec/shop/kms-key-arn}}",
            "{name}: not the pipeline's key: {key}"
        );
        assert_eq!(key["Action"], serde_json::json!(["kms:Decrypt"]), "{name}");
    }
}
