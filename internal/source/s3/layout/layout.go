// Package layout finds the AWS log layouts in an S3 bucket and lists only
// the prefixes a filter needs. It is pure: it sees the bucket only through
// Lister, a delimiter/StartAfter listing that ListObjectsV2 implements.
//
// The layouts it knows ([prefix/] is any custom prefix, up to MaxSearchDepth
// levels, above AWSLogs/):
//
//	[prefix/]AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>
//	[prefix/]AWSLogs/[<o-id>/]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<file>
//	[prefix/]AWSLogs/[<o-id>/]<account>/CloudTrail-Insight/<region>/YYYY/MM/DD/<file>
//	[prefix/]AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/[HH/]<file>
//	[prefix/]AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/year=YYYY/month=MM/day=DD/hour=HH/<file>
//	[prefix/]AWSLogs/<account>/GuardDuty/<region>/YYYY/MM/DD/<file>
//
// Discovery descends level by level with delimiter listings (AWSLogs/ →
// organisations and accounts → services → regions), never listing the
// whole bucket. A filter prunes as early as it can: a level whose children
// the filter names (accounts under an organisation, services, regions) is
// not listed at all, its children are built from the filter. Each region
// prefix is then read with one listing without a delimiter that starts
// after the first day of the window (StartAfter) and stops at the first key
// past its last day: its cost is the number of 1,000-key pages the window
// holds, at least one request per account, service and region. Anything
// that is not a known layout is listed plainly (KindOther).
//
// The window follows delivery times in keys, not event times: AWS writes a
// file under the day (UTC) it delivers it, so an event of 23:58 delivered at
// 00:03 sits under the next day. The window is widened by Filter.Margin
// (default one hour) on both sides: the day before Since is listed when
// Since is within the margin of its midnight, the day after Until when
// Until is. Within the listed days a file whose name carries a time
// (CloudTrail, its digests and Insights, VPC flow logs:
// …_20261103T0105Z_…) is kept when that time is in [Since-Margin,
// Until+Margin); a file without one (GuardDuty exports) is kept for its
// day. The reader still filters events by their own time.
package layout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Object is one S3 object as a listing returns it.
type Object struct {
	Key  string
	Size int64
	ETag string
}

// Lister lists a bucket as ListObjectsV2 does: keys under prefix in
// lexical order after startAfter, grouped into common prefixes at the
// first delimiter past prefix when delimiter is not empty. page is called
// once per response (prefixes and objects of that page) and an error it
// returns ends the listing and is returned by List.
type Lister interface {
	List(ctx context.Context, bucket, prefix, delimiter, startAfter string, page func(prefixes []string, objects []Object) error) error
}

// Kinds of object.
const (
	KindCloudTrail        = "cloudtrail"
	KindCloudTrailDigest  = "cloudtrail-digest"
	KindCloudTrailInsight = "cloudtrail-insight"
	KindVPCFlow           = "vpcflow"
	KindGuardDuty         = "guardduty"
	// KindOther is an object outside the known layouts (or under a service
	// trawl does not collect, such as AWSLogs/<account>/Config/).
	KindOther = "other"
)

// Kinds returns every kind, KindOther last.
func Kinds() []string {
	return []string{KindCloudTrail, KindCloudTrailDigest, KindCloudTrailInsight, KindVPCFlow, KindGuardDuty, KindOther}
}

// DefaultMargin is the widening of a window when Filter.Margin is zero.
const DefaultMargin = time.Hour

// MaxSearchDepth is how many levels of custom prefix above AWSLogs/ are
// searched with delimiter listings; a prefix deeper than that is listed
// plainly (KindOther).
const MaxSearchDepth = 3

// Filter selects objects. A zero Filter selects everything. Empty slices
// do not restrict; an object whose account or region is not known (one of
// KindOther outside AWSLogs/<account>/) is excluded by any Accounts or
// Regions restriction.
type Filter struct {
	// Since and Until bound the delivery day (UTC) in the key: days from
	// that of Since-Margin to that of Until+Margin (Until exclusive) are
	// listed. Zero means unbounded. The window does not apply to
	// KindOther, whose keys carry no known date.
	Since, Until time.Time
	// Margin widens the window on both sides; 0 means DefaultMargin,
	// negative none. GuardDuty exports every 6 hours by default: a window
	// that must hold every finding updated before Until wants 6h.
	Margin time.Duration
	// Accounts are 12-digit account ids.
	Accounts []string
	// Regions are region names (us-east-1).
	Regions []string
	// Kinds are Kind* constants; KindOther selects keys outside the known
	// layouts.
	Kinds []string
}

