package decode

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/event"
)

// ctRecord returns a realistic CloudTrail record with id i.
func ctRecord(i int) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE%06d","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/Admin","accountId":"111122223333","userName":"Admin"},"attributes":{"creationDate":"2026-11-02T09:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-02T10:%02d:%02dZ","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.%d","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2023","requestParameters":{"bucketName":"logs-%d","key":"AWSLogs/111122223333/object-%d.json","Host":"logs.s3.us-east-1.amazonaws.com"},"responseElements":null,"additionalEventData":{"bytesTransferredOut":%d,"x-amz-id-2":"abcdefghijklmnop"},"requestID":"REQ%010d","eventID":"00000000-0000-4000-8000-%012d","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::logs/object-%d.json"},{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::logs"}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","eventCategory":"Data","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"logs.s3.us-east-1.amazonaws.com"}}`,
		i, i/60%60, i%60, i%250, i%7, i, i*13, i, i, i)
}

// ctFile returns a {"Records":[…]} document of n records.
func ctFile(n int, rec func(i int) string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(rec(i))
	}
	b.WriteString("]}")
	return b.Bytes()
}

func decodeBytes(t testing.TB, name string, data []byte, opt Options) *collect {
	t.Helper()
	c := &collect{}
	if err := Decode(context.Background(), Object{Name: name, Key: name}, bytes.NewReader(data), opt, c.emit); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// BenchmarkDecodeCloudTrail decodes a 20,000-record CloudTrail log file.
func BenchmarkDecodeCloudTrail(b *testing.B) {
	data := ctFile(20000, ctRecord)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := Decode(context.Background(), Object{Name: "bench.json"}, bytes.NewReader(data), Options{}, func(bt *event.Batch) error {
			n += len(bt.CloudTrail)
			return nil
		})
		if err != nil || n != 20000 {
			b.Fatalf("%d records, %v", n, err)
		}
	}
}

var _ = strings.Contains

// bigFinding returns a GuardDuty finding of about size bytes: a port probe
// with many details, as a long-running probe accumulates.
func bigFinding(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"schemaVersion":"2.0","accountId":"111122223333","region":"us-east-1","partition":"aws","id":"big-finding","arn":"arn:aws:guardduty:us-east-1:111122223333:detector/d/finding/big-finding","type":"Recon:EC2/PortProbeUnprotectedPort","resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0123456789abcdef0"}},"service":{"serviceName":"guardduty","detectorId":"d","action":{"actionType":"PORT_PROBE","portProbeAction":{"blocked":false,"portProbeDetails":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"localPortDetails":{"port":%d,"portName":"Unknown"},"localIpDetails":{"ipAddressV4":"10.0.0.%d"},"remoteIpDetails":{"ipAddressV4":"198.51.100.%d","organization":{"asn":"64496","asnOrg":"EXAMPLE","isp":"Example ISP","org":"Example"},"country":{"countryName":"Exampleland"},"city":{"cityName":"Example City"},"geoLocation":{"lat":1.5,"lon":-2.25}}}`, i%65536, i%256, i%256)
	}
	b.WriteString(`]}},"archived":false,"count":3,"eventFirstSeen":"2026-11-02T10:00:00.000Z","eventLastSeen":"2026-11-02T11:00:00.000Z","resourceRole":"TARGET"},"severity":2,"createdAt":"2026-11-02T10:05:00.000Z","updatedAt":"2026-11-02T11:05:00.000Z","title":"Unprotected port on EC2 instance is being probed.","description":"A port is being probed."}`)
	return b.Bytes()
}

