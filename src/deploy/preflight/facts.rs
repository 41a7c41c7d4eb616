//! What the EC2 API says about the network of a pipeline's JDBC connections.
//!
//! In: an EC2 client, the region and the pipeline's connections. Out:
//! `NetworkFacts`, plain data (subnets, security groups with their inbound
//! rules, the VPCs' DNS attributes, route tables, VPC endpoints and NAT
//! gateways), or a `GatherError` when a call fails. Only Describe* calls are
//! made: nothing is changed. The rules that judge these facts are pure and
//! live in `rules.rs`.

use crate::deploy::describe;
use crate::model::Connection;
use aws_sdk_ec2::types::{Filter, VpcAttributeName};
use indexmap::IndexMap;
use std::collections::{BTreeMap, BTreeSet};

/// Everything the rules look at, keyed by AWS id. Absent ids were not found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkFacts {
    /// The region of the connection, for service names such as
    /// `com.amazonaws.us-east-1.s3`.
    pub region: String,
    pub subnets: BTreeMap<String, Subnet>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
    pub vpcs: BTreeMap<String, Vpc>,
    pub route_tables: Vec<RouteTable>,
    pub endpoints: Vec<Endpoint>,
    pub nat_gateways: BTreeMap<String, NatGateway>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub availability_zone: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroup {
    pub id: String,
    pub vpc_id: String,
    pub inbound: Vec<Permission>,
}

/// One inbound rule: protocol (`-1` is all), port range, and the security
/// groups it admits traffic from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub source_groups: Vec<String>,
}

/// A VPC's DNS attributes; `None` when EC2 did not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    pub id: String,
    pub dns_support: Option<bool>,
    pub dns_hostnames: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: String,
    /// The VPC's main route table, used by every subnet without its own.
    pub main: bool,
    /// Subnets explicitly associated with this table.
    pub subnets: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// IPv4 destination, such as `0.0.0.0/0`; `None` for prefix-list routes.
    pub destination: Option<String>,
    pub nat_gateway: Option<String>,
    /// False when EC2 reports the route as `blackhole` (its target is gone).
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    Gateway,
    Interface,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub vpc_id: String,
    pub service: String,
    pub kind: EndpointKind,
    /// For gateway endpoints: the route tables that route to it.
    pub route_tables: Vec<String>,
    pub private_dns: bool,
    /// EC2's state word, lower-cased (`available`, `pending`, ...).
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatGateway {
    pub id: String,
    /// EC2's state word, lower-cased (`available`, `pending`, `failed`, ...).
    pub state: String,
}

/// A Describe* call that failed: which call, and what AWS said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatherError {
    /// The IAM action behind the call, such as `ec2:DescribeSubnets`.
    pub action: &'static str,
    pub detail: String,
}

impl GatherError {
    pub fn message(&self) -> String {
        let mut m = format!(
            "cannot read the network through the EC2 API ({}): {}",
            self.action, self.detail
        );
        // Which actions are needed helps with a refusal, not with an
        // endpoint that never answered.
        if !crate::deploy::is_unreachable(&self.detail) {
            m.push_str(&format!(
                "; the credentials need {} (read-only)",
                ACTIONS.join(", ")
            ));
        }
        m
    }
}

/// Every EC2 action `gather` calls, for the message when one is refused.
pub const ACTIONS: [&str; 6] = [
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeRouteTables",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeNatGateways",
];

fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().collect()))
        .build()
}

fn fail<E>(action: &'static str) -> impl FnOnce(E) -> GatherError
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    move |e| GatherError {
        action,
        detail: describe(&e),
    }
}

