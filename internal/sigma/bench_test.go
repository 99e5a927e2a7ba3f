package sigma

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/event"
)

// benchRaw is a typical management event: an IAM Identity Center role
// describing instances with the AWS CLI, 1.8 KB like most records.
const benchRaw = `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID:alice@example.com","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com","accountId":"111122223333","accessKeyId":"ASIAEXAMPLEKEY","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEID","arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef","accountId":"111122223333","userName":"AWSReservedSSO_Admin_0123456789abcdef"},"webIdFederationData":{},"attributes":{"creationDate":"2026-11-01T09:12:44Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-01T10:05:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.23","userAgent":"aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#ec2.describe-instances","requestParameters":{"instancesSet":{},"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]}},"responseElements":null,"requestID":"5d1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8","eventID":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.eu-west-1.amazonaws.com"}}`

func corpusRules(b *testing.B) []*Rule {
	dir := sigmaCorpus(b)
	rules, _, err := LoadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	return rules
}

// BenchmarkMatchAll evaluates every loadable corpus rule on one decoded
// event (ns/op is ns per event for all rules).
func BenchmarkMatchAll(b *testing.B) {
	rules := corpusRules(b)
	for _, c := range []struct{ name, raw string }{
		{"DescribeInstances", benchRaw},
		{"PutBucketPolicy", sampleRaw},
	} {
		e := decoded(c.raw)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for _, r := range rules {
					if r.Match(e) {
						n++
					}
				}
			}
			_ = n
		})
	}
}

// The two ways to read a nested field from the raw record: walking the text
// with internal/jsonscan (what Match does) and encoding/json into a map.
func BenchmarkRawField(b *testing.B) {
	f := newField("requestParameters.filterSet.items.name")
	b.Run("jsonscan", func(b *testing.B) {
		b.ReportAllocs()
		e := &event.CloudTrail{Raw: benchRaw}
		for b.Loop() {
			got := ""
			f.each(rec{ct: e}, func(v string, _ kind) bool { got = v; return false })
			if got != "instance-state-name" {
				b.Fatal(got)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal([]byte(benchRaw), &m); err != nil {
				b.Fatal(err)
			}
			v := m["requestParameters"].(map[string]any)["filterSet"].(map[string]any)["items"].([]any)[0].(map[string]any)["name"].(string)
			if !strings.HasPrefix(v, "instance") {
				b.Fatal(v)
			}
		}
	})
}