// numbersFinding returns a finding of about size bytes whose service
// details hold one long array of small numbers: the worst case for a
// decoder that builds a tree (the old one allocated 16 GB in 40 s for 30 MB).
func numbersFinding(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"schemaVersion":"2.0","id":"numbers","type":"Recon:EC2/Portscan","severity":5,"updatedAt":"2026-11-02T10:00:00Z","service":{"additionalInfo":{"ports":[`)
	for b.Len() < size {
		b.WriteString("1,")
	}
	b.WriteString(`1]}}}`)
	return b.Bytes()
}

// bigDigest returns a CloudTrail digest file of about size bytes.
func bigDigest(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"awsAccountId":"111122223333","digestStartTime":"2026-11-02T10:00:00Z","digestEndTime":"2026-11-02T11:00:00Z","digestS3Bucket":"trail","digestS3Object":"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/d.json.gz","digestPublicKeyFingerprint":"0123456789abcdef","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":"2026-11-02T10:59:00Z","oldestEventTime":"2026-11-02T10:00:00Z","previousDigestS3Bucket":"trail","previousDigestS3Object":"prev.json.gz","previousDigestHashValue":"abc","previousDigestHashAlgorithm":"SHA-256","previousDigestSignature":"def","logFiles":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"s3Bucket":"trail","s3Object":"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/111122223333_CloudTrail_us-east-1_20261102T1000Z_%08d.json.gz","hashValue":"%064x","hashAlgorithm":"SHA-256","newestEventTime":"2026-11-02T10:59:00Z","oldestEventTime":"2026-11-02T10:00:00Z"}`, i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// TestLargeFindingAndDigest decodes a 30 MB finding and a 30 MB digest and
// checks the memory allocated while doing so. The old decoder built
// fastjson trees (twice for a finding) and copied them: 2 GB for the first
// finding, 16 GB for the second, 480 MB for the digest.
func TestLargeFindingAndDigest(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"finding.json", bigFinding(30 << 20)},
		{"finding-numbers.json", numbersFinding(30 << 20)},
		{"digest.json", bigDigest(30 << 20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			c := decodeBytes(t, tc.name, tc.data, Options{})
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: %d MB of input, %d MB allocated, %d mallocs", tc.name, len(tc.data)>>20, alloc>>20, after.Mallocs-before.Mallocs)
			if len(c.gd)+len(c.dg) != 1 || len(c.q) != 0 {
				t.Fatalf("want one record, got %d findings, %d digests, quarantine %+v", len(c.gd), len(c.dg), c.q)
			}
			if alloc > 6*uint64(len(tc.data)) {
				t.Errorf("allocated %d MB for a %d MB record", alloc>>20, len(tc.data)>>20)
			}
		})
	}
}

// sortedRecord is ctRecord with its keys in alphabetical order at every
// level, as some tools write JSON.
func sortedRecord(i int) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(ctRecord(i)), &m); err != nil {
		panic(err)
	}
	b, _ := json.Marshal(m) // maps are written with sorted keys
	return string(b)
}

// TestOnlyTheBadRecordIsLost breaks records of large log files in the ways
// the hardening issue lists; only the broken records may be lost.
func TestOnlyTheBadRecordIsLost(t *testing.T) {
	breakAt := func(rec func(int) string, bad map[int]func(string) string) func(int) string {
		return func(i int) string {
			if f := bad[i]; f != nil {
				return f(rec(i))
			}
			return rec(i)
		}
	}
	nul := func(r string) string { return strings.Replace(r, "aws-cli/", "aws-cli\x00/", 1) }
	value := func(r string) string {
		return strings.Replace(r, `"GetObject"`, `GetObject"`, 1)
	}
	// an unclosed string runs into the next record: the error is found
	// after the next record's start
	unclosed := func(r string) string { return strings.TrimSuffix(r, `"}}`) + `}}` }
	pretty := func(i int) string {
		var b bytes.Buffer
		_ = json.Indent(&b, []byte(ctRecord(i)), "  ", "  ")
		return b.String()
	}
	for _, tc := range []struct {
		name string
		n    int
		rec  func(int) string
		bad  []int
	}{
		{"nul byte in record 2 of 50", 50, breakAt(ctRecord, map[int]func(string) string{1: nul}), []int{1}},
		{"broken value in record 11", 50, breakAt(ctRecord, map[int]func(string) string{10: value}), []int{10}},
		{"unclosed string", 50, breakAt(ctRecord, map[int]func(string) string{5: unclosed}), []int{5}},
		{"alphabetical keys", 310, breakAt(sortedRecord, map[int]func(string) string{155: value}), []int{155}},
		{"alphabetical keys, unclosed string", 310, breakAt(sortedRecord, map[int]func(string) string{155: unclosed}), []int{155}},
		{"pretty-printed", 50, breakAt(pretty, map[int]func(string) string{20: nul, 21: value}), []int{20, 21}},
		{"first three broken", 310, breakAt(ctRecord, map[int]func(string) string{0: value, 1: nul, 2: value}), []int{0, 1, 2}},
		{"last broken", 50, breakAt(ctRecord, map[int]func(string) string{49: value}), []int{49}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := decodeBytes(t, "ct.json", ctFile(tc.n, tc.rec), Options{})
			if len(c.ct) != tc.n-len(tc.bad) || len(c.q) != len(tc.bad) {
				t.Fatalf("%d of %d records kept, %d quarantined (want %d): %+v", len(c.ct), tc.n, len(c.q), len(tc.bad), c.q)
			}
			for i, u := range tc.bad {
				if c.q[i].Record != int64(u) || !strings.HasPrefix(c.q[i].Reason, "invalid JSON") {
					t.Errorf("quarantine %d: %+v, want unit %d", i, c.q[i], u)
				}
			}
		})
	}
	t.Run("first three lines broken", func(t *testing.T) {
		var b bytes.Buffer
		for i := 0; i < 310; i++ {
			r := ctRecord(i)
			if i < 3 {
				r = value(r)
			}
			b.WriteString(r + "\n")
		}
		c := decodeBytes(t, "ct.jsonl", b.Bytes(), Options{})
		if len(c.ct) != 307 || len(c.q) != 3 {
			t.Fatalf("%d records, quarantine %+v", len(c.ct), c.q)
		}
	})
	t.Run("unknown format still gives up", func(t *testing.T) {
		c := decodeBytes(t, "app.log", bytes.Repeat([]byte("GET /index.html 200\n"), 1000), Options{})
		if len(c.q) != 1 || !strings.Contains(c.q[0].Reason, "the first 100 records or lines") {
			t.Fatalf("quarantine %+v", c.q)
		}
	})
}