/// Reads the facts for these connections. Subnets and security groups are
/// asked for by filter, so that an id that does not exist is simply absent
/// rather than failing the whole call; route tables, endpoints and NAT
/// gateways are read for each VPC a declared subnet is in.
pub async fn gather(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    connections: &IndexMap<String, Connection>,
) -> Result<NetworkFacts, GatherError> {
    let subnet_ids: BTreeSet<String> = connections.values().map(|c| c.subnet.clone()).collect();
    let group_ids: BTreeSet<String> = connections
        .values()
        .flat_map(|c| c.security_groups.iter().cloned())
        .collect();
    let mut facts = NetworkFacts {
        region: region.to_string(),
        ..NetworkFacts::default()
    };

    let pages = ec2
        .describe_subnets()
        .filters(filter("subnet-id", subnet_ids))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(fail("ec2:DescribeSubnets"))?;
    for s in pages.iter().flat_map(|p| p.subnets()) {
        let (Some(id), Some(vpc)) = (s.subnet_id(), s.vpc_id()) else {
            continue;
        };
        facts.subnets.insert(
            id.to_string(),
            Subnet {
                id: id.to_string(),
                vpc_id: vpc.to_string(),
                availability_zone: s.availability_zone().unwrap_or_default().to_string(),
            },
        );
    }

    let pages = ec2
        .describe_security_groups()
        .filters(filter("group-id", group_ids))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(fail("ec2:DescribeSecurityGroups"))?;
    for g in pages.iter().flat_map(|p| p.security_groups()) {
        let Some(id) = g.group_id() else { continue };
        let inbound = g
            .ip_permissions()
            .iter()
            .map(|p| Permission {
                protocol: p.ip_protocol().unwrap_or_default().to_string(),
                from_port: p.from_port(),
                to_port: p.to_port(),
                source_groups: p
                    .user_id_group_pairs()
                    .iter()
                    .filter_map(|u| u.group_id().map(str::to_string))
                    .collect(),
            })
            .collect();
        facts.security_groups.insert(
            id.to_string(),
            SecurityGroup {
                id: id.to_string(),
                vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                inbound,
            },
        );
    }

    let vpc_ids: BTreeSet<String> = facts.subnets.values().map(|s| s.vpc_id.clone()).collect();
    for vpc in &vpc_ids {
        let attribute = |name: VpcAttributeName| {
            ec2.describe_vpc_attribute()
                .vpc_id(vpc)
                .attribute(name)
                .send()
        };
        let support = attribute(VpcAttributeName::EnableDnsSupport)
            .await
            .map_err(fail("ec2:DescribeVpcAttribute"))?;
        let hostnames = attribute(VpcAttributeName::EnableDnsHostnames)
            .await
            .map_err(fail("ec2:DescribeVpcAttribute"))?;
        facts.vpcs.insert(
            vpc.clone(),
            Vpc {
                id: vpc.clone(),
                dns_support: support.enable_dns_support().and_then(|v| v.value()),
                dns_hostnames: hostnames.enable_dns_hostnames().and_then(|v| v.value()),
            },
        );
    }
    if vpc_ids.is_empty() {
        return Ok(facts);
    }

    let pages = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", vpc_ids.iter().cloned()))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(fail("ec2:DescribeRouteTables"))?;
    for t in pages.iter().flat_map(|p| p.route_tables()) {
        let Some(id) = t.route_table_id() else {
            continue;
        };
        let associations = t.associations();
        facts.route_tables.push(RouteTable {
            id: id.to_string(),
            vpc_id: t.vpc_id().unwrap_or_default().to_string(),
            main: associations.iter().any(|a| a.main() == Some(true)),
            subnets: associations
                .iter()
                .filter_map(|a| a.subnet_id().map(str::to_string))
                .collect(),
            routes: t
                .routes()
                .iter()
                .map(|r| Route {
                    destination: r.destination_cidr_block().map(str::to_string),
                    nat_gateway: r.nat_gateway_id().map(str::to_string),
                    active: !r
                        .state()
                        .is_some_and(|s| s.as_str().eq_ignore_ascii_case("blackhole")),
                })
                .collect(),
        });
    }

    let pages = ec2
        .describe_vpc_endpoints()
        .filters(filter("vpc-id", vpc_ids.iter().cloned()))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(fail("ec2:DescribeVpcEndpoints"))?;
    for e in pages.iter().flat_map(|p| p.vpc_endpoints()) {
        let Some(id) = e.vpc_endpoint_id() else {
            continue;
        };
        let kind = match e
            .vpc_endpoint_type()
            .map(|k| k.as_str().to_ascii_lowercase())
        {
            Some(k) if k == "gateway" => EndpointKind::Gateway,
            Some(k) if k == "interface" => EndpointKind::Interface,
            _ => EndpointKind::Other,
        };
        facts.endpoints.push(Endpoint {
            id: id.to_string(),
            vpc_id: e.vpc_id().unwrap_or_default().to_string(),
            service: e.service_name().unwrap_or_default().to_string(),
            kind,
            route_tables: e.route_table_ids().to_vec(),
            private_dns: e.private_dns_enabled() == Some(true),
            state: e
                .state()
                .map(|s| s.as_str().to_ascii_lowercase())
                .unwrap_or_default(),
        });
    }

    let pages = ec2
        .describe_nat_gateways()
        .filter(filter("vpc-id", vpc_ids.iter().cloned()))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(fail("ec2:DescribeNatGateways"))?;
    for n in pages.iter().flat_map(|p| p.nat_gateways()) {
        let Some(id) = n.nat_gateway_id() else {
            continue;
        };
        facts.nat_gateways.insert(
            id.to_string(),
            NatGateway {
                id: id.to_string(),
                state: n
                    .state()
                    .map(|s| s.as_str().to_ascii_lowercase())
                    .unwrap_or_default(),
            },
        );
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_lists_the_actions_and_a_dead_endpoint_does_not() {
        let refused = GatherError {
            action: "ec2:DescribeSubnets",
            detail: "UnauthorizedOperation: no".into(),
        };
        assert!(
            refused
                .message()
                .contains("the credentials need ec2:DescribeSubnets")
        );
        let dead = GatherError {
            action: "ec2:DescribeSubnets",
            detail: format!("{}: connection refused", crate::deploy::UNREACHABLE),
        };
        let m = dead.message();
        assert!(
            m.contains("connection refused") && !m.contains("credentials need"),
            "{m}"
        );
    }
}
