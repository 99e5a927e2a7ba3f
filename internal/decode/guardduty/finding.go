// Package guardduty turns parsed GuardDuty findings into typed records. It
// accepts the camelCase form of S3 exports and EventBridge events and the
// PascalCase form of the GetFindings API.
package guardduty

import (
	"errors"
	"strings"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/jsonval"
	"github.com/valyala/fastjson"
)

// IsFinding reports whether an object looks like a GuardDuty finding.
func IsFinding(v *fastjson.Value) bool {
	if jsonval.Get(v, "id") == nil || jsonval.Get(v, "type") == nil {
		return false
	}
	return jsonval.Get(v, "severity") != nil || jsonval.Get(v, "service") != nil ||
		strings.Contains(jsonval.String(jsonval.Get(v, "arn")), ":guardduty:")
}

// ErrNoID is returned for a finding without an id or updatedAt, which
// cannot be placed in the current-state table.
var ErrNoID = errors.New("finding has no id")

// FromValue builds a finding from a parsed finding object; raw is its text.
func FromValue(v *fastjson.Value, raw string) (event.Finding, error) {
	if v.Type() != fastjson.TypeObject {
		return event.Finding{}, errors.New("finding is not a JSON object")
	}
	s := func(keys ...string) string { return jsonval.String(jsonval.Path(v, keys...)) }
	f := event.Finding{
		ID:            s("id"),
		ARN:           s("arn"),
		Type:          s("type"),
		AccountID:     s("accountId"),
		Region:        s("region"),
		Partition:     s("partition"),
		SchemaVersion: s("schemaVersion"),
		Title:         s("title"),
		Description:   s("description"),
		ResourceType:  s("resource", "resourceType"),
		ActionType:    s("service", "action", "actionType"),
		ResourceRole:  s("service", "resourceRole"),
		DetectorID:    s("service", "detectorId"),
		Resource:      jsonval.JSON(jsonval.Get(v, "resource")),
		Service:       jsonval.JSON(jsonval.Get(v, "service")),
	}
	if f.ID == "" {
		return f, ErrNoID
	}
	f.Severity, _ = jsonval.Float64(jsonval.Get(v, "severity"))
	f.CreatedAt, _ = jsonval.Time(jsonval.Get(v, "createdAt"))
	f.UpdatedAt, _ = jsonval.Time(jsonval.Get(v, "updatedAt"))
	if f.UpdatedAt.IsZero() {
		f.UpdatedAt = f.CreatedAt
	}
	f.FirstSeen, _ = jsonval.Time(jsonval.Path(v, "service", "eventFirstSeen"))
	f.LastSeen, _ = jsonval.Time(jsonval.Path(v, "service", "eventLastSeen"))
	if n, ok := jsonval.Int64(jsonval.Path(v, "service", "count")); ok {
		f.Count = event.IntOf(n)
	}
	if b, ok := jsonval.Bool(jsonval.Path(v, "service", "archived")); ok {
		f.Archived = event.BoolOf(b)
	}
	f.Raw = strings.ToValidUTF8(raw, "\uFFFD")
	return f, nil
}
