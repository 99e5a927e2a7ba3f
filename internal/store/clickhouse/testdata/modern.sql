CREATE DATABASE IF NOT EXISTS trawl;

CREATE TABLE IF NOT EXISTS trawl.trawl_meta (
  key String,
  value String,
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY key;

CREATE TABLE IF NOT EXISTS trawl.cloudtrail_data (
  event_time Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  event_id String,
  event_source LowCardinality(Nullable(String)),
  event_name LowCardinality(Nullable(String)),
  event_type LowCardinality(Nullable(String)),
  event_category LowCardinality(Nullable(String)),
  aws_region LowCardinality(Nullable(String)),
  recipient_account_id LowCardinality(Nullable(String)),
  source_ip Nullable(String),
  user_agent Nullable(String),
  user_type LowCardinality(Nullable(String)),
  user_arn Nullable(String),
  user_account_id LowCardinality(Nullable(String)),
  user_access_key_id Nullable(String),
  user_name Nullable(String),
  session_name Nullable(String),
  principal Nullable(String),
  session_issuer_name Nullable(String),
  mfa_authenticated Nullable(UInt8),
  invoked_by LowCardinality(Nullable(String)),
  error_code LowCardinality(Nullable(String)),
  error_message Nullable(String),
  read_only Nullable(UInt8),
  management_event Nullable(UInt8),
  src_country LowCardinality(Nullable(String)),
  src_city LowCardinality(Nullable(String)),
  src_asn Nullable(Int64),
  src_as_org LowCardinality(Nullable(String)),
  ua_class LowCardinality(Nullable(String)),
  ua_family LowCardinality(Nullable(String)),
  ua_version LowCardinality(Nullable(String)),
  ua_os LowCardinality(Nullable(String)),
  session_issuer_type LowCardinality(Nullable(String)),
  session_issuer_arn Nullable(String),
  source_identity Nullable(String),
  identity_store_user_id Nullable(String),
  session_credential_from_console Nullable(UInt8),
  shared_event_id Nullable(String),
  vpc_endpoint_id Nullable(String),
  req_bucket_name Nullable(String),
  req_key Nullable(String),
  req_policy_arn Nullable(String),
  req_user_name Nullable(String),
  req_role_name Nullable(String),
  req_role_arn Nullable(String),
  req_group_name Nullable(String),
  console_login LowCardinality(Nullable(String)),
  mfa_used LowCardinality(Nullable(String)),
  event_version Nullable(String),
  user_principal_id Nullable(String),
  session_created_at Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  request_id Nullable(String),
  api_version Nullable(String),
  tls_version Nullable(String),
  tls_cipher_suite Nullable(String),
  tls_client_host Nullable(String),
  resources Nullable(String) CODEC(ZSTD(3)),
  request_parameters Nullable(String) CODEC(ZSTD(3)),
  response_elements Nullable(String) CODEC(ZSTD(3)),
  additional_event_data Nullable(String) CODEC(ZSTD(3)),
  service_event_details Nullable(String) CODEC(ZSTD(3)),
  insight_details Nullable(String) CODEC(ZSTD(3)),
  raw String CODEC(ZSTD(3)),
  source LowCardinality(String),
  ingested_at DateTime('UTC') CODEC(Delta, LZ4),
  INDEX event_name_bf event_name TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX source_ip_bf source_ip TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX user_arn_bf user_arn TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX user_access_key_id_bf user_access_key_id TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX raw_tokens raw TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 4
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(ifNull(event_time, toDateTime(0, 'UTC')))
ORDER BY (ifNull(event_time, toDateTime(0, 'UTC')), event_id);

CREATE VIEW IF NOT EXISTS trawl.cloudtrail AS
SELECT event_time, event_id, event_source, event_name, event_type, event_category, aws_region, recipient_account_id, source_ip, user_agent, user_type, user_arn, user_account_id, user_access_key_id, user_name, session_name, principal, session_issuer_name, mfa_authenticated, invoked_by, error_code, error_message, read_only, management_event, src_country, src_city, src_asn, src_as_org, ua_class, ua_family, ua_version, ua_os, session_issuer_type, session_issuer_arn, source_identity, identity_store_user_id, session_credential_from_console, shared_event_id, vpc_endpoint_id, req_bucket_name, req_key, req_policy_arn, req_user_name, req_role_name, req_role_arn, req_group_name, console_login, mfa_used, event_version, user_principal_id, session_created_at, request_id, api_version, tls_version, tls_cipher_suite, tls_client_host, resources, request_parameters, response_elements, additional_event_data, service_event_details, insight_details, raw, source, ingested_at
FROM trawl.cloudtrail_data FINAL;

CREATE TABLE IF NOT EXISTS trawl.vpcflow_data (
  version Nullable(Int32),
  account_id LowCardinality(Nullable(String)),
  interface_id LowCardinality(Nullable(String)),
  srcaddr Nullable(String),
  dstaddr Nullable(String),
  srcport Nullable(Int32),
  dstport Nullable(Int32),
  protocol Nullable(Int32),
  protocol_name LowCardinality(Nullable(String)),
  packets Nullable(Int64),
  bytes Nullable(Int64),
  start_time Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  end_time Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  action LowCardinality(Nullable(String)),
  log_status LowCardinality(Nullable(String)),
  vpc_id LowCardinality(Nullable(String)),
  subnet_id LowCardinality(Nullable(String)),
  instance_id Nullable(String),
  tcp_flags Nullable(Int32),
  type LowCardinality(Nullable(String)),
  pkt_srcaddr Nullable(String),
  pkt_dstaddr Nullable(String),
  region LowCardinality(Nullable(String)),
  az_id LowCardinality(Nullable(String)),
  sublocation_type Nullable(String),
  sublocation_id Nullable(String),
  pkt_src_aws_service Nullable(String),
  pkt_dst_aws_service Nullable(String),
  flow_direction LowCardinality(Nullable(String)),
  traffic_path Nullable(Int32),
  ecs_cluster_arn Nullable(String),
  ecs_cluster_name Nullable(String),
  ecs_container_instance_arn Nullable(String),
  ecs_container_instance_id Nullable(String),
  ecs_container_id Nullable(String),
  ecs_second_container_id Nullable(String),
  ecs_service_name Nullable(String),
  ecs_task_definition_arn Nullable(String),
  ecs_task_arn Nullable(String),
  ecs_task_id Nullable(String),
  reject_reason Nullable(String),
  resource_id Nullable(String),
  encryption_status Nullable(Int32),
  instance_tag Nullable(String),
  instance_tag_2 Nullable(String),
  interface_tag Nullable(String),
  interface_tag_2 Nullable(String),
  asg_tag Nullable(String),
  asg_tag_2 Nullable(String),
  interface_type Nullable(String),
  next_hop_interface_id Nullable(String),
  next_hop_subnet_id Nullable(String),
  next_hop_az_id Nullable(String),
  next_hop_vpc_id Nullable(String),
  next_hop_interface_type Nullable(String),
  resource_type LowCardinality(Nullable(String)),
  tgw_id Nullable(String),
  tgw_attachment_id Nullable(String),
  tgw_src_vpc_account_id Nullable(String),
  tgw_dst_vpc_account_id Nullable(String),
  tgw_src_vpc_id Nullable(String),
  tgw_dst_vpc_id Nullable(String),
  tgw_src_subnet_id Nullable(String),
  tgw_dst_subnet_id Nullable(String),
  tgw_src_eni Nullable(String),
  tgw_dst_eni Nullable(String),
  tgw_src_az_id Nullable(String),
  tgw_dst_az_id Nullable(String),
  tgw_pair_attachment_id Nullable(String),
  packets_lost_no_route Nullable(Int64),
  packets_lost_blackhole Nullable(Int64),
  packets_lost_mtu_exceeded Nullable(Int64),
  packets_lost_ttl_expired Nullable(Int64),
  src_country LowCardinality(Nullable(String)),
  src_city LowCardinality(Nullable(String)),
  src_asn Nullable(Int64),
  src_as_org LowCardinality(Nullable(String)),
  dst_country LowCardinality(Nullable(String)),
  dst_city LowCardinality(Nullable(String)),
  dst_asn Nullable(Int64),
  dst_as_org LowCardinality(Nullable(String)),
  raw String CODEC(ZSTD(3)),
  source LowCardinality(String),
  ingested_at DateTime('UTC') CODEC(Delta, LZ4),
  unit Int64,
  INDEX srcaddr_bf srcaddr TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX dstaddr_bf dstaddr TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX interface_id_bf interface_id TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(ifNull(start_time, toDateTime(0, 'UTC')))
ORDER BY (ifNull(start_time, toDateTime(0, 'UTC')), source, unit);

CREATE VIEW IF NOT EXISTS trawl.vpcflow AS
SELECT version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, protocol, protocol_name, packets, bytes, start_time, end_time, action, log_status, vpc_id, subnet_id, instance_id, tcp_flags, type, pkt_srcaddr, pkt_dstaddr, region, az_id, sublocation_type, sublocation_id, pkt_src_aws_service, pkt_dst_aws_service, flow_direction, traffic_path, ecs_cluster_arn, ecs_cluster_name, ecs_container_instance_arn, ecs_container_instance_id, ecs_container_id, ecs_second_container_id, ecs_service_name, ecs_task_definition_arn, ecs_task_arn, ecs_task_id, reject_reason, resource_id, encryption_status, instance_tag, instance_tag_2, interface_tag, interface_tag_2, asg_tag, asg_tag_2, interface_type, next_hop_interface_id, next_hop_subnet_id, next_hop_az_id, next_hop_vpc_id, next_hop_interface_type, resource_type, tgw_id, tgw_attachment_id, tgw_src_vpc_account_id, tgw_dst_vpc_account_id, tgw_src_vpc_id, tgw_dst_vpc_id, tgw_src_subnet_id, tgw_dst_subnet_id, tgw_src_eni, tgw_dst_eni, tgw_src_az_id, tgw_dst_az_id, tgw_pair_attachment_id, packets_lost_no_route, packets_lost_blackhole, packets_lost_mtu_exceeded, packets_lost_ttl_expired, src_country, src_city, src_asn, src_as_org, dst_country, dst_city, dst_asn, dst_as_org, raw, source, ingested_at
FROM trawl.vpcflow_data FINAL;

CREATE TABLE IF NOT EXISTS trawl.guardduty_finding_data (
  id String,
  updated_at DateTime('UTC') CODEC(Delta, LZ4),
  created_at Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  arn Nullable(String),
  type LowCardinality(Nullable(String)),
  account_id LowCardinality(Nullable(String)),
  region LowCardinality(Nullable(String)),
  partition LowCardinality(Nullable(String)),
  schema_version LowCardinality(Nullable(String)),
  severity Float64,
  severity_label LowCardinality(Nullable(String)),
  title Nullable(String),
  description Nullable(String),
  resource_type LowCardinality(Nullable(String)),
  action_type LowCardinality(Nullable(String)),
  resource_role LowCardinality(Nullable(String)),
  first_seen Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  last_seen Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  count Nullable(Int64),
  archived Nullable(UInt8),
  detector_id LowCardinality(Nullable(String)),
  resource Nullable(String) CODEC(ZSTD(3)),
  service Nullable(String) CODEC(ZSTD(3)),
  raw String CODEC(ZSTD(3)),
  source LowCardinality(String),
  ingested_at DateTime('UTC') CODEC(Delta, LZ4),
  updated_us UInt64
) ENGINE = ReplacingMergeTree(updated_us)
ORDER BY (id);

CREATE VIEW IF NOT EXISTS trawl.guardduty_finding AS
SELECT id, updated_at, created_at, arn, type, account_id, region, partition, schema_version, severity, severity_label, title, description, resource_type, action_type, resource_role, first_seen, last_seen, count, archived, detector_id, resource, service, raw, source, ingested_at
FROM trawl.guardduty_finding_data FINAL;

CREATE TABLE IF NOT EXISTS trawl.guardduty_finding_history_data (
  id String,
  updated_at DateTime('UTC') CODEC(Delta, LZ4),
  created_at Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  arn Nullable(String),
  type LowCardinality(Nullable(String)),
  account_id LowCardinality(Nullable(String)),
  region LowCardinality(Nullable(String)),
  partition LowCardinality(Nullable(String)),
  schema_version LowCardinality(Nullable(String)),
  severity Float64,
  severity_label LowCardinality(Nullable(String)),
  title Nullable(String),
  description Nullable(String),
  resource_type LowCardinality(Nullable(String)),
  action_type LowCardinality(Nullable(String)),
  resource_role LowCardinality(Nullable(String)),
  first_seen Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  last_seen Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  count Nullable(Int64),
  archived Nullable(UInt8),
  detector_id LowCardinality(Nullable(String)),
  resource Nullable(String) CODEC(ZSTD(3)),
  service Nullable(String) CODEC(ZSTD(3)),
  raw String CODEC(ZSTD(3)),
  source LowCardinality(String),
  ingested_at DateTime('UTC') CODEC(Delta, LZ4),
  updated_us UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(updated_at)
ORDER BY (id, updated_us);

CREATE VIEW IF NOT EXISTS trawl.guardduty_finding_history AS
SELECT id, updated_at, created_at, arn, type, account_id, region, partition, schema_version, severity, severity_label, title, description, resource_type, action_type, resource_role, first_seen, last_seen, count, archived, detector_id, resource, service, raw, source, ingested_at
FROM trawl.guardduty_finding_history_data FINAL;

CREATE TABLE IF NOT EXISTS trawl.cloudtrail_digest_data (
  digest_object String,
  digest_bucket Nullable(String),
  account_id LowCardinality(Nullable(String)),
  digest_start Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  digest_end Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  oldest_event_time Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  newest_event_time Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  previous_digest_bucket Nullable(String),
  previous_digest_object Nullable(String),
  previous_digest_hash Nullable(String),
  previous_digest_hash_algorithm Nullable(String),
  public_key_fingerprint Nullable(String),
  signature_algorithm Nullable(String),
  log_file_count Nullable(Int32),
  raw String,
  source LowCardinality(String),
  ingested_at DateTime('UTC') CODEC(Delta, LZ4)
) ENGINE = ReplacingMergeTree()
ORDER BY (digest_object);

CREATE VIEW IF NOT EXISTS trawl.cloudtrail_digest AS
SELECT digest_object, digest_bucket, account_id, digest_start, digest_end, oldest_event_time, newest_event_time, previous_digest_bucket, previous_digest_object, previous_digest_hash, previous_digest_hash_algorithm, public_key_fingerprint, signature_algorithm, log_file_count, raw, source, ingested_at
FROM trawl.cloudtrail_digest_data FINAL;

CREATE TABLE IF NOT EXISTS trawl.cloudtrail_digest_file_data (
  digest_object String,
  s3_bucket Nullable(String),
  s3_object String,
  hash_value Nullable(String),
  hash_algorithm Nullable(String),
  oldest_event_time Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  newest_event_time Nullable(DateTime('UTC')) CODEC(Delta, LZ4)
) ENGINE = ReplacingMergeTree()
ORDER BY (digest_object, s3_object);

CREATE VIEW IF NOT EXISTS trawl.cloudtrail_digest_file AS
SELECT digest_object, s3_bucket, s3_object, hash_value, hash_algorithm, oldest_event_time, newest_event_time
FROM trawl.cloudtrail_digest_file_data FINAL;

CREATE TABLE IF NOT EXISTS trawl.ingest_ledger_data (
  object String,
  size Nullable(Int64),
  modified_at Nullable(DateTime('UTC')) CODEC(Delta, LZ4),
  etag Nullable(String),
  sha256 Nullable(String),
  status LowCardinality(String),
  units Int64,
  records Int64,
  duplicates Int64,
  quarantined Int64,
  kinds LowCardinality(Nullable(String)),
  first_ingested_at DateTime('UTC') CODEC(Delta, LZ4),
  last_ingested_at DateTime('UTC') CODEC(Delta, LZ4),
  error Nullable(String),
  cursor Nullable(String),
  ver UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (object);

CREATE VIEW IF NOT EXISTS trawl.ingest_ledger AS
SELECT object, size, modified_at, etag, sha256, status, units, records, duplicates, quarantined, kinds, first_ingested_at, last_ingested_at, error, cursor
FROM trawl.ingest_ledger_data FINAL;

CREATE TABLE IF NOT EXISTS trawl.quarantine_data (
  object String,
  kind LowCardinality(Nullable(String)),
  line Nullable(Int64),
  byte_offset Nullable(Int64),
  record Nullable(Int64),
  reason String,
  snippet Nullable(String),
  quarantined_at DateTime('UTC') CODEC(Delta, LZ4)
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(quarantined_at)
ORDER BY (object, ifNull(line, -1), ifNull(byte_offset, -1), ifNull(record, -1), reason);

CREATE VIEW IF NOT EXISTS trawl.quarantine AS
SELECT object, kind, line, byte_offset, record, reason, snippet, quarantined_at
FROM trawl.quarantine_data FINAL;

CREATE TABLE IF NOT EXISTS trawl.ingest_warning_data (
  object String,
  kind LowCardinality(Nullable(String)),
  record Nullable(Int64),
  field Nullable(String),
  reason String,
  warned_at DateTime('UTC') CODEC(Delta, LZ4)
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(warned_at)
ORDER BY (object, ifNull(record, -1), ifNull(field, ''), reason);

CREATE VIEW IF NOT EXISTS trawl.ingest_warning AS
SELECT object, kind, record, field, reason, warned_at
FROM trawl.ingest_warning_data FINAL;
