// Package event defines the typed records trawl moves from decoders to
// stores. It imports only the standard library so that every other package
// can depend on it.
//
// The field sets follow the schema contract in docs/schema.md: one struct per
// log type, typed fields for what people filter and group on, free-form parts
// kept as JSON text, and the original record kept verbatim in Raw.
package event

import "time"

// Kind names a log type.
type Kind uint8

// The log types trawl understands.
const (
	KindUnknown Kind = iota
	KindCloudTrail
	KindCloudTrailDigest
	KindVPCFlow
	KindGuardDuty
)

// String returns the name used on the command line (--type) and in tables.
func (k Kind) String() string {
	switch k {
	case KindCloudTrail:
		return "cloudtrail"
	case KindCloudTrailDigest:
		return "cloudtrail-digest"
	case KindVPCFlow:
		return "vpcflow"
	case KindGuardDuty:
		return "guardduty"
	}
	return "unknown"
}

// ParseKind returns the Kind for a name accepted by --type.
func ParseKind(s string) (Kind, bool) {
	switch s {
	case "cloudtrail", "ct":
		return KindCloudTrail, true
	case "cloudtrail-digest", "digest":
		return KindCloudTrailDigest, true
	case "vpcflow", "vpc", "flow", "flowlogs":
		return KindVPCFlow, true
	case "guardduty", "gd":
		return KindGuardDuty, true
	}
	return KindUnknown, false
}

// CloudTrail is one CloudTrail event (management, data, network activity or
// Insight). Empty strings stand for absent values and are stored as NULL.
type CloudTrail struct {
	EventTime          time.Time // zero when the record has no usable eventTime
	EventID            string    // eventID, or a content hash when the record has none
	EventVersion       string
	EventSource        string
	EventName          string
	EventType          string
	EventCategory      string
	AWSRegion          string
	RecipientAccountID string
	SourceIP           string // sourceIPAddress: an address, a service name or a list
	UserAgent          string

	UserType           string // userIdentity.type
	UserPrincipalID    string
	UserARN            string
	UserAccountID      string
	UserAccessKeyID    string
	UserName           string // derived, see DeriveUserName
	SessionName        string // derived: the role session name of an assumed role, see DeriveSessionName
	Principal          string // derived: the person or actor, see DerivePrincipal
	SessionIssuerType  string
	SessionIssuerARN   string
	SessionIssuerName  string
	MFAAuthenticated   Bool
	SessionCreatedAt   time.Time
	InvokedBy          string
	SourceIdentity     string
	IdentityStoreUser  string // userIdentity.onBehalfOf.userId (IAM Identity Center)
	CredentialFromCons Bool   // sessionCredentialFromConsole

	ErrorCode       string
	ErrorMessage    string
	ReadOnly        Bool
	ManagementEvent Bool
	RequestID       string
	SharedEventID   string
	VPCEndpointID   string
	APIVersion      string
	TLSVersion      string
	TLSCipherSuite  string
	TLSClientHost   string

	// Chosen members of the free-form parts, as json_extract_string reads
	// them (a string unescaped, a number or literal as its text, an object
	// or array as its JSON text; empty when absent or null): what people
	// search and dashboards group on, stored as columns so that queries do
	// not parse the JSON.
	ReqBucketName string // requestParameters.bucketName
	ReqKey        string // requestParameters.key
	ReqPolicyARN  string // requestParameters.policyArn
	ReqUserName   string // requestParameters.userName
	ReqRoleName   string // requestParameters.roleName
	ReqRoleARN    string // requestParameters.roleArn
	ReqGroupName  string // requestParameters.groupName
	ConsoleLogin  string // responseElements.ConsoleLogin: Success or Failure
	MFAUsed       string // additionalEventData.MFAUsed: Yes or No

	// JSON text of free-form parts, exactly as they appear in the record
	// (objects, arrays, strings such as "HIDDEN_DUE_TO_SECURITY_REASONS");
	// empty when the key is absent or null.
	Resources           string
	RequestParameters   string
	ResponseElements    string
	AdditionalEventData string
	ServiceEventDetails string
	InsightDetails      string

	Raw string // the record as it appeared in the input

	// Enrichment (internal/enrich), nil when off or when nothing is known:
	// the GeoIP data of SourceIP and the class of UserAgent. Shared values,
	// read-only.
	SrcGeo *Geo
	UA     *UserAgent

	Unit int64 // index of the record among the units of its object
}

// Bool is a nullable boolean: CloudTrail often omits readOnly,
// managementEvent and mfaAuthenticated.
type Bool uint8

// Bool values.
const (
	BoolNull Bool = iota
	BoolFalse
	BoolTrue
)

// BoolOf converts a Go bool.
func BoolOf(b bool) Bool {
	if b {
		return BoolTrue
	}
	return BoolFalse
}

// Value returns the boolean as any: nil, false or true.
func (b Bool) Value() any {
	switch b {
	case BoolTrue:
		return true
	case BoolFalse:
		return false
	}
	return nil
}

// Int is a nullable integer: a flow-log "-" or an absent field is invalid.
type Int struct {
	V     int64
	Valid bool
}

// IntOf returns a valid Int.
func IntOf(v int64) Int { return Int{V: v, Valid: true} }

