//! The network rules AWS documents for Glue jobs in a VPC, judged on facts.
//!
//! In: `NetworkFacts` (what EC2 said) and the pipeline's connections. Out:
//! one `Finding` per missing piece, each naming the connection, the AWS
//! resource and what to add, with the AWS page that asks for it. Pure: no
//! AWS call, no I/O, so every rule is unit-tested on hand-made facts. The
//! wording of every finding is here and nowhere else.

use super::facts::{EndpointKind, NetworkFacts, RouteTable, SecurityGroup};
use crate::model::Connection;
use crate::validate::ptr;
use indexmap::IndexMap;

// The AWS pages behind the rules; each rule below names the one it follows.

/// Glue: the connection's subnet and availability zone, and its security
/// groups, must be those of the VPC that reaches the data store.
pub const JDBC_VPC_URL: &str =
    "https://docs.aws.amazon.com/glue/latest/dg/connection-JDBC-VPC.html";
/// Glue: a self-referencing inbound rule for all TCP ports.
pub const VPC_SETUP_URL: &str =
    "https://docs.aws.amazon.com/glue/latest/dg/setup-vpc-for-glue-access.html";
/// Glue: "To access Amazon S3 from within your VPC, a VPC endpoint is
/// required", or a NAT gateway for anything outside the VPC.
pub const NETWORK_URL: &str = "https://docs.aws.amazon.com/glue/latest/dg/start-connecting.html";
/// VPC: private DNS names of interface endpoints resolve only with the VPC
/// attributes `enableDnsSupport` and `enableDnsHostnames` on.
pub const DNS_URL: &str = "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-dns.html";
/// VPC: a subnet without an explicit route table association uses the VPC's
/// main route table.
pub const ROUTE_TABLE_URL: &str =
    "https://docs.aws.amazon.com/vpc/latest/userguide/subnet-route-tables.html";
/// PrivateLink: an S3 gateway endpoint serves the route tables it lists.
pub const S3_GATEWAY_URL: &str =
    "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html";

/// An AWS service a Glue job in the subnet must reach, other than S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The connection's `SECRET_ID`, read by Glue and by the job script.
    SecretsManager,
    /// The Glue security configuration encrypts S3 data, logs and bookmarks
    /// with the pipeline's KMS key.
    Kms,
    /// The job itself calls the Glue API (Data Catalog, bookmarks, Data Quality).
    Glue,
    /// Continuous logging and the job's output and error log groups.
    Logs,
}

// STS is not required: the job's credentials come from its Glue role through
// the Glue service, and no generated script calls STS; none of the Glue
// network pages above lists an STS endpoint. A user's own script that calls
// STS would need `com.amazonaws.<region>.sts` too.

/// The services every JDBC stage needs besides S3, in report order.
pub const SERVICES: [Service; 4] = [
    Service::SecretsManager,
    Service::Kms,
    Service::Glue,
    Service::Logs,
];

impl Service {
    /// The last part of the endpoint service name `com.amazonaws.<region>.<x>`.
    pub fn endpoint(self) -> &'static str {
        match self {
            Service::SecretsManager => "secretsmanager",
            Service::Kms => "kms",
            Service::Glue => "glue",
            Service::Logs => "logs",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Service::SecretsManager => "AWS Secrets Manager",
            Service::Kms => "AWS KMS",
            Service::Glue => "AWS Glue",
            Service::Logs => "CloudWatch Logs",
        }
    }

    /// Why a job needs the service.
    fn why(self) -> &'static str {
        match self {
            Service::SecretsManager => "the connection's secret is read from it",
            Service::Kms => "the Glue security configuration encrypts with the pipeline's key",
            Service::Glue => "the job calls the Glue API (catalog, bookmarks, Data Quality)",
            Service::Logs => "the job writes its logs there",
        }
    }

    /// The service's own page on interface endpoints.
    pub fn url(self) -> &'static str {
        match self {
            // Secrets Manager: "Using an AWS Secrets Manager VPC endpoint".
            Service::SecretsManager => {
                "https://docs.aws.amazon.com/secretsmanager/latest/userguide/vpc-endpoint-overview.html"
            }
            // KMS: "Create a VPC endpoint for AWS KMS" (service name, private DNS).
            Service::Kms => {
                "https://docs.aws.amazon.com/kms/latest/developerguide/vpce-create-endpoint.html"
            }
            // Glue: "Configuring interface VPC endpoints (AWS PrivateLink) for AWS Glue".
            Service::Glue => {
                "https://docs.aws.amazon.com/glue/latest/dg/vpc-interface-endpoints.html"
            }
            // CloudWatch Logs: "Using CloudWatch Logs with interface VPC endpoints".
            Service::Logs => {
                "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch-logs-and-interface-VPC.html"
            }
        }
    }
}

