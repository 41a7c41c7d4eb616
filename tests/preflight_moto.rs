//! `pipec check --live` end to end: the real binary against a `moto_server`
//! this test starts on 127.0.0.1, port 0. The test builds VPCs in moto
//! through the EC2 API (subnets, security groups, route tables, VPC
//! endpoints, a NAT gateway), writes temporary copies of the example
//! pipelines with those ids, and checks the exit code and every message.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "support/moto.rs"]
mod moto;
use moto::{Moto, root};

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, DomainType, IpPermission, UserIdGroupPair, VpcEndpointType,
};

const REGION: &str = "us-east-1";

fn ec2(moto: &Moto) -> Client {
    let conf = aws_sdk_ec2::Config::builder()
        .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
        .region(aws_sdk_ec2::config::Region::new(REGION))
        .endpoint_url(&moto.url)
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    Client::from_conf(conf)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn expect(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A VPC as the test builds it; ids as moto made them.
struct Net {
    subnet: String,
    group: String,
    /// The subnet's own route table, when it has one.
    table: Option<String>,
}

async fn vpc(c: &Client, cidr: &str, dns_hostnames: bool) -> String {
    let vpc = c
        .create_vpc()
        .cidr_block(cidr)
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let on = |v: bool| AttributeBooleanValue::builder().value(v).build();
    c.modify_vpc_attribute()
        .vpc_id(&vpc)
        .enable_dns_support(on(true))
        .send()
        .await
        .unwrap();
    c.modify_vpc_attribute()
        .vpc_id(&vpc)
        .enable_dns_hostnames(on(dns_hostnames))
        .send()
        .await
        .unwrap();
    vpc
}

async fn subnet(c: &Client, vpc: &str, cidr: &str, zone: &str) -> String {
    c.create_subnet()
        .vpc_id(vpc)
        .cidr_block(cidr)
        .availability_zone(zone)
        .send()
        .await
        .unwrap()
        .subnet
        .unwrap()
        .subnet_id
        .unwrap()
}

/// A security group whose only inbound rule admits `protocol` (and ports)
/// from the group itself.
async fn group(
    c: &Client,
    vpc: &str,
    name: &str,
    protocol: &str,
    ports: Option<(i32, i32)>,
) -> String {
    let id = c
        .create_security_group()
        .group_name(name)
        .description("pipec preflight test")
        .vpc_id(vpc)
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    let mut rule = IpPermission::builder()
        .ip_protocol(protocol)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&id).build());
    if let Some((from, to)) = ports {
        rule = rule.from_port(from).to_port(to);
    }
    c.authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(rule.build())
        .send()
        .await
        .unwrap();
    id
}

async fn own_table(c: &Client, vpc: &str, subnet: &str) -> String {
    let t = c
        .create_route_table()
        .vpc_id(vpc)
        .send()
        .await
        .unwrap()
        .route_table
        .unwrap()
        .route_table_id
        .unwrap();
    c.associate_route_table()
        .route_table_id(&t)
        .subnet_id(subnet)
        .send()
        .await
        .unwrap();
    t
}

async fn main_table(c: &Client, vpc: &str) -> String {
    let out = c
        .describe_route_tables()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc)
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.route_tables()
        .iter()
        .find(|t| t.associations().iter().any(|a| a.main() == Some(true)))
        .and_then(|t| t.route_table_id())
        .unwrap()
        .to_string()
}

async fn gateway_endpoint(c: &Client, vpc: &str, table: &str) {
    c.create_vpc_endpoint()
        .vpc_id(vpc)
        .service_name(format!("com.amazonaws.{REGION}.s3"))
        .vpc_endpoint_type(VpcEndpointType::Gateway)
        .route_table_ids(table)
        .send()
        .await
        .unwrap();
}

async fn interface_endpoint(
    c: &Client,
    vpc: &str,
    subnet: &str,
    group: &str,
    service: &str,
    private_dns: bool,
) {
    c.create_vpc_endpoint()
        .vpc_id(vpc)
        .service_name(format!("com.amazonaws.{REGION}.{service}"))
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .subnet_ids(subnet)
        .security_group_ids(group)
        .private_dns_enabled(private_dns)
        .send()
        .await
        .unwrap();
}

/// Everything through endpoints: own route table with the S3 gateway
/// endpoint, four interface endpoints with private DNS, a group that admits
/// all traffic from itself.
async fn complete(c: &Client) -> Net {
    let vpc = vpc(c, "10.1.0.0/16", true).await;
    let subnet = subnet(c, &vpc, "10.1.1.0/24", "us-east-1a").await;
    let group = group(c, &vpc, "glue-complete", "-1", None).await;
    let table = own_table(c, &vpc, &subnet).await;
    gateway_endpoint(c, &vpc, &table).await;
    for s in ["secretsmanager", "kms", "glue", "logs"] {
        interface_endpoint(c, &vpc, &subnet, &group, s, true).await;
    }
    Net {
        subnet,
        group,
        table: Some(table),
    }
}

