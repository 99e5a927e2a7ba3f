package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/api"
)

// hostile are search queries and values an attacker or a careless paste
// might send.
var hostile = []string{
	`'; DROP TABLE cloudtrail; --`,
	`eventName:"'; DROP TABLE cloudtrail; --"`,
	`eventName:x' OR '1'='1`,
	`userIdentity.arn:*'||(SELECT 1)||'*`,
	`requestParameters.bucketName:"a\"b"`,
	`requestParameters.x') OR 1=1 --:v`,
	`$.eventName:"CreateUser"`,
	"eventName:\x00",
	"\x00",
	`"unterminated`,
	`((((((((((((((((((((a))))))))))))))))))))`,
	strings.Repeat("(", 5000),
	strings.Repeat("a OR ", 3000) + "a",
	strings.Repeat("x", 20000),
	`eventName:Créer用户😀`,
	"\xff\xfe",
	`srcaddr:10.0.0.0/8 AND dstport:[0 TO 99999999999999999999]`,
	`severity:>=1e309`,
	`{ $.eventName = "x" || $.a = 'b' }`,
	`[version, account, eni, source, destination, srcport, destport="22", protocol, packets, bytes, windowstart, windowend, action="REJECT", flowlogstatus]`,
	`{ $.userIdentity.arn = "*'; DROP TABLE x; --" }`,
	`eventTime:[2026-11-01 TO *]`,
	`\`,
	`*`,
	`NOT NOT NOT -a`,
	`_id:1`,
	`raw:*`,
}

func TestHostileInputNever500(t *testing.T) {
	f := getFixture(t)
	before := f.counts(t)
	for _, q := range hostile {
		for _, path := range []string{"/api/search", "/api/count", "/api/histogram", "/api/fields", "/api/export"} {
			for _, typ := range []string{"", "vpcflow"} {
				resp, err := http.Get(f.srv.URL + path + "?" + vals("q", q, "type", typ, "limit", "5").Encode())
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 400 {
					t.Errorf("%s q=%.60q type=%s: status %d", path, q, typ, resp.StatusCode)
				}
			}
		}
		for _, p := range []string{"/api/event?" + vals("id", q).Encode(), "/api/alerts?" + vals("q", q, "rule", q).Encode(),
			"/api/fieldlist?" + vals("type", q).Encode(), "/api/search?" + vals("fields", q).Encode(), "/api/search?" + vals("cursor", q).Encode()} {
			resp, err := http.Get(f.srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Errorf("%.80s: status %d", p, resp.StatusCode)
			}
		}
		code, m := f.post(t, "/api/sql", mustJSON(map[string]any{"sql": q}))
		if code >= 500 {
			t.Errorf("SQL %.60q: %d %v", q, code, m)
		}
		code, m = f.post(t, "/api/sql", mustJSON(map[string]any{"sql": "SELECT '" + strings.ReplaceAll(q, "'", "''") + "' AS v"}))
		if !strings.ContainsRune(q, 0) && code == 200 && len(list(m["rows"])) != 1 {
			t.Errorf("SQL literal %.60q: %d %v", q, code, m)
		}
	}
	if after := f.counts(t); after != before {
		t.Errorf("the database changed: %s → %s", before, after)
	}
	// Compiled to bound parameters: a value with quotes is looked for as is.
	code, m := f.get(t, "/api/count", vals("q", `eventName:"'; DROP TABLE cloudtrail; --"`))
	if code != 200 || num(m["count"]) != 0 {
		t.Errorf("the quoted value: %d %v, want 200 with count 0", code, m)
	}
}

func TestSQLTimeLimit(t *testing.T) {
	f := getFixture(t)
	a := api.New(api.Options{Store: f.st.Querier(), SQL: f.st.Store, SQLTimeout: 200 * time.Millisecond})
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/api/sql", "application/json",
		strings.NewReader(`{"sql":"SELECT count(*) FROM range(1000000000) a, range(1000000000) b WHERE a.range * b.range = 7"}`))
	if err != nil {
		t.Fatal(err)
	}
	code, m := decode(t, resp)
	if code != http.StatusGatewayTimeout {
		t.Fatalf("status %d %v, want 504", code, m)
	}
	// The store still answers.
	if code, m := f.post(t, "/api/sql", `{"sql":"SELECT 42 AS n"}`); code != 200 || fmt.Sprint(m["rows"]) != "[[42]]" {
		t.Errorf("after a stopped statement: %d %v", code, m)
	}
}
