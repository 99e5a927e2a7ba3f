package sigma

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/decode/cloudtrail"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
)

var _ pipeline.Processor = (*Processor)(nil)

// decoded returns the event the CloudTrail decoder makes of raw.
func decoded(raw string) *event.CloudTrail {
	e := cloudtrail.FromRaw(raw, nil)
	return &e
}

const sampleRaw = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/Alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"Alice","sessionContext":{"attributes":{"creationDate":"2026-11-01T10:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-01T10:05:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.7","userAgent":"[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488]","requestParameters":{"bucketName":"Prod-Logs","policy":{"Statement":[{"Effect":"Allow","Principal":"*"}]},"count":42,"tags":[{"key":"env","value":"prod"},{"key":"Team","value":"sec*ops"}],"nothing":null,"enabled":true},"responseElements":null,"requestID":"R1","eventID":"E1","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`

func rule(detection string) string {
	return "title: t\nid: x\nlevel: high\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n" + detection
}

func TestModifiersAndConditions(t *testing.T) {
	e := decoded(sampleRaw)
	cases := []struct {
		name, det string
		want      bool
	}{
		{"equal", "  sel:\n    eventName: PutBucketPolicy\n  condition: sel", true},
		{"equal is case-insensitive", "  sel:\n    eventName: putbucketpolicy\n  condition: sel", true},
		{"equal is whole", "  sel:\n    eventName: PutBucket\n  condition: sel", false},
		{"list is OR", "  sel:\n    eventName: [DeleteBucket, PutBucketPolicy]\n  condition: sel", true},
		{"list none", "  sel:\n    eventName: [DeleteBucket, GetObject]\n  condition: sel", false},
		{"map is AND", "  sel:\n    eventName: PutBucketPolicy\n    eventSource: ec2.amazonaws.com\n  condition: sel", false},
		{"list of maps is OR", "  sel:\n    - eventSource: ec2.amazonaws.com\n    - eventName: PutBucketPolicy\n  condition: sel", true},
		{"contains", "  sel:\n    userAgent|contains: s3console\n  condition: sel", true},
		{"contains no", "  sel:\n    userAgent|contains: boto3\n  condition: sel", false},
		{"contains all", "  sel:\n    userAgent|contains|all: [S3Console, aws-sdk-java]\n  condition: sel", true},
		{"contains all one missing", "  sel:\n    userAgent|contains|all: [S3Console, boto3]\n  condition: sel", false},
		{"startswith", "  sel:\n    userIdentity.arn|startswith: 'ARN:AWS:IAM::111122223333:'\n  condition: sel", true},
		{"startswith no", "  sel:\n    userIdentity.arn|startswith: arn:aws:sts\n  condition: sel", false},
		{"endswith", "  sel:\n    userIdentity.arn|endswith: /alice\n  condition: sel", true},
		{"endswith no", "  sel:\n    userIdentity.arn|endswith: /bob\n  condition: sel", false},
		{"wildcard star", "  sel:\n    eventName: Put*Policy\n  condition: sel", true},
		{"wildcard question", "  sel:\n    awsRegion: eu-west-?\n  condition: sel", true},
		{"wildcard question needs a character", "  sel:\n    awsRegion: eu-west-1?\n  condition: sel", false},
		{"wildcard several", "  sel:\n    userAgent: '*aws-*java*'\n  condition: sel", true},
		{"escaped star is literal", "  sel:\n    requestParameters.tags.value: 'sec\\*ops'\n  condition: sel", true},
		{"escaped star does not wildcard", "  sel:\n    requestParameters.tags.value: 'sec\\*o'\n  condition: sel", false},
		{"escaped question", "  sel:\n    eventName: 'PutBucketPolic\\?'\n  condition: sel", false},
		{"nested field", "  sel:\n    requestParameters.bucketName: prod-logs\n  condition: sel", true},
		{"field in array of objects", "  sel:\n    requestParameters.tags.key: team\n  condition: sel", true},
		{"deep nested", "  sel:\n    requestParameters.policy.Statement.Principal: '*'\n  condition: sel", true},
		{"number", "  sel:\n    requestParameters.count: 42\n  condition: sel", true},
		{"number as string", "  sel:\n    requestParameters.count: '42'\n  condition: sel", true},
		{"number other", "  sel:\n    requestParameters.count: 43\n  condition: sel", false},
		{"gt", "  sel:\n    requestParameters.count|gt: 40\n  condition: sel", true},
		{"lte no", "  sel:\n    requestParameters.count|lte: 41\n  condition: sel", false},
		{"bool", "  sel:\n    requestParameters.enabled: true\n  condition: sel", true},
		{"bool top-level", "  sel:\n    readOnly: false\n  condition: sel", true},
		{"null matches JSON null", "  sel:\n    requestParameters.nothing: null\n  condition: sel", true},
		{"null matches absent", "  sel:\n    errorCode: null\n  condition: sel", true},
		{"null does not match a value", "  sel:\n    eventName: null\n  condition: sel", false},
		{"exists true", "  sel:\n    requestParameters.bucketName|exists: true\n  condition: sel", true},
		{"exists false", "  sel:\n    errorCode|exists: false\n  condition: sel", true},
		{"exists absent", "  sel:\n    errorCode|exists: true\n  condition: sel", false},
		{"re", "  sel:\n    userIdentity.arn|re: ':user/[A-Z][a-z]+$'\n  condition: sel", true},
		{"re is case-sensitive", "  sel:\n    userIdentity.arn|re: ':USER/'\n  condition: sel", false},
		{"re|i", "  sel:\n    userIdentity.arn|re|i: ':USER/'\n  condition: sel", true},
		{"cidr", "  sel:\n    sourceIPAddress|cidr: 203.0.113.0/24\n  condition: sel", true},
		{"cidr list", "  sel:\n    sourceIPAddress|cidr: [10.0.0.0/8, 2001:db8::/32]\n  condition: sel", false},
		{"cidr not an address", "  sel:\n    eventSource|cidr: 0.0.0.0/0\n  condition: sel", false},
		{"fieldref", "  sel:\n    userIdentity.userName|fieldref: userIdentity.arn\n  condition: sel", false},
		{"fieldref endswith", "  sel:\n    userIdentity.arn|fieldref|endswith: userIdentity.userName\n  condition: sel", true},
		{"not", "  sel:\n    eventName: PutBucketPolicy\n  f:\n    awsRegion: eu-west-1\n  condition: sel and not f", false},
		{"or", "  a:\n    eventName: Nope\n  b:\n    awsRegion: eu-west-1\n  condition: a or b", true},
		{"precedence: and before or", "  a:\n    eventName: Nope\n  b:\n    awsRegion: eu-west-1\n  c:\n    eventSource: nope\n  condition: a and c or b", true},
		{"parentheses", "  a:\n    eventName: Nope\n  b:\n    awsRegion: eu-west-1\n  c:\n    eventSource: nope\n  condition: a and (c or b)", false},
		{"not binds tight", "  a:\n    eventName: Nope\n  b:\n    awsRegion: eu-west-1\n  condition: not a and b", true},
		{"1 of pattern", "  sel_a:\n    eventName: Nope\n  sel_b:\n    awsRegion: eu-west-1\n  other:\n    eventName: Nope\n  condition: 1 of sel_*", true},
		{"all of pattern", "  sel_a:\n    eventName: Nope\n  sel_b:\n    awsRegion: eu-west-1\n  condition: all of sel_*", false},
		{"all of pattern yes", "  sel_a:\n    eventName: PutBucketPolicy\n  sel_b:\n    awsRegion: eu-west-1\n  other:\n    eventName: Nope\n  condition: all of sel_*", true},
		{"1 of them", "  a:\n    eventName: Nope\n  b:\n    awsRegion: eu-west-1\n  condition: 1 of them", true},
		{"all of them", "  a:\n    eventName: Nope\n  b:\n    awsRegion: eu-west-1\n  condition: all of them", false},
		{"not 1 of", "  sel:\n    eventName: PutBucketPolicy\n  filter_a:\n    awsRegion: us-east-1\n  filter_b:\n    sourceIPAddress: AWS Internal\n  condition: sel and not 1 of filter_*", true},
		{"condition list is OR", "  a:\n    eventName: Nope\n  b:\n    awsRegion: eu-west-1\n  condition:\n    - a\n    - b", true},
		{"typed and raw agree", "  sel:\n    userIdentity.type: iamuser\n    recipientAccountId: '111122223333'\n  condition: sel", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse([]byte(rule(c.det)))
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Match(e); got != c.want {
				t.Errorf("Match = %v, want %v", got, c.want)
			}
			// The same from the raw record alone (no typed fields).
			if got := r.Match(&event.CloudTrail{Raw: sampleRaw}); got != c.want {
				t.Errorf("Match on raw only = %v, want %v", got, c.want)
			}
		})
	}
}

// principal and sessionName are trawl's derived names: the decoder fills
// them, no record has them.
func TestDerivedFields(t *testing.T) {
	sso := `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:jane.doe@example.com","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_5f8f0a1b2c3d4e5f/jane.doe@example.com","accountId":"111122223333"},"eventTime":"2026-11-01T10:05:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventID":"E2"}`
	for _, c := range []struct {
		raw, det string
		want     bool
	}{
		{sampleRaw, "  sel:\n    principal: alice\n  condition: sel", true},
		{sampleRaw, "  sel:\n    principal: bob\n  condition: sel", false},
		{sampleRaw, "  sel:\n    sessionName|exists: false\n  condition: sel", true},
		{sso, "  sel:\n    principal|endswith: '@example.com'\n  condition: sel", true},
		{sso, "  sel:\n    sessionName: jane.doe@example.com\n  condition: sel", true},
	} {
		r, err := Parse([]byte(rule(c.det)))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Match(decoded(c.raw)); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.det, got, c.want)
		}
	}
}

