package alert

import (
	"slices"
	"testing"
)

func TestParseStatuses(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Status
	}{
		{"", []Status{Open, Acknowledged}},
		{"all", nil},
		{"closed", []Status{Closed}},
		{"open, ack", []Status{Open, Acknowledged}},
		{"OPEN,Closed", []Status{Open, Closed}},
	} {
		got, err := ParseStatuses(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseStatuses(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseStatuses("open,bogus"); err == nil {
		t.Error("ParseStatuses accepted bogus")
	}
}
