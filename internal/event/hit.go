package event

import "time"

// Hit is one rule match: a streaming rule matching one record, or a
// scheduled rule (threshold, first-seen, aggregation) firing on a group of
// records. Streaming rules append hits to the batch of the record that
// matched (Batch.Hits), so the store writes them in the same transaction as
// the record and its ledger entry: a crash and re-run neither loses nor
// repeats an alert. Scheduled rules hand hits to the alert store directly.
type Hit struct {
	RuleID   string
	Severity string // info, low, medium, high or critical
	Title    string // the rule's title template, rendered for this hit
	LogType  Kind
	// EventIDs identify the records behind the hit: CloudTrail eventID,
	// GuardDuty finding id, or a flow record's row key.
	EventIDs []string
	// First and Last are the times of the earliest and latest record.
	First, Last time.Time
	// DedupKey groups hits into one alert: a hit whose key matches an open
	// alert of the same rule less than Suppress after its last_seen updates
	// that alert (count, last_seen, event_ids) instead of creating one.
	DedupKey string
	Suppress time.Duration
	// Count is the number of records the hit stands for (1 for a
	// streaming hit, the group size for a threshold).
	Count int64
	// Fields are the values templates and notifiers show: principal,
	// source_ip, event_source, event_name, region, account, user_agent,
	// error_code, … (names are trawl's column names).
	Fields map[string]string
	// Tags carries the rule's MITRE ATT&CK techniques (e.g. "T1136.003").
	Tags []string
}

// Times returns the times of the hit's first and last records, each
// standing in for the other when missing, and now for both when the hit
// has neither.
func (h *Hit) Times(now time.Time) (first, last time.Time) {
	first, last = h.First, h.Last
	if first.IsZero() {
		first = last
	}
	if last.IsZero() {
		last = first
	}
	if first.IsZero() {
		first, last = now, now
	}
	return first, last
}