/// One missing piece of one connection's network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub connection: String,
    /// JSON pointer of the YAML value at fault, for the diagnostic's location.
    pub pointer: String,
    pub problem: Problem,
}

/// What is missing. Ids are AWS ids; `nat` explains a NAT route that exists
/// but cannot carry traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    SubnetMissing {
        subnet: String,
    },
    SubnetZone {
        subnet: String,
        actual: String,
        declared: String,
    },
    GroupMissing {
        group: String,
    },
    GroupVpc {
        group: String,
        group_vpc: String,
        subnet: String,
        subnet_vpc: String,
    },
    NoSelfReference {
        groups: Vec<String>,
    },
    VpcDns {
        vpc: String,
        turn_on: Vec<&'static str>,
    },
    NoRouteTable {
        subnet: String,
        vpc: String,
    },
    NoS3 {
        subnet: String,
        route_table: String,
        /// The subnet has no table of its own and uses the VPC's main one.
        main_table: bool,
        /// An S3 gateway endpoint of the VPC that does not serve this table.
        elsewhere: Option<String>,
        /// A gateway endpoint that serves this table but is not available
        /// yet, and its state.
        not_ready: Option<(String, String)>,
        nat: Option<String>,
    },
    NoService {
        service: Service,
        subnet: String,
        route_table: String,
        main_table: bool,
        /// An interface endpoint that exists but does not count, and why.
        endpoint: Option<(String, String)>,
        nat: Option<String>,
    },
}

