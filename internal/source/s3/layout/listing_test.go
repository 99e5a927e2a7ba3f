package layout

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// synth is a year of CloudTrail of an organisation trail, 20 accounts × 4
// regions, a file every 5 minutes (288 a day): 8.4 million keys, computed
// from their index (in key order), never stored.
type synth struct {
	accounts, regions []string
	days              []string // "2026/01/01"
	stamps            []string // "20260101" per day
	times             []string // "T0000Z" per file of a day
	perDay            int
}

const synthOrg = "o-a1b2c3d4e5"

func newSynth(accounts, perDay int) *synth {
	s := &synth{regions: []string{"ap-southeast-2", "eu-west-1", "us-east-1", "us-west-2"}, perDay: perDay}
	for a := range accounts {
		s.accounts = append(s.accounts, fmt.Sprintf("1000000000%02d", a))
	}
	d0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := d0; d.Year() == 2026; d = d.AddDate(0, 0, 1) {
		s.days = append(s.days, d.Format("2006/01/02"))
		s.stamps = append(s.stamps, d.Format("20060102"))
	}
	for n := range perDay {
		m := n * 24 * 60 / perDay
		s.times = append(s.times, fmt.Sprintf("T%02d%02dZ", m/60, m%60))
	}
	return s
}

func (s *synth) Len() int { return len(s.accounts) * len(s.regions) * len(s.days) * s.perDay }

func (s *synth) At(i int) string {
	n := i % s.perDay
	i /= s.perDay
	d := i % len(s.days)
	i /= len(s.days)
	r := s.regions[i%len(s.regions)]
	a := s.accounts[i/len(s.regions)]
	return "AWSLogs/" + synthOrg + "/" + a + "/CloudTrail/" + r + "/" + s.days[d] + "/" +
		a + "_CloudTrail_" + r + "_" + s.stamps[d] + s.times[n] + "_" + strconv.FormatInt(int64(1<<32+i*131+n), 16) + ".json.gz"
}

