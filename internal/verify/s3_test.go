package verify

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// upload puts a generated data set into a gofakes3 bucket under prefix,
// each digest with its signature as x-amz-meta-signature, and returns a
// client of it.
func upload(t *testing.T, ds *dataset, bucket, prefix string) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		BaseEndpoint:               aws.String(srv.URL),
		UsePathStyle:               true,
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	for _, k := range append(append([]string(nil), ds.digests...), ds.logs...) {
		data, err := os.ReadFile(filepath.Join(ds.dir, k))
		if err != nil {
			t.Fatal(err)
		}
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + k), Body: bytes.NewReader(data)}
		if s, ok := ds.m.DigestSignatures[k]; ok {
			in.Metadata = map[string]string{"signature": s, "signature-algorithm": "SHA256withRSA"}
		}
		if _, err := client.PutObject(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	return client
}

func TestS3(t *testing.T) {
	good, _ := testKeys(t)
	ds := generate(t, good, 800)
	const bucket = "aws-cloudtrail-logs"
	client := upload(t, ds, bucket, "")
	b := NewS3(client, bucket)
	b.KeepVersions = true
	opt := ds.options()
	opt.Signatures, opt.PublicKeys = true, (&keys{pub: &good.PublicKey}).get
	opt.LedgerName = func(k string) string { return "s3://" + bucket + "/" + k }
	opt.Ledger = allDone(ds.logs, opt.LedgerName)
	opt.Prefix = "AWSLogs/"
	rep := run(t, b, opt)
	only(t, rep, nil)
	if rep.Verified != len(ds.logs) || rep.Signatures != len(ds.digests) {
		t.Errorf("%d of %d log files verified, %d of %d signatures", rep.Verified, len(ds.logs), rep.Signatures, len(ds.digests))
	}
	// Read gives the size and ETag of the version verified (what verify
	// ingests from).
	ctx := context.Background()
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(ds.logs[0])})
	if err != nil {
		t.Fatal(err)
	}
	if size, etag, ok := b.Read(ds.logs[0]); !ok || size != aws.ToInt64(head.ContentLength) || etag == "" || etag != aws.ToString(head.ETag) {
		t.Errorf("Read: %d %q %v; HeadObject: %d %q", size, etag, ok, aws.ToInt64(head.ContentLength), aws.ToString(head.ETag))
	}
	if _, _, ok := b.Read("AWSLogs/never-read"); ok {
		t.Error("Read of a key never read")
	}
	// A deleted log file, a deleted digest, a log file replaced.
	del := func(k string) {
		if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	del(ds.logs[0])
	del(ds.digests[2])
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(ds.logs[len(ds.logs)-1]), Body: bytes.NewReader([]byte(`{"Records":[]}`))}); err != nil {
		t.Fatal(err)
	}
	rep = run(t, b, opt)
	// The deleted digest's log files are no longer vouched for (unvouched
	// log files); ds.logs[0] may be one of them.
	if rep.Count(MissingDigest) != 1 || rep.Count(AlteredLogFile) != 1 || rep.Count(MissingLogFile) > 1 || rep.Count(UnvouchedLogFile) == 0 ||
		len(rep.Problems) != 2+rep.Count(MissingLogFile)+rep.Count(UnvouchedLogFile) {
		t.Errorf("problems: %+v", rep.Problems)
	}
}