// An Insight event's typed EventName comes from insightDetails; Sigma's
// eventName is the record's, which an Insight event does not have.
func TestInsightEventName(t *testing.T) {
	raw := `{"eventVersion":"1.07","eventTime":"2026-11-01T10:00:00Z","awsRegion":"eu-west-1","eventID":"I1","eventType":"AwsCloudTrailInsight","recipientAccountId":"111122223333","sharedEventID":"S1","insightDetails":{"state":"Start","eventSource":"s3.amazonaws.com","eventName":"DeleteBucket","insightType":"ApiCallRateInsight"},"eventCategory":"Insight"}`
	e := decoded(raw)
	if e.EventName != "DeleteBucket" {
		t.Fatalf("decoder gives EventName %q; the test expects it from insightDetails", e.EventName)
	}
	for det, want := range map[string]bool{
		"  sel:\n    eventName: DeleteBucket\n  condition: sel":                              false,
		"  sel:\n    eventSource: s3.amazonaws.com\n  condition: sel":                        false,
		"  sel:\n    insightDetails.eventName: DeleteBucket\n  condition: sel":               true,
		"  sel:\n    eventName: null\n    eventType: AwsCloudTrailInsight\n  condition: sel": true,
	} {
		r, err := Parse([]byte(rule(det)))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Match(e); got != want {
			t.Errorf("%q: %v, want %v", det, got, want)
		}
	}
}

