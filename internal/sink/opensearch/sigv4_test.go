package opensearch_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/trawl-project/trawl/internal/sink/opensearch"
	"github.com/trawl-project/trawl/internal/sink/opensearch/ostest"
)

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIDTRAWL/(\d{8})/([a-z0-9-]+)/([a-z]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

// TestSigV4 checks that every request is signed for the configured region
// and service, and that the signature is the one AWS would compute: the
// test signs the received request again with the SDK's signer.
func TestSigV4(t *testing.T) {
	for _, service := range []string{"es", "aoss"} {
		t.Run(service, func(t *testing.T) {
			srv := ostest.New(t)
			creds := credentials.NewStaticCredentialsProvider("AKIDTRAWL", "secret-key", "")
			s := newSink(t, srv, func(c *opensearch.Config) {
				c.SigV4 = &opensearch.SigV4{Region: "eu-west-1", Service: service, AWS: aws.Config{Credentials: creds}}
			})
			if err := writeAll(t, s, genData(t)[:2]); err != nil {
				t.Fatal(err)
			}
			reqs := srv.Requests()
			if len(reqs) < 4 { // three templates and a _bulk
				t.Fatalf("%d requests", len(reqs))
			}
			for _, r := range reqs {
				auth := r.Header.Get("Authorization")
				m := authRE.FindStringSubmatch(auth)
				if m == nil {
					t.Fatalf("%s %s: Authorization %q is not a SigV4 header for AKIDTRAWL", r.Method, r.Path, auth)
				}
				if m[2] != "eu-west-1" || m[3] != service {
					t.Errorf("%s %s: signed for %s/%s, want eu-west-1/%s", r.Method, r.Path, m[2], m[3], service)
				}
				sum := sha256.Sum256(r.Body)
				if got := r.Header.Get("X-Amz-Content-Sha256"); got != hex.EncodeToString(sum[:]) {
					t.Errorf("%s %s: X-Amz-Content-Sha256 %q is not the body's hash", r.Method, r.Path, got)
				}
				signed := strings.Split(m[4], ";")
				for _, h := range []string{"host", "x-amz-date", "x-amz-content-sha256"} {
					if !strings.Contains(";"+m[4]+";", ";"+h+";") {
						t.Errorf("%s %s: %s is not signed (%s)", r.Method, r.Path, h, m[4])
					}
				}
				// Sign the request as received again and compare.
				at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
				if err != nil {
					t.Fatal(err)
				}
				again, _ := http.NewRequest(r.Method, srv.URL+r.Path, bytes.NewReader(r.Body))
				for _, h := range signed {
					if h != "host" {
						again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
					}
				}
				c, _ := creds.Retrieve(context.Background())
				if err := v4.NewSigner().SignHTTP(context.Background(), c, again, hex.EncodeToString(sum[:]), service, "eu-west-1", at); err != nil {
					t.Fatal(err)
				}
				if want := again.Header.Get("Authorization"); want != auth {
					t.Errorf("%s %s: signature\n%s\nwant\n%s", r.Method, r.Path, auth, want)
				}
			}
		})
	}
}

func TestSigV4NeedsRegionAndCredentials(t *testing.T) {
	srv := ostest.New(t)
	creds := credentials.NewStaticCredentialsProvider("AKIDTRAWL", "secret-key", "")
	for _, sv := range []*opensearch.SigV4{
		{Service: "es", AWS: aws.Config{Credentials: creds}},
		{Region: "eu-west-1"},
		{Region: "eu-west-1", Service: "s3", AWS: aws.Config{Credentials: creds}},
	} {
		if _, err := opensearch.New(context.Background(), opensearch.Config{URLs: []string{srv.URL}, SigV4: sv}); err == nil {
			t.Errorf("New accepted SigV4 %+v", sv)
		}
	}
}
