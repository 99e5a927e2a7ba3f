package sigma

import (
	"testing"

	"github.com/trawl-project/trawl/internal/decode/guardduty"
	"github.com/trawl-project/trawl/internal/decode/vpcflow"
	"github.com/trawl-project/trawl/internal/event"
)

func svcRule(t *testing.T, service, detection string) *Rule {
	t.Helper()
	r, err := Parse([]byte("title: t\nid: x\nlevel: high\nlogsource:\n    product: aws\n    service: " + service + "\ndetection:\n" + detection))
	if err != nil {
		t.Fatalf("%s: %v", detection, err)
	}
	return r
}

func flowRecord(t *testing.T, header, line string) *event.VPCFlow {
	t.Helper()
	p := vpcflow.NewParser(nil)
	if _, err := p.Line(header); err != vpcflow.ErrHeader {
		t.Fatalf("header: %v", err)
	}
	f, err := p.Line(line)
	if err != nil {
		t.Fatal(err)
	}
	return &f
}

func TestVPCFlowRules(t *testing.T) {
	f := flowRecord(t, "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction",
		"5 111122223333 eni-0a1b 203.0.113.9 10.0.1.5 51515 22 6 3 180 1700000000 1700000060 REJECT OK ingress")
	cases := []struct {
		name, det string
		want      bool
	}{
		{"port number", "  sel:\n    dstport: 22\n  condition: sel", true},
		{"port list", "  sel:\n    dstport: [3389, 22]\n  condition: sel", true},
		{"port other", "  sel:\n    dstport: 3389\n  condition: sel", false},
		{"port as text", "  sel:\n    dstport: '22'\n  condition: sel", true},
		{"gt", "  sel:\n    bytes|gt: 100\n  condition: sel", true},
		{"gt no", "  sel:\n    bytes|gt: 180\n  condition: sel", false},
		{"gte", "  sel:\n    bytes|gte: 180\n  condition: sel", true},
		{"lt", "  sel:\n    packets|lt: 4\n  condition: sel", true},
		{"lte no", "  sel:\n    packets|lte: 2\n  condition: sel", false},
		{"action", "  sel:\n    action: reject\n  condition: sel", true},
		{"dashed name", "  sel:\n    flow-direction: ingress\n  condition: sel", true},
		{"column name", "  sel:\n    flow_direction: ingress\n  condition: sel", true},
		{"cidr", "  sel:\n    dstaddr|cidr: 10.0.0.0/8\n  condition: sel", true},
		{"cidr not private source", "  priv:\n    srcaddr|cidr: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]\n  condition: not priv", true},
		{"absent field", "  sel:\n    vpc-id|exists: true\n  condition: sel", false},
		{"absent equals null", "  sel:\n    tcp-flags: null\n  condition: sel", true},
		{"start time", "  sel:\n    start|gte: 1700000000\n  condition: sel", true},
	}
	for _, c := range cases {
		r := svcRule(t, "vpcflow", c.det)
		if got := r.MatchFlow(f); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		if r.Match(&event.CloudTrail{}) {
			t.Errorf("%s: a vpcflow rule matched a CloudTrail event", c.name)
		}
	}
	if _, err := Parse([]byte("title: t\nid: x\nlogsource: {product: aws, service: vpcflow}\ndetection:\n  sel:\n    dstprot: 22\n  condition: sel\n")); err == nil {
		t.Error("a misspelt flow-log field loaded")
	}
}

const findingRaw = `{"schemaVersion":"2.0","accountId":"111122223333","region":"us-east-1","partition":"aws","id":"f1","arn":"arn:aws:guardduty:us-east-1:111122223333:detector/d1/finding/f1","type":"UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS","resource":{"resourceType":"AccessKey","accessKeyDetails":{"userName":"ci"}},"service":{"serviceName":"guardduty","detectorId":"d1","archived":false,"count":4,"eventFirstSeen":"2026-03-01T11:00:00Z","eventLastSeen":"2026-03-01T12:00:00Z","action":{"actionType":"AWS_API_CALL"}},"severity":8,"createdAt":"2026-03-01T11:00:00Z","updatedAt":"2026-03-01T12:00:00Z","title":"Credentials used from outside AWS","description":"d"}`

func TestGuardDutyRules(t *testing.T) {
	f, err := guardduty.FromRaw(findingRaw, nil)
	if err != nil {
		t.Fatal(err)
	}
	pascal, err := guardduty.FromRaw(`{"Id":"f2","Type":"Backdoor:EC2/C&CActivity.B","Severity":5,"AccountId":"1","Region":"us-east-1","CreatedAt":"2026-03-01T11:00:00Z","UpdatedAt":"2026-03-01T12:00:00Z","Resource":{"ResourceType":"Instance","InstanceDetails":{"InstanceId":"i-1"}},"Service":{"Archived":true,"Count":1}}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, det     string
		want, wantPas bool
	}{
		{"severity gte", "  sel:\n    severity|gte: 7\n  condition: sel", true, false},
		{"severity range", "  sel:\n    severity|gte: 4\n    severity|lt: 7\n  condition: sel", false, true},
		{"type wildcard", "  sel:\n    type|startswith: 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration'\n  condition: sel", true, false},
		{"type family", "  sel:\n    type: 'Backdoor:*'\n  condition: sel", false, true},
		{"archived", "  sel:\n    service.archived: true\n  condition: sel", false, true},
		{"resource type", "  sel:\n    resource.resourceType: AccessKey\n  condition: sel", true, false},
		{"raw path", "  sel:\n    resource.accessKeyDetails.userName: ci\n  condition: sel", true, false},
		{"raw path pascal case", "  sel:\n    resource.instanceDetails.instanceId: i-1\n  condition: sel", false, true},
		{"count", "  sel:\n    service.count|gt: 2\n  condition: sel", true, false},
	}
	for _, c := range cases {
		r := svcRule(t, "guardduty", c.det)
		if got := r.MatchFinding(&f); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		if got := r.MatchFinding(&pascal); got != c.wantPas {
			t.Errorf("%s (PascalCase): got %v, want %v", c.name, got, c.wantPas)
		}
	}
}

func TestPinned(t *testing.T) {
	cases := []struct {
		det  string
		want []string
	}{
		{"  sel:\n    eventName: CreateUser\n  condition: sel", []string{"createuser"}},
		{"  sel:\n    eventSource: iam.amazonaws.com\n    eventName: [CreateUser, CreateLoginProfile]\n  condition: sel", []string{"createuser", "createloginprofile"}},
		{"  a:\n    eventName: A\n  b:\n    eventName: B\n  condition: a or b", []string{"a", "b"}},
		{"  a:\n    eventName: A\n  b:\n    errorCode: X\n  condition: a or b", nil},
		{"  a:\n    eventName: Create*\n  condition: a", nil},
		{"  a:\n    eventName: A\n  condition: not a", nil},
		{"  a:\n    eventName: A\n  f:\n    errorCode: X\n  condition: a and not f", []string{"a"}},
	}
	for _, c := range cases {
		got := svcRule(t, "cloudtrail", c.det).Pinned("eventName")
		if len(got) != len(c.want) {
			t.Errorf("%q: got %v, want %v", c.det, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q: got %v, want %v", c.det, got, c.want)
			}
		}
	}
}