func TestUnsupportedAndInvalid(t *testing.T) {
	cases := []struct {
		name, doc, reason string // reason "" means a plain (not unsupported) error
	}{
		{"count", rule("  sel:\n    eventName: x\n  condition: sel | count() > 5"), "aggregation"},
		{"count by", rule("  sel:\n    eventName: x\n  timeframe: 5m\n  condition: sel | count() by sourceIPAddress > 5"), "aggregation"},
		{"near", rule("  a:\n    eventName: x\n  b:\n    eventName: y\n  condition: a | near b"), "near"},
		{"unknown modifier", rule("  sel:\n    eventName|base64offset: x\n  condition: sel"), `modifier "base64offset"`},
		{"expand", rule("  sel:\n    src_ip|expand: '%ranges%'\n  condition: sel"), `modifier "expand"`},
		{"keywords", rule("  keywords:\n    - evil\n  condition: keywords"), "keyword"},
		{"other logsource", "title: t\nlogsource:\n    product: windows\n    service: security\ndetection:\n  sel:\n    EventID: 4624\n  condition: sel\n", "not AWS CloudTrail"},
		{"gcp", "title: t\nlogsource:\n    product: gcp\n    service: gcp.audit\ndetection:\n  sel:\n    x: 1\n  condition: sel\n", "not AWS CloudTrail"},
		{"multi-document", rule("  sel:\n    eventName: x\n  condition: sel\n") + "---\ntitle: u\n", "multi-document"},
		{"timeframe without aggregation", rule("  a:\n    eventName: x\n  b:\n    eventName: y\n  timeframe: 5m\n  condition: a and b"), "timeframe 5m"},
		{"status unsupported", rule("  sel:\n    eventName: x\n  condition: sel\n") + "status: unsupported\n", "status: unsupported"},
		{"2 of", rule("  sel:\n    eventName: x\n  condition: 2 of sel*"), "1 of and all of"},
		{"bad yaml", "title: [", ""},
		{"no condition", rule("  sel:\n    eventName: x\n"), ""},
		{"unknown search", rule("  sel:\n    eventName: x\n  condition: sel and other"), ""},
		{"unbalanced", rule("  sel:\n    eventName: x\n  condition: (sel"), ""},
		{"bad cidr", rule("  sel:\n    sourceIPAddress|cidr: 10.0.0.0/99\n  condition: sel"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse([]byte(c.doc))
			if err == nil {
				t.Fatalf("Parse succeeded (%v), want an error", r)
			}
			var u *UnsupportedError
			if c.reason == "" {
				if errors.As(err, &u) {
					t.Fatalf("error %v is UnsupportedError, want a plain error", err)
				}
				return
			}
			if !errors.As(err, &u) || !strings.Contains(u.Reason, c.reason) {
				t.Fatalf("error %v, want UnsupportedError containing %q", err, c.reason)
			}
		})
	}
}

