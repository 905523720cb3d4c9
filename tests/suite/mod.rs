/// Allow entries and zone severities through the binary on the demo.
mod allow;
/// `dnsentry audit` against NSD serving a root, a TLD and the zone, in namespaces.
mod audit;
/// The real binary: flags, exit status, error messages, outputs.
mod cli;
/// One validated configuration: check and analyze reject the same FILE:LINE.
mod config;
/// Elastic Common Schema output against ECS's own field list.
mod ecs;
/// One generated capture per link layer, tunnel, fragment and TCP case.
mod encapsulations;
/// Suricata EVE output against Suricata's own schema.
mod eve;
/// Paths others may control: spool and outputs, streams, rule-file bounds.
mod files;
/// The fuzz corpus, replayed through the fuzz targets on stable.
mod fuzz_corpus;
/// Intel lifecycle through the binary: withdrawn, expired and aged indicators.
mod intel;
/// The crate's module map: no import cycles, a bottom that imports no stage.
mod layering;
/// Learn, then enforce: a week learned, hijacks and later benign traffic
/// enforced, the figures counted.
mod learn;
/// `dnsentry live` on veth pairs in network namespaces the tests make.
pub(crate) mod live;
/// `dnsentry report`: the page of the demo and of hostile names.
mod report;
/// Scenario captures built by `dnsentry::synth`: exact alert sets.
pub(crate) mod scenarios;
/// EVE `dns` events beside Suricata 7's own on the same captures.
mod suricata_side_by_side;
/// Alerts into a real rsyslog over UDP, TCP and TLS; outages and restarts.
mod syslog;
/// Every shared public capture against tshark's decoding.
mod truth;
