package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/store"
)

// searches covers every feature of the search language (docs/search.md):
// each is "type|query" ("" type: the table the query's fields choose).
var searches = []string{
	// text fields: equality, phrases, wildcards at the ends and inside
	"|eventName:CreateUser",
	`|eventName:"ConsoleLogin"`,
	"|eventName:Create*",
	"|userIdentity.arn:*deployer*",
	"|eventSource:*.amazonaws.com",
	"|eventName:?etObject",
	"|eventName:Get*Policy",
	"|userAgent:*aws-cli*",
	// presence, NOT, OR, parentheses
	"|errorCode:*",
	"cloudtrail|NOT errorCode:*",
	"|(eventSource:iam.amazonaws.com OR eventSource:sts.amazonaws.com) AND NOT errorCode:* AND readOnly:false",
	"|eventName:CreateUser OR eventName:DeleteUser OR (eventName:AttachUserPolicy AND NOT awsRegion:eu-west-1)",
	"|NOT (readOnly:true OR awsRegion:us-east-1)",
	// booleans, aliases, column names, case-folded names
	"|readOnly:false",
	"|readOnly:true AND awsRegion:eu-west-1",
	"|userIdentity.sessionContext.attributes.mfaAuthenticated:true",
	"|user_type:AssumedRole",
	"|USERIDENTITY.TYPE:IAMUser",
	"|requestParameters.bucketName:*",
	"|responseElements.ConsoleLogin:Failure",
	// addresses: CIDR blocks on whole octets and not, and /0
	"|sourceIPAddress:10.0.0.0/8",
	"|sourceIPAddress:203.0.113.0/24",
	"|sourceIPAddress:192.168.0.0/12",
	"|sourceIPAddress:0.0.0.0/0",
	"|sourceIPAddress:*.amazonaws.com",
	// times: a day, ranges with open and closed ends, comparisons
	"|eventTime:2026-11-03",
	"|eventTime:[2026-11-02T06:00:00Z TO 2026-11-02T12:00:00Z}",
	"|eventTime:>=2026-11-04T00:00:00Z AND eventName:Describe*",
	"|userIdentity.sessionContext.attributes.creationDate:<2026-11-02T12:00:00Z",
	// free text: words, phrases, wildcards, case
	`cloudtrail|"access denied"`,
	"cloudtrail|AccessDenied",
	"cloudtrail|accessdenied",
	"cloudtrail|deploy*",
	"cloudtrail|AccessDenied AND NOT eventName:GetObject",
	"cloudtrail|*",
	// free-form JSON paths (ClickHouse: pre-filter and Go residual)
	"|requestParameters.instanceType:*",
	"|requestParameters.instanceType:t3*",
	"|eventName:RunInstances AND NOT requestParameters.instanceType:*",
	"|requestParameters.instanceType:t3.micro OR eventName:CreateUser",
	"|resources[0].type:*",
	"|requestParameters.maxResults:>=10",
	"|requestParameters.maxResults:[1 TO 100]",
	"|NOT (requestParameters.policyName:* OR errorCode:*) AND eventSource:iam.amazonaws.com",
	"guardduty|service.action.networkConnectionAction.remoteIpDetails.ipAddressV4:*",
	// flow logs: integers, ranges, comparisons, CIDR, names with -
	"|action:REJECT",
	"|srcaddr:10.0.0.0/8 AND action:REJECT AND dstport:[0 TO 1023]",
	"|dstport:443",
	"|dstport:>1024 AND protocol:6",
	"vpcflow|bytes:[1000 TO *]",
	"|dstaddr:10.*",
	"|log-status:OK AND NOT action:ACCEPT",
	"vpcflow|start:[2026-11-02 TO 2026-11-03]",
	"|dstaddr:172.16.0.0/12 OR srcaddr:172.16.0.0/12",
	// GuardDuty: floats, ranges, booleans, integers, times
	"guardduty|severity:>=7",
	"guardduty|severity:[4 TO 7}",
	"|type:Recon*",
	"|service.archived:true",
	"|resource.resourceType:Instance",
	"|service.count:>1",
	"guardduty|updatedAt:>=2026-11-03",
	// CloudWatch Logs filter patterns (evaluated in Go on both)
	`{ ($.errorCode = "AccessDenied") || ($.eventName = "StopLogging") }`,
	`{ $.userIdentity.type = "Root" }`,
	`{ $.sourceIPAddress = "10.*" }`,
}

func TestSearches(t *testing.T) {
	duck, ch := loadBoth(t)
	ctx := context.Background()
	matched := 0
	for _, s := range searches {
		typ, src, _ := cut(s)
		t.Run(short(src), func(t *testing.T) {
			var tbl *search.Table
			if typ != "" {
				tbl = search.TableByType(typ)
			}
			var counts [2]int64
			var all, top [2][][]any
			var cols []string
			for i, q := range []store.Querier{duck, ch} {
				c, err := search.ParseCompile(src, search.Options{Table: tbl, Dialect: store.DialectOf(q)})
				if err != nil {
					t.Fatalf("%s: compiling %q: %v", store.DialectOf(q), src, err)
				}
				if counts[i], err = search.Count(ctx, q, c); err != nil {
					t.Fatalf("%s: counting %q: %v\n%s", store.DialectOf(q), src, err, c.Where)
				}
				cols = c.Table.Show
				rows, err := search.Search(ctx, q, c, nil, 0)
				if err != nil {
					t.Fatalf("%s: searching %q: %v", store.DialectOf(q), src, err)
				}
				if all[i], err = readAll(rows); err != nil {
					t.Fatalf("%s: reading %q: %v\n%s", store.DialectOf(q), src, err, c.Where)
				}
				// The newest 25: their times (rows of one time may come in
				// any order).
				rows, err = search.Search(ctx, q, c, []string{c.Table.Time}, 25)
				if err != nil {
					t.Fatalf("%s: searching %q: %v", store.DialectOf(q), src, err)
				}
				if top[i], err = readAll(rows); err != nil {
					t.Fatal(err)
				}
			}
			if counts[0] != counts[1] {
				t.Errorf("count: DuckDB %d, ClickHouse %d", counts[0], counts[1])
			}
			if int64(len(all[0])) != counts[0] {
				t.Errorf("DuckDB: %d rows, count %d", len(all[0]), counts[0])
			}
			if counts[0] > 0 {
				matched++
			}
			for i := range all {
				newestFirst(t, all[i])
				sortRows(all[i])
			}
			sameRows(t, "all matches", cols, all[0], all[1])
			sameRows(t, "newest 25", []string{"time"}, top[0], top[1])
		})
	}
	// The suite proves little if most searches match nothing.
	if want := len(searches) * 3 / 4; matched < want {
		t.Errorf("only %d of %d searches match rows on DuckDB; want at least %d", matched, len(searches), want)
	}
}

// newestFirst fails t unless rows (time first) are in descending time.
func newestFirst(t *testing.T, rows [][]any) {
	t.Helper()
	var prev string
	for i, r := range rows {
		s, ok := r[0].(stamp)
		if !ok {
			continue
		}
		if i > 0 && string(s) > prev {
			if a, _ := time.Parse(time.RFC3339Nano, string(s)); a.After(mustTime(prev)) {
				t.Errorf("row %d (%s) is newer than row %d (%s)", i, s, i-1, prev)
				return
			}
		}
		prev = string(s)
	}
}

func mustTime(s string) time.Time {
	tm, _ := time.Parse(time.RFC3339Nano, s)
	return tm
}

func cut(s string) (typ, src string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '|' {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}
