//! Table-driven tests of the network rules on hand-made facts: each missing
//! piece, and each alternative (endpoint or NAT, explicit or main route table).

use super::super::facts::*;
use super::*;
use crate::model::{Connection, Engine};

const SUBNET: &str = "subnet-0a1b2c3d4e5f67890";
const GROUP: &str = "sg-0123456789abcdef0";
const VPC: &str = "vpc-0000000000000000a";
const TABLE: &str = "rtb-0000000000000000a";
const MAIN: &str = "rtb-000000000000000ma";
const NAT: &str = "nat-0000000000000000a";

fn connections(groups: &[&str]) -> IndexMap<String, Connection> {
    let mut m = IndexMap::new();
    m.insert(
        "db".to_string(),
        Connection {
            engine: Engine::Postgresql,
            url: "jdbc:postgresql://db.internal:5432/x".into(),
            secret: "db/credentials".into(),
            subnet: SUBNET.into(),
            security_groups: groups.iter().map(|g| g.to_string()).collect(),
            availability_zone: "us-east-1a".into(),
            description: None,
        },
    );
    m
}

fn self_rule(group: &str, protocol: &str, from: Option<i32>, to: Option<i32>) -> Permission {
    Permission {
        protocol: protocol.into(),
        from_port: from,
        to_port: to,
        source_groups: vec![group.into()],
    }
}

fn endpoint(id: &str, service: &str, kind: EndpointKind, tables: &[&str]) -> Endpoint {
    Endpoint {
        id: id.into(),
        vpc_id: VPC.into(),
        service: format!("com.amazonaws.us-east-1.{service}"),
        kind,
        route_tables: tables.iter().map(|t| t.to_string()).collect(),
        private_dns: kind == EndpointKind::Interface,
        state: "available".into(),
    }
}

/// A complete network through endpoints: the subnet has its own route
/// table, served by an S3 gateway endpoint, and every interface endpoint
/// has private DNS. No NAT gateway.
fn complete() -> NetworkFacts {
    let mut f = NetworkFacts {
        region: "us-east-1".into(),
        ..NetworkFacts::default()
    };
    f.subnets.insert(
        SUBNET.into(),
        Subnet {
            id: SUBNET.into(),
            vpc_id: VPC.into(),
            availability_zone: "us-east-1a".into(),
        },
    );
    f.security_groups.insert(
        GROUP.into(),
        SecurityGroup {
            id: GROUP.into(),
            vpc_id: VPC.into(),
            inbound: vec![self_rule(GROUP, "-1", None, None)],
        },
    );
    f.vpcs.insert(
        VPC.into(),
        Vpc {
            id: VPC.into(),
            dns_support: Some(true),
            dns_hostnames: Some(true),
        },
    );
    f.route_tables = vec![
        RouteTable {
            id: MAIN.into(),
            vpc_id: VPC.into(),
            main: true,
            subnets: vec![],
            routes: vec![],
        },
        RouteTable {
            id: TABLE.into(),
            vpc_id: VPC.into(),
            main: false,
            subnets: vec![SUBNET.into()],
            routes: vec![],
        },
    ];
    f.endpoints = vec![
        endpoint("vpce-s3", "s3", EndpointKind::Gateway, &[TABLE]),
        endpoint("vpce-sm", "secretsmanager", EndpointKind::Interface, &[]),
        endpoint("vpce-kms", "kms", EndpointKind::Interface, &[]),
        endpoint("vpce-glue", "glue", EndpointKind::Interface, &[]),
        endpoint("vpce-logs", "logs", EndpointKind::Interface, &[]),
    ];
    f
}

fn nat_route(table: &mut RouteTable, active: bool) {
    table.routes.push(Route {
        destination: Some("0.0.0.0/0".into()),
        nat_gateway: Some(NAT.into()),
        active,
    });
}

fn with_nat(f: &mut NetworkFacts, table: &str, state: &str) {
    let t = f.route_tables.iter_mut().find(|t| t.id == table).unwrap();
    nat_route(t, true);
    f.nat_gateways.insert(
        NAT.into(),
        NatGateway {
            id: NAT.into(),
            state: state.into(),
        },
    );
}

