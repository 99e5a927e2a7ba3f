package event

// Integer fields of a flow-log record: indexes into VPCFlow.Ints.
const (
	FlowVersion = iota
	FlowSrcPort
	FlowDstPort
	FlowProtocol
	FlowPackets
	FlowBytes
	FlowTCPFlags
	FlowTrafficPath
	FlowEncryptionStatus
	FlowPacketsLostNoRoute
	FlowPacketsLostBlackhole
	FlowPacketsLostMTUExceeded
	FlowPacketsLostTTLExpired
	NumFlowInts
)

// String fields of a flow-log record: indexes into VPCFlow.Strs.
const (
	FlowAccountID = iota
	FlowInterfaceID
	FlowSrcAddr
	FlowDstAddr
	FlowAction
	FlowLogStatus
	FlowVPCID
	FlowSubnetID
	FlowInstanceID
	FlowType
	FlowPktSrcAddr
	FlowPktDstAddr
	FlowRegion
	FlowAZID
	FlowSublocationType
	FlowSublocationID
	FlowPktSrcAWSService
	FlowPktDstAWSService
	FlowDirection
	FlowECSClusterARN
	FlowECSClusterName
	FlowECSContainerInstanceARN
	FlowECSContainerInstanceID
	FlowECSContainerID
	FlowECSSecondContainerID
	FlowECSServiceName
	FlowECSTaskDefinitionARN
	FlowECSTaskARN
	FlowECSTaskID
	FlowRejectReason
	FlowResourceID
	FlowInstanceTag
	FlowInstanceTag2
	FlowInterfaceTag
	FlowInterfaceTag2
	FlowASGTag
	FlowASGTag2
	FlowInterfaceType
	FlowNextHopInterfaceID
	FlowNextHopSubnetID
	FlowNextHopAZID
	FlowNextHopVPCID
	FlowNextHopInterfaceType
	FlowResourceType
	FlowTGWID
	FlowTGWAttachmentID
	FlowTGWSrcVPCAccountID
	FlowTGWDstVPCAccountID
	FlowTGWSrcVPCID
	FlowTGWDstVPCID
	FlowTGWSrcSubnetID
	FlowTGWDstSubnetID
	FlowTGWSrcENI
	FlowTGWDstENI
	FlowTGWSrcAZID
	FlowTGWDstAZID
	FlowTGWPairAttachmentID
	NumFlowStrs
)

// FlowFieldKind says where a flow-log field is kept.
type FlowFieldKind uint8

// Where flow-log fields are kept.
const (
	FlowInt   FlowFieldKind = iota // VPCFlow.Int(Index)
	FlowStr                        // VPCFlow.Str(Index)
	FlowStart                      // VPCFlow.Start()
	FlowEnd                        // VPCFlow.End()
)

// FlowField describes one field AWS can write in a flow-log record.
type FlowField struct {
	Name    string // as in an AWS LogFormat and a file's header line
	Column  string // the column that stores it
	Version int    // the flow-log version that introduced it (6 = Transit Gateway)
	Kind    FlowFieldKind
	Index   int
	Wide    bool // a 64-bit count (BIGINT) rather than a 32-bit number
}

