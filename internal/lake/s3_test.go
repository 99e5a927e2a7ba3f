package lake

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trawl-project/trawl/internal/awsconf"
	"github.com/trawl-project/trawl/internal/pipeline"
)

// lakeS3 starts an S3-compatible server (gofakes3) with a bucket and
// returns the SDK configuration that reaches it.
func lakeS3(t testing.TB) (aws.Config, *s3.Client) {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	}
	cl := awsconf.NewS3(cfg)
	if _, err := cl.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	return cfg, cl
}

// downloadLake copies every object under prefix to a local directory, as it
// would appear to a reader of the bucket.
func downloadLake(t testing.TB, cl *s3.Client, prefix string) string {
	t.Helper()
	dir := t.TempDir()
	p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: aws.String("lake"), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out, err := cl.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("lake"), Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(*o.Key, prefix)))
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestS3LakeEqualsStore(t *testing.T) {
	cfg, cl := lakeS3(t)
	target := "s3://lake/org/trawl"
	l := openLake(t, target, Options{AWS: &cfg, Writer: "w1"})
	if _, err := ingest(t, l, data(t), pipeline.Config{TxRows: 2000}); err != nil {
		t.Fatal(err)
	}
	checkLake(t, downloadLake(t, cl, "org/trawl/"))

	l2 := openLake(t, target, Options{AWS: &cfg, Writer: "w2"})
	res, err := ingest(t, l2, data(t), pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records.Total() != 0 {
		t.Errorf("re-run stored %d records", res.Records.Total())
	}
}

func TestS3CrashRecovery(t *testing.T) {
	for _, stage := range []string{"staged", "manifest", "publishing"} {
		t.Run(stage, func(t *testing.T) {
			cfg, cl := lakeS3(t)
			target := "s3://lake/trawl"
			l := openLake(t, target, Options{AWS: &cfg, Writer: "w1"})
			n := 0
			l.hook = func(s string) error {
				if s == stage {
					if n++; n == 2 {
						return errCrash
					}
				}
				return nil
			}
			if _, err := ingest(t, l, data(t), pipeline.Config{TxRows: 1500, Workers: 1}); !errors.Is(err, errCrash) {
				t.Fatalf("ingest: %v, want the crash", err)
			}
			l2 := openLake(t, target, Options{AWS: &cfg, Writer: "w1"})
			if _, err := ingest(t, l2, data(t), pipeline.Config{TxRows: 1500}); err != nil {
				t.Fatal(err)
			}
			checkLake(t, downloadLake(t, cl, "trawl/"))
		})
	}
}
