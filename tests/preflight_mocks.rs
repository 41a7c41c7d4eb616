//! What moto does not produce for `check --live`, with SDK-level mocks
//! (aws-smithy-mocks): a refused EC2 call (exit-2 wording that names the
//! IAM actions), and EC2 answers that `facts::gather` must read as AWS means
//! them: a blackhole route, a pending NAT gateway and endpoint, states in
//! the case AWS documents. No network: every call is answered by a rule.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::ErrorMetadata;
use aws_sdk_ec2::operation::describe_nat_gateways::DescribeNatGatewaysOutput;
use aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput;
use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
use aws_sdk_ec2::operation::describe_subnets::{DescribeSubnetsError, DescribeSubnetsOutput};
use aws_sdk_ec2::operation::describe_vpc_attribute::DescribeVpcAttributeOutput;
use aws_sdk_ec2::operation::describe_vpc_endpoints::DescribeVpcEndpointsOutput;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, IpPermission, NatGateway, NatGatewayState, Route, RouteState,
    RouteTable, RouteTableAssociation, SecurityGroup, State, Subnet, UserIdGroupPair, VpcEndpoint,
    VpcEndpointType,
};
use aws_smithy_mocks::{Rule, RuleMode, mock};
use indexmap::IndexMap;
use pipec::deploy::preflight::facts::{EndpointKind, gather};
use pipec::deploy::preflight::rules::check;
use pipec::model::{Connection, Engine};

const SUBNET: &str = "subnet-0a1b2c3d4e5f67890";
const GROUP: &str = "sg-0123456789abcdef0";
const VPC: &str = "vpc-0123456789abcdef0";

