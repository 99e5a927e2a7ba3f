package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/cwpattern"
	"github.com/trawl-project/trawl/internal/event"
)

// Watch is one compiled watch-list entry: every CloudTrail event of a
// principal or user name, or matching a CloudWatch Logs filter pattern,
// raises a hit whose title says who did what, when, from where.
type Watch struct {
	ID       string // watch-NAME
	severity string
	suppress time.Duration
	princ    string
	user     string
	filter   *cwpattern.Pattern
}

// NewWatch compiles a watch-list entry.
func NewWatch(w config.Watch) (*Watch, error) {
	if w.Name == "" {
		return nil, fmt.Errorf("rules.watch: an entry has no name")
	}
	n := 0
	for _, v := range []string{w.Principal, w.UserName, w.Filter} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("rules.watch %s: give exactly one of principal, user_name and filter", w.Name)
	}
	out := &Watch{ID: "watch-" + w.Name, severity: "medium", suppress: w.Suppress,
		princ: strings.ToLower(w.Principal), user: strings.ToLower(w.UserName)}
	if w.Severity != "" {
		switch w.Severity {
		case "info", "informational", "low", "medium", "high", "critical":
			out.severity = Severity(w.Severity)
		default:
			return nil, fmt.Errorf("rules.watch %s: severity %q is not info, low, medium, high or critical", w.Name, w.Severity)
		}
	}
	if w.Filter != "" {
		p, err := cwpattern.Parse(w.Filter)
		if err != nil {
			return nil, fmt.Errorf("rules.watch %s: filter: %w", w.Name, err)
		}
		out.filter = p
	}
	return out, nil
}

// NewWatchList compiles every entry of the configuration's watch list.
func NewWatchList(ws []config.Watch) ([]*Watch, error) {
	var out []*Watch
	seen := map[string]bool{}
	for _, w := range ws {
		c, err := NewWatch(w)
		if err != nil {
			return nil, err
		}
		if seen[c.ID] {
			return nil, fmt.Errorf("rules.watch: the name %q is used twice", w.Name)
		}
		seen[c.ID] = true
		out = append(out, c)
	}
	return out, nil
}

func (w *Watch) match(e *event.CloudTrail) bool {
	switch {
	case w.princ != "":
		return strings.EqualFold(e.Principal, w.princ)
	case w.user != "":
		return strings.EqualFold(e.UserName, w.user)
	}
	return w.filter.MatchString(e.Raw)
}

// Match reports whether the entry selects the event.
func (w *Watch) Match(e *event.CloudTrail) bool { return w.match(e) }

func (w *Watch) hit(e *event.CloudTrail) event.Hit {
	who := e.Principal
	if who == "" {
		who = e.UserName
	}
	title := fmt.Sprintf("%s: %s called %s %s from %s (%s) in %s, account %s at %s",
		w.ID, dash(who), dash(e.EventSource), dash(e.EventName), dash(e.SourceIP), dash(e.UserAgent),
		dash(e.AWSRegion), dash(e.RecipientAccountID), e.EventTime.UTC().Format(time.RFC3339))
	if e.ErrorCode != "" {
		title += ": failed with " + e.ErrorCode
	}
	key := w.ID + "|" + e.EventID
	if w.suppress > 0 {
		key = w.ID + "|" + who + "|" + e.EventSource + "|" + e.EventName
	}
	return event.Hit{
		RuleID: w.ID, Severity: w.severity, Title: title, LogType: event.KindCloudTrail,
		EventIDs: []string{e.EventID}, First: e.EventTime, Last: e.EventTime,
		DedupKey: key, Suppress: w.suppress, Count: 1, Fields: CloudTrailFields(e),
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
