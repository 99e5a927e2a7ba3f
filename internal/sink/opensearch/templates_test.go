package opensearch_test

import (
	"encoding/json"
	"testing"

	"github.com/trawl-project/trawl/internal/schema"
	"github.com/trawl-project/trawl/internal/sink/opensearch"
)

type tmpl struct {
	IndexPatterns []string `json:"index_patterns"`
	Template      struct {
		Mappings struct {
			Dynamic    bool                      `json:"dynamic"`
			Properties map[string]map[string]any `json:"properties"`
		} `json:"mappings"`
	} `json:"template"`
}

func names[T any](cols []schema.Column[T]) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name)
	}
	return out
}

func TestTemplates(t *testing.T) {
	flat := map[string]string{opensearch.FlavorOpenSearch: "flat_object", opensearch.FlavorElasticsearch: "flattened", opensearch.FlavorPlain: "object"}
	for flavor, flatType := range flat {
		ts := opensearch.Templates(flavor)
		cols := map[string][]string{
			"cloudtrail":  names(schema.CloudTrail),
			"vpcflowlogs": names(schema.VPCFlow),
			"guardduty":   names(schema.Finding),
		}
		if len(ts) != len(cols) {
			t.Fatalf("%s: %d templates, want %d", flavor, len(ts), len(cols))
		}
		for name, want := range cols {
			var tp tmpl
			if err := json.Unmarshal(ts[name], &tp); err != nil {
				t.Fatalf("%s %s: %v", flavor, name, err)
			}
			props := tp.Template.Mappings.Properties
			if tp.Template.Mappings.Dynamic || len(tp.IndexPatterns) != 1 || tp.IndexPatterns[0] != name+"-*" {
				t.Errorf("%s %s: dynamic %v, patterns %v", flavor, name, tp.Template.Mappings.Dynamic, tp.IndexPatterns)
			}
			for _, c := range want {
				if props[c] == nil {
					t.Errorf("%s %s: column %s is not mapped", flavor, name, c)
				}
			}
			if r := props["raw"]; r["index"] != false {
				t.Errorf("%s %s: raw is indexed: %v", flavor, name, r)
			}
			if props["@timestamp"]["type"] != "date" {
				t.Errorf("%s %s: @timestamp %v", flavor, name, props["@timestamp"])
			}
		}
		var ct, gd, vpc tmpl
		_ = json.Unmarshal(ts["cloudtrail"], &ct)
		_ = json.Unmarshal(ts["guardduty"], &gd)
		_ = json.Unmarshal(ts["vpcflowlogs"], &vpc)
		for _, f := range []string{"request_parameters", "response_elements", "additional_event_data", "service_event_details", "resources"} {
			if got := ct.Template.Mappings.Properties[f]["type"]; got != flatType {
				t.Errorf("%s cloudtrail %s: type %v, want %s", flavor, f, got, flatType)
			}
		}
		for _, f := range []string{"resource", "service"} {
			if got := gd.Template.Mappings.Properties[f]["type"]; got != flatType {
				t.Errorf("%s guardduty %s: type %v, want %s", flavor, f, got, flatType)
			}
		}
		p := ct.Template.Mappings.Properties
		if p["event_time"]["type"] != "date" || p["event_name"]["type"] != "keyword" || p["error_message"]["type"] != "text" || p["read_only"]["type"] != "boolean" || p["src_asn"]["type"] != "long" {
			t.Errorf("%s cloudtrail: event_time %v, event_name %v, error_message %v, read_only %v, src_asn %v", flavor,
				p["event_time"], p["event_name"], p["error_message"], p["read_only"], p["src_asn"])
		}
		v := vpc.Template.Mappings.Properties
		if v["srcaddr"]["type"] != "ip" || v["dstport"]["type"] != "integer" || v["bytes"]["type"] != "long" {
			t.Errorf("%s vpcflowlogs: srcaddr %v, dstport %v, bytes %v", flavor, v["srcaddr"], v["dstport"], v["bytes"])
		}
		if g := gd.Template.Mappings.Properties; g["severity"]["type"] != "double" {
			t.Errorf("%s guardduty: severity %v", flavor, g["severity"])
		}
	}
}