impl Finding {
    /// A short, stable name of the rule, for `--format json` and tools.
    pub fn code(&self) -> &'static str {
        match &self.problem {
            Problem::SubnetMissing { .. } | Problem::SubnetZone { .. } => "network-subnet",
            Problem::GroupMissing { .. } | Problem::GroupVpc { .. } => "network-security-group",
            Problem::NoSelfReference { .. } => "network-self-reference",
            Problem::VpcDns { .. } => "network-dns",
            Problem::NoRouteTable { .. } => "network-route-table",
            Problem::NoS3 { .. } => "network-s3",
            Problem::NoService { service, .. } => match service {
                Service::SecretsManager => "network-secretsmanager",
                Service::Kms => "network-kms",
                Service::Glue => "network-glue",
                Service::Logs => "network-logs",
            },
        }
    }

    /// The AWS page that asks for the missing piece.
    pub fn url(&self) -> &'static str {
        match &self.problem {
            Problem::SubnetMissing { .. }
            | Problem::SubnetZone { .. }
            | Problem::GroupMissing { .. }
            | Problem::GroupVpc { .. } => JDBC_VPC_URL,
            Problem::NoSelfReference { .. } => VPC_SETUP_URL,
            Problem::VpcDns { .. } => DNS_URL,
            Problem::NoRouteTable { .. } => ROUTE_TABLE_URL,
            Problem::NoS3 { .. } => S3_GATEWAY_URL,
            Problem::NoService { service, .. } => service.url(),
        }
    }

    /// What is missing, naming the connection and the resource.
    pub fn message(&self, region: &str) -> String {
        let c = &self.connection;
        match &self.problem {
            Problem::SubnetMissing { subnet } => format!(
                "connection `{c}`: subnet {subnet} does not exist in this account and region"
            ),
            Problem::SubnetZone {
                subnet,
                actual,
                declared,
            } => format!(
                "connection `{c}`: subnet {subnet} is in availability zone {actual}, not {declared}"
            ),
            Problem::GroupMissing { group } => format!(
                "connection `{c}`: security group {group} does not exist in this account and region"
            ),
            Problem::GroupVpc {
                group,
                group_vpc,
                subnet,
                subnet_vpc,
            } => format!(
                "connection `{c}`: security group {group} is in {group_vpc}, but subnet {subnet} is in {subnet_vpc}"
            ),
            Problem::NoSelfReference { groups } => format!(
                "connection `{c}`: none of its security groups ({}) has a self-referencing inbound rule for all TCP ports",
                groups.join(", ")
            ),
            Problem::VpcDns { vpc, turn_on } => {
                format!("connection `{c}`: {vpc} has {} off", turn_on.join(" and "))
            }
            Problem::NoRouteTable { subnet, vpc } => format!(
                "connection `{c}`: subnet {subnet} has no route table: it has no explicit association and {vpc} has no main route table"
            ),
            Problem::NoS3 {
                subnet,
                route_table,
                main_table,
                elsewhere,
                not_ready,
                nat,
            } => {
                let mut m = format!(
                    "connection `{c}`: subnet {subnet} ({}) has no path to Amazon S3 (com.amazonaws.{region}.s3)",
                    table_words(route_table, *main_table)
                );
                if let Some(e) = elsewhere {
                    m.push_str(&format!(
                        "; gateway endpoint {e} exists but does not serve {route_table}"
                    ));
                }
                if let Some((e, state)) = not_ready {
                    m.push_str(&format!(
                        "; gateway endpoint {e} serves {route_table} but is {state}"
                    ));
                }
                if let Some(n) = nat {
                    m.push_str(&format!("; {n}"));
                }
                m
            }
            Problem::NoService {
                service,
                subnet,
                route_table,
                main_table,
                endpoint,
                nat,
            } => {
                let mut m = format!(
                    "connection `{c}`: subnet {subnet} ({}) has no path to {} (com.amazonaws.{region}.{}), which the job needs because {}",
                    table_words(route_table, *main_table),
                    service.title(),
                    service.endpoint(),
                    service.why()
                );
                if let Some((id, why)) = endpoint {
                    m.push_str(&format!("; interface endpoint {id} {why}"));
                }
                if let Some(n) = nat {
                    m.push_str(&format!("; {n}"));
                }
                m
            }
        }
    }

    /// What to add, and where AWS says so.
    pub fn hint(&self, region: &str) -> String {
        let what = match &self.problem {
            Problem::SubnetMissing { .. } => {
                "name an existing subnet of the VPC that reaches the database (check --region and the account)".to_string()
            }
            Problem::SubnetZone { actual, .. } => {
                format!("set `availability_zone: {actual}`, the subnet's zone")
            }
            Problem::GroupMissing { .. } => {
                "name an existing security group of the subnet's VPC".to_string()
            }
            Problem::GroupVpc { subnet_vpc, .. } => {
                format!("use a security group of {subnet_vpc}, the subnet's VPC")
            }
            Problem::NoSelfReference { groups } => format!(
                "add to {} an inbound rule for all TCP (ports 0-65535) whose source is that same security group",
                groups.first().map(String::as_str).unwrap_or("one of them")
            ),
            Problem::VpcDns { vpc, turn_on } => format!(
                "turn on {} for {vpc} (ModifyVpcAttribute)",
                turn_on.join(" and ")
            ),
            Problem::NoRouteTable { subnet, .. } => {
                format!("associate a route table with {subnet}")
            }
            Problem::NoS3 {
                route_table,
                elsewhere,
                not_ready,
                ..
            } => match (not_ready, elsewhere) {
                (Some((e, _)), _) => format!(
                    "wait until gateway endpoint {e} is available (or recreate it), or add to {route_table} a route 0.0.0.0/0 to a NAT gateway"
                ),
                (None, Some(e)) => format!(
                    "add {route_table} to the route tables of gateway endpoint {e}, or add to {route_table} a route 0.0.0.0/0 to a NAT gateway"
                ),
                (None, None) => format!(
                    "add a gateway VPC endpoint for com.amazonaws.{region}.s3 with route table {route_table}, or add to {route_table} a route 0.0.0.0/0 to a NAT gateway"
                ),
            },
            Problem::NoService {
                service,
                route_table,
                endpoint,
                ..
            } => match endpoint {
                Some((id, _)) => format!(
                    "enable private DNS on {id} (and wait until it is available), or add to {route_table} a route 0.0.0.0/0 to a NAT gateway"
                ),
                None => format!(
                    "add an interface VPC endpoint for com.amazonaws.{region}.{} with private DNS enabled, or add to {route_table} a route 0.0.0.0/0 to a NAT gateway",
                    service.endpoint()
                ),
            },
        };
        format!("{what}; see {}", self.url())
    }
}

