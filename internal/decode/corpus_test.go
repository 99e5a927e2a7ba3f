package decode

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/corpustest"
	"github.com/trawl-project/trawl/internal/event"
)

// collect keeps the records of every batch as they are.
type collect struct {
	ct  []event.CloudTrail
	dg  []event.Digest
	vpc []event.VPCFlow
	gd  []event.Finding
	q   []event.Quarantined
	w   []event.Warning
}

func (c *collect) emit(b *event.Batch) error {
	c.ct = append(c.ct, b.CloudTrail...)
	c.dg = append(c.dg, b.Digests...)
	c.vpc = append(c.vpc, b.VPCFlow...)
	c.gd = append(c.gd, b.Findings...)
	c.q = append(c.q, b.Quarantined...)
	c.w = append(c.w, b.Warnings...)
	return nil
}
func decodeFile(t *testing.T, path string, opt Options) *collect {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &collect{}
	if err := Decode(context.Background(), Object{Name: path, Key: path}, f, opt, c.emit); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// notRecords are corpus files that are not log data (test configs,
// expected outputs, manifests, Sigma rules): they must be quarantined.
func notRecords(path string) bool {
	base := filepath.Base(path)
	return strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, "-expected.json") ||
		base == "MANIFEST.jsonl" || base == "README.md"
}

func TestCorpus(t *testing.T) {
	dir := corpustest.Dir(t)
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var all collect
	for _, p := range files {
		c := decodeFile(t, p, Options{})
		if notRecords(p) {
			if len(c.q) == 0 || len(c.ct)+len(c.dg)+len(c.vpc)+len(c.gd) > 0 {
				t.Errorf("%s is not log data but gave %d records and %d quarantine entries", p, len(c.ct)+len(c.dg)+len(c.vpc)+len(c.gd), len(c.q))
			}
			continue
		}
		for _, q := range c.q {
			t.Errorf("%s: quarantined at line %d: %s", p, q.Line, q.Reason)
		}
		all.ct = append(all.ct, c.ct...)
		all.dg = append(all.dg, c.dg...)
		all.vpc = append(all.vpc, c.vpc...)
		all.gd = append(all.gd, c.gd...)
	}
	// The corpus README: 106 JSON values in integrations (105 events and a
	// digest) and 23 events in beats; 33 flow-log lines; 5 findings.
	if len(all.ct) != 128 || len(all.dg) != 1 || len(all.vpc) != 33 || len(all.gd) != 5 {
		t.Errorf("decoded %d CloudTrail events, %d digests, %d flow records, %d findings; want 128, 1, 33, 5", len(all.ct), len(all.dg), len(all.vpc), len(all.gd))
	}
	for i := range all.ct {
		checkCloudTrail(t, &all.ct[i])
	}
	for _, f := range all.gd {
		if f.ID == "" || f.UpdatedAt.IsZero() || f.Type == "" || f.Severity == 0 || f.AccountID == "" {
			t.Errorf("finding %q: missing id, updatedAt, type, severity or account", f.ID)
		}
	}
	for _, d := range all.dg {
		if len(d.LogFiles) != 3 || d.AccountID != "123456789123" || d.LogFiles[0].HashValue == "" {
			t.Errorf("digest: %d log files, account %q", len(d.LogFiles), d.AccountID)
		}
	}
}