fn client(rules: &[&Rule]) -> Client {
    let mut i = aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in rules {
        i = i.with_rule(r);
    }
    let conf = aws_sdk_ec2::Config::builder()
        .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
        .region(aws_sdk_ec2::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "a", "b", None, None, "mock",
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(i)
        .build();
    Client::from_conf(conf)
}

fn connections() -> IndexMap<String, Connection> {
    let mut m = IndexMap::new();
    m.insert(
        "db".to_string(),
        Connection {
            engine: Engine::Postgresql,
            url: "jdbc:postgresql://db.internal:5432/x".into(),
            secret: "db/credentials".into(),
            subnet: SUBNET.into(),
            security_groups: vec![GROUP.into()],
            availability_zone: "us-east-1a".into(),
            description: None,
        },
    );
    m
}

#[tokio::test]
async fn a_refused_call_names_the_action_and_every_action_needed() {
    let refused = mock!(Client::describe_subnets).then_error(|| {
        DescribeSubnetsError::generic(
            ErrorMetadata::builder()
                .code("UnauthorizedOperation")
                .message("You are not authorized to perform this operation.")
                .build(),
        )
    });
    let ec2 = client(&[&refused]);
    let e = gather(&ec2, "us-east-1", &connections()).await.unwrap_err();
    assert_eq!(e.action, "ec2:DescribeSubnets");
    let m = e.message();
    assert!(
        m.contains("UnauthorizedOperation: You are not authorized"),
        "{m}"
    );
    for a in [
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeVpcAttribute",
        "ec2:DescribeRouteTables",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeNatGateways",
    ] {
        assert!(m.contains(a), "{m}");
    }
}

/// EC2's answers for one VPC whose only way out is a NAT route, given
/// the route's state and the NAT gateway's.
fn answers(route: RouteState, nat: NatGatewayState, endpoint: State) -> Vec<Rule> {
    let on = |v: bool| AttributeBooleanValue::builder().value(v).build();
    vec![
        mock!(Client::describe_subnets).then_output(|| {
            DescribeSubnetsOutput::builder()
                .subnets(
                    Subnet::builder()
                        .subnet_id(SUBNET)
                        .vpc_id(VPC)
                        .availability_zone("us-east-1a")
                        .build(),
                )
                .build()
        }),
        mock!(Client::describe_security_groups).then_output(|| {
            DescribeSecurityGroupsOutput::builder()
                .security_groups(
                    SecurityGroup::builder()
                        .group_id(GROUP)
                        .vpc_id(VPC)
                        .ip_permissions(
                            IpPermission::builder()
                                .ip_protocol("tcp")
                                .from_port(0)
                                .to_port(65535)
                                .user_id_group_pairs(
                                    UserIdGroupPair::builder().group_id(GROUP).build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
        }),
        mock!(Client::describe_vpc_attribute).then_output(move || {
            DescribeVpcAttributeOutput::builder()
                .vpc_id(VPC)
                .enable_dns_support(on(true))
                .enable_dns_hostnames(on(true))
                .build()
        }),
        mock!(Client::describe_route_tables).then_output(move || {
            DescribeRouteTablesOutput::builder()
                .route_tables(
                    RouteTable::builder()
                        .route_table_id("rtb-main")
                        .vpc_id(VPC)
                        .associations(RouteTableAssociation::builder().main(true).build())
                        .routes(
                            Route::builder()
                                .destination_cidr_block("0.0.0.0/0")
                                .nat_gateway_id("nat-1")
                                .state(route.clone())
                                .build(),
                        )
                        .build(),
                )
                .build()
        }),
        mock!(Client::describe_vpc_endpoints).then_output(move || {
            DescribeVpcEndpointsOutput::builder()
                .vpc_endpoints(
                    VpcEndpoint::builder()
                        .vpc_endpoint_id("vpce-s3")
                        .vpc_id(VPC)
                        .service_name("com.amazonaws.us-east-1.s3")
                        .vpc_endpoint_type(VpcEndpointType::Gateway)
                        .route_table_ids("rtb-main")
                        .state(endpoint.clone())
                        .build(),
                )
                .build()
        }),
        mock!(Client::describe_nat_gateways).then_output(move || {
            DescribeNatGatewaysOutput::builder()
                .nat_gateways(
                    NatGateway::builder()
                        .nat_gateway_id("nat-1")
                        .vpc_id(VPC)
                        .state(nat.clone())
                        .build(),
                )
                .build()
        }),
    ]
}

async fn codes(route: RouteState, nat: NatGatewayState, endpoint: State) -> Vec<String> {
    let rules = answers(route, nat, endpoint);
    let refs: Vec<&Rule> = rules.iter().collect();
    let ec2 = client(&refs);
    let facts = gather(&ec2, "us-east-1", &connections()).await.unwrap();
    // The mapping itself: the main table, the endpoint kind, lower-case states.
    assert!(facts.route_tables[0].main);
    assert_eq!(facts.endpoints[0].kind, EndpointKind::Gateway);
    assert_eq!(facts.vpcs[VPC].dns_support, Some(true));
    check(&facts, &connections())
        .iter()
        .map(|f| f.code().to_string())
        .collect()
}

#[tokio::test]
async fn states_moto_does_not_produce_are_read_as_aws_means_them() {
    let services = [
        "network-secretsmanager",
        "network-kms",
        "network-glue",
        "network-logs",
    ];
    // A working NAT carries everything.
    let got = codes(
        RouteState::Active,
        NatGatewayState::Available,
        State::Available,
    )
    .await;
    assert!(got.is_empty(), "{got:?}");
    // A blackhole route carries nothing; the S3 endpoint still serves S3.
    let got = codes(
        RouteState::Blackhole,
        NatGatewayState::Available,
        State::Available,
    )
    .await;
    assert_eq!(got, services);
    // A NAT gateway that is still pending carries nothing either.
    let got = codes(
        RouteState::Active,
        NatGatewayState::Pending,
        State::Available,
    )
    .await;
    assert_eq!(got, services);
    // A pending S3 endpoint does not serve S3 without the NAT.
    let got = codes(
        RouteState::Blackhole,
        NatGatewayState::Available,
        State::Pending,
    )
    .await;
    let mut want = vec!["network-s3"];
    want.extend(services);
    assert_eq!(got, want);
}
