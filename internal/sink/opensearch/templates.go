package opensearch

import (
	"encoding/json"
	"fmt"

	"github.com/trawl-project/trawl/internal/schema"
)

// Template is one composable index template (PUT _index_template/Name).
type Template struct {
	Name string
	Body []byte // JSON
}

// ignoreAbove keeps keyword values longer than this out of the index
// (they stay in _source): Lucene refuses terms over 32766 bytes, and a
// refused document would stop the ingest.
const ignoreAbove = 8191

// textFields are analysed full text, with a keyword sub-field.
var textFields = map[string]bool{"error_message": true, "title": true, "description": true}

// ipFields hold addresses: mapped as ip (malformed values are kept in
// _source and not indexed).
var ipFields = map[string]map[string]bool{
	IndexVPCFlow: {"srcaddr": true, "dstaddr": true, "pkt_srcaddr": true, "pkt_dstaddr": true},
}

// Templates returns the index templates for a flavor (FlavorOpenSearch,
// FlavorElasticsearch or FlavorPlain; "" is FlavorOpenSearch) without an
// index prefix, by template name.
func Templates(flavor string) map[string][]byte {
	m := map[string][]byte{}
	for _, t := range PrefixedTemplates(flavor, "") {
		m[t.Name] = t.Body
	}
	return m
}

// PrefixedTemplates returns the index templates for a flavor and index
// prefix, in the order cloudtrail, vpcflowlogs, guardduty. Each matches
// prefix+name+"-*" and maps every column of the table of internal/schema.
func PrefixedTemplates(flavor, prefix string) []Template {
	if flavor == "" {
		flavor = FlavorOpenSearch
	}
	var out []Template
	add := func(base, desc string, props map[string]any) {
		body := map[string]any{
			"index_patterns": []string{prefix + base + "-*"},
			"priority":       200,
			"template": map[string]any{
				"mappings": map[string]any{
					// Unknown fields are kept in _source but not mapped, so a
					// document can never grow the mapping.
					"dynamic":    false,
					"properties": props,
				},
			},
			"_meta": map[string]any{"managed_by": "trawl", "description": desc},
		}
		b, err := json.MarshalIndent(body, "", "  ")
		if err != nil {
			panic(fmt.Sprintf("opensearch: template %s: %v", base, err)) // maps of plain values always marshal
		}
		out = append(out, Template{Name: prefix + base, Body: append(b, '\n')})
	}

	ct := columnProps(IndexCloudTrail, schema.CloudTrail, nil, flavor)
	for _, x := range ctExtra {
		ct[x.name] = keyword()
	}
	ct["session_created_at"] = map[string]any{"type": "date"}
	for _, x := range ctObjects {
		ct[x.name] = flatObject(flavor)
	}
	// sourceIPAddress is an address or a service name: a keyword, with
	// the address in source_ip.ip.
	ct["source_ip"] = map[string]any{"type": "keyword", "ignore_above": ignoreAbove,
		"fields": map[string]any{"ip": map[string]any{"type": "ip", "ignore_malformed": true}}}
	ct["user_agent"] = map[string]any{"type": "keyword", "ignore_above": ignoreAbove,
		"fields": map[string]any{"text": map[string]any{"type": "text"}}}
	add(IndexCloudTrail, "trawl: CloudTrail events, one document per event id", ct)

	flow := columnProps(IndexVPCFlow, schema.VPCFlow, nil, flavor)
	flow["object"] = keyword()
	add(IndexVPCFlow, "trawl: VPC flow log records, one document per (object, unit)", flow)

	add(IndexGuardDuty, "trawl: GuardDuty findings, the latest version of each (external version = updatedAt in ms)",
		columnProps(IndexGuardDuty, schema.Finding, findingObjects, flavor))
	return out
}

func keyword() map[string]any {
	return map[string]any{"type": "keyword", "ignore_above": ignoreAbove}
}

// flatObject maps a free-form JSON object without adding a field per key.
func flatObject(flavor string) map[string]any {
	switch flavor {
	case FlavorElasticsearch:
		return map[string]any{"type": "flattened", "ignore_above": ignoreAbove}
	case FlavorPlain:
		return map[string]any{"type": "object", "enabled": false}
	}
	return map[string]any{"type": "flat_object"}
}

func columnProps[T any](index string, cols []schema.Column[T], objects map[string]bool, flavor string) map[string]any {
	props := map[string]any{"@timestamp": map[string]any{"type": "date"}}
	for _, c := range cols {
		var m map[string]any
		switch c.Type {
		case schema.String:
			switch {
			case c.Name == "raw":
				// The record as it came: returned with hits, not searchable.
				m = map[string]any{"type": "text", "index": false}
			case objects[c.Name]:
				m = flatObject(flavor)
			case ipFields[index][c.Name]:
				m = map[string]any{"type": "ip", "ignore_malformed": true}
			case textFields[c.Name]:
				m = map[string]any{"type": "text",
					"fields": map[string]any{"keyword": keyword()}}
			default:
				m = keyword()
			}
		case schema.Timestamp:
			m = map[string]any{"type": "date"}
		case schema.Bool:
			m = map[string]any{"type": "boolean"}
		case schema.Int32:
			m = map[string]any{"type": "integer"}
		case schema.Int64:
			m = map[string]any{"type": "long"}
		case schema.Float64:
			m = map[string]any{"type": "double"}
		}
		props[c.Name] = m
	}
	return props
}