// checkCloudTrail compares an event's typed fields with its JSON, decoded
// independently with encoding/json.
func checkCloudTrail(t *testing.T, e *event.CloudTrail) {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(e.Raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Errorf("raw of %s is not JSON: %v", e.EventID, err)
		return
	}
	get := func(keys ...string) any {
		var v any = m
		for _, k := range keys {
			o, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = o[k]
		}
		return v
	}
	str := func(keys ...string) string {
		switch v := get(keys...).(type) {
		case nil:
			return ""
		case string:
			return v
		case json.Number:
			return v.String()
		case bool:
			return fmt.Sprint(v)
		default:
			b, _ := json.Marshal(v)
			return string(b)
		}
	}
	id := e.EventID
	// An Insight event names its API only in insightDetails.
	orInsight := func(key string) string {
		if v := str(key); v != "" {
			return v
		}
		return str("insightDetails", key)
	}
	want := map[string][2]string{
		"eventVersion":                          {e.EventVersion, str("eventVersion")},
		"eventSource":                           {e.EventSource, orInsight("eventSource")},
		"eventName":                             {e.EventName, orInsight("eventName")},
		"eventType":                             {e.EventType, str("eventType")},
		"eventCategory":                         {e.EventCategory, str("eventCategory")},
		"awsRegion":                             {e.AWSRegion, str("awsRegion")},
		"recipientAccountId":                    {e.RecipientAccountID, str("recipientAccountId")},
		"sourceIPAddress":                       {e.SourceIP, str("sourceIPAddress")},
		"userAgent":                             {e.UserAgent, str("userAgent")},
		"errorCode":                             {e.ErrorCode, str("errorCode")},
		"errorMessage":                          {e.ErrorMessage, str("errorMessage")},
		"requestID":                             {e.RequestID, str("requestID")},
		"sharedEventID":                         {e.SharedEventID, str("sharedEventID")},
		"vpcEndpointId":                         {e.VPCEndpointID, str("vpcEndpointId")},
		"userIdentity.type":                     {e.UserType, str("userIdentity", "type")},
		"userIdentity.arn":                      {e.UserARN, str("userIdentity", "arn")},
		"userIdentity.principalId":              {e.UserPrincipalID, str("userIdentity", "principalId")},
		"userIdentity.accountId":                {e.UserAccountID, str("userIdentity", "accountId")},
		"userIdentity.accessKeyId":              {e.UserAccessKeyID, str("userIdentity", "accessKeyId")},
		"userIdentity.invokedBy":                {e.InvokedBy, str("userIdentity", "invokedBy")},
		"sessionContext.sessionIssuer.arn":      {e.SessionIssuerARN, str("userIdentity", "sessionContext", "sessionIssuer", "arn")},
		"sessionContext.sessionIssuer.userName": {e.SessionIssuerName, str("userIdentity", "sessionContext", "sessionIssuer", "userName")},
		"sessionContext.attributes.mfaAuthenticated": {boolText(e.MFAAuthenticated), str("userIdentity", "sessionContext", "attributes", "mfaAuthenticated")},
		"tlsDetails.tlsVersion":                      {e.TLSVersion, str("tlsDetails", "tlsVersion")},
		"tlsDetails.cipherSuite":                     {e.TLSCipherSuite, str("tlsDetails", "cipherSuite")},
		"tlsDetails.clientProvidedHostHeader":        {e.TLSClientHost, str("tlsDetails", "clientProvidedHostHeader")},
		"readOnly":                                   {boolText(e.ReadOnly), str("readOnly")},
		"managementEvent":                            {boolText(e.ManagementEvent), str("managementEvent")},
	}
	for field, v := range want {
		if v[0] != v[1] {
			t.Errorf("event %s: %s = %q, JSON has %q", id, field, v[0], v[1])
		}
	}
	if e.EventID != str("eventID") && !(str("eventID") == "" && strings.HasPrefix(e.EventID, "trawl-")) {
		t.Errorf("event id %q, JSON has %q", e.EventID, str("eventID"))
	}
	if ts := str("eventTime"); ts != "" {
		want, err := time.Parse(time.RFC3339, ts)
		if err != nil || !want.Equal(e.EventTime) {
			t.Errorf("event %s: eventTime %v, JSON has %q", id, e.EventTime, ts)
		}
	} else if !e.EventTime.IsZero() {
		t.Errorf("event %s: eventTime %v, JSON has none", id, e.EventTime)
	}
	for field, got := range map[string]string{
		"requestParameters": e.RequestParameters, "responseElements": e.ResponseElements,
		"additionalEventData": e.AdditionalEventData, "serviceEventDetails": e.ServiceEventDetails,
		"resources": e.Resources, "insightDetails": e.InsightDetails,
	} {
		wantV := get(field)
		if wantV == nil {
			if got != "" {
				t.Errorf("event %s: %s = %q, JSON has none", id, field, got)
			}
			continue
		}
		var gotV any
		d := json.NewDecoder(strings.NewReader(got))
		d.UseNumber()
		if err := d.Decode(&gotV); err != nil || !reflect.DeepEqual(gotV, wantV) {
			t.Errorf("event %s: %s = %q, JSON has %v (%v)", id, field, got, wantV, err)
		}
	}
	if e.UserType != "" && e.UserName == "" && e.UserType != "Unknown" {
		t.Errorf("event %s: no user name derived for a %s identity", id, e.UserType)
	}
	if ui, _ := get("userIdentity").(map[string]any); len(ui) > 0 && e.Principal == "" {
		t.Errorf("event %s: no principal derived for identity %v", id, ui)
	}
	if arn := e.UserARN; strings.Contains(arn, ":assumed-role/") && e.SessionName != arn[strings.LastIndexByte(arn, '/')+1:] {
		t.Errorf("event %s: session name %q for %s", id, e.SessionName, arn)
	}
	if e.EventCategory == "Insight" && e.EventName == "" {
		t.Errorf("event %s: Insight event without an event name", id)
	}
}

func boolText(b event.Bool) string {
	switch b {
	case event.BoolTrue:
		return "true"
	case event.BoolFalse:
		return "false"
	}
	return ""
}

