package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/trawl-project/trawl/internal/cwpattern"
	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/event"
)

const exitNoMatch = 1 // trawl match: nothing matched

func newMatchCmd(e *env) *cobra.Command {
	var count, noFilename bool
	var kind string
	cmd := &cobra.Command{
		Use:   "match PATTERN [FILE...]",
		Short: "Print the log events a CloudWatch Logs filter pattern matches (like grep)",
		Long: `Match tests every log event of the files against a CloudWatch Logs filter
pattern — a term pattern (ERROR -Exited), a JSON pattern
({ $.errorCode = "AccessDenied" }) or a space-delimited pattern
([..., action="REJECT", status]) — and prints the events that match, one a
line. No database is used. docs/match.md describes the language.

Each line of a text file is one log event, as CloudWatch Logs sees it.
CloudTrail log files ({"Records":[…]}), GuardDuty exports and CloudWatch Logs
subscription payloads (also base64+gzip as a Lambda receives them) are split
into their records first; gzip is detected by its magic bytes. "-" (or no
FILE) reads stdin.

Exit status: 0 when an event matched, 1 when none did, 2 on a bad pattern
(with its column) or when an input could not be read.`,
		Example: `  trawl match '{ $.errorCode = "AccessDenied" && $.userIdentity.type = "IAMUser" }' AWSLogs/ct.json.gz
  trawl match '[version, account, eni, source, destination, srcport, destport="22", protocol, packets, bytes, start, end, action="REJECT", status]' flows.log
  trawl match --count '?ERROR ?WARN -healthcheck' app.log`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := cwpattern.Parse(args[0])
			if err != nil {
				return usageError("bad pattern: %v", err)
			}
			opt := decode.Options{}
			forced := false
			if kind != "auto" {
				k, ok := event.ParseKind(kind)
				if !ok {
					return usageError("--type %q: use auto, cloudtrail, vpcflow or guardduty", kind)
				}
				opt.Kind, forced = k, true
			}
			files := args[1:]
			if len(files) == 0 {
				files = []string{"-"}
			}
			m := &matcher{e: e, p: p, opt: opt, forced: forced, count: count,
				prefix: len(files) > 1 && !noFilename}
			m.out = bufio.NewWriter(e.stdout)
			failed := false
			for _, f := range files {
				if err := m.file(cmd.Context(), f); err != nil {
					if cmd.Context().Err() != nil {
						return err
					}
					fmt.Fprintf(e.stderr, "trawl: %s: %v\n", f, err)
					failed = true
				}
			}
			if count {
				fmt.Fprintln(m.out, m.matched)
			}
			if err := m.out.Flush(); err != nil {
				return err
			}
			switch {
			case failed:
				return &exitError{code: exitUsage}
			case m.matched == 0:
				return &exitError{code: exitNoMatch}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&count, "count", "c", false, "print the number of matching events instead of the events")
	f.BoolVar(&noFilename, "no-filename", false, "do not prefix events with their file name when there are several files")
	f.StringVar(&kind, "type", "auto", "log type: auto, or cloudtrail, vpcflow or guardduty to take only records of that type (text is then read as flow-log records, not as lines)")
	return cmd
}

type matcher struct {
	e       *env
	p       *cwpattern.Pattern
	opt     decode.Options
	forced  bool
	count   bool
	prefix  bool
	out     *bufio.Writer
	matched int64
}

func (m *matcher) emit(name string, ev []byte) error {
	if !m.p.Match(ev) {
		return nil
	}
	m.matched++
	if m.count {
		return nil
	}
	if m.prefix {
		m.out.WriteString(name)
		m.out.WriteByte(':')
	}
	m.out.Write(ev)
	return m.out.WriteByte('\n')
}

func (m *matcher) file(ctx context.Context, name string) error {
	var r io.Reader
	if name == "-" {
		r = m.e.stdin
		name = "(stdin)"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	if !m.forced && !structured(br) {
		return m.lines(ctx, name, br)
	}
	data, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	n, quarantined, err := m.decoded(ctx, name, data)
	if err != nil {
		return err
	}
	if n == 0 && !m.forced {
		// Not a log format trawl knows: JSON lines, say. Each line is an
		// event.
		return m.lines(ctx, name, bufio.NewReader(bytes.NewReader(data)))
	}
	if quarantined > 0 {
		fmt.Fprintf(m.e.stderr, "trawl: %s: %d unit(s) could not be read as %s records and were not matched\n", name, quarantined, kindName(m.opt.Kind))
	}
	return nil
}

func kindName(k event.Kind) string {
	if k == event.KindUnknown {
		return "log"
	}
	return k.String()
}

// structured reports whether the content starts like JSON or a base64+gzip
// payload (H4sI…), which the decoder splits into records.
func structured(br *bufio.Reader) bool {
	for n := 1; n <= 4096; n++ {
		head, err := br.Peek(n)
		if len(head) < n {
			return false
		}
		c := head[n-1]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			if err != nil {
				return false
			}
			continue
		}
		if c == '{' || c == '[' {
			return true
		}
		rest, _ := br.Peek(n + 3)
		return bytes.HasPrefix(rest[n-1:], []byte("H4sI"))
	}
	return false
}

// decoded splits data into records with the decoder and matches each one.
func (m *matcher) decoded(ctx context.Context, name string, data []byte) (rows, quarantined int64, err error) {
	err = decode.Decode(ctx, decode.Object{Name: name, Key: name}, bytes.NewReader(data), m.opt, func(b *event.Batch) error {
		defer event.PutBatch(b)
		quarantined += int64(len(b.Quarantined))
		for i := range b.CloudTrail {
			rows++
			if err := m.emit(name, []byte(b.CloudTrail[i].Raw)); err != nil {
				return err
			}
		}
		for i := range b.Findings {
			rows++
			if err := m.emit(name, []byte(b.Findings[i].Raw)); err != nil {
				return err
			}
		}
		for i := range b.VPCFlow {
			rows++
			if err := m.emit(name, []byte(b.VPCFlow[i].Raw)); err != nil {
				return err
			}
		}
		return nil
	})
	return rows, quarantined, err
}

// lines matches each line of br as one event.
func (m *matcher) lines(ctx context.Context, name string, br *bufio.Reader) error {
	for n := 0; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: collect it whole.
			var full []byte
			full = append(full, line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				full = append(full, line...)
			}
			line = full
		}
		if line = bytes.TrimRight(line, "\r\n"); len(line) > 0 {
			if e := m.emit(name, line); e != nil {
				return e
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
