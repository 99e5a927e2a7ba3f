package gen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/event"
)

// The shared fixture: a small organization over ten hours with the attack
// and large requestParameters, generated once for all tests.
var fixture struct {
	once  sync.Once
	dir   string
	m     *Manifest
	err   error
	files map[string][]byte // relative path -> decompressed content
}

func fixtureConfig() Config {
	cfg := DefaultConfig()
	cfg.Seed = 42
	cfg.Start = time.Date(2026, 11, 3, 6, 0, 0, 0, time.UTC)
	cfg.Duration = 10 * time.Hour
	cfg.Regions = []string{"us-east-1", "eu-west-1"}
	cfg.CloudTrailEvents = 4000
	cfg.FlowRecords = 8000
	cfg.Findings = 30
	cfg.LargeParams = true
	return cfg
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

func load(t testing.TB) (*Manifest, map[string][]byte) {
	t.Helper()
	fixture.once.Do(func() {
		fixture.dir, fixture.err = os.MkdirTemp("", "trawl-gen-*")
		if fixture.err != nil {
			return
		}
		fixture.m, fixture.err = Generate(context.Background(), fixture.dir, fixtureConfig())
		if fixture.err != nil {
			return
		}
		fixture.files, fixture.err = readAll(fixture.dir)
	})
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	return fixture.m, fixture.files
}

// readAll decompresses every file under dir.
func readAll(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	return files, err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ctRecord is the part of a CloudTrail record tests look at.
type ctRecord struct {
	EventVersion string `json:"eventVersion"`
	UserIdentity struct {
		Type        string `json:"type"`
		UserName    string `json:"userName"`
		AccessKeyID string `json:"accessKeyId"`
		ARN         string `json:"arn"`
	} `json:"userIdentity"`
	EventTime           string          `json:"eventTime"`
	EventSource         string          `json:"eventSource"`
	EventName           string          `json:"eventName"`
	AWSRegion           string          `json:"awsRegion"`
	SourceIPAddress     string          `json:"sourceIPAddress"`
	UserAgent           string          `json:"userAgent"`
	ErrorCode           string          `json:"errorCode"`
	RequestParameters   json.RawMessage `json:"requestParameters"`
	ResponseElements    json.RawMessage `json:"responseElements"`
	AdditionalEventData json.RawMessage `json:"additionalEventData"`
	EventID             string          `json:"eventID"`
	EventType           string          `json:"eventType"`
	RecipientAccountID  string          `json:"recipientAccountId"`
}

func kindOf(rel string) string {
	switch {
	case strings.Contains(rel, "/CloudTrail-Digest/"):
		return "digest"
	case strings.Contains(rel, "/CloudTrail-Insight/"):
		return "insight"
	case strings.Contains(rel, "/CloudTrail/"):
		return "cloudtrail"
	case strings.Contains(rel, "/vpcflowlogs/"):
		return "vpcflow"
	case strings.Contains(rel, "/GuardDuty/"):
		return "guardduty"
	}
	return ""
}

func records(t *testing.T, rel string, b []byte) []ctRecord {
	t.Helper()
	var doc struct {
		Records []ctRecord `json:"Records"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return doc.Records
}

func allRecords(t *testing.T, files map[string][]byte) []ctRecord {
	var out []ctRecord
	for _, rel := range sortedKeys(files) {
		if kindOf(rel) == "cloudtrail" {
			out = append(out, records(t, rel, files[rel])...)
		}
	}
	return out
}

func TestDeterministic(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Seed = 7
	cfg.Duration = 3 * time.Hour
	cfg.Accounts = 3
	cfg.Regions = []string{"eu-west-1"}
	cfg.CloudTrailEvents = 1500
	cfg.FlowRecords = 3000
	cfg.Findings = 12
	cfg.LargeParams = true
	digests := func(procs int) (map[string]string, *Manifest) {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		dir := t.TempDir()
		m, err := Generate(context.Background(), dir, cfg)
		if err != nil {
			t.Fatal(err)
		}
		sums := map[string]string{}
		err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			s := sha256.Sum256(b)
			sums[filepath.ToSlash(rel)] = hex.EncodeToString(s[:])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return sums, m
	}
	// Different worker counts must not change a byte.
	a, ma := digests(1)
	b, mb := digests(4)
	if len(a) != len(b) {
		t.Fatalf("file counts differ: %d vs %d", len(a), len(b))
	}
	for k, v := range a {
		if b[k] != v {
			t.Fatalf("%s differs between runs", k)
		}
	}
	if ma.Bytes != mb.Bytes || ma.CloudTrailEvents != mb.CloudTrailEvents || ma.Attack.AccessKeyID != mb.Attack.AccessKeyID {
		t.Fatalf("manifests differ: %+v vs %+v", ma, mb)
	}
	// Another seed gives other data.
	cfg.Seed = 8
	c, _ := digests(2)
	same := 0
	for k := range c {
		if _, ok := a[k]; ok {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d file names shared between seeds 7 and 8", same)
	}
}

func TestManifestMatchesDisk(t *testing.T) {
	m, files := load(t)
	var n, size int64
	err := filepath.WalkDir(fixture.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n++
		size += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if int(n) != m.Files || size != m.Bytes {
		t.Errorf("manifest says %d files / %d bytes, disk has %d / %d", m.Files, m.Bytes, n, size)
	}
	var ct, digests, flows, findings int
	ids := map[string]bool{}
	for _, rel := range sortedKeys(files) {
		b := files[rel]
		switch kindOf(rel) {
		case "cloudtrail", "insight":
			ct += len(records(t, rel, b))
		case "digest":
			digests++
		case "vpcflow":
			flows += bytes.Count(b, []byte("\n")) - 1
		case "guardduty":
			for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
				var f struct{ ID string }
				if err := json.Unmarshal([]byte(line), &f); err != nil {
					t.Fatalf("%s: %v", rel, err)
				}
				findings++
				ids[f.ID] = true
			}
		default:
			t.Errorf("unexpected file %s", rel)
		}
	}
	if ct != m.CloudTrailEvents || digests != m.DigestFiles || flows != m.FlowRecords || findings != m.FindingVersions || len(ids) != m.FindingIDs {
		t.Errorf("disk: %d events, %d digests, %d flows, %d findings (%d ids); manifest: %+v", ct, digests, flows, findings, len(ids), m)
	}
	if m.CloudTrailEvents < 3000 || m.FlowRecords < 6000 || m.FindingVersions < 30 {
		t.Errorf("volumes far below the configuration: %+v", m)
	}
}

func TestCloudTrailFiles(t *testing.T) {
	m, files := load(t)
	seen := map[string]bool{}
	versions := map[string]int{}
	types := map[string]int{}
	large := 0
	for _, rel := range sortedKeys(files) {
		if k := kindOf(rel); k != "cloudtrail" && k != "insight" {
			continue
		}
		b := files[rel]
		if !bytes.HasPrefix(b, []byte(`{"Records":[{"eventVersion":"`)) || bytes.Contains(b, []byte("\n")) {
			t.Fatalf("%s is not a one-line Records document: %.80s", rel, b)
		}
		// AWSLogs/<org>/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<stamp>_<16>.json.gz
		parts := strings.Split(rel, "/")
		if len(parts) != 9 || parts[1] != m.Config.OrgID {
			t.Fatalf("bad key %s", rel)
		}
		name := strings.Split(strings.TrimSuffix(parts[8], ".json.gz"), "_")
		if len(name) != 5 || name[0] != parts[2] || name[2] != parts[4] || len(name[4]) != 16 {
			t.Fatalf("bad file name %s", rel)
		}
		stamp, err := time.Parse("20060102T1504Z", name[3])
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if stamp.Format("2006/01/02") != strings.Join(parts[5:8], "/") {
			t.Errorf("%s: date path does not match the file time", rel)
		}
		var last string
		for _, r := range records(t, rel, b) {
			if seen[r.EventID] {
				t.Errorf("duplicate eventID %s", r.EventID)
			}
			seen[r.EventID] = true
			if r.EventTime < last {
				t.Errorf("%s: records not sorted by eventTime", rel)
			}
			last = r.EventTime
			et, err := time.Parse(time.RFC3339, r.EventTime)
			if err != nil || et.After(stamp.Add(time.Minute)) {
				t.Errorf("%s: eventTime %s after delivery %s", rel, r.EventTime, stamp)
			}
			if r.RecipientAccountID != parts[2] || (r.AWSRegion != parts[4] && r.EventType != "AwsCloudTrailInsight") {
				t.Errorf("%s: record of %s/%s", rel, r.RecipientAccountID, r.AWSRegion)
			}
			versions[r.EventVersion]++
			types[r.UserIdentity.Type]++
			if len(r.RequestParameters) > 5000 {
				large++
			}
			if kindOf(rel) == "cloudtrail" {
				global := r.EventSource == "iam.amazonaws.com" || r.EventSource == "signin.amazonaws.com"
				if global && r.AWSRegion != "us-east-1" {
					t.Errorf("global %s event in %s", r.EventName, r.AWSRegion)
				}
			}
		}
	}
	for _, v := range []string{"1.08", "1.09", "1.10", "1.11"} {
		if versions[v] == 0 {
			t.Errorf("no eventVersion %s (%v)", v, versions)
		}
	}
	for _, ty := range []string{"IAMUser", "AssumedRole", "AWSService", "AWSAccount", "Root", "SAMLUser", "WebIdentityUser"} {
		if types[ty] == 0 {
			t.Errorf("no userIdentity.type %s (%v)", ty, types)
		}
	}
	if large == 0 {
		t.Error("LargeParams gave no large requestParameters")
	}
}

// digest is a digest file's JSON.
type digest struct {
	AWSAccountID       string  `json:"awsAccountId"`
	DigestStartTime    string  `json:"digestStartTime"`
	DigestEndTime      string  `json:"digestEndTime"`
	DigestS3Object     string  `json:"digestS3Object"`
	NewestEventTime    *string `json:"newestEventTime"`
	PreviousDigestKey  *string `json:"previousDigestS3Object"`
	PreviousDigestHash *string `json:"previousDigestHashValue"`
	PreviousSignature  *string `json:"previousDigestSignature"`
	LogFiles           []struct {
		S3Object        string `json:"s3Object"`
		HashValue       string `json:"hashValue"`
		HashAlgorithm   string `json:"hashAlgorithm"`
		NewestEventTime string `json:"newestEventTime"`
		OldestEventTime string `json:"oldestEventTime"`
	} `json:"logFiles"`
}

func TestDigests(t *testing.T) {
	_, files := load(t)
	chains := map[string][]digest{} // account/region -> digests by end time
	listed := map[string]int{}
	for _, rel := range sortedKeys(files) {
		if kindOf(rel) != "digest" {
			continue
		}
		var d digest
		if err := json.Unmarshal(files[rel], &d); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if d.DigestS3Object != rel {
			t.Errorf("digestS3Object %s != key %s", d.DigestS3Object, rel)
		}
		for _, lf := range d.LogFiles {
			b, ok := files[lf.S3Object]
			if !ok {
				t.Errorf("%s lists missing %s", rel, lf.S3Object)
				continue
			}
			sum := sha256.Sum256(b)
			if hex.EncodeToString(sum[:]) != lf.HashValue || lf.HashAlgorithm != "SHA-256" {
				t.Errorf("%s: hash of %s does not match", rel, lf.S3Object)
			}
			recs := records(t, lf.S3Object, b)
			if recs[0].EventTime != lf.OldestEventTime || recs[len(recs)-1].EventTime != lf.NewestEventTime {
				t.Errorf("%s: wrong event times for %s", rel, lf.S3Object)
			}
			listed[lf.S3Object]++
		}
		parts := strings.Split(rel, "/")
		k := parts[2] + "/" + parts[4]
		chains[k] = append(chains[k], d)
	}
	for rel := range files {
		if kindOf(rel) == "cloudtrail" && listed[rel] != 1 {
			t.Errorf("%s is listed in %d digests", rel, listed[rel])
		}
	}
	if len(chains) == 0 {
		t.Fatal("no digests")
	}
	for k, ds := range chains {
		sort.Slice(ds, func(i, j int) bool { return ds[i].DigestEndTime < ds[j].DigestEndTime })
		for i, d := range ds {
			if i == 0 {
				if d.PreviousDigestKey != nil || d.PreviousDigestHash != nil || d.PreviousSignature != nil {
					t.Errorf("%s: first digest has a predecessor", k)
				}
				continue
			}
			prev := ds[i-1]
			if d.PreviousDigestKey == nil || *d.PreviousDigestKey != prev.DigestS3Object || d.DigestStartTime != prev.DigestEndTime {
				t.Errorf("%s: broken chain at %s", k, d.DigestS3Object)
				continue
			}
			sum := sha256.Sum256(files[prev.DigestS3Object])
			if *d.PreviousDigestHash != hex.EncodeToString(sum[:]) || len(*d.PreviousSignature) != 512 {
				t.Errorf("%s: wrong previous hash or signature at %s", k, d.DigestS3Object)
			}
		}
	}
}

func TestFlowLogFiles(t *testing.T) {
	m, files := load(t)
	formats := map[string]int{}
	statuses := map[string]int{}
	protocols := map[string]int{}
	v6 := 0
	for _, rel := range sortedKeys(files) {
		if kindOf(rel) != "vpcflow" {
			continue
		}
		// AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/<account>_vpcflowlogs_<region>_fl-<17>_<stamp>_<8>.log.gz
		parts := strings.Split(rel, "/")
		name := strings.Split(strings.TrimSuffix(parts[7], ".log.gz"), "_")
		if len(parts) != 8 || len(name) != 6 || name[0] != parts[1] || name[2] != parts[3] || len(name[3]) != 20 || len(name[5]) != 8 {
			t.Fatalf("bad key %s", rel)
		}
		win, err := time.Parse("20060102T1504Z", name[4])
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(files[rel]))
		sc.Scan()
		header := strings.Fields(sc.Text())
		formats[sc.Text()]++
		version := "5"
		if len(header) == 14 {
			version = "2"
		}
		col := map[string]int{}
		for i, h := range header {
			col[h] = i
		}
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != len(header) || f[0] != version || f[1] != parts[1] {
				t.Fatalf("%s: bad line %q", rel, sc.Text())
			}
			start, _ := strconv.ParseInt(f[col["start"]], 10, 64)
			end, _ := strconv.ParseInt(f[col["end"]], 10, 64)
			if end < start || start < win.Unix() || end >= win.Unix()+flowWindow {
				t.Errorf("%s: times %d–%d outside the window %s", rel, start, end, win)
			}
			statuses[f[col["log-status"]]]++
			protocols[f[col["protocol"]]]++
			if i, ok := col["type"]; ok && f[i] == "IPv6" {
				v6++
			}
		}
	}
	if len(formats) != 2 || formats[flowHeader(true)] == 0 || formats[flowHeader(false)] == 0 {
		t.Errorf("expected the default and the v5 format, got %v", formats)
	}
	for _, p := range []string{"1", "6", "17", "-"} {
		if protocols[p] == 0 {
			t.Errorf("no protocol %s: %v", p, protocols)
		}
	}
	if statuses["OK"] == 0 || statuses["NODATA"] == 0 || v6 == 0 {
		t.Errorf("statuses %v, %d IPv6 records", statuses, v6)
	}
	_ = m
}

// gdFinding is the part of a finding tests look at.
type gdFinding struct {
	SchemaVersion string  `json:"schemaVersion"`
	AccountID     string  `json:"accountId"`
	Region        string  `json:"region"`
	Partition     string  `json:"partition"`
	ID            string  `json:"id"`
	ARN           string  `json:"arn"`
	Type          string  `json:"type"`
	Severity      float64 `json:"severity"`
	CreatedAt     string  `json:"createdAt"`
	UpdatedAt     string  `json:"updatedAt"`
	Title         string  `json:"title"`
	Description   string  `json:"description"`
	Resource      struct {
		ResourceType string `json:"resourceType"`
	} `json:"resource"`
	Service struct {
		ServiceName    string `json:"serviceName"`
		DetectorID     string `json:"detectorId"`
		EventFirstSeen string `json:"eventFirstSeen"`
		EventLastSeen  string `json:"eventLastSeen"`
		Count          int    `json:"count"`
		Archived       *bool  `json:"archived"`
		ResourceRole   string `json:"resourceRole"`
		Action         struct {
			ActionType string `json:"actionType"`
		} `json:"action"`
	} `json:"service"`
}

func findings(t *testing.T, files map[string][]byte) map[string][]gdFinding {
	out := map[string][]gdFinding{}
	for _, rel := range sortedKeys(files) {
		if kindOf(rel) != "guardduty" {
			continue
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(files[rel]), "\n"), "\n") {
			var f gdFinding
			if err := json.Unmarshal([]byte(line), &f); err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			out[f.ID] = append(out[f.ID], f)
		}
	}
	return out
}

func TestGuardDutyFindings(t *testing.T) {
	m, files := load(t)
	all := findings(t, files)
	updated := 0
	for id, vs := range all {
		f := vs[0]
		if len(id) != 32 || f.SchemaVersion != "2.0" || f.Partition != "aws" || !strings.HasSuffix(f.ARN, "/finding/"+id) ||
			f.Service.ServiceName != "guardduty" || f.Service.Archived == nil || *f.Service.Archived || f.Title == "" ||
			f.Resource.ResourceType == "" || f.Service.Action.ActionType == "" || f.Severity < 1 {
			t.Errorf("incomplete finding %+v", f)
		}
		for _, ts := range []string{f.CreatedAt, f.UpdatedAt, f.Service.EventFirstSeen, f.Service.EventLastSeen} {
			if _, err := time.Parse("2006-01-02T15:04:05.000Z", ts); err != nil {
				t.Errorf("%s: %v", id, err)
			}
		}
		// Files are read in key order (which is export date order), so
		// compare versions by updatedAt.
		sort.Slice(vs, func(i, j int) bool { return vs[i].UpdatedAt < vs[j].UpdatedAt })
		for i := 1; i < len(vs); i++ {
			p, c := vs[i-1], vs[i]
			if c.UpdatedAt <= p.UpdatedAt || c.Service.Count <= p.Service.Count || c.Service.EventLastSeen < p.Service.EventLastSeen ||
				c.CreatedAt != p.CreatedAt || c.Service.EventFirstSeen != p.Service.EventFirstSeen {
				t.Errorf("%s: version %d does not update version %d", id, i, i-1)
			}
		}
		if len(vs) > 1 {
			updated++
		}
	}
	if updated == 0 {
		t.Error("no finding has an update")
	}
	for rel := range files {
		if kindOf(rel) == "guardduty" && !strings.HasPrefix(rel, "AWSLogs/"+m.Accounts[1].ID+"/GuardDuty/") {
			t.Errorf("finding file %s not under the security account", rel)
		}
	}
}

func TestAttackStory(t *testing.T) {
	m, files := load(t)
	a := m.Attack
	if a == nil {
		t.Fatal("no attack in the manifest")
	}
	if a.Account != m.Accounts[2].ID || m.Accounts[2].Name != "prod" {
		t.Errorf("victim %s is not prod", a.Account)
	}
	var stopKey string
	byID := map[string]ctRecord{}
	for _, r := range allRecords(t, files) {
		byID[r.EventID] = r
	}
	for _, name := range []string{"GetCallerIdentity", "ListUsers", "ListAttachedUserPolicies", "CreateUser", "AttachUserPolicy",
		"CreateAccessKey", "CreateLoginProfile", "ConsoleLogin", "StopLogging", "DeleteFlowLogs", "StartLogging", "ListBuckets", "GetObject"} {
		id, ok := a.EventIDs[name]
		if !ok {
			t.Errorf("no event id for %s", name)
			continue
		}
		r, ok := byID[id]
		if !ok || r.EventName != name {
			t.Errorf("event %s (%s) not found", name, id)
			continue
		}
		if name != "StartLogging" && (r.SourceIPAddress != a.AttackerIP || r.RecipientAccountID != a.Account) {
			t.Errorf("%s from %s in %s", name, r.SourceIPAddress, r.RecipientAccountID)
		}
		var want map[string]any
		switch name {
		case "GetCallerIdentity", "ListUsers", "ListAttachedUserPolicies", "CreateUser":
			if r.UserIdentity.UserName != a.CompromisedUser || r.UserIdentity.AccessKeyID != a.CompromisedKeyID {
				t.Errorf("%s by %s/%s", name, r.UserIdentity.UserName, r.UserIdentity.AccessKeyID)
			}
			if name == "CreateUser" {
				want = map[string]any{"userName": a.CreatedUser}
			}
		case "AttachUserPolicy":
			want = map[string]any{"userName": a.CreatedUser, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
		case "CreateAccessKey":
			var resp struct{ AccessKey struct{ AccessKeyID string } }
			if json.Unmarshal(r.ResponseElements, &resp); resp.AccessKey.AccessKeyID != a.AccessKeyID {
				t.Errorf("CreateAccessKey returned %s", r.ResponseElements)
			}
		case "ConsoleLogin":
			var extra struct{ MFAUsed string }
			json.Unmarshal(r.AdditionalEventData, &extra)
			if extra.MFAUsed != "No" || string(r.ResponseElements) != `{"ConsoleLogin":"Success"}` ||
				r.UserIdentity.UserName != a.CreatedUser || r.EventTime != a.ConsoleLoginAt.Format(time.RFC3339) ||
				!strings.HasPrefix(r.UserAgent, "Mozilla/") || r.EventType != "AwsConsoleSignIn" {
				t.Errorf("bad ConsoleLogin %+v", r)
			}
		case "StopLogging":
			want = map[string]any{"name": a.TrailARN}
			stopKey = r.UserIdentity.AccessKeyID
			if r.EventTime != a.StopLoggingAt.Format(time.RFC3339) || r.UserIdentity.UserName != a.CreatedUser {
				t.Errorf("bad StopLogging %+v", r)
			}
		case "DeleteFlowLogs":
			if r.ErrorCode == "" || r.UserIdentity.AccessKeyID != a.AccessKeyID || r.AWSRegion != a.Region {
				t.Errorf("DeleteFlowLogs did not fail with the new key: %+v", r)
			}
		}
		for k, v := range want {
			var got map[string]any
			json.Unmarshal(r.RequestParameters, &got)
			if got[k] != v {
				t.Errorf("%s requestParameters.%s = %v, want %v", name, k, got[k], v)
			}
		}
	}
	if !a.StopLoggingAt.After(a.ConsoleLoginAt) || !a.ConsoleLoginAt.After(a.ScanEnd) {
		t.Errorf("story out of order: scan %s, login %s, stop %s", a.ScanEnd, a.ConsoleLoginAt, a.StopLoggingAt)
	}

	// The port scan in the flow logs.
	ports := map[string]bool{}
	var probes, rejects int
	for rel, b := range files {
		if kindOf(rel) != "vpcflow" || !strings.Contains(rel, "/"+a.Account+"/") {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) != 25 || f[3] != a.ScannerIP || f[4] != a.ScanTargetIP {
				continue
			}
			if f[2] != a.ScanTargetENI || f[16] != a.ScanTargetInstance || f[17] != "2" || f[21] != a.Region || f[23] != "ingress" {
				t.Errorf("bad probe %q", line)
			}
			start, _ := strconv.ParseInt(f[10], 10, 64)
			if start < a.ScanStart.Unix() || start > a.ScanEnd.Unix() {
				t.Errorf("probe at %d outside the scan", start)
			}
			probes++
			ports[f[6]] = true
			if f[12] == "REJECT" {
				rejects++
			}
		}
	}
	if len(ports) != a.ScannedPorts || a.ScannedPorts < 200 || probes != a.ScannedPorts || rejects < probes*9/10 {
		t.Errorf("scan: %d probes, %d distinct ports (manifest %d), %d rejected", probes, len(ports), a.ScannedPorts, rejects)
	}

	// The GuardDuty findings, each with an update.
	all := findings(t, files)
	types := map[string]bool{}
	for _, id := range a.FindingIDs {
		vs := all[id]
		if len(vs) < 2 {
			t.Errorf("finding %s (%s) has %d versions", id, a.FindingTypes[id], len(vs))
			continue
		}
		if vs[0].AccountID != a.Account || vs[0].Type != a.FindingTypes[id] {
			t.Errorf("finding %s is %s in %s", id, vs[0].Type, vs[0].AccountID)
		}
		if vs[0].Type == "Stealth:IAMUser/CloudTrailLoggingDisabled" && !strings.Contains(string(rawFinding(t, files, id)), `"accessKeyId":"`+stopKey+`"`) {
			t.Errorf("CloudTrailLoggingDisabled finding does not name the session key %s", stopKey)
		}
		types[vs[0].Type] = true
	}
	for _, ty := range []string{"Recon:EC2/PortProbeUnprotectedPort", "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B",
		"Stealth:IAMUser/CloudTrailLoggingDisabled", "PrivilegeEscalation:IAMUser/AnomalousBehavior", "Persistence:IAMUser/AnomalousBehavior"} {
		if !types[ty] {
			t.Errorf("no %s finding", ty)
		}
	}
}

// rawFinding returns the first line of a finding.
func rawFinding(t *testing.T, files map[string][]byte, id string) []byte {
	for _, rel := range sortedKeys(files) {
		if kindOf(rel) != "guardduty" {
			continue
		}
		for _, line := range bytes.Split(files[rel], []byte("\n")) {
			if bytes.Contains(line, []byte(`"id":"`+id+`"`)) {
				return line
			}
		}
	}
	t.Fatalf("finding %s not found", id)
	return nil
}

// The story must not be the only unusual thing: people sign in with MFA
// every day and federated users without.
func TestBackgroundSignIns(t *testing.T) {
	_, files := load(t)
	mfa := map[string]int{}
	for _, r := range allRecords(t, files) {
		if r.EventName != "ConsoleLogin" {
			continue
		}
		var extra struct{ MFAUsed string }
		json.Unmarshal(r.AdditionalEventData, &extra)
		mfa[r.UserIdentity.Type+"/"+extra.MFAUsed]++
	}
	if mfa["IAMUser/Yes"] == 0 || mfa["AssumedRole/No"] == 0 || mfa["Root/Yes"] == 0 {
		t.Errorf("console sign-ins: %v", mfa)
	}
}

// countingSink counts what trawl's decoder finds.
type countingSink struct {
	ct, digests, flows, findings int
	quarantined                  []event.Quarantined
}

func (s *countingSink) emit(b *event.Batch) error {
	s.ct += len(b.CloudTrail)
	s.digests += len(b.Digests)
	s.flows += len(b.VPCFlow)
	s.findings += len(b.Findings)
	s.quarantined = append(s.quarantined, b.Quarantined...)
	return nil
}

func TestDecodeWithTrawl(t *testing.T) {
	m, _ := load(t)
	var sink countingSink
	err := filepath.WalkDir(fixture.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		rel, _ := filepath.Rel(fixture.dir, p)
		return decode.Decode(context.Background(), decode.Object{Name: rel, Key: filepath.ToSlash(rel)}, f, decode.Options{}, sink.emit)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range sink.quarantined {
		if i < 5 {
			t.Errorf("quarantined: %+v", q)
		}
	}
	if sink.ct != m.CloudTrailEvents || sink.digests != m.DigestFiles || sink.flows != m.FlowRecords || sink.findings != m.FindingVersions {
		t.Errorf("decoded %d events, %d digests, %d flows, %d findings; manifest %+v", sink.ct, sink.digests, sink.flows, sink.findings, m)
	}
}

func TestNoAttack(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Attack = false
	cfg.Duration = time.Hour
	cfg.Accounts = 3
	cfg.Regions = []string{"us-east-1"}
	cfg.CloudTrailEvents = 300
	cfg.FlowRecords = 300
	cfg.Findings = -1
	dir := t.TempDir()
	m, err := Generate(context.Background(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m.Attack != nil || m.FindingVersions != 0 {
		t.Fatalf("attack or findings without asking: %+v", m)
	}
	files, err := readAll(dir)
	if err != nil {
		t.Fatal(err)
	}
	for rel, b := range files {
		if bytes.Contains(b, []byte(createdUserName)) || bytes.Contains(b, []byte(actorTor.prefix)) {
			t.Errorf("%s mentions the attacker", rel)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []struct {
		set  func(*Config)
		want string // what the error must say, naming the field
	}{
		{func(c *Config) { c.Regions = []string{"mars-1"} }, `region "mars-1" is not an AWS region name`},
		{func(c *Config) { c.Regions = []string{"us-east-1", "us-east-1"} }, `region "us-east-1" is listed twice`},
		{func(c *Config) { c.OrgID = "org-1" }, `organization id "org-1" is not of the form`},
		{func(c *Config) { c.Accounts = -1 }, "accounts -1 out of range"},
		{func(c *Config) { c.Duration = time.Minute }, "duration 1m0s is shorter than 5m"},
		{func(c *Config) { c.Duration = 2 * time.Hour }, "duration 2h0m0s is too short for the attack story"},
		{func(c *Config) { c.Gzip = 12 }, "gzip level 12 out of range"},
		{func(c *Config) { c.Start = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC) }, "start 1999-12-31T00:00:00Z is out of range"},
	}
	for _, b := range bad {
		cfg := DefaultConfig()
		b.set(&cfg)
		dir := filepath.Join(t.TempDir(), "out")
		_, err := Generate(context.Background(), dir, cfg)
		if err == nil || !strings.HasPrefix(err.Error(), "validating config: ") || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Generate: error %v, want one saying %q", err, b.want)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: a rejected configuration created the output directory (%v)", b.want, err)
		}
	}
	c, err := Config{}.normalize()
	if err != nil || c.Accounts != 4 || len(c.Regions) != 3 || c.CloudTrailEvents != 20000 || !c.Start.Equal(defaultStart) || c.Attack {
		t.Errorf("zero config normalises to %+v, %v", c, err)
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m, err := Generate(ctx, t.TempDir(), DefaultConfig())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Generate with a canceled context: error %v, want context.Canceled", err)
	}
	if m != nil {
		t.Errorf("Generate with a canceled context returned a manifest: %+v", m)
	}
}

// BenchmarkGenerate measures generation speed. The default size is
// moderate; set TRAWL_GEN_BENCH_CT and TRAWL_GEN_BENCH_FLOWS for benchmark
// data sets (e.g. 1000000 and 5000000; -1 for none), and
// TRAWL_GEN_BENCH_GZIP for another gzip level (1 is BestSpeed).
func BenchmarkGenerate(b *testing.B) {
	cfg := DefaultConfig()
	cfg.CloudTrailEvents = envInt("TRAWL_GEN_BENCH_CT", 100_000)
	cfg.FlowRecords = envInt("TRAWL_GEN_BENCH_FLOWS", 500_000)
	cfg.LargeParams = true
	cfg.Gzip = envInt("TRAWL_GEN_BENCH_GZIP", 0)
	var m *Manifest
	var elapsed time.Duration
	for b.Loop() {
		dir := b.TempDir()
		t0 := time.Now()
		var err error
		if m, err = Generate(context.Background(), dir, cfg); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(t0)
		b.StopTimer()
		os.RemoveAll(dir)
		b.StartTimer()
	}
	sec := elapsed.Seconds() / float64(b.N)
	b.ReportMetric(float64(m.CloudTrailEvents)/sec, "ct-events/s")
	b.ReportMetric(float64(m.FlowRecords)/sec, "flow-records/s")
	b.ReportMetric(float64(m.Bytes)/(1<<20)/sec, "MB/s")
	b.ReportMetric(float64(m.RawBytes)/(1<<20)/sec, "raw-MB/s")
	b.ReportMetric(float64(m.Files)/sec, "files/s")
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v != 0 {
		return v
	}
	return def
}
