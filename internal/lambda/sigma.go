package lambda

import (
	"context"
	"strings"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/sigma"
)

// SigmaEvaluator is an Evaluator over Sigma rules: each (rule, CloudTrail
// record) that matches appends a Hit to the batch. It stands in for the
// rules engine, which brings the built-in pack, the watch list and
// per-rule settings, until that engine is wired in.
func SigmaEvaluator(rules []*sigma.Rule) Evaluator {
	return &sigmaEvaluator{rules: rules}
}

type sigmaEvaluator struct{ rules []*sigma.Rule }

func (s *sigmaEvaluator) Process(ctx context.Context, b *event.Batch) error {
	// Process calls OnMatch on this goroutine, for this batch only.
	p := &sigma.Processor{Rules: s.rules, OnMatch: func(r *sigma.Rule, e *event.CloudTrail) {
		b.Hits = append(b.Hits, SigmaHit(r, e))
	}}
	return p.Process(ctx, b)
}

// SigmaHit is the Hit of a Sigma rule matching a CloudTrail record: the
// rule's id, level and title, the record's id and time, and the fields a
// message shows (trawl's column names).
func SigmaHit(r *sigma.Rule, e *event.CloudTrail) event.Hit {
	var tags []string
	for _, t := range r.Tags() {
		if tech, ok := strings.CutPrefix(strings.ToLower(t), "attack.t"); ok {
			tags = append(tags, "T"+strings.ToUpper(tech))
		}
	}
	principal := e.Principal
	if principal == "" {
		principal = e.UserName
	}
	return event.Hit{
		RuleID:   r.ID(),
		Severity: severity(r.Level()),
		Title:    r.Title(),
		LogType:  event.KindCloudTrail,
		EventIDs: []string{e.EventID},
		First:    e.EventTime,
		Last:     e.EventTime,
		DedupKey: r.ID() + "|" + principal,
		Count:    1,
		Fields: map[string]string{
			"event_time":   e.EventTime.UTC().Format("2006-01-02T15:04:05Z"),
			"principal":    principal,
			"user_name":    e.UserName,
			"user_arn":     e.UserARN,
			"source_ip":    e.SourceIP,
			"event_source": e.EventSource,
			"event_name":   e.EventName,
			"region":       e.AWSRegion,
			"account":      e.RecipientAccountID,
			"user_agent":   e.UserAgent,
			"error_code":   e.ErrorCode,
		},
		Tags: tags,
	}
}

// severity maps Sigma's levels to Hit severities.
func severity(level string) string {
	switch strings.ToLower(level) {
	case "informational", "":
		return "info"
	case "low", "medium", "high", "critical":
		return strings.ToLower(level)
	}
	return "medium"
}