// perDayCost is what listing each day prefix of a part would cost instead
// of one StartAfter/stop listing (days found by delimiter listings when
// the window is open).
func perDayCost(ctx context.Context, t *testing.T, m *memLister, p Part) int {
	t.Helper()
	m.reset()
	var days []string
	if !p.First.IsZero() && !p.Last.IsZero() {
		for d := p.First; !d.After(p.Last); d = d.AddDate(0, 0, 1) {
			days = append(days, p.Prefix+d.Format("2006/01/02/"))
		}
	} else {
		var level func(prefix string, depth int)
		level = func(prefix string, depth int) {
			var kids []string
			if err := m.List(ctx, bucket, prefix, "/", "", func(ps []string, _ []Object) error {
				kids = append(kids, ps...)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for _, k := range kids {
				if depth == 2 {
					d, _ := time.Parse("2006/01/02/", strings.TrimPrefix(k, p.Prefix))
					if (p.First.IsZero() || !d.Before(p.First)) && (p.Last.IsZero() || !d.After(p.Last)) {
						days = append(days, k)
					}
					continue
				}
				level(k, depth+1)
			}
		}
		level(p.Prefix, 0)
	}
	for _, d := range days {
		if err := m.List(ctx, bucket, d, "", "", func([]string, []Object) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return len(m.reset())
}

func TestWindowAndFiltersListOnlyWhatTheyNeed(t *testing.T) {
	if testing.Short() {
		t.Skip("walks 8.4 million synthetic keys")
	}
	ctx := context.Background()
	s := newSynth(20, 288)
	m := &memLister{keys: s}
	acct, region := s.accounts[7], "eu-west-1"
	day := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	one := []string{acct}
	reg := []string{region}
	cases := []struct {
		name string
		f    Filter
		// exact calls, when given
		calls []call
	}{
		{name: "one day", f: Filter{Since: day, Until: day.AddDate(0, 0, 1)}},
		{name: "one day, no margin", f: Filter{Since: day, Until: day.AddDate(0, 0, 1), Margin: -1}},
		{name: "one day 09:00-17:00", f: Filter{Since: day.Add(9 * time.Hour), Until: day.Add(17 * time.Hour)}},
		{name: "seven days", f: Filter{Since: day, Until: day.AddDate(0, 0, 7)}},
		{name: "thirty days", f: Filter{Since: day, Until: day.AddDate(0, 0, 30)}},
		{name: "one day, one account+region", f: Filter{Since: day, Until: day.AddDate(0, 0, 1), Accounts: one, Regions: reg},
			calls: []call{{"", "/", "", 0}, {"AWSLogs/", "/", "", 0}, {"AWSLogs/" + synthOrg + "/" + acct + "/", "/", "", 0},
				{"AWSLogs/" + synthOrg + "/" + acct + "/CloudTrail/" + region + "/", "", "AWSLogs/" + synthOrg + "/" + acct + "/CloudTrail/" + region + "/2026/06/14", 0}}},
		{name: "one day, one account+region, kind cloudtrail", f: Filter{Since: day, Until: day.AddDate(0, 0, 1), Accounts: one, Regions: reg, Kinds: []string{KindCloudTrail}},
			calls: []call{{"", "/", "", 0}, {"AWSLogs/", "/", "", 0},
				{"AWSLogs/" + synthOrg + "/" + acct + "/CloudTrail/" + region + "/", "", "AWSLogs/" + synthOrg + "/" + acct + "/CloudTrail/" + region + "/2026/06/14", 0}}},
		{name: "seven days, one account+region", f: Filter{Since: day, Until: day.AddDate(0, 0, 7), Accounts: one, Regions: reg}},
		{name: "one account+region, whole year", f: Filter{Accounts: one, Regions: reg}},
		{name: "everything", f: Filter{}},
	}
	t.Logf("%d accounts × %d regions × %d days × %d files a day = %d keys", len(s.accounts), len(s.regions), len(s.days), s.perDay, s.Len())
	t.Logf("%-46s %6s %10s %12s %9s %13s", "window / filter", "LIST", "discovery", "object LIST", "objects", "per-day alt.")
	for _, c := range cases {
		m.reset()
		objects := 0
		first, last := c.f.days()
		if err := Walk(ctx, m, bucket, "", c.f, func(e Entry) error {
			objects++
			if e.Account == "" || !keep(c.f.Accounts, e.Account) || !keep(c.f.Regions, e.Region) ||
				(!first.IsZero() && e.Day.Before(first)) || (!last.IsZero() && e.Day.After(last)) {
				t.Fatalf("%s: yielded %+v", c.name, e)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		calls := m.reset()
		if c.calls != nil && fmt.Sprint(calls) != fmt.Sprint(c.calls) {
			t.Errorf("%s: calls\n%v\nwant\n%v", c.name, calls, c.calls)
		}
		// Every call is one the filter keeps; the range listings are
		// exactly one per kept account and region, plus a page per 1,000
		// keys of the window.
		nAcct, nReg := len(s.accounts), len(s.regions)
		if len(c.f.Accounts) > 0 {
			nAcct = len(c.f.Accounts)
		}
		if len(c.f.Regions) > 0 {
			nReg = len(c.f.Regions)
		}
		discovery, ranges := 0, 0
		for _, k := range calls {
			segs := strings.Split(k.Prefix, "/")
			if len(segs) > 3 && !keep(c.f.Accounts, segs[2]) {
				t.Errorf("%s: listed %+v, an account the filter drops", c.name, k)
			}
			if len(segs) > 5 && !keep(c.f.Regions, segs[4]) {
				t.Errorf("%s: listed %+v, a region the filter drops", c.name, k)
			}
			if k.Delimiter == "/" {
				discovery++
				continue
			}
			ranges++
			if len(segs) != 6 {
				t.Errorf("%s: object listing of %q, not a region prefix", c.name, k.Prefix)
			}
			if want := ""; first.IsZero() && k.StartAfter != want {
				t.Errorf("%s: StartAfter %q", c.name, k.StartAfter)
			} else if !first.IsZero() && k.StartAfter != k.Prefix+first.Format("2006/01/02") {
				t.Errorf("%s: StartAfter %q", c.name, k.StartAfter)
			}
		}
		days := len(s.days)
		if !first.IsZero() {
			days = int(last.Sub(first)/(24*time.Hour)) + 1
		}
		pages := (days*s.perDay)/1000 + 1 // the stop key may need one more page
		if ranges < nAcct*nReg || ranges > nAcct*nReg*pages {
			t.Errorf("%s: %d object listings, want %d to %d", c.name, ranges, nAcct*nReg, nAcct*nReg*pages)
		}
		if maxDisc := 3 + 2*nAcct; discovery > maxDisc {
			t.Errorf("%s: %d discovery listings, want at most %d", c.name, discovery, maxDisc)
		}
		perRegion := 0
		from, to := c.f.Since.Add(-c.f.margin()), c.f.Until.Add(c.f.margin())
		for d := range s.days {
			for n := range s.perDay {
				ts, _ := time.Parse("20060102T1504Z", s.stamps[d]+s.times[n])
				if (c.f.Since.IsZero() || !ts.Before(from)) && (c.f.Until.IsZero() || ts.Before(to)) {
					perRegion++
				}
			}
		}
		if want := nAcct * nReg * perRegion; objects != want {
			t.Errorf("%s: %d objects, want %d", c.name, objects, want)
		}
		// The per-day alternative, for the record.
		alt := discovery
		if err := Plan(ctx, m, bucket, "", c.f, func(p Part) error {
			alt += perDayCost(ctx, t, m, p)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		t.Logf("%-46s %6d %10d %12d %9d %13d", c.name, len(calls), discovery, ranges, objects, alt)
	}
}