// Validate reports an unknown kind, a malformed account or an empty window.
func (f Filter) Validate() error {
	for _, a := range f.Accounts {
		if !accountRE.MatchString(a) {
			return fmt.Errorf("layout: account %q is not a 12-digit account id", a)
		}
	}
	for _, k := range f.Kinds {
		if !slices.Contains(Kinds(), k) {
			return fmt.Errorf("layout: unknown kind %q (want one of %s)", k, strings.Join(Kinds(), ", "))
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return fmt.Errorf("layout: window is empty: until %s is not after since %s",
			f.Until.Format(time.RFC3339), f.Since.Format(time.RFC3339))
	}
	return nil
}

func (f Filter) margin() time.Duration {
	switch {
	case f.Margin == 0:
		return DefaultMargin
	case f.Margin < 0:
		return 0
	}
	return f.Margin
}

// days returns the first and last delivery day of the window (UTC
// midnights); a zero time is unbounded.
func (f Filter) days() (first, last time.Time) {
	m := f.margin()
	if !f.Since.IsZero() {
		first = f.Since.UTC().Add(-m).Truncate(24 * time.Hour)
	}
	if !f.Until.IsZero() {
		last = f.Until.UTC().Add(-time.Nanosecond).Add(m).Truncate(24 * time.Hour)
	}
	return first, last
}

func keep(set []string, v string) bool { return len(set) == 0 || slices.Contains(set, v) }

// Entry is an object and what its key says.
type Entry struct {
	Object
	// Kind is one of the Kind* constants.
	Kind string
	// Org is the organisation id of an organisation trail, Account and
	// Region those of the key ("" when the layout has none).
	Org, Account, Region string
	// Hive is set for the Hive-compatible VPC flow-log layout.
	Hive bool
	// Day is the delivery day in the key (UTC midnight); zero for KindOther.
	Day time.Time
	// Time is the time in the file name (…_20261103T0105Z_…, the last
	// such part), zero when it has none (GuardDuty exports, KindOther).
	Time time.Time
}

// Part is one listing the walk makes for objects: every key under Prefix
// after StartAfter and before Stop ("" for none). With Delimiter "/" only
// the objects directly under Prefix are meant (a discovery level that holds
// loose objects; Walk reads them during discovery and does not list again).
type Part struct {
	Kind                 string
	Org, Account, Region string
	Hive                 bool
	Prefix, StartAfter   string
	Stop                 string
	Delimiter            string
	// Dates is the prefix the delivery dates of keys follow (the region
	// prefix): Prefix itself unless the walk's root is inside the dates.
	Dates string
	// First and Last are the delivery days kept (zero: unbounded).
	First, Last time.Time
	// From and To bound the time in a file name, To excluded (zero:
	// unbounded): the window widened by the margin.
	From, To time.Time
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	orgRE     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
)

var services = map[string]string{
	"CloudTrail":         KindCloudTrail,
	"CloudTrail-Digest":  KindCloudTrailDigest,
	"CloudTrail-Insight": KindCloudTrailInsight,
	"vpcflowlogs":        KindVPCFlow,
	"GuardDuty":          KindGuardDuty,
}

func serviceOf(kind string) string {
	for s, k := range services {
		if k == kind {
			return s
		}
	}
	return ""
}

type level int

const (
	lvSearch      level = iota // above AWSLogs/
	lvAWSLogs                  // AWSLogs/
	lvOrg                      // AWSLogs/<o-id>/
	lvAccount                  // AWSLogs/[o-id/]<account>/
	lvHiveAccount              // AWSLogs/aws-account-id=<account>/
	lvService                  // …/<service>/ (Hive: aws-service=vpcflowlogs/)
	lvRegion                   // …/<region>/: dated keys below
	lvOther                    // not a known layout: plain listing
)

type node struct {
	lv                         level
	prefix                     string // ends in "/" or is ""
	depth                      int    // custom levels above AWSLogs/
	dates                      string // region prefix, when prefix is inside its dates
	org, account, kind, region string
	hive                       bool
}

// child is the node of the prefix n.prefix+seg+"/".
func (n node) child(seg string) node {
	c := n
	c.prefix = n.prefix + seg + "/"
	switch n.lv {
	case lvSearch:
		switch {
		case seg == "AWSLogs":
			c.lv = lvAWSLogs
		case n.depth < MaxSearchDepth:
			c.depth++
		default:
			c.lv = lvOther
		}
	case lvAWSLogs:
		switch {
		case orgRE.MatchString(seg):
			c.lv, c.org = lvOrg, seg
		case accountRE.MatchString(seg):
			c.lv, c.account = lvAccount, seg
		case strings.HasPrefix(seg, "aws-account-id=") && accountRE.MatchString(seg[len("aws-account-id="):]):
			c.lv, c.account, c.hive = lvHiveAccount, seg[len("aws-account-id="):], true
		default:
			c.lv = lvOther
		}
	case lvOrg:
		if accountRE.MatchString(seg) {
			c.lv, c.account = lvAccount, seg
		} else {
			c.lv = lvOther
		}
	case lvAccount:
		if k, ok := services[seg]; ok {
			c.lv, c.kind = lvService, k
		} else {
			c.lv = lvOther
		}
	case lvHiveAccount:
		if seg == "aws-service=vpcflowlogs" {
			c.lv, c.kind = lvService, KindVPCFlow
		} else {
			c.lv = lvOther
		}
	case lvService:
		switch {
		case !n.hive && seg != "":
			c.lv, c.region = lvRegion, seg
		case n.hive && strings.HasPrefix(seg, "aws-region=") && len(seg) > len("aws-region="):
			c.lv, c.region = lvRegion, seg[len("aws-region="):]
		default:
			c.lv, c.kind = lvOther, ""
		}
	default:
		c.lv = lvOther
	}
	if c.lv == lvOther {
		c.kind, c.region = KindOther, ""
	}
	return c
}

// rootNode follows root's segments from the bucket's top without listing.
func rootNode(root string) node {
	n := node{lv: lvSearch}
	if root == "" {
		return n
	}
	for _, seg := range strings.Split(strings.TrimSuffix(root, "/"), "/") {
		if n.lv == lvRegion {
			// Inside a region's dates: a part of the region's listing.
			if n.dates == "" {
				n.dates = n.prefix
			}
			n.prefix += seg + "/"
			continue
		}
		n = n.child(seg)
		// The search for AWSLogs/ goes MaxSearchDepth levels below the
		// root, whatever the root's own depth.
		n.depth = 0
	}
	n.prefix = root
	return n
}

// selected reports whether the filter may keep objects under n (pruning).
func (n node) selected(f *Filter) bool {
	if n.account != "" && !keep(f.Accounts, n.account) {
		return false
	}
	if n.kind != "" && !keep(f.Kinds, n.kind) {
		return false
	}
	if n.region != "" && !keep(f.Regions, n.region) {
		return false
	}
	if n.lv == lvOther {
		// No account or region is known below an unknown prefix.
		if (n.account == "" && len(f.Accounts) > 0) || len(f.Regions) > 0 {
			return false
		}
	}
	return true
}

// loose reports whether objects directly under discovery level n are kept
// (as KindOther).
func (n node) loose(f *Filter) bool {
	o := n
	o.lv, o.kind, o.region = lvOther, KindOther, ""
	return o.selected(f)
}

// errStop ends a listing early (past a window); errBreak ends All when
// its consumer stops. Neither leaves the package.
var (
	errStop  = errors.New("layout: stop")
	errBreak = errors.New("layout: break")
)

type walker struct {
	l      Lister
	bucket string
	f      Filter
	first  time.Time
	last   time.Time
	from   time.Time
	to     time.Time
	part   func(Part) error
	loose  func(n node, o Object) error
}

// Walk yields every object under root (a folder: "/" is appended when
// missing) that the filter keeps, lazily: discovery levels one at a time,
// then the objects of each account/service/region in key order. An error
// from yield ends the walk and is returned.
func Walk(ctx context.Context, l Lister, bucket, root string, f Filter, yield func(Entry) error) error {
	w := &walker{l: l, bucket: bucket, f: f}
	w.part = func(p Part) error { return p.List(ctx, l, bucket, yield) }
	w.loose = func(n node, o Object) error {
		return yield(Entry{Object: o, Kind: KindOther, Org: n.org, Account: n.account, Hive: n.hive})
	}
	return w.run(ctx, root)
}

// All is Walk as an iterator; the error, if any, is yielded last with a
// zero Entry.
func All(ctx context.Context, l Lister, bucket, root string, f Filter) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		err := Walk(ctx, l, bucket, root, f, func(e Entry) error {
			if !yield(e, nil) {
				return errBreak
			}
			return nil
		})
		if err != nil && !errors.Is(err, errBreak) {
			yield(Entry{}, err)
		}
	}
}

