// Package guardduty turns GuardDuty findings into typed records. It
// accepts the camelCase form of S3 exports and EventBridge events and the
// PascalCase form of the GetFindings API.
//
// A finding is read from its text with jsonscan, without building a tree:
// findings with long lists (port probes, DNS requests) reach tens of MB.
package guardduty

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/jsonscan"
	"github.com/trawl-project/trawl/internal/jsonval"
)

// ErrNoID is returned for a finding without an id, which cannot be placed
// in the current-state table.
var ErrNoID = errors.New("finding has no id")

// camel returns a key with its first letter in lower case, so that
// PascalCase keys match camelCase ones.
func camel(k string) string {
	if k != "" && k[0] >= 'A' && k[0] <= 'Z' {
		return string(k[0]+'a'-'A') + k[1:]
	}
	return k
}

// members calls fn for the members of the object v with camelCase keys.
func members(v string, fn func(key, value string)) {
	jsonscan.Members(v, func(k, x string) bool {
		fn(camel(k), x)
		return true
	})
}

// FromRaw builds a finding from its text, a valid JSON object. Field
// values are substrings of raw where possible. warn is told about each
// value that could not be kept as it was (it is then NULL); a finding
// whose versions cannot be ordered (no id, neither updatedAt nor createdAt
// usable) is an error.
func FromRaw(raw string, warn func(field, reason string)) (event.Finding, error) {
	f := event.Finding{Raw: raw}
	var created, updated, severity string
	members(raw, func(k, v string) {
		switch k {
		case "id":
			f.ID = jsonscan.Text(v)
		case "arn":
			f.ARN = jsonscan.Text(v)
		case "type":
			f.Type = jsonscan.Text(v)
		case "accountId":
			f.AccountID = jsonscan.Text(v)
		case "region":
			f.Region = jsonscan.Text(v)
		case "partition":
			f.Partition = jsonscan.Text(v)
		case "schemaVersion":
			f.SchemaVersion = jsonscan.Text(v)
		case "title":
			f.Title = jsonscan.Text(v)
		case "description":
			f.Description = jsonscan.Text(v)
		case "severity":
			severity = v
		case "createdAt":
			created = v
		case "updatedAt":
			updated = v
		case "resource":
			f.Resource = jsonText(v)
			members(v, func(k, x string) {
				if k == "resourceType" {
					f.ResourceType = jsonscan.Text(x)
				}
			})
		case "service":
			f.Service = jsonText(v)
			service(&f, v, warn)
		}
	})
	if f.ID == "" {
		return f, ErrNoID
	}
	if !jsonscan.IsNull(severity) {
		s, err := strconv.ParseFloat(jsonscan.Text(severity), 64)
		if err != nil {
			warn("severity", fmt.Sprintf("severity %s is not a number: stored as 0", jsonscan.Abbrev(severity)))
		} else {
			f.Severity = s
		}
	}
	f.CreatedAt = timeOf(created, "createdAt", warn)
	f.UpdatedAt = timeOf(updated, "updatedAt", warn)
	if f.UpdatedAt.IsZero() {
		if f.CreatedAt.IsZero() {
			return f, fmt.Errorf("finding %s has neither a usable updatedAt nor createdAt, which order its versions", f.ID)
		}
		f.UpdatedAt = f.CreatedAt
		warn("updatedAt", "no usable updatedAt: createdAt is used in its place")
	}
	return f, nil
}

func service(f *event.Finding, v string, warn func(field, reason string)) {
	members(v, func(k, x string) {
		switch k {
		case "action":
			members(x, func(k, y string) {
				if k == "actionType" {
					f.ActionType = jsonscan.Text(y)
				}
			})
		case "resourceRole":
			f.ResourceRole = jsonscan.Text(x)
		case "detectorId":
			f.DetectorID = jsonscan.Text(x)
		case "eventFirstSeen":
			f.FirstSeen = timeOf(x, "service.eventFirstSeen", warn)
		case "eventLastSeen":
			f.LastSeen = timeOf(x, "service.eventLastSeen", warn)
		case "count":
			f.Count = count(x, warn)
		case "archived":
			if b, ok := boolOf(x); ok {
				f.Archived = event.BoolOf(b)
			}
		}
	})
}

// timeOf reads a timestamp; a value that is present but not a usable time
// is reported and left zero (NULL).
func timeOf(v, field string, warn func(field, reason string)) time.Time {
	if jsonscan.IsNull(v) {
		return time.Time{}
	}
	t, ok := jsonval.TimeText(v)
	if !ok {
		warn(field, fmt.Sprintf("%s %s is not a timestamp in the years 1–9999: stored as NULL", field, jsonscan.Abbrev(v)))
	}
	return t
}

// count reads an integer; one that does not fit 64 bits is NULL (never a
// different number).
func count(v string, warn func(field, reason string)) event.Int {
	if jsonscan.IsNull(v) {
		return event.Int{}
	}
	t := jsonscan.Text(v)
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		return event.IntOf(n)
	}
	if x, err := strconv.ParseFloat(t, 64); err == nil && x == math.Trunc(x) && x >= -(1<<63) && x < 1<<63 {
		return event.IntOf(int64(x))
	}
	warn("service.count", fmt.Sprintf("service.count %s is not an integer of 64 bits: stored as NULL", jsonscan.Abbrev(v)))
	return event.Int{}
}

// boolOf reads true/false literals and the strings "true"/"false".
func boolOf(v string) (bool, bool) {
	switch strings.ToLower(jsonscan.Text(v)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// jsonText keeps a free-form value as JSON text, "" for null.
func jsonText(v string) string {
	if jsonscan.IsNull(v) {
		return ""
	}
	return v
}
