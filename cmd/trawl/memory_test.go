package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/trawl-project/trawl/internal/gen"
)

// TestPeakMemory ingests inputs with large records in a child process and
// checks its peak RSS: an ingest stays under 1 GiB whatever the records'
// sizes, and stores every record. (2,000 records of 256 KB are in make
// bench: too slow for every test run.)
func TestPeakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests about 1.3 GB")
	}
	ct := func(n, size int) func(io.Writer) error {
		return func(w io.Writer) error { return gen.BigCloudTrail(w, n, size) }
	}
	for _, tc := range []struct {
		name  string
		write func(io.Writer) error
		query string // counts the stored records
		want  string
	}{
		{"400 CloudTrail records of 1 MiB", ct(400, 1<<20), "SELECT count(*) FROM cloudtrail", "400"},
		{"40 CloudTrail records of 8 MiB", ct(40, 8<<20), "SELECT count(*) FROM cloudtrail", "40"},
		{"5000 CloudTrail records of 100 KB", ct(5000, 100_000), "SELECT count(*) FROM cloudtrail", "5000"},
		{"8000 CloudTrail records of 60 KB (stored whole)", ct(8000, 60_000), "SELECT count(*) FROM cloudtrail", "8000"},
		{"a 30 MB finding", bigFinding, "SELECT count(*) FROM guardduty_finding", "1"},
		{"a 30 MB digest", bigDigest, "SELECT count(*) FROM cloudtrail_digest", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in, db := filepath.Join(dir, "in.json"), filepath.Join(dir, "t.duckdb")
			f, err := os.Create(in)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.write(f); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(trawlBin, "ingest", "--db", db, "--progress", "never", in)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("ingest: %v\n%s", err, out)
			}
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
			t.Logf("peak RSS %.2f GiB", float64(rss)/(1<<30))
			if rss >= 1<<30 {
				t.Errorf("peak RSS %d MiB, want < 1 GiB", rss>>20)
			}
			stdout, stderr, code := trawl(t, nil, "query", "--db", db, tc.query)
			if got := strings.TrimSpace(stdout[strings.Index(stdout, "\n")+1:]); code != 0 || got != tc.want {
				t.Errorf("%s: %q (want %s), exit %d: %s", tc.query, got, tc.want, code, stderr)
			}
		})
	}
}

// bigFinding writes a GuardDuty finding of about 30 MB.
func bigFinding(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"schemaVersion":"2.0","accountId":"111122223333","region":"us-east-1","id":"big","type":"Recon:EC2/PortProbeUnprotectedPort","severity":2,"createdAt":"2026-11-02T10:05:00Z","updatedAt":"2026-11-02T11:05:00Z","service":{"action":{"actionType":"PORT_PROBE","portProbeAction":{"portProbeDetails":[`)
	for i := 0; i < 30<<20/200; i++ {
		if i > 0 {
			bw.WriteByte(',')
		}
		fmt.Fprintf(bw, `{"localPortDetails":{"port":%d,"portName":"Unknown"},"remoteIpDetails":{"ipAddressV4":"198.51.100.%d","organization":{"asn":"64496","asnOrg":"EXAMPLE"}}}`, i%65536, i%256)
	}
	bw.WriteString(`]}}}}`)
	return bw.Flush()
}

// bigDigest writes a CloudTrail digest file of about 30 MB.
func bigDigest(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"awsAccountId":"111122223333","digestStartTime":"2026-11-02T10:00:00Z","digestEndTime":"2026-11-02T11:00:00Z","digestS3Bucket":"trail","digestS3Object":"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/d.json.gz","logFiles":[`)
	for i := 0; i < 30<<20/250; i++ {
		if i > 0 {
			bw.WriteByte(',')
		}
		fmt.Fprintf(bw, `{"s3Bucket":"trail","s3Object":"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/x_%08d.json.gz","hashValue":"%064x","hashAlgorithm":"SHA-256"}`, i, i)
	}
	bw.WriteString(`]}`)
	return bw.Flush()
}