// TestUnreadableValues checks that stored text is what DuckDB's JSON
// functions and encoding/json read, and that too deep nesting is refused.
func TestUnreadableValues(t *testing.T) {
	rec := strings.Replace(ctRecord(1), `"userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2023"`, `"userAgent":"\udc00"`, 1)
	rec = strings.Replace(rec, `"Host":`, `"huge":1e99999,"digits":`+strings.Repeat("7", 5000)+`,"Host":`, 1)
	c := decodeBytes(t, "ct.json", ctFile(1, func(int) string { return rec }), Options{})
	if len(c.ct) != 1 {
		t.Fatalf("records %d, quarantine %+v", len(c.ct), c.q)
	}
	e := c.ct[0]
	for name, text := range map[string]string{"raw": e.Raw, "requestParameters": e.RequestParameters} {
		var v any
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			t.Errorf("%s cannot be read: %v", name, err)
		}
	}
	if strings.Contains(e.Raw, `\udc00`) || !strings.Contains(e.Raw, `"userAgent":"\ufffd"`) || !strings.Contains(e.RequestParameters, `"huge":"1e99999"`) {
		t.Errorf("raw not rewritten: %.300s", e.Raw)
	}
	if len(c.w) != 3 {
		t.Errorf("warnings: %+v", c.w)
	}

	deep := `{"eventVersion":"1.08","eventID":"deep","requestParameters":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + "}"
	c = decodeBytes(t, "deep.json", ctFile(3, func(i int) string {
		if i == 1 {
			return deep
		}
		return ctRecord(i)
	}), Options{})
	if len(c.ct) != 2 || len(c.q) != 1 || !strings.Contains(c.q[0].Reason, "nested deeper than 10000 levels") {
		t.Fatalf("records %d, quarantine %+v", len(c.ct), c.q)
	}
}

// TestReasonsAreBounded feeds input whose reasons used to be many KB long.
func TestReasonsAreBounded(t *testing.T) {
	for name, in := range map[string]string{
		"long keys":   `{"` + strings.Repeat("k", 5000) + `":1,"` + strings.Repeat("j", 5000) + `":2}`,
		"deep digest": `{"digestStartTime":"2026-11-02T10:00:00Z","x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "}",
	} {
		c := decodeBytes(t, name, []byte(in), Options{})
		if len(c.q) != 1 || len(c.q[0].Reason) > MaxReason {
			t.Errorf("%s: %d entries, reason of %d bytes", name, len(c.q), len(c.q[0].Reason))
		}
	}
}