// TestCorpusVPCExpected matches the corpus's expected output for the v5
// all-fields sample field by field (the fields trawl has; geo enrichment is
// not part of decoding).
func TestCorpusVPCExpected(t *testing.T) {
	dir := filepath.Join(corpustest.Dir(t), "elastic-integrations", "vpcflow")
	c := decodeFile(t, filepath.Join(dir, "test-v5-all-fields.log"), Options{})
	if len(c.vpc) != 1 || len(c.q) != 0 {
		t.Fatalf("got %d records, %d quarantined", len(c.vpc), len(c.q))
	}
	r := c.vpc[0]
	b, err := os.ReadFile(filepath.Join(dir, "test-v5-all-fields.log-expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Expected []struct {
			AWS struct {
				VPCFlow map[string]any `json:"vpcflow"`
			} `json:"aws"`
			Cloud struct {
				Region string `json:"region"`
				AZ     string `json:"availability_zone"`
			} `json:"cloud"`
			Destination struct {
				Address string `json:"address"`
				Port    int64  `json:"port"`
			} `json:"destination"`
			Source struct {
				Address string `json:"address"`
				Port    int64  `json:"port"`
				Bytes   int64  `json:"bytes"`
				Packets int64  `json:"packets"`
			} `json:"source"`
			Event struct {
				Start string `json:"start"`
				End   string `json:"end"`
			} `json:"event"`
			Network struct {
				Direction  string `json:"direction"`
				IANANumber string `json:"iana_number"`
				Transport  string `json:"transport"`
			} `json:"network"`
		} `json:"expected"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	x := doc.Expected[0]
	v := x.AWS.VPCFlow
	str := func(i int) string { return r.Str(i) }
	num := func(i int) string { v, _ := r.Int(i); return fmt.Sprint(v) }
	rstart, _ := r.Start()
	rend, _ := r.End()
	checks := map[string][2]string{
		"account_id":      {str(event.FlowAccountID), fmt.Sprint(v["account_id"])},
		"action":          {str(event.FlowAction), fmt.Sprint(v["action"])},
		"instance_id":     {str(event.FlowInstanceID), fmt.Sprint(v["instance_id"])},
		"interface_id":    {str(event.FlowInterfaceID), fmt.Sprint(v["interface_id"])},
		"log_status":      {str(event.FlowLogStatus), fmt.Sprint(v["log_status"])},
		"pkt_dst_service": {str(event.FlowPktDstAWSService), fmt.Sprint(v["pkt_dst_service"])},
		"pkt_src_service": {str(event.FlowPktSrcAWSService), fmt.Sprint(v["pkt_src_service"])},
		"pkt_dstaddr":     {str(event.FlowPktDstAddr), fmt.Sprint(v["pkt_dstaddr"])},
		"pkt_srcaddr":     {str(event.FlowPktSrcAddr), fmt.Sprint(v["pkt_srcaddr"])},
		"subnet_id":       {str(event.FlowSubnetID), fmt.Sprint(v["subnet_id"])},
		"vpc_id":          {str(event.FlowVPCID), fmt.Sprint(v["vpc_id"])},
		"type":            {str(event.FlowType), fmt.Sprint(v["type"])},
		"tcp_flags":       {num(event.FlowTCPFlags), fmt.Sprint(v["tcp_flags"])},
		"traffic_path":    {num(event.FlowTrafficPath), fmt.Sprint(v["traffic_path"])},
		"version":         {num(event.FlowVersion), fmt.Sprint(v["version"])},
		"region":          {str(event.FlowRegion), x.Cloud.Region},
		"az":              {str(event.FlowAZID), x.Cloud.AZ},
		"dstaddr":         {str(event.FlowDstAddr), x.Destination.Address},
		"dstport":         {num(event.FlowDstPort), fmt.Sprint(x.Destination.Port)},
		"srcaddr":         {str(event.FlowSrcAddr), x.Source.Address},
		"srcport":         {num(event.FlowSrcPort), fmt.Sprint(x.Source.Port)},
		"bytes":           {num(event.FlowBytes), fmt.Sprint(x.Source.Bytes)},
		"packets":         {num(event.FlowPackets), fmt.Sprint(x.Source.Packets)},
		"flow_direction":  {str(event.FlowDirection), x.Network.Direction},
		"protocol":        {num(event.FlowProtocol), x.Network.IANANumber},
		"start":           {rstart.Format("2006-01-02T15:04:05.000Z"), x.Event.Start},
		"end":             {rend.Format("2006-01-02T15:04:05.000Z"), x.Event.End},
	}
	for field, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s: got %q, expected output has %q", field, c[0], c[1])
		}
	}
	if x.Network.Transport != "udp" {
		t.Errorf("expected transport udp in the corpus, found %q", x.Network.Transport)
	}
}
