package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestOpenSearchTemplate(t *testing.T) {
	call := func(args ...string) (string, string, int) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(args, strings.NewReader(""), &out, &errb)
		return out.String(), errb.String(), code
	}
	out, errs, code := call("opensearch", "template")
	if code != exitOK || errs != "" {
		t.Fatalf("opensearch template: exit %d, stderr %q", code, errs)
	}
	for _, name := range []string{"cloudtrail", "vpcflowlogs", "guardduty"} {
		if !strings.Contains(out, "PUT _index_template/"+name+"\n{") {
			t.Errorf("no console request for %s in:\n%.300s", name, out)
		}
	}
	if !strings.Contains(out, `"flat_object"`) {
		t.Error("the opensearch flavor has no flat_object field")
	}

	out, errs, code = call("opensearch", "template", "--flavor", "elasticsearch", "--prefix", "prod-", "prod-guardduty")
	var body struct {
		IndexPatterns []string `json:"index_patterns"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &body) != nil || len(body.IndexPatterns) != 1 || body.IndexPatterns[0] != "prod-guardduty-*" {
		t.Errorf("one template: exit %d, stderr %q, stdout %.200s", code, errs, out)
	}
	if !strings.Contains(out, `"flattened"`) {
		t.Error("the elasticsearch flavor has no flattened field")
	}

	if _, errs, code := call("opensearch", "template", "--flavor", "solr"); code != exitUsage || !strings.Contains(errs, "solr") {
		t.Errorf("bad flavor: exit %d, stderr %q", code, errs)
	}
	if _, errs, code := call("opensearch", "template", "nope"); code != exitUsage || !strings.Contains(errs, "cloudtrail, vpcflowlogs, guardduty") {
		t.Errorf("unknown template: exit %d, stderr %q", code, errs)
	}
}
