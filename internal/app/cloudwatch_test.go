package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// TestCollectCloudWatch runs `trawl run --once` sources of both stream
// kinds against one JSON-protocol test server (aws.endpoint): a log group
// of CloudTrail events and the event history of two regions.
func TestCollectCloudWatch(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		var out any
		switch target := r.Header.Get("X-Amz-Target"); target {
		case "Logs_20140328.DescribeLogStreams":
			out = map[string]any{"logStreams": []any{map[string]any{"logStreamName": "111122223333_CloudTrail_us-east-1"}}}
		case "Logs_20140328.FilterLogEvents":
			var evs []any
			for i := 0; i < 3; i++ {
				evs = append(evs, map[string]any{"eventId": fmt.Sprint(i), "timestamp": at.UnixMilli() + int64(i), "message": ctLine(fmt.Sprintf("cwl-%d", i), at)})
			}
			out = map[string]any{"events": evs}
		case "CloudTrail_20131101.LookupEvents":
			// The same event in every window of every region: stored once.
			ev := ctLine("lookup-"+r.Host, at)
			out = map[string]any{"Events": []any{map[string]any{"EventId": "x", "CloudTrailEvent": ev}}}
			if s, _ := in["StartTime"].(float64); int64(s) > at.Unix() || int64(in["EndTime"].(float64)) < at.Unix() {
				out = map[string]any{"Events": []any{}}
			}
		default:
			w.WriteHeader(400)
			out = map[string]any{"__type": "UnknownOperationException", "message": target}
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "t.duckdb")
	yaml := fmt.Sprintf(`store:
  path: %s
aws:
  region: us-east-1
  endpoint: %s
sources:
  - name: trail-cwl
    cloudwatch_logs:
      log_groups: [aws-cloudtrail-logs]
      start: -2h
  - name: history
    cloudtrail_lookup:
      regions: [us-east-1, eu-west-1]
      start: -1d
`, db, srv.URL)
	cfg, err := config.Parse("trawl.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(context.Background(), Options{DB: db, Mode: Serve})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &Collector{Store: st, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Once: true}
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows := duckdbtest.Rows(t, st, `SELECT event_id, source FROM cloudtrail ORDER BY 1`)
	if len(rows) != 4 || !strings.HasPrefix(rows[0][1], "cwl://aws-cloudtrail-logs/111122223333_CloudTrail_us-east-1@") || !strings.HasPrefix(rows[3][1], "lookup://history/") {
		t.Errorf("rows %q", rows)
	}
	if n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM ingest_ledger WHERE status = 'cursor'`); n != 3 {
		t.Errorf("%d cursors, want 3 (one stream, two regions)", n)
	}
}
