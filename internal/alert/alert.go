// Package alert holds the types the alert store, the delivery worker and
// the CLI share: an Alert (hits of one rule grouped by dedup key), its
// Status, severities and their order, and a Delivery (one row of the
// durable outbox: one message to one notifier). docs/alerts.md describes
// the lifecycle.
package alert

import (
	"fmt"
	"strings"
	"time"
)

// Status is where an alert is in its lifecycle.
type Status string

// The statuses of an alert. An open or acknowledged alert absorbs new hits
// of its rule and dedup key (inside the suppression window); a closed one
// does not, and the next hit opens a new alert.
const (
	Open         Status = "open"
	Acknowledged Status = "acknowledged"
	Closed       Status = "closed"
)

// ParseStatus returns the Status named s.
func ParseStatus(s string) (Status, bool) {
	switch st := Status(strings.ToLower(s)); st {
	case Open, Acknowledged, Closed:
		return st, true
	}
	if strings.EqualFold(s, "ack") {
		return Acknowledged, true
	}
	return "", false
}

// ParseStatuses reads a list of statuses as the CLI and the HTTP API take
// it: "" is the ones still needing attention (open and acknowledged),
// "all" is every status (nil), otherwise names separated by commas.
func ParseStatuses(list string) ([]Status, error) {
	switch list {
	case "all":
		return nil, nil
	case "":
		return []Status{Open, Acknowledged}, nil
	}
	var out []Status
	for _, s := range strings.Split(list, ",") {
		st, ok := ParseStatus(strings.TrimSpace(s))
		if !ok {
			return nil, fmt.Errorf("%q is not open, acknowledged, closed or all", s)
		}
		out = append(out, st)
	}
	return out, nil
}

// Severities are the severities in increasing order.
var Severities = []string{"info", "low", "medium", "high", "critical"}

// SeverityRank returns the position of a severity in Severities (info 0 …
// critical 4), or -1 for an unknown one.
func SeverityRank(s string) int {
	s = strings.ToLower(s)
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return -1
}

// Alert is a stored alert.
type Alert struct {
	ID        int64
	RuleID    string
	Severity  string
	Title     string
	LogType   string
	DedupKey  string
	Status    Status
	FirstSeen time.Time
	LastSeen  time.Time
	// Count is the number of records the alert's hits stand for.
	Count int64
	// EventIDs are the ids of the first records behind the alert (at most
	// MaxEventIDs are shown).
	EventIDs []string
	Tags     []string
	// Fields are the fields of the latest hit.
	Fields    map[string]string
	Note      string
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  time.Time // zero unless closed
}

// MaxEventIDs is how many event ids an Alert shows.
const MaxEventIDs = 100

// DeliveryStatus is the state of an outbox row.
type DeliveryStatus string

// The states of a delivery: pending until sent (also while it waits to be
// retried), delivered once sent, failed when retries ran out. Failed rows
// are kept so they can be seen (trawl alerts deliveries).
const (
	Pending   DeliveryStatus = "pending"
	Delivered DeliveryStatus = "delivered"
	Failed    DeliveryStatus = "failed"
)

// Delivery is one message of the outbox: alert AlertID to notifier
// Notifier. ID is stable and unique: receivers dedup on it (the webhook's
// X-Trawl-Delivery header, the e-mail's Message-ID, …).
type Delivery struct {
	ID          int64
	AlertID     int64
	Notifier    string
	Reason      string // why it was queued: "created" or "reminder"
	Status      DeliveryStatus
	Attempts    int
	CreatedAt   time.Time
	NextAttempt time.Time
	DeliveredAt time.Time
	LastError   string
}
