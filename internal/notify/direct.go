package notify

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/event"
)

// Direct sends hits to notifiers at once, with no store and no outbox: the
// Lambda function's CloudWatch Logs path, where Lambda's own retry of a
// failed invocation takes the outbox's place. Each hit becomes an alert of
// count Count and is sent to the notifiers Route names for it.
//
// Delivery is at least once: when one of two notifiers fails, the retried
// invocation sends to both again. Message ids are a hash of the rule, the
// dedup key and the event ids, so they are the same on a retry and
// receivers can drop repeats.
type Direct struct {
	Notifiers map[string]*Configured
	// Route returns the names of the notifiers of a rule's alert of a
	// severity (config.Alerts.Route).
	Route func(rule, severity string) []string
}

// Notify sends every hit to its notifiers and returns every failure,
// joined; it tries all of them before it returns.
func (d *Direct) Notify(ctx context.Context, hits []event.Hit) error {
	var errs []error
	for _, h := range hits {
		a := AlertOf(h)
		id := messageID(h)
		for _, name := range d.Route(h.RuleID, h.Severity) {
			c := d.Notifiers[name]
			if c == nil {
				errs = append(errs, fmt.Errorf("rule %s: notifier %q is not configured", h.RuleID, name))
				continue
			}
			if err := c.send(ctx, alert.Delivery{ID: id, Reason: "created"}, a); err != nil {
				errs = append(errs, fmt.Errorf("notifier %s, rule %s: %w", name, h.RuleID, err))
			}
		}
	}
	return errors.Join(errs...)
}

// AlertOf returns the alert a single hit makes: what a message about it
// shows when no store keeps alerts.
func AlertOf(h event.Hit) alert.Alert {
	ids := h.EventIDs
	if len(ids) > alert.MaxEventIDs {
		ids = ids[:alert.MaxEventIDs]
	}
	return alert.Alert{
		RuleID: h.RuleID, Severity: h.Severity, Title: h.Title, LogType: h.LogType.String(),
		DedupKey: h.DedupKey, Status: alert.Open, FirstSeen: h.First, LastSeen: h.Last,
		Count: max(h.Count, 1), EventIDs: ids, Tags: h.Tags, Fields: h.Fields,
		CreatedAt: h.Last, UpdatedAt: h.Last,
	}
}

// messageID is a positive id stable for the same hit.
func messageID(h event.Hit) int64 {
	f := fnv.New64a()
	f.Write([]byte(h.RuleID + "\x00" + h.DedupKey + "\x00" + strings.Join(h.EventIDs, "\x00")))
	return int64(f.Sum64() >> 1)
}
