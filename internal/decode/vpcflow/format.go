// Package vpcflow parses VPC and Transit Gateway flow-log records: text
// lines in any field order (from a file's header line, a configured AWS
// LogFormat, or a layout known by its field count) and Parquet files.
package vpcflow

import (
	"fmt"
	"strings"

	"github.com/trawl-project/trawl/internal/event"
)

// byName indexes event.FlowFields by AWS name and by column name (Parquet
// files and Athena use underscores).
var byName = func() map[string]int {
	m := make(map[string]int, 2*len(event.FlowFields))
	for i, f := range event.FlowFields {
		m[f.Name] = i
		m[strings.ReplaceAll(f.Name, "-", "_")] = i
	}
	return m
}()

// Format is an ordered list of flow-log fields.
type Format struct {
	fields []int // indexes into event.FlowFields, -1 for unknown names
	names  []string
}

// String returns the format as AWS writes a LogFormat.
func (f *Format) String() string {
	var b strings.Builder
	for i, n := range f.names {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("${" + n + "}")
	}
	return b.String()
}

// ParseFormat parses an AWS LogFormat string ("${version} ${account-id}
// ...") or a plain list of field names as in a header line. Unknown field
// names are an error; use headers for formats that may carry fields newer
// than trawl.
func ParseFormat(s string) (*Format, error) {
	f := &Format{}
	for _, tok := range strings.Fields(s) {
		name := strings.TrimSuffix(strings.TrimPrefix(tok, "${"), "}")
		i, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("unknown flow-log field %q in format %q", name, s)
		}
		f.fields = append(f.fields, i)
		f.names = append(f.names, event.FlowFields[i].Name)
	}
	if len(f.fields) == 0 {
		return nil, fmt.Errorf("empty flow-log format")
	}
	return f, nil
}

// headerFormat builds a format from a header line's tokens, keeping
// unknown names as fields to skip (AWS adds fields over time; the raw line
// keeps them).
func headerFormat(tokens []string) *Format {
	f := &Format{}
	for _, t := range tokens {
		i, ok := byName[t]
		if !ok {
			i = -1
		}
		f.fields = append(f.fields, i)
		f.names = append(f.names, t)
	}
	return f
}

// isHeader reports whether tokens are a header line: the first token is a
// field name and at least half of them are.
func isHeader(tokens []string) bool {
	if len(tokens) == 0 {
		return false
	}
	if _, ok := byName[tokens[0]]; !ok {
		return false
	}
	known := 0
	for _, t := range tokens {
		if _, ok := byName[t]; ok {
			known++
		}
	}
	return known*2 >= len(tokens)
}

func mustFormat(s string) *Format {
	f, err := ParseFormat(s)
	if err != nil {
		panic(err)
	}
	return f
}

const (
	v2 = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
	v5 = v2 + " vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"
	v7 = v5 + " ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn ecs-container-instance-id ecs-container-id ecs-second-container-id ecs-service-name ecs-task-definition-arn ecs-task-arn ecs-task-id"
	v8 = v7 + " reject-reason"
	// Transit Gateway flow logs' default format: every field of versions 2–6.
	tgw = "version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id tgw-pair-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end log-status type packets-lost-no-route packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired tcp-flags region flow-direction pkt-src-aws-service pkt-dst-aws-service"
)

// defaultFormat is the AWS default format (the 14 version-2 fields).
var defaultFormat = mustFormat(v2)

// byCount holds the layouts used for lines without a header or a configured
// format: AWS's default format and "all fields up to version N" in the
// documented order. The version column is not used: AWS writes the highest
// version among the chosen fields, and real files (see the corpus) say 3
// while carrying version-7 and -8 fields.
var byCount = map[int]*Format{
	14: defaultFormat,
	29: mustFormat(v5),
	36: mustFormat(tgw),
	39: mustFormat(v7),
	40: mustFormat(v8),
}

// formatForCount returns the known layout with n fields, or nil.
func formatForCount(n int) *Format { return byCount[n] }
