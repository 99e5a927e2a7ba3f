package decode

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"
	"github.com/trawl-project/trawl/internal/event"
)

// awsFlow mirrors the columns of a Parquet flow-log file as AWS writes it
// (field names with underscores, INT_32/INT_64/STRING).
type awsFlow struct {
	Version     int32   `parquet:"version"`
	AccountID   *string `parquet:"account_id,optional"`
	InterfaceID *string `parquet:"interface_id,optional"`
	SrcAddr     *string `parquet:"srcaddr,optional"`
	DstAddr     *string `parquet:"dstaddr,optional"`
	SrcPort     *int32  `parquet:"srcport,optional"`
	DstPort     *int32  `parquet:"dstport,optional"`
	Protocol    *int32  `parquet:"protocol,optional"`
	Packets     *int64  `parquet:"packets,optional"`
	Bytes       *int64  `parquet:"bytes,optional"`
	Start       int64   `parquet:"start"`
	End         int64   `parquet:"end"`
	Action      *string `parquet:"action,optional"`
	LogStatus   *string `parquet:"log_status,optional"`
	PktSrcSvc   *string `parquet:"pkt_src_aws_service,optional"`
	Future      *string `parquet:"some_future_field,optional"`
}

func ptr[T any](v T) *T { return &v }

func TestParquetFlowLogs(t *testing.T) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[awsFlow](&buf)
	rows := []awsFlow{
		{Version: 5, AccountID: ptr("111122223333"), InterfaceID: ptr("eni-0123"), SrcAddr: ptr("10.0.0.1"), DstAddr: ptr("52.94.0.1"),
			SrcPort: ptr(int32(50000)), DstPort: ptr(int32(443)), Protocol: ptr(int32(6)), Packets: ptr(int64(10)), Bytes: ptr(int64(4000)),
			Start: 1793613000, End: 1793613060, Action: ptr("ACCEPT"), LogStatus: ptr("OK"), PktSrcSvc: ptr("S3"), Future: ptr("x")},
		{Version: 5, AccountID: ptr("111122223333"), InterfaceID: ptr("eni-0123"), Start: 1793613000, End: 1793613060, LogStatus: ptr("NODATA")},
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, gz := range []bool{false, true} {
		in := buf.Bytes()
		if gz {
			in = gzipBytes(t, in)
		}
		c := &collect{}
		if err := Decode(context.Background(), Object{Name: "f.log.parquet"}, bytes.NewReader(in), Options{}, c.emit); err != nil {
			t.Fatal(err)
		}
		if len(c.vpc) != 2 || len(c.q) != 0 {
			t.Fatalf("gzip=%v: %d records, %d quarantined %+v", gz, len(c.vpc), len(c.q), c.q)
		}
		r := c.vpc[0]
		dport, _ := r.Int(event.FlowDstPort)
		nbytes, _ := r.Int(event.FlowBytes)
		version, _ := r.Int(event.FlowVersion)
		st, _ := r.Start()
		if r.Str(event.FlowSrcAddr) != "10.0.0.1" || dport != 443 || nbytes != 4000 ||
			st.Unix() != 1793613000 || r.Str(event.FlowPktSrcAWSService) != "S3" || version != 5 {
			t.Errorf("row 1: %+v", r)
		}
		if want := "5 111122223333 eni-0123 10.0.0.1 52.94.0.1 50000 443 6 10 4000 1793613000 1793613060 ACCEPT OK S3 x"; r.Raw != want {
			t.Errorf("raw %q, want %q", r.Raw, want)
		}
		n := c.vpc[1]
		if _, ok := n.Int(event.FlowSrcPort); n.Str(event.FlowLogStatus) != "NODATA" || ok || !strings.Contains(n.Raw, " - ") {
			t.Errorf("NODATA row: %+v", n)
		}
	}
	// A Parquet file without flow-log columns is quarantined whole.
	var other bytes.Buffer
	ow := parquet.NewGenericWriter[struct {
		Name string `parquet:"name"`
	}](&other)
	_, _ = ow.Write([]struct {
		Name string `parquet:"name"`
	}{{"x"}})
	_ = ow.Close()
	c := &collect{}
	if err := Decode(context.Background(), Object{Name: "other.parquet"}, bytes.NewReader(other.Bytes()), Options{}, c.emit); err != nil {
		t.Fatal(err)
	}
	if len(c.q) != 1 || !strings.Contains(c.q[0].Reason, "no flow-log columns") {
		t.Errorf("non-flow Parquet: %+v", c.q)
	}
	// A truncated Parquet file is quarantined, not fatal.
	c = &collect{}
	if err := Decode(context.Background(), Object{Name: "cut.parquet"}, bytes.NewReader(buf.Bytes()[:buf.Len()/2]), Options{}, c.emit); err != nil {
		t.Fatal(err)
	}
	if len(c.q) != 1 || !strings.Contains(c.q[0].Reason, "Parquet") {
		t.Errorf("truncated Parquet: %+v", c.q)
	}
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