// FlowFields lists every known field in AWS's documented order: the VPC
// table (versions 2–11), then the Transit Gateway fields. Versions 9–11
// (resource-id, encryption-status, tag and next-hop fields) are kept as
// documented by AWS announcements; see docs/formats.md.
var FlowFields = []FlowField{
	{"version", "version", 2, FlowInt, FlowVersion, false},
	{"account-id", "account_id", 2, FlowStr, FlowAccountID, false},
	{"interface-id", "interface_id", 2, FlowStr, FlowInterfaceID, false},
	{"srcaddr", "srcaddr", 2, FlowStr, FlowSrcAddr, false},
	{"dstaddr", "dstaddr", 2, FlowStr, FlowDstAddr, false},
	{"srcport", "srcport", 2, FlowInt, FlowSrcPort, false},
	{"dstport", "dstport", 2, FlowInt, FlowDstPort, false},
	{"protocol", "protocol", 2, FlowInt, FlowProtocol, false},
	{"packets", "packets", 2, FlowInt, FlowPackets, true},
	{"bytes", "bytes", 2, FlowInt, FlowBytes, true},
	{"start", "start_time", 2, FlowStart, 0, true},
	{"end", "end_time", 2, FlowEnd, 0, true},
	{"action", "action", 2, FlowStr, FlowAction, false},
	{"log-status", "log_status", 2, FlowStr, FlowLogStatus, false},
	{"vpc-id", "vpc_id", 3, FlowStr, FlowVPCID, false},
	{"subnet-id", "subnet_id", 3, FlowStr, FlowSubnetID, false},
	{"instance-id", "instance_id", 3, FlowStr, FlowInstanceID, false},
	{"tcp-flags", "tcp_flags", 3, FlowInt, FlowTCPFlags, false},
	{"type", "type", 3, FlowStr, FlowType, false},
	{"pkt-srcaddr", "pkt_srcaddr", 3, FlowStr, FlowPktSrcAddr, false},
	{"pkt-dstaddr", "pkt_dstaddr", 3, FlowStr, FlowPktDstAddr, false},
	{"region", "region", 4, FlowStr, FlowRegion, false},
	{"az-id", "az_id", 4, FlowStr, FlowAZID, false},
	{"sublocation-type", "sublocation_type", 4, FlowStr, FlowSublocationType, false},
	{"sublocation-id", "sublocation_id", 4, FlowStr, FlowSublocationID, false},
	{"pkt-src-aws-service", "pkt_src_aws_service", 5, FlowStr, FlowPktSrcAWSService, false},
	{"pkt-dst-aws-service", "pkt_dst_aws_service", 5, FlowStr, FlowPktDstAWSService, false},
	{"flow-direction", "flow_direction", 5, FlowStr, FlowDirection, false},
	{"traffic-path", "traffic_path", 5, FlowInt, FlowTrafficPath, false},
	{"ecs-cluster-arn", "ecs_cluster_arn", 7, FlowStr, FlowECSClusterARN, false},
	{"ecs-cluster-name", "ecs_cluster_name", 7, FlowStr, FlowECSClusterName, false},
	{"ecs-container-instance-arn", "ecs_container_instance_arn", 7, FlowStr, FlowECSContainerInstanceARN, false},
	{"ecs-container-instance-id", "ecs_container_instance_id", 7, FlowStr, FlowECSContainerInstanceID, false},
	{"ecs-container-id", "ecs_container_id", 7, FlowStr, FlowECSContainerID, false},
	{"ecs-second-container-id", "ecs_second_container_id", 7, FlowStr, FlowECSSecondContainerID, false},
	{"ecs-service-name", "ecs_service_name", 7, FlowStr, FlowECSServiceName, false},
	{"ecs-task-definition-arn", "ecs_task_definition_arn", 7, FlowStr, FlowECSTaskDefinitionARN, false},
	{"ecs-task-arn", "ecs_task_arn", 7, FlowStr, FlowECSTaskARN, false},
	{"ecs-task-id", "ecs_task_id", 7, FlowStr, FlowECSTaskID, false},
	{"reject-reason", "reject_reason", 8, FlowStr, FlowRejectReason, false},
	{"resource-id", "resource_id", 9, FlowStr, FlowResourceID, false},
	{"encryption-status", "encryption_status", 10, FlowInt, FlowEncryptionStatus, false},
	{"instance-tag", "instance_tag", 11, FlowStr, FlowInstanceTag, false},
	{"instance-tag-2", "instance_tag_2", 11, FlowStr, FlowInstanceTag2, false},
	{"interface-tag", "interface_tag", 11, FlowStr, FlowInterfaceTag, false},
	{"interface-tag-2", "interface_tag_2", 11, FlowStr, FlowInterfaceTag2, false},
	{"asg-tag", "asg_tag", 11, FlowStr, FlowASGTag, false},
	{"asg-tag-2", "asg_tag_2", 11, FlowStr, FlowASGTag2, false},
	{"interface-type", "interface_type", 11, FlowStr, FlowInterfaceType, false},
	{"next-hop-interface-id", "next_hop_interface_id", 11, FlowStr, FlowNextHopInterfaceID, false},
	{"next-hop-subnet-id", "next_hop_subnet_id", 11, FlowStr, FlowNextHopSubnetID, false},
	{"next-hop-az-id", "next_hop_az_id", 11, FlowStr, FlowNextHopAZID, false},
	{"next-hop-vpc-id", "next_hop_vpc_id", 11, FlowStr, FlowNextHopVPCID, false},
	{"next-hop-interface-type", "next_hop_interface_type", 11, FlowStr, FlowNextHopInterfaceType, false},
	{"resource-type", "resource_type", 6, FlowStr, FlowResourceType, false},
	{"tgw-id", "tgw_id", 6, FlowStr, FlowTGWID, false},
	{"tgw-attachment-id", "tgw_attachment_id", 6, FlowStr, FlowTGWAttachmentID, false},
	{"tgw-src-vpc-account-id", "tgw_src_vpc_account_id", 6, FlowStr, FlowTGWSrcVPCAccountID, false},
	{"tgw-dst-vpc-account-id", "tgw_dst_vpc_account_id", 6, FlowStr, FlowTGWDstVPCAccountID, false},
	{"tgw-src-vpc-id", "tgw_src_vpc_id", 6, FlowStr, FlowTGWSrcVPCID, false},
	{"tgw-dst-vpc-id", "tgw_dst_vpc_id", 6, FlowStr, FlowTGWDstVPCID, false},
	{"tgw-src-subnet-id", "tgw_src_subnet_id", 6, FlowStr, FlowTGWSrcSubnetID, false},
	{"tgw-dst-subnet-id", "tgw_dst_subnet_id", 6, FlowStr, FlowTGWDstSubnetID, false},
	{"tgw-src-eni", "tgw_src_eni", 6, FlowStr, FlowTGWSrcENI, false},
	{"tgw-dst-eni", "tgw_dst_eni", 6, FlowStr, FlowTGWDstENI, false},
	{"tgw-src-az-id", "tgw_src_az_id", 6, FlowStr, FlowTGWSrcAZID, false},
	{"tgw-dst-az-id", "tgw_dst_az_id", 6, FlowStr, FlowTGWDstAZID, false},
	{"tgw-pair-attachment-id", "tgw_pair_attachment_id", 6, FlowStr, FlowTGWPairAttachmentID, false},
	{"packets-lost-no-route", "packets_lost_no_route", 6, FlowInt, FlowPacketsLostNoRoute, true},
	{"packets-lost-blackhole", "packets_lost_blackhole", 6, FlowInt, FlowPacketsLostBlackhole, true},
	{"packets-lost-mtu-exceeded", "packets_lost_mtu_exceeded", 6, FlowInt, FlowPacketsLostMTUExceeded, true},
	{"packets-lost-ttl-expired", "packets_lost_ttl_expired", 6, FlowInt, FlowPacketsLostTTLExpired, true},
}