fn drop_endpoint(f: &mut NetworkFacts, id: &str) {
    f.endpoints.retain(|e| e.id != id);
}

fn no_endpoints(f: &mut NetworkFacts) {
    f.endpoints.clear();
}

const ALL_PATHS: [&str; 5] = [
    "network-s3",
    "network-secretsmanager",
    "network-kms",
    "network-glue",
    "network-logs",
];

type Case = (&'static str, fn(&mut NetworkFacts), &'static [&'static str]);

#[test]
fn each_missing_piece_and_each_alternative() {
    let cases: &[Case] = &[
        ("complete through endpoints", |_| {}, &[]),
        (
            "NAT instead of every endpoint",
            |f| {
                no_endpoints(f);
                with_nat(f, TABLE, "available");
            },
            &[],
        ),
        (
            "no explicit association: the main table's NAT serves the subnet",
            |f| {
                no_endpoints(f);
                f.route_tables.retain(|t| t.id != TABLE);
                with_nat(f, MAIN, "available");
            },
            &[],
        ),
        (
            "no explicit association: the main table's S3 endpoint serves the subnet",
            |f| {
                f.route_tables.retain(|t| t.id != TABLE);
                f.endpoints[0].route_tables = vec![MAIN.into()];
            },
            &[],
        ),
        (
            "an explicit association wins over the main table's NAT",
            |f| {
                no_endpoints(f);
                with_nat(f, MAIN, "available");
            },
            &ALL_PATHS,
        ),
        (
            "the S3 endpoint serves another table",
            |f| f.endpoints[0].route_tables = vec![MAIN.into()],
            &["network-s3"],
        ),
        (
            "no S3 endpoint",
            |f| drop_endpoint(f, "vpce-s3"),
            &["network-s3"],
        ),
        (
            "an S3 interface endpoint is not a gateway",
            |f| f.endpoints[0].kind = EndpointKind::Interface,
            &["network-s3"],
        ),
        (
            "no Secrets Manager endpoint",
            |f| drop_endpoint(f, "vpce-sm"),
            &["network-secretsmanager"],
        ),
        (
            "no KMS endpoint",
            |f| drop_endpoint(f, "vpce-kms"),
            &["network-kms"],
        ),
        (
            "no Glue endpoint",
            |f| drop_endpoint(f, "vpce-glue"),
            &["network-glue"],
        ),
        (
            "no Logs endpoint",
            |f| drop_endpoint(f, "vpce-logs"),
            &["network-logs"],
        ),
        (
            "KMS endpoint without private DNS",
            |f| f.endpoints[2].private_dns = false,
            &["network-kms"],
        ),
        (
            "Glue endpoint still pending",
            |f| f.endpoints[3].state = "pending".into(),
            &["network-glue"],
        ),
        (
            "endpoints of another VPC do not count",
            |f| {
                for e in &mut f.endpoints {
                    e.vpc_id = "vpc-0000000000000000b".into();
                }
            },
            &ALL_PATHS,
        ),
        ("nothing at all", no_endpoints, &ALL_PATHS),
        (
            "a blackhole NAT route does not count",
            |f| {
                no_endpoints(f);
                let t = f.route_tables.iter_mut().find(|t| t.id == TABLE).unwrap();
                nat_route(t, false);
            },
            &ALL_PATHS,
        ),
        (
            "a NAT gateway that failed does not count",
            |f| {
                no_endpoints(f);
                with_nat(f, TABLE, "failed");
            },
            &ALL_PATHS,
        ),
        (
            "NAT for the services, endpoints unused",
            |f| {
                drop_endpoint(f, "vpce-kms");
                with_nat(f, TABLE, "available");
            },
            &[],
        ),
        (
            "subnet missing: only that (no paths to judge)",
            |f| f.subnets.clear(),
            &["network-subnet"],
        ),
        (
            "subnet in another zone",
            |f| f.subnets.get_mut(SUBNET).unwrap().availability_zone = "us-east-1b".into(),
            &["network-subnet"],
        ),
        (
            "security group missing",
            |f| f.security_groups.clear(),
            &["network-security-group"],
        ),
        (
            "security group of another VPC",
            |f| f.security_groups.get_mut(GROUP).unwrap().vpc_id = "vpc-0000000000000000b".into(),
            &["network-security-group"],
        ),
        (
            "no inbound rules",
            |f| f.security_groups.get_mut(GROUP).unwrap().inbound.clear(),
            &["network-self-reference"],
        ),
        (
            "all TCP as tcp 0-65535 from itself",
            |f| {
                f.security_groups.get_mut(GROUP).unwrap().inbound =
                    vec![self_rule(GROUP, "tcp", Some(0), Some(65535))]
            },
            &[],
        ),
        (
            "tcp 5432 only is not all TCP",
            |f| {
                f.security_groups.get_mut(GROUP).unwrap().inbound =
                    vec![self_rule(GROUP, "tcp", Some(5432), Some(5432))]
            },
            &["network-self-reference"],
        ),
        (
            "udp from itself is not TCP",
            |f| {
                f.security_groups.get_mut(GROUP).unwrap().inbound =
                    vec![self_rule(GROUP, "udp", Some(0), Some(65535))]
            },
            &["network-self-reference"],
        ),
        (
            "all traffic from another group is not self-referencing",
            |f| {
                f.security_groups.get_mut(GROUP).unwrap().inbound =
                    vec![self_rule("sg-0fedcba9876543210", "-1", None, None)]
            },
            &["network-self-reference"],
        ),
        (
            "DNS resolution off",
            |f| f.vpcs.get_mut(VPC).unwrap().dns_support = Some(false),
            &["network-dns"],
        ),
        (
            "DNS host names off, with private-DNS endpoints",
            |f| f.vpcs.get_mut(VPC).unwrap().dns_hostnames = Some(false),
            &["network-dns"],
        ),
        (
            "DNS host names off, NAT only",
            |f| {
                no_endpoints(f);
                with_nat(f, TABLE, "available");
                f.vpcs.get_mut(VPC).unwrap().dns_hostnames = Some(false);
            },
            &[],
        ),
        (
            "no route table at all",
            |f| f.route_tables.clear(),
            &["network-route-table"],
        ),
    ];
    for (what, change, want) in cases {
        let mut f = complete();
        change(&mut f);
        let got: Vec<&str> = check(&f, &connections(&[GROUP]))
            .iter()
            .map(Finding::code)
            .collect();
        assert_eq!(got, *want, "{what}");
    }
}

#[test]
fn one_self_referencing_group_among_several_is_enough() {
    let other = "sg-0fedcba9876543210";
    let mut f = complete();
    f.security_groups.insert(
        other.into(),
        SecurityGroup {
            id: other.into(),
            vpc_id: VPC.into(),
            inbound: vec![],
        },
    );
    assert!(check(&f, &connections(&[other, GROUP])).is_empty());
    f.security_groups.get_mut(GROUP).unwrap().inbound.clear();
    let got = check(&f, &connections(&[other, GROUP]));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].pointer, "/connections/db/security_groups");
    assert_eq!(
        got[0].problem,
        Problem::NoSelfReference {
            groups: vec![other.into(), GROUP.into()]
        }
    );
}

