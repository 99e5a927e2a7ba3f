package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
)

func scrape(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSourceOutcomesAndProgress(t *testing.T) {
	m := New()
	mod := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	objs := []pipeline.Object{{Name: "a", Size: 100, ModTime: mod}, {Name: "b", Size: 50}, {Name: "c"}}
	src := m.Source("bucket-1", pipeline.Objects(objs...))
	ctx := context.Background()
	for _, outcome := range []error{nil, errors.New("denied"), pipeline.ErrNotFinished} {
		o, err := src.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		o.Ack(ctx, outcome)
	}
	m.Progress(pipeline.Progress{Records: event.Counts{event.KindCloudTrail: 10}, Quarantined: 1})
	m.Progress(pipeline.Progress{Records: event.Counts{event.KindCloudTrail: 25, event.KindVPCFlow: 3}, Quarantined: 1, Warnings: 2})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	addr, _, err := m.Serve(ctx, "127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	code, body := scrape(t, "http://"+addr.String()+"/metrics", "")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{
		`trawl_objects_total{outcome="ingested",source="bucket-1"} 1`,
		`trawl_objects_total{outcome="failed",source="bucket-1"} 1`,
		`trawl_objects_total{outcome="not_finished",source="bucket-1"} 1`,
		`trawl_object_bytes_total{source="bucket-1"} 100`,
		`trawl_newest_object_timestamp_seconds{source="bucket-1"} 1.7936136e+09`,
		`trawl_records_total{kind="cloudtrail"} 25`,
		`trawl_records_total{kind="vpcflow"} 3`,
		`trawl_quarantined_total 1`,
		`trawl_warnings_total 2`,
		`trawl_errors_total{source="bucket-1",what="read"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestServeNeedsTokenBeyondLoopback(t *testing.T) {
	m := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, _, err := m.Serve(ctx, "0.0.0.0:0", ""); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("a non-loopback address without a token: %v", err)
	}
	addr, _, err := m.Serve(ctx, "127.0.0.1:0", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr.String() + "/metrics"
	if code, _ := scrape(t, url, ""); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d", code)
	}
	if code, _ := scrape(t, url, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("with a wrong token: %d", code)
	}
	if code, body := scrape(t, url, "s3cret"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("with the token: %d", code)
	}
}