/// How a message names the subnet's route table.
fn table_words(id: &str, main: bool) -> String {
    if main {
        format!("route table {id}, the VPC's main one, as the subnet has none of its own")
    } else {
        format!("route table {id}")
    }
}

/// The route table a subnet uses: its explicit association, else the main
/// route table of its VPC (see `ROUTE_TABLE_URL`).
pub fn route_table_of<'a>(
    facts: &'a NetworkFacts,
    subnet: &str,
    vpc: &str,
) -> Option<&'a RouteTable> {
    facts
        .route_tables
        .iter()
        .find(|t| t.subnets.iter().any(|s| s == subnet))
        .or_else(|| {
            facts
                .route_tables
                .iter()
                .find(|t| t.main && t.vpc_id == vpc)
        })
}

/// Whether the table sends 0.0.0.0/0 to a NAT gateway that can carry it.
/// `Err` explains a NAT route that exists but cannot.
fn nat_route(facts: &NetworkFacts, table: &RouteTable) -> Result<(), Option<String>> {
    let mut why = None;
    for r in &table.routes {
        let (Some("0.0.0.0/0"), Some(nat)) = (r.destination.as_deref(), r.nat_gateway.as_deref())
        else {
            continue;
        };
        if !r.active {
            why = Some(format!(
                "its route 0.0.0.0/0 to {nat} is a blackhole (the NAT gateway is gone)"
            ));
            continue;
        }
        match facts.nat_gateways.get(nat) {
            Some(n) if n.state == "available" => return Ok(()),
            Some(n) => {
                why = Some(format!(
                    "its route 0.0.0.0/0 goes to {nat}, which is {}",
                    n.state
                ))
            }
            None => {
                why = Some(format!(
                    "its route 0.0.0.0/0 goes to {nat}, which EC2 does not list in the VPC"
                ))
            }
        }
    }
    Err(why)
}

/// True when the group admits all TCP from itself: protocol `-1` (all), or
/// TCP over ports 0-65535, with the group itself as source (`VPC_SETUP_URL`).
pub fn self_referencing(g: &SecurityGroup) -> bool {
    g.inbound.iter().any(|p| {
        let all_tcp = match p.protocol.as_str() {
            "-1" | "all" => true,
            "tcp" | "6" => p.from_port.unwrap_or(0) <= 0 && p.to_port.unwrap_or(65535) >= 65535,
            _ => false,
        };
        all_tcp && p.source_groups.contains(&g.id)
    })
}

