package clickhouse

import "testing"

// TestReadFinal: FROM cloudtrail / vpcflow become the table with FINAL
// (vpcflow only without a selected *), never inside quotes, and other
// names (cloudtrail_digest, vpcflow_x) are left alone.
func TestReadFinal(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT count(*) FROM cloudtrail WHERE x = 1", "SELECT count(*) FROM cloudtrail_data AS cloudtrail FINAL WHERE x = 1"},
		{"SELECT * FROM cloudtrail", "SELECT * FROM cloudtrail_data AS cloudtrail FINAL"},
		{"select a from (SELECT a FROM cloudtrail)", "select a from (SELECT a FROM cloudtrail_data AS cloudtrail FINAL)"},
		{"SELECT srcaddr, count(*) FROM vpcflow\nGROUP BY 1", "SELECT srcaddr, count(*) FROM vpcflow_data AS vpcflow FINAL\nGROUP BY 1"},
		{"SELECT * FROM vpcflow LIMIT 1", "SELECT * FROM vpcflow LIMIT 1"},
		{"SELECT v.* FROM vpcflow v", "SELECT v.* FROM vpcflow v"},
		{"SELECT 'FROM cloudtrail ' AS s FROM cloudtrail_digest", "SELECT 'FROM cloudtrail ' AS s FROM cloudtrail_digest"},
		{`SELECT "FROM vpcflow " FROM vpcflow_x`, `SELECT "FROM vpcflow " FROM vpcflow_x`},
		{`SELECT 'it\'s' FROM cloudtrail`, `SELECT 'it\'s' FROM cloudtrail_data AS cloudtrail FINAL`},
		{"SELECT 1 FROM guardduty_finding", "SELECT 1 FROM guardduty_finding"},
	} {
		if got := readFinal(tc.in); got != tc.want {
			t.Errorf("readFinal(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