// Pull is All as a pull iterator, for a source whose Next asks for one
// object at a time: next returns io.EOF after the last object. stop must be
// called when the caller is done (it ends the listing early when needed).
func Pull(ctx context.Context, l Lister, bucket, root string, f Filter) (next func() (Entry, error), stop func()) {
	pull, stop := iter.Pull2(All(ctx, l, bucket, root, f))
	return func() (Entry, error) {
		e, err, ok := pull()
		if !ok {
			return Entry{}, io.EOF
		}
		return e, err
	}, stop
}

// Plan discovers the layout under root and calls part for each listing the
// objects need, in key order, without listing them. Parts are independent:
// a caller may list them concurrently (Part.List).
func Plan(ctx context.Context, l Lister, bucket, root string, f Filter, part func(Part) error) error {
	w := &walker{l: l, bucket: bucket, f: f, part: part}
	var seen *node
	w.loose = func(n node, _ Object) error {
		if seen != nil && seen.prefix == n.prefix {
			return nil
		}
		seen = &n
		return part(Part{Kind: KindOther, Org: n.org, Account: n.account, Hive: n.hive, Prefix: n.prefix, Delimiter: "/"})
	}
	return w.run(ctx, root)
}

func (w *walker) run(ctx context.Context, root string) error {
	if err := w.f.Validate(); err != nil {
		return err
	}
	w.first, w.last = w.f.days()
	if !w.f.Since.IsZero() {
		w.from = w.f.Since.UTC().Add(-w.f.margin())
	}
	if !w.f.Until.IsZero() {
		w.to = w.f.Until.UTC().Add(w.f.margin())
	}
	if root != "" && !strings.HasSuffix(root, "/") {
		root += "/"
	}
	n := rootNode(root)
	if !n.selected(&w.f) {
		return nil
	}
	return w.visit(ctx, n)
}