// Value returns the integer as any: nil or an int64.
func (i Int) Value() any {
	if !i.Valid {
		return nil
	}
	return i.V
}

// Digest is one CloudTrail digest file: which log files it vouches for.
type Digest struct {
	AccountID             string
	DigestStart           time.Time
	DigestEnd             time.Time
	DigestS3Bucket        string
	DigestS3Object        string
	NewestEventTime       time.Time
	OldestEventTime       time.Time
	PreviousDigestObject  string
	PreviousDigestHash    string
	PublicKeyFingerprint  string
	SignatureAlgorithm    string
	LogFiles              []DigestLogFile
	Raw                   string
	PreviousDigestBucket  string
	PreviousDigestHashAlg string
	Unit                  int64 // index of the record among the units of its object
}

// DigestLogFile is one entry of a digest's logFiles list.
type DigestLogFile struct {
	S3Bucket        string
	S3Object        string
	HashValue       string
	HashAlgorithm   string
	NewestEventTime time.Time
	OldestEventTime time.Time
}

// VPCFlow is one VPC (or Transit Gateway) flow-log record. Field values
// are kept by index (the catalog in flowfields.go), so that decoders and
// stores handle every field of every version (2–11 and Transit Gateway)
// from one table. Strings are spans of Raw and the record holds no other
// pointer (but the two to shared enrichment values), which keeps the
// garbage collector's work small when millions of records pass through.
// An unset field ("-" or not in the log's format) reads as "" or not ok.
type VPCFlow struct {
	Raw  string // the line as it appeared in the input
	Unit int64  // index of the record among the units of its object
	// GeoIP data of srcaddr and dstaddr (internal/enrich), nil when off or
	// when nothing is known. Shared values, read-only.
	SrcGeo, DstGeo *Geo
	ints           [NumFlowInts]int64
	strs           [NumFlowStrs]span
	start          int64 // Unix seconds
	end            int64
	set            uint32 // which ints (bit i), start (bit NumFlowInts) and end are set
}

type span struct{ off, n uint32 }

const (
	startBit = NumFlowInts
	endBit   = NumFlowInts + 1
)

// Str returns string field i (FlowAccountID…), "" when unset.
func (f *VPCFlow) Str(i int) string {
	s := f.strs[i]
	return f.Raw[s.off : s.off+s.n]
}

// SetStr sets string field i to Raw[off:off+n].
func (f *VPCFlow) SetStr(i, off, n int) { f.strs[i] = span{uint32(off), uint32(n)} }

// Int returns integer field i (FlowSrcPort…) and whether it is set.
func (f *VPCFlow) Int(i int) (int64, bool) { return f.ints[i], f.set&(1<<i) != 0 }

// SetInt sets integer field i.
func (f *VPCFlow) SetInt(i int, v int64) {
	f.ints[i] = v
	f.set |= 1 << i
}

// Start returns the start of the flow's capture window, if set.
func (f *VPCFlow) Start() (time.Time, bool) {
	if f.set&(1<<startBit) == 0 {
		return time.Time{}, false
	}
	return time.Unix(f.start, 0).UTC(), true
}

// End returns the end of the flow's capture window, if set.
func (f *VPCFlow) End() (time.Time, bool) {
	if f.set&(1<<endBit) == 0 {
		return time.Time{}, false
	}
	return time.Unix(f.end, 0).UTC(), true
}

// SetStart sets the start time in Unix seconds.
func (f *VPCFlow) SetStart(unix int64) {
	f.start = unix
	f.set |= 1 << startBit
}

// SetEnd sets the end time in Unix seconds.
func (f *VPCFlow) SetEnd(unix int64) {
	f.end = unix
	f.set |= 1 << endBit
}

// Finding is one version of a GuardDuty finding.
type Finding struct {
	ID            string
	ARN           string
	Type          string
	AccountID     string
	Region        string
	Partition     string
	SchemaVersion string
	Severity      float64
	Title         string
	Description   string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ResourceType  string
	ActionType    string
	ResourceRole  string
	FirstSeen     time.Time
	LastSeen      time.Time
	Count         Int
	Archived      Bool
	DetectorID    string
	Resource      string // JSON text
	Service       string // JSON text
	Raw           string
	Unit          int64 // index of the record among the units of its object
}

// Quarantined is input that could not be decoded into a record. Object and
// the position say where it is; Snippet holds at most a few hundred bytes.
type Quarantined struct {
	Object  string
	Kind    Kind  // the type the decoder expected, KindUnknown if undetected
	Line    int64 // 1-based line number, 0 when not line-oriented
	Offset  int64 // byte offset in the decompressed stream, -1 when unknown
	Record  int64 // 0-based index of the unit in the object
	Reason  string
	Snippet string
}

// UnsetInt marks integer field i as unset (NULL).
func (f *VPCFlow) UnsetInt(i int) { f.set &^= 1 << i }

// UnsetStart marks the start time as unset (NULL).
func (f *VPCFlow) UnsetStart() { f.set &^= 1 << startBit }

// UnsetEnd marks the end time as unset (NULL).
func (f *VPCFlow) UnsetEnd() { f.set &^= 1 << endBit }