#[test]
fn messages_name_the_connection_the_resource_what_to_add_and_the_page() {
    let mut f = complete();
    no_endpoints(&mut f);
    f.security_groups.get_mut(GROUP).unwrap().inbound.clear();
    f.endpoints
        .push(endpoint("vpce-s3", "s3", EndpointKind::Gateway, &[MAIN]));
    let mut sm = endpoint("vpce-sm", "secretsmanager", EndpointKind::Interface, &[]);
    sm.private_dns = false;
    f.endpoints.push(sm);
    let findings = check(&f, &connections(&[GROUP]));
    assert_eq!(findings.len(), 6, "{findings:?}");
    for x in &findings {
        let m = x.message("us-east-1");
        let h = x.hint("us-east-1");
        assert!(m.starts_with("connection `db`: "), "{m}");
        assert!(h.contains("see https://docs.aws.amazon.com/"), "{h}");
        assert!(h.ends_with(x.url()), "{h}");
    }
    let text = |code: &str| {
        let x = findings.iter().find(|x| x.code() == code).unwrap();
        (x.message("us-east-1"), x.hint("us-east-1"))
    };
    let (m, h) = text("network-self-reference");
    assert!(m.contains(GROUP) && h.contains("0-65535"), "{m} / {h}");
    let (m, h) = text("network-s3");
    assert!(m.contains(TABLE) && m.contains("vpce-s3"), "{m}");
    assert!(h.contains(&format!(
        "add {TABLE} to the route tables of gateway endpoint vpce-s3"
    )));
    let (m, h) = text("network-secretsmanager");
    assert!(
        m.contains("vpce-sm") && m.contains("private DNS disabled"),
        "{m}"
    );
    assert!(h.contains("enable private DNS on vpce-sm"), "{h}");
    let (m, h) = text("network-kms");
    assert!(m.contains("com.amazonaws.us-east-1.kms"), "{m}");
    assert!(
        h.contains("interface VPC endpoint for com.amazonaws.us-east-1.kms with private DNS"),
        "{h}"
    );
    assert!(h.contains("0.0.0.0/0 to a NAT gateway"), "{h}");
    // Every rule cites its own page.
    assert!(
        text("network-glue")
            .1
            .contains("glue/latest/dg/vpc-interface-endpoints")
    );
    assert!(
        text("network-logs")
            .1
            .contains("cloudwatch-logs-and-interface-VPC")
    );
}