func TestPattern(t *testing.T) {
	cases := []struct {
		pat   string
		op    opKind
		value string
		want  bool
	}{
		{"abc", opEqual, "ABC", true},
		{"*", opEqual, "", true},
		{"a*c", opEqual, "abbbc", true},
		{"a*c", opEqual, "abbbd", false},
		{"a*b*c", opEqual, "axxbyyc", true},
		{"a*b*c", opEqual, "axxcyyb", false},
		{"?", opEqual, "é", true},
		{"Ärger", opEqual, "äRGER", true},
		{"ärger", opContains, "viel ÄRGER hier", true},
		{`a\*`, opEqual, "a*", true},
		{`a\*`, opEqual, "ab", false},
		{`a\\`, opEqual, `a\`, true},
		{`a\b`, opEqual, `a\b`, true},
		{"", opEqual, "", true},
		{"", opEqual, "x", false},
		{"", opContains, "x", true},
		{"x*", opEndsWith, "ax*yx", true},
	}
	for _, c := range cases {
		p := compilePattern(c.pat, c.op)
		if got := p.match(c.value); got != c.want {
			t.Errorf("pattern %q (op %d) on %q = %v, want %v", c.pat, c.op, c.value, got, c.want)
		}
	}
}

func TestProcessor(t *testing.T) {
	r1, err := Parse([]byte(rule("  sel:\n    eventName: PutBucketPolicy\n  condition: sel")))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Parse([]byte(rule("  sel:\n    eventName: DeleteBucket\n  condition: sel")))
	if err != nil {
		t.Fatal(err)
	}
	b := &event.Batch{CloudTrail: []event.CloudTrail{*decoded(sampleRaw), {EventName: "DeleteBucket"}, {EventName: "Other"}}}
	var got []string
	p := &Processor{Rules: []*Rule{r1, r2}, OnMatch: func(r *Rule, e *event.CloudTrail) {
		got = append(got, e.EventName)
	}}
	if err := p.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "PutBucketPolicy,DeleteBucket" || len(b.CloudTrail) != 3 {
		t.Fatalf("matches %v, batch of %d", got, len(b.CloudTrail))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Process(ctx, b); !errors.Is(err, context.Canceled) {
		t.Fatalf("Process with a cancelled context: %v", err)
	}
}
