package decode

import (
	"bytes"
	"context"
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
