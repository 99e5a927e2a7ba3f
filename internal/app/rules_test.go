package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
)

// TestCollectorRunsRules runs a collector with the rules of a
// configuration (the pack and a watch-list entry) and checks that the
// batches reaching the store carry their hits.
func TestCollectorRunsRules(t *testing.T) {
	dir := t.TempDir()
	rec := `{"eventVersion":"1.09","eventID":"e-%d","eventTime":"2026-11-02T10:15:00Z","eventSource":"iam.amazonaws.com","eventName":"%s","awsRegion":"us-east-1","recipientAccountId":"111122223333","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0","userIdentity":{"type":"IAMUser","userName":"alice","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333"},"requestParameters":{"userName":"backdoor"},"eventType":"AwsApiCall"}`
	lines := fmt.Sprintf(rec, 1, "CreateUser") + "\n" + fmt.Sprintf(rec, 2, "ListUsers") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "ct.json"), []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	saved := SourceBuilders["s3"]
	defer func() { SourceBuilders["s3"] = saved }()
	SourceBuilders["s3"] = func(_ context.Context, src config.Source, _ SourceEnv) (pipeline.Source, error) {
		objs, err := file.Objects([]string{dir}, nil)
		return pipeline.Objects(objs...), err
	}
	db := filepath.Join(t.TempDir(), "t.duckdb")
	yaml := fmt.Sprintf("store:\n  path: %s\nsources:\n  - name: one\n    s3: {bucket: xxx}\nrules:\n  watch:\n    - {name: alice, principal: alice}\n", db)
	cfg, err := config.Parse("trawl.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	_, eng, err := Rules(cfg.Rules, func(f, r string) { t.Errorf("%s: %s", f, r) })
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var hits []event.Hit
	seen := pipeline.ProcessorFunc(func(_ context.Context, b *event.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		hits = append(hits, b.Hits...)
		return nil
	})
	st, err := Open(context.Background(), Options{DB: db, Mode: Serve})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &Collector{Store: st, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Once: true,
		Processors: []pipeline.Processor{eng, seen}}
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, h := range hits {
		got[h.RuleID]++
		if h.RuleID == "aws-iam-create-user" && !strings.Contains(h.Title, "backdoor") {
			t.Errorf("title %q", h.Title)
		}
	}
	if got["watch-alice"] != 2 || got["aws-iam-create-user"] != 1 || eng.Hits() != int64(len(hits)) {
		t.Errorf("hits by rule: %v (engine counted %d)", got, eng.Hits())
	}
}