func (w *walker) visit(ctx context.Context, n node) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch n.lv {
	case lvRegion:
		return w.part(w.regionPart(n))
	case lvOther:
		return w.part(Part{Kind: KindOther, Org: n.org, Account: n.account, Hive: n.hive, Prefix: n.prefix})
	}
	// Children built from the filter: the level is not listed.
	if segs := w.constructed(n); segs != nil {
		for _, s := range segs {
			c := n.child(s)
			if c.selected(&w.f) {
				if err := w.visit(ctx, c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var kids []node
	keepLoose := n.loose(&w.f)
	err := w.l.List(ctx, w.bucket, n.prefix, "/", "", func(prefixes []string, objects []Object) error {
		for _, p := range prefixes {
			if !strings.HasPrefix(p, n.prefix) || !strings.HasSuffix(p, "/") {
				continue
			}
			c := n.child(strings.TrimSuffix(p[len(n.prefix):], "/"))
			if c.selected(&w.f) {
				kids = append(kids, c)
			}
		}
		if keepLoose {
			for _, o := range objects {
				if err := w.loose(n, o); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range kids {
		if err := w.visit(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// constructed returns the child segments of n when the filter names them
// all and nothing else under n can be kept, nil when n must be listed.
func (w *walker) constructed(n node) []string {
	f := &w.f
	switch n.lv {
	case lvOrg:
		if len(f.Accounts) > 0 {
			return sortedUnique(f.Accounts)
		}
	case lvAccount, lvHiveAccount:
		if len(f.Kinds) == 0 || slices.Contains(f.Kinds, KindOther) {
			return nil
		}
		var segs []string
		for _, k := range f.Kinds {
			switch {
			case n.lv == lvHiveAccount && k == KindVPCFlow:
				segs = append(segs, "aws-service=vpcflowlogs")
			case n.lv == lvAccount:
				segs = append(segs, serviceOf(k))
			}
		}
		if segs == nil {
			return []string{}
		}
		return sortedUnique(segs)
	case lvService:
		if len(f.Regions) > 0 {
			segs := sortedUnique(f.Regions)
			if n.hive {
				for i := range segs {
					segs[i] = "aws-region=" + segs[i]
				}
			}
			return segs
		}
	}
	return nil
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// dayKey is a day as it appears in keys of the layout.
func dayKey(t time.Time, hive bool) string {
	if hive {
		return t.Format("year=2006/month=01/day=02")
	}
	return t.Format("2006/01/02")
}

func (w *walker) regionPart(n node) Part {
	dates := n.dates
	if dates == "" {
		dates = n.prefix
	}
	p := Part{Kind: n.kind, Org: n.org, Account: n.account, Region: n.region, Hive: n.hive,
		Prefix: n.prefix, Dates: dates, First: w.first, Last: w.last, From: w.from, To: w.to}
	if !w.first.IsZero() {
		// Before every key of the first day, after every key of the one before.
		p.StartAfter = dates + dayKey(w.first, n.hive)
	}
	if !w.last.IsZero() {
		p.Stop = dates + dayKey(w.last.AddDate(0, 0, 1), n.hive)
	}
	return p
}

// num reads the decimal digits of s; ok is false for anything else.
func num(s string) (n int, ok bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// date checks a calendar date and returns its midnight (UTC).
func date(y, m, d int) (time.Time, bool) {
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t, m >= 1 && m <= 12 && t.Day() == d
}

// parseDay reads the delivery day at the start of rest (the key after the
// region prefix): "YYYY/MM/DD/" or "year=YYYY/month=MM/day=DD/".
func parseDay(rest string, hive bool) (time.Time, bool) {
	var ys, ms, ds string
	if hive {
		if len(rest) < 26 || rest[:5] != "year=" || rest[9:16] != "/month=" || rest[18:23] != "/day=" || rest[25] != '/' {
			return time.Time{}, false
		}
		ys, ms, ds = rest[5:9], rest[16:18], rest[23:25]
	} else {
		if len(rest) < 11 || rest[4] != '/' || rest[7] != '/' || rest[10] != '/' {
			return time.Time{}, false
		}
		ys, ms, ds = rest[:4], rest[5:7], rest[8:10]
	}
	y, ok1 := num(ys)
	m, ok2 := num(ms)
	d, ok3 := num(ds)
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return date(y, m, d)
}

// List lists the part and yields its objects in key order. Objects of a
// dated part whose key has no date are kept only when the part has no
// window.
func (p Part) List(ctx context.Context, l Lister, bucket string, yield func(Entry) error) error {
	dated := p.Kind != KindOther
	window := !p.First.IsZero() || !p.Last.IsZero()
	if (p.Stop != "" && p.Prefix >= p.Stop) ||
		(p.StartAfter > p.Prefix && !strings.HasPrefix(p.StartAfter, p.Prefix)) {
		return nil // the window holds no key under Prefix
	}
	dates := p.Dates
	if dates == "" {
		dates = p.Prefix
	}
	err := l.List(ctx, bucket, p.Prefix, p.Delimiter, p.StartAfter, func(_ []string, objects []Object) error {
		for _, o := range objects {
			if p.Stop != "" && o.Key >= p.Stop {
				return errStop
			}
			e := Entry{Object: o, Kind: p.Kind, Org: p.Org, Account: p.Account, Region: p.Region, Hive: p.Hive}
			if dated {
				d, ok := parseDay(strings.TrimPrefix(o.Key, dates), p.Hive)
				if window && (!ok || (!p.First.IsZero() && d.Before(p.First)) || (!p.Last.IsZero() && d.After(p.Last))) {
					continue
				}
				if ok {
					e.Day = d
				}
				e.Time = nameTime(o.Key)
				if window && !e.Time.IsZero() && ((!p.From.IsZero() && e.Time.Before(p.From)) || (!p.To.IsZero() && !e.Time.Before(p.To))) {
					continue
				}
			}
			if err := yield(e); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// NameTime is the time an AWS delivery file name carries (the last
// "_YYYYMMDDTHHMMZ" or "_YYYYMMDDTHHMMSSZ" part of the key's file name that
// a "_" or "." follows), or the zero time.
func NameTime(key string) time.Time { return nameTime(key) }

// nameTime reads the last "_YYYYMMDDTHHMMZ" or "_YYYYMMDDTHHMMSSZ" part of
// a key's file name that a "_" or "." follows.
func nameTime(key string) time.Time {
	base := key[strings.LastIndexByte(key, '/')+1:]
	for i := len(base) - 1; i >= 9; i-- {
		if base[i] != 'T' || base[i-9] != '_' {
			continue
		}
		for _, n := range []int{6, 4} {
			end := i + 1 + n
			if end+1 >= len(base) || base[end] != 'Z' || (base[end+1] != '_' && base[end+1] != '.') {
				continue
			}
			y, ok1 := num(base[i-8 : i-4])
			mo, ok2 := num(base[i-4 : i-2])
			d, ok3 := num(base[i-2 : i])
			hh, ok4 := num(base[i+1 : i+3])
			mm, ok5 := num(base[i+3 : i+5])
			ss, ok6 := 0, true
			if n == 6 {
				ss, ok6 = num(base[i+5 : i+7])
			}
			day, ok := date(y, mo, d)
			if ok && ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && hh < 24 && mm < 60 && ss < 60 {
				return day.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute + time.Duration(ss)*time.Second)
			}
		}
	}
	return time.Time{}
}