#[test]
fn messages_say_when_the_subnet_uses_the_main_route_table() {
    let mut f = complete();
    no_endpoints(&mut f);
    let own = check(&f, &connections(&[GROUP]));
    assert!(
        own[0]
            .message("us-east-1")
            .contains(&format!("(route table {TABLE}) has no path"))
    );
    f.route_tables.retain(|t| t.id != TABLE);
    let main = check(&f, &connections(&[GROUP]));
    assert_eq!(main.len(), 5);
    for x in main {
        let m = x.message("us-east-1");
        assert!(
            m.contains(&format!(
                "(route table {MAIN}, the VPC's main one, as the subnet has none of its own)"
            )),
            "{m}"
        );
    }
}

#[test]
fn a_pending_s3_endpoint_on_the_table_is_named_with_its_state() {
    let mut f = complete();
    f.endpoints[0].state = "pending".into();
    let got = check(&f, &connections(&[GROUP]));
    assert_eq!(got.len(), 1);
    let m = got[0].message("us-east-1");
    let h = got[0].hint("us-east-1");
    assert!(
        m.contains(&format!(
            "gateway endpoint vpce-s3 serves {TABLE} but is pending"
        )),
        "{m}"
    );
    assert!(
        h.starts_with("wait until gateway endpoint vpce-s3 is available"),
        "{h}"
    );
}

#[test]
fn a_nat_that_does_not_work_is_explained_in_each_finding() {
    let mut f = complete();
    no_endpoints(&mut f);
    with_nat(&mut f, TABLE, "pending");
    let findings = check(&f, &connections(&[GROUP]));
    assert_eq!(findings.len(), 5);
    for x in findings {
        let m = x.message("us-east-1");
        assert!(
            m.contains(&format!("goes to {NAT}, which is pending")),
            "{m}"
        );
    }
}

#[test]
fn findings_point_at_the_yaml_value_at_fault() {
    let mut f = complete();
    f.subnets.get_mut(SUBNET).unwrap().availability_zone = "us-east-1b".into();
    f.security_groups.clear();
    drop_endpoint(&mut f, "vpce-s3");
    let got: Vec<String> = check(&f, &connections(&[GROUP]))
        .into_iter()
        .map(|x| x.pointer)
        .collect();
    assert_eq!(
        got,
        [
            "/connections/db/availability_zone",
            "/connections/db/security_groups/0",
            "/connections/db/subnet"
        ]
    );
}
