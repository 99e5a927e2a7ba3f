package search_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/corpustest"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

func phrase(s string) string { return search.Quote(s) }

// TestCorpus ingests the real AWS records of the shared corpus (Elastic's
// CloudTrail, VPC flow and GuardDuty test logs) and checks, for every
// distinct value of several fields, that searching it as a phrase finds
// exactly the rows SQL finds.
func TestCorpus(t *testing.T) {
	dir := corpustest.Sub(t, "elastic-integrations")
	var paths []string
	for _, sub := range []string{"cloudtrail", "vpcflow", "guardduty"} {
		err := filepath.WalkDir(filepath.Join(dir, sub), func(p string, d os.DirEntry, err error) error {
			base := filepath.Base(p)
			if err == nil && !d.IsDir() && !strings.HasSuffix(base, ".yml") && !strings.HasSuffix(base, "-expected.json") {
				paths = append(paths, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	st, err := app.Open(ctx, app.Options{DB: filepath.Join(t.TempDir(), "c.duckdb"), Mode: app.Ingest})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	objs, err := file.Objects(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(ctx, pipeline.Objects(objs...), pipeline.Config{}); err != nil {
		t.Fatal(err)
	}
	q := st.Querier()
	checked := 0
	for _, tc := range []struct {
		table *search.Table
		field string // the search field
		expr  string // the SQL expression it should equal
	}{
		{search.CloudTrail, "eventName", "event_name"},
		{search.CloudTrail, "eventSource", "event_source"},
		{search.CloudTrail, "userIdentity.arn", "user_arn"},
		{search.CloudTrail, "sourceIPAddress", "source_ip"},
		{search.CloudTrail, "userAgent", "user_agent"},
		{search.CloudTrail, "requestParameters.bucketName", "request_parameters->>'$.bucketName'"},
		{search.CloudTrail, "requestParameters.userName", "request_parameters->>'$.userName'"},
		{search.CloudTrail, "requestParameters.policyArn", "request_parameters->>'$.policyArn'"},
		{search.CloudTrail, "requestParameters.roleName", "request_parameters->>'$.roleName'"},
		{search.CloudTrail, "requestParameters.key", "request_parameters->>'$.key'"},
		{search.CloudTrail, "responseElements.ConsoleLogin", "response_elements->>'$.ConsoleLogin'"},
		{search.CloudTrail, "additionalEventData.MFAUsed", "additional_event_data->>'$.MFAUsed'"},
		{search.CloudTrail, "userIdentity.sessionContext.sessionIssuer.userName", "session_issuer_name"},
		{search.VPCFlow, "srcaddr", "srcaddr"},
		{search.VPCFlow, "action", "action"},
		{search.VPCFlow, "interface-id", "interface_id"},
		{search.GuardDuty, "type", "type"},
		{search.GuardDuty, "resource.resourceType", "resource_type"},
		{search.GuardDuty, "service.action.actionType", "action_type"},
	} {
		vals, err := store.Collect(ctx, q, store.Request{SQL: "SELECT DISTINCT " + tc.expr + " FROM " + tc.table.Name + " WHERE " + tc.expr + " IS NOT NULL"}, output.Text)
		if err != nil {
			t.Fatal(err)
		}
		if len(vals) == 0 {
			t.Errorf("%s: the corpus has no %s values", tc.table.Name, tc.field)
		}
		for _, v := range vals {
			want := duckdbtest.Scalar(t, q, "SELECT count(*) FROM "+tc.table.Name+" WHERE "+tc.expr+" = ?", v[0])
			got := count(t, q, tc.field+":"+phrase(v[0]), search.Options{Table: tc.table})
			if got != want || want == 0 {
				t.Errorf("%s:%s: %d matches, SQL finds %d", tc.field, phrase(v[0]), got, want)
			}
			checked++
		}
	}
	// Free text is case-insensitive and matches whole words (the free-text
	// index narrows, the regular expression decides): every event name, in
	// lower case, and a sample of event ids, request ids, source addresses,
	// access keys and user names (rare words the index finds).
	names, err := store.Collect(ctx, q, store.Request{SQL: `SELECT DISTINCT event_name FROM cloudtrail
		UNION ALL (SELECT DISTINCT v FROM (SELECT unnest([event_id, request_id, source_ip, user_access_key_id, user_name]) AS v
		FROM cloudtrail) WHERE v IS NOT NULL ORDER BY hash(v) LIMIT 200)`}, output.Text)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		want := duckdbtest.Scalar(t, q, `SELECT count(*) FROM cloudtrail WHERE regexp_matches(raw, '(^|[^0-9A-Za-z])' || ? || '([^0-9A-Za-z]|$)', 'i')`, regexp.QuoteMeta(n[0]))
		got := count(t, q, phrase(strings.ToLower(n[0])), search.Options{Table: search.CloudTrail})
		// (An event without an eventID has one made up by trawl, not in raw.)
		if got != want || (want == 0 && !strings.HasPrefix(n[0], "trawl-")) {
			t.Errorf("free text %q: %d matches, SQL finds %d", n[0], got, want)
		}
	}
	if checked < 100 {
		t.Errorf("only %d values checked", checked)
	}
	t.Logf("%d field values and %d free-text terms checked", checked, len(names))
}