/// Everything through a NAT gateway on the VPC's main route table (the
/// subnet has no table of its own), and all TCP as `tcp 0-65535`.
async fn through_nat(c: &Client) -> Net {
    let vpc = vpc(c, "10.2.0.0/16", false).await;
    let subnet = subnet(c, &vpc, "10.2.1.0/24", "us-east-1a").await;
    let public = self::subnet(c, &vpc, "10.2.2.0/24", "us-east-1a").await;
    let group = group(c, &vpc, "glue-nat", "tcp", Some((0, 65535))).await;
    let igw = c
        .create_internet_gateway()
        .send()
        .await
        .unwrap()
        .internet_gateway
        .unwrap()
        .internet_gateway_id
        .unwrap();
    c.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let alloc = c
        .allocate_address()
        .domain(DomainType::Vpc)
        .send()
        .await
        .unwrap()
        .allocation_id
        .unwrap();
    let nat = c
        .create_nat_gateway()
        .subnet_id(&public)
        .allocation_id(alloc)
        .send()
        .await
        .unwrap()
        .nat_gateway
        .unwrap()
        .nat_gateway_id
        .unwrap();
    let main = main_table(c, &vpc).await;
    c.create_route()
        .route_table_id(&main)
        .destination_cidr_block("0.0.0.0/0")
        .nat_gateway_id(nat)
        .send()
        .await
        .unwrap();
    Net {
        subnet,
        group,
        table: None,
    }
}

/// Missing pieces: the group admits only the database port from itself, the
/// S3 gateway endpoint serves another route table than the subnet's (main)
/// one, the Secrets Manager endpoint has private DNS off, and there are no
/// KMS, Glue or Logs endpoints and no NAT gateway.
async fn incomplete(c: &Client) -> (Net, String) {
    let vpc = vpc(c, "10.3.0.0/16", true).await;
    let subnet = subnet(c, &vpc, "10.3.1.0/24", "us-east-1a").await;
    let other = self::subnet(c, &vpc, "10.3.2.0/24", "us-east-1a").await;
    let group = group(c, &vpc, "glue-incomplete", "tcp", Some((5439, 5439))).await;
    let other_table = own_table(c, &vpc, &other).await;
    gateway_endpoint(c, &vpc, &other_table).await;
    interface_endpoint(c, &vpc, &subnet, &group, "secretsmanager", false).await;
    let main = main_table(c, &vpc).await;
    (
        Net {
            subnet,
            group,
            table: Some(main),
        },
        other_table,
    )
}

