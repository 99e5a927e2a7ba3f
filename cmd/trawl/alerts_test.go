package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/decode/cloudtrail"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// alertsDB makes a database with two CloudTrail events and one alert on
// them (queued for a notifier), the way an ingest with a rule would.
func alertsDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "a.duckdb")
	ctx := context.Background()
	st, err := duckdb.Open(ctx, db, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.SetAlertOptions(duckdb.AlertOptions{Route: func(string, string) []string { return []string{"sec-email"} }})
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	var recs []event.CloudTrail
	for i, id := range []string{"ev-1", "ev-2"} {
		recs = append(recs, cloudtrail.FromRaw(`{"eventVersion":"1.08","eventID":"`+id+`","eventTime":"`+at.Add(time.Duration(i)*time.Minute).Format(time.RFC3339)+
			`","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"203.0.113.7","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root"}}`, nil))
	}
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := &event.Batch{Object: "x.json", CloudTrail: recs, Hits: []event.Hit{
		{RuleID: "aws-root-login", Severity: "critical", Title: "Root console login", LogType: event.KindCloudTrail, EventIDs: []string{"ev-1"},
			First: at, Last: at, DedupKey: "111122223333", Count: 1, Fields: map[string]string{"source_ip": "203.0.113.7"}},
		{RuleID: "aws-root-login", Severity: "critical", Title: "Root console login", LogType: event.KindCloudTrail, EventIDs: []string{"ev-2"},
			First: at.Add(time.Minute), Last: at.Add(time.Minute), DedupKey: "111122223333", Count: 1},
	}}
	if err := tx.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestAlertsCLI(t *testing.T) {
	db := alertsDB(t)
	out, errOut, code := trawl(t, nil, "alerts", "list", "--db", db)
	if code != 0 || !strings.Contains(out, "id,status,severity,rule_id") || !strings.Contains(out, "1,open,critical,aws-root-login,Root console login,2,") {
		t.Fatalf("list: %d %s %s", code, out, errOut)
	}
	out, _, code = trawl(t, nil, "alerts", "show", "1", "--db", db)
	for _, want := range []string{"alert:      #1", "count:      2", "event ids:  ev-1, ev-2", "cloudtrail events (2 of 2 ids)", "ConsoleLogin", "source_ip:"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("show lacks %q (exit %d):\n%s", want, code, out)
		}
	}
	if out, _, code = trawl(t, nil, "alerts", "ack", "1", "--note", "on it", "--db", db); code != 0 || out != "alert #1 is acknowledged\n" {
		t.Fatalf("ack: %d %q", code, out)
	}
	out, _, _ = trawl(t, nil, "alerts", "list", "--status", "acknowledged", "--format", "json", "--db", db)
	if !strings.Contains(out, `"status":"acknowledged"`) {
		t.Errorf("list json after ack: %s", out)
	}
	if _, _, code = trawl(t, nil, "alerts", "close", "1", "--db", db); code != 0 {
		t.Fatal("close failed")
	}
	if out, _, _ = trawl(t, nil, "alerts", "list", "--db", db); strings.Contains(out, "aws-root-login") {
		t.Errorf("a closed alert is listed by default:\n%s", out)
	}
	out, _, _ = trawl(t, nil, "alerts", "show", "1", "--format", "json", "--db", db)
	if !strings.Contains(out, `"Status":"closed"`) || !strings.Contains(out, `"Note":"on it"`) {
		t.Errorf("show json: %s", out)
	}
	if _, errOut, code = trawl(t, nil, "alerts", "show", "42", "--db", db); code != exitFailure || !strings.Contains(errOut, "alert 42: no such alert") {
		t.Errorf("unknown id: %d %s", code, errOut)
	}
	if _, errOut, code = trawl(t, nil, "alerts", "close", "abc", "--db", db); code != exitUsage || !strings.Contains(errOut, `"abc" is not an alert id`) {
		t.Errorf("bad id: %d %s", code, errOut)
	}
	if _, errOut, code = trawl(t, nil, "alerts", "list", "--status", "snoozed", "--db", db); code != exitUsage {
		t.Errorf("bad status: %d %s", code, errOut)
	}
	out, _, code = trawl(t, nil, "alerts", "deliveries", "--db", db)
	if code != 0 || !strings.Contains(out, ",1,sec-email,pending,0,") {
		t.Errorf("deliveries: %d\n%s", code, out)
	}
}
