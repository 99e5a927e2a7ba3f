package search

import "testing"

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		t                 *Table
		col, field, typ   string
		resolveFrom, back string
	}{
		{CloudTrail, "event_name", "eventName", "string", "EVENTNAME", "event_name"},
		{CloudTrail, "source_ip", "sourceIPAddress", "ip", "sourceIPAddress", "source_ip"},
		{CloudTrail, "read_only", "readOnly", "bool", "read_only", "read_only"},
		{CloudTrail, "user_name", "user_name", "string", "user_name", "user_name"},
		{CloudTrail, "event_time", "eventTime", "time", "eventTime", "event_time"},
		{VPCFlow, "dstport", "dstport", "int", "dstport", "dstport"},
		{VPCFlow, "start_time", "start_time", "time", "start", "start_time"},
		{VPCFlow, "account_id", "account_id", "string", "account-id", "account_id"},
		{GuardDuty, "severity", "severity", "float", "severity", "severity"},
		{GuardDuty, "resource_type", "resource.resourceType", "string", "resource.resourceType", "resource_type"},
	} {
		if got := tc.t.FieldName(tc.col); got != tc.field {
			t.Errorf("%s.FieldName(%s) = %q, want %q", tc.t.Name, tc.col, got, tc.field)
		}
		if got := tc.t.ColumnType(tc.col); got != tc.typ {
			t.Errorf("%s.ColumnType(%s) = %q, want %q", tc.t.Name, tc.col, got, tc.typ)
		}
		if got := tc.t.Column(tc.resolveFrom); got != tc.back {
			t.Errorf("%s.Column(%s) = %q, want %q", tc.t.Name, tc.resolveFrom, got, tc.back)
		}
		// The name FieldName gives resolves back to the column.
		if got := tc.t.Column(tc.t.FieldName(tc.col)); got != tc.col {
			t.Errorf("%s: %s → %s → %s", tc.t.Name, tc.col, tc.t.FieldName(tc.col), got)
		}
	}
	for _, bad := range []string{"nosuch", "requestParameters.policy", "requestParameters.BucketName", "", "raw"} {
		if got := CloudTrail.Column(bad); got != "" {
			t.Errorf("Column(%q) = %q, want none (not a typed column)", bad, got)
		}
	}
	// Request parameters stored as typed columns (schema version 9)
	// resolve to them, in AWS's spelling only.
	if got := CloudTrail.Column("requestParameters.bucketName"); got != "req_bucket_name" {
		t.Errorf("Column(requestParameters.bucketName) = %q, want req_bucket_name", got)
	}
	if CloudTrail.FieldName("nosuch") != "" || CloudTrail.ColumnType("nosuch") != "" {
		t.Error("an unknown column has a name or type")
	}
	for _, tb := range Tables {
		cols := tb.Columns()
		if len(cols) < 10 {
			t.Errorf("%s: %d columns", tb.Name, len(cols))
		}
		for _, c := range cols {
			if tb.Column(tb.FieldName(c)) != c {
				t.Errorf("%s: %s does not round-trip through %s", tb.Name, c, tb.FieldName(c))
			}
		}
	}
}