/// A copy of an example pipeline (and its samples) with the connection's ids replaced.
fn pipeline(dir: &Path, example: &str, swaps: &[(&str, &str)]) -> PathBuf {
    let mut s = std::fs::read_to_string(root().join("pipelines").join(example)).unwrap();
    for (from, to) in swaps {
        assert!(s.contains(from), "{example} holds {from}");
        s = s.replace(from, to);
    }
    let path = dir.join(example);
    std::fs::write(&path, s).unwrap();
    // The pipeline's sample files are checked beside it.
    let stem = example.trim_end_matches(".yaml");
    let samples = root().join("pipelines/samples").join(stem);
    if samples.is_dir() {
        let to = dir.join("samples").join(stem);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(&samples).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    path
}

#[test]
fn check_live_against_moto() {
    let moto = Moto::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = ec2(&moto);
    let (good, nat, (bad, other_table)) = rt.block_on(async {
        (
            complete(&c).await,
            through_nat(&c).await,
            incomplete(&c).await,
        )
    });
    let tmp = std::env::temp_dir().join(format!("pipec-preflight-moto-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let survey = |dir: &str, n: &Net| {
        let d = tmp.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        pipeline(
            &d,
            "survey.yaml",
            &[
                ("subnet-0a1b2c3d4e5f67890", &n.subnet),
                ("sg-0123456789abcdef0", &n.group),
            ],
        )
    };

    // Complete through endpoints: exit 0, target first. The endpoint comes
    // from --endpoint-url here, with AWS_ENDPOINT_URL unset.
    let file = survey("complete", &good);
    let out = moto.pipec_unset(
        &[
            "check",
            "--live",
            file.to_str().unwrap(),
            "--endpoint-url",
            &moto.url,
        ],
        &["AWS_ENDPOINT_URL"],
    );
    expect(&out, 0, "complete network");
    let stdout = text(&out.stdout);
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("target: account 123456789012, region us-east-1, endpoint ")
            && first.contains(&moto.url),
        "{stdout}"
    );
    assert!(stdout.contains("ok: connection `survey-db`"), "{stdout}");
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));

    // Complete through a NAT gateway on the main route table.
    let file = survey("nat", &nat);
    let out = moto.pipec(&["check", "--live", file.to_str().unwrap()]);
    expect(&out, 0, "network through a NAT gateway");
    assert!(nat.table.is_none(), "the subnet uses the main route table");

    // Missing pieces, on trips.yaml: two security groups (one that does not
    // exist) and a declared zone that is not the subnet's.
    let d = tmp.join("incomplete");
    std::fs::create_dir_all(&d).unwrap();
    let missing_group = "sg-0000000000000dead";
    let file = pipeline(
        &d,
        "trips.yaml",
        &[
            ("subnet-0fedcba9876543210", &bad.subnet),
            ("sg-0fedcba9876543210", &bad.group),
            ("sg-00112233445566778", missing_group),
        ],
    );
    let out = moto.pipec(&["check", "--live", file.to_str().unwrap()]);
    expect(&out, 1, "incomplete network");
    let err = text(&out.stderr);
    let main = bad.table.as_deref().unwrap();
    let wanted = [
        format!(
            "subnet {} is in availability zone us-east-1a, not us-east-1b",
            bad.subnet
        ),
        format!("security group {missing_group} does not exist"),
        format!(
            "none of its security groups ({}) has a self-referencing inbound rule for all TCP ports",
            bad.group
        ),
        format!(
            "subnet {} (route table {main}, the VPC's main one, as the subnet has none of its own) has no path to Amazon S3",
            bad.subnet
        ),
        format!("does not serve {main}"),
        format!("add {main} to the route tables of gateway endpoint"),
        "no path to AWS Secrets Manager (com.amazonaws.us-east-1.secretsmanager)".to_string(),
        "has private DNS disabled".to_string(),
        "no path to AWS KMS (com.amazonaws.us-east-1.kms)".to_string(),
        "no path to AWS Glue (com.amazonaws.us-east-1.glue)".to_string(),
        "no path to CloudWatch Logs (com.amazonaws.us-east-1.logs)".to_string(),
        "see https://docs.aws.amazon.com/glue/latest/dg/setup-vpc-for-glue-access.html".to_string(),
        "see https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html".to_string(),
        "8 network problems in connection `warehouse`; nothing was changed".to_string(),
    ];
    for w in &wanted {
        assert!(err.contains(w.as_str()), "missing {w:?} in:\n{err}");
    }
    assert!(
        err.contains(&format!("does not serve {main}"))
            && !err.contains(&format!("route table {other_table},"))
            && !err.contains(&format!("route table {other_table})")),
        "the S3 finding is about the subnet's table, not the endpoint's:\n{err}"
    );
    // Each finding is a located diagnostic in the pipeline file.
    let headlines: Vec<&str> = err.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(headlines.len(), 8, "{err}");
    for h in &headlines {
        assert!(h.starts_with(&format!("{}:", file.display())), "{h}");
        assert!(h.contains(": error: connection `warehouse`: "), "{h}");
    }
    assert!(
        err.contains("security_groups: ["),
        "the excerpt quotes the groups line:\n{err}"
    );

    // The same as JSON: the target event, then one diagnostic per line.
    let out = moto.pipec(&[
        "check",
        "--live",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    expect(&out, 1, "incomplete network, JSON");
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    assert_eq!(lines[0]["event"], "target");
    assert_eq!(lines[0]["account"], "123456789012");
    let codes: Vec<&str> = lines[1..]
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "network-glue",
            "network-kms",
            "network-logs",
            "network-s3",
            "network-secretsmanager",
            "network-security-group",
            "network-self-reference",
            "network-subnet",
        ]
    );
    for d in &lines[1..] {
        assert_eq!(d["severity"], "error");
        assert!(d["line"].as_u64().unwrap() > 0, "{d}");
        assert!(
            d["hint"]
                .as_str()
                .unwrap()
                .contains("https://docs.aws.amazon.com/"),
            "{d}"
        );
    }

    // A subnet that does not exist: that alone, since no path can be judged.
    let gone = Net {
        subnet: "subnet-0000000000000dead".into(),
        group: good.group.clone(),
        table: None,
    };
    let file = survey("gone", &gone);
    let out = moto.pipec(&["check", "--live", file.to_str().unwrap()]);
    expect(&out, 1, "missing subnet");
    let err = text(&out.stderr);
    assert!(
        err.contains("subnet subnet-0000000000000dead does not exist in this account and region"),
        "{err}"
    );
    assert_eq!(err.matches(": error: ").count(), 1, "{err}");

    // No connections: nothing to check, exit 0.
    let out = moto.pipec(&["check", "--live", "pipelines/etl.yaml"]);
    expect(&out, 0, "no connections");
    assert!(
        text(&out.stdout).contains("nothing to check"),
        "{}",
        text(&out.stdout)
    );

    let _ = std::fs::remove_dir_all(&tmp);
}