/// Judges every connection's network. Findings come in connection order,
/// then in the order of the rules below.
pub fn check(facts: &NetworkFacts, connections: &IndexMap<String, Connection>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, c) in connections {
        let at = |parts: &[&str]| {
            let mut p = vec!["connections", name.as_str()];
            p.extend_from_slice(parts);
            ptr(&p)
        };
        let mut add = |pointer: String, problem: Problem| {
            out.push(Finding {
                connection: name.clone(),
                pointer,
                problem,
            })
        };

        // 1. The subnet exists and is in the declared zone (JDBC_VPC_URL).
        let subnet = facts.subnets.get(&c.subnet);
        match subnet {
            None => add(
                at(&["subnet"]),
                Problem::SubnetMissing {
                    subnet: c.subnet.clone(),
                },
            ),
            Some(s) if s.availability_zone != c.availability_zone => add(
                at(&["availability_zone"]),
                Problem::SubnetZone {
                    subnet: s.id.clone(),
                    actual: s.availability_zone.clone(),
                    declared: c.availability_zone.clone(),
                },
            ),
            Some(_) => {}
        }

        // 1. The security groups exist, in the subnet's VPC (JDBC_VPC_URL).
        let mut groups = Vec::new();
        for (i, id) in c.security_groups.iter().enumerate() {
            let pointer = at(&["security_groups", &i.to_string()]);
            match facts.security_groups.get(id) {
                None => add(pointer, Problem::GroupMissing { group: id.clone() }),
                Some(g) => {
                    if let Some(s) = subnet
                        && g.vpc_id != s.vpc_id
                    {
                        add(
                            pointer,
                            Problem::GroupVpc {
                                group: g.id.clone(),
                                group_vpc: g.vpc_id.clone(),
                                subnet: s.id.clone(),
                                subnet_vpc: s.vpc_id.clone(),
                            },
                        );
                    }
                    groups.push(g);
                }
            }
        }

        // 2. One group admits all TCP from itself (VPC_SETUP_URL). Judged
        // only on the groups that exist; missing ones are reported above.
        if !groups.is_empty() && !groups.iter().any(|g| self_referencing(g)) {
            add(
                at(&["security_groups"]),
                Problem::NoSelfReference {
                    groups: groups.iter().map(|g| g.id.clone()).collect(),
                },
            );
        }

        // The paths out of the subnet need the subnet.
        let Some(s) = subnet else { continue };
        let Some(table) = route_table_of(facts, &s.id, &s.vpc_id) else {
            add(
                at(&["subnet"]),
                Problem::NoRouteTable {
                    subnet: s.id.clone(),
                    vpc: s.vpc_id.clone(),
                },
            );
            continue;
        };
        let main_table = !table.subnets.contains(&s.id);
        let nat = nat_route(facts, table);
        let nat_why = nat.clone().err().flatten();
        let in_vpc = |e: &&super::facts::Endpoint| e.vpc_id == s.vpc_id;

        // 3. S3: a gateway endpoint serving the subnet's route table, or the
        // NAT route (NETWORK_URL, S3_GATEWAY_URL).
        let s3 = format!("com.amazonaws.{}.s3", facts.region);
        let (s3_gateways, s3_waiting): (Vec<_>, Vec<_>) = facts
            .endpoints
            .iter()
            .filter(in_vpc)
            .filter(|e| e.kind == EndpointKind::Gateway && e.service == s3)
            .partition(|e| e.state.is_empty() || e.state == "available");
        let s3_ok = s3_gateways
            .iter()
            .any(|e| e.route_tables.contains(&table.id));
        if !s3_ok && nat.is_err() {
            add(
                at(&["subnet"]),
                Problem::NoS3 {
                    subnet: s.id.clone(),
                    route_table: table.id.clone(),
                    main_table,
                    elsewhere: s3_gateways.first().map(|e| e.id.clone()),
                    not_ready: s3_waiting
                        .iter()
                        .find(|e| e.route_tables.contains(&table.id))
                        .map(|e| (e.id.clone(), e.state.clone())),
                    nat: nat_why.clone(),
                },
            );
        }

        // 4. Secrets Manager, KMS, Glue, CloudWatch Logs: an interface
        // endpoint in the VPC with private DNS, or the NAT route (each
        // service's page, `Service::url`).
        let mut uses_private_dns = false;
        for service in SERVICES {
            if nat.is_ok() {
                break;
            }
            let name = format!("com.amazonaws.{}.{}", facts.region, service.endpoint());
            let candidates: Vec<_> = facts
                .endpoints
                .iter()
                .filter(in_vpc)
                .filter(|e| e.kind == EndpointKind::Interface && e.service == name)
                .collect();
            let usable = |e: &&&super::facts::Endpoint| {
                e.private_dns && (e.state.is_empty() || e.state == "available")
            };
            if candidates.iter().any(|e| usable(&e)) {
                uses_private_dns = true;
                continue;
            }
            let endpoint = candidates.first().map(|e| {
                let why = if !e.private_dns {
                    "exists but has private DNS disabled, so the job's calls to the service's regional name do not reach it".to_string()
                } else {
                    format!("exists but is {}", e.state)
                };
                (e.id.clone(), why)
            });
            add(
                at(&["subnet"]),
                Problem::NoService {
                    service,
                    subnet: s.id.clone(),
                    route_table: table.id.clone(),
                    main_table,
                    endpoint,
                    nat: nat_why.clone(),
                },
            );
        }

        // DNS: the job resolves the database's host name and the AWS
        // endpoints through the VPC's DNS; private DNS names of interface
        // endpoints also need DNS host names (DNS_URL).
        if let Some(v) = facts.vpcs.get(&s.vpc_id) {
            let mut turn_on = Vec::new();
            if v.dns_support == Some(false) {
                turn_on.push("enableDnsSupport");
            }
            if uses_private_dns && v.dns_hostnames == Some(false) {
                turn_on.push("enableDnsHostnames");
            }
            if !turn_on.is_empty() {
                add(
                    at(&["subnet"]),
                    Problem::VpcDns {
                        vpc: v.id.clone(),
                        turn_on,
                    },
                );
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
