// Package cwlogs reads CloudWatch Logs log groups as a pipeline.Source:
// CloudTrail events a trail delivers to a log group, VPC flow logs
// published to CloudWatch Logs, or any group whose events are such
// records.
//
// Each stream of each group is read in order with FilterLogEvents, from
// its position: the stream's cursor in the ledger (the last event read:
// its timestamp and the ids of the events read at that timestamp), or,
// the first time, from Config.Start. The events are cut into chunks of
// ChunkEvents, each one object (its content: the events' messages, one
// per line, behind a flow-log header line when the group has a LogFormat)
// carrying the stream's position after it, which the pipeline commits
// with the chunk's rows.
//
// Chunks are in the ledger too (not NoLedger), named after their first
// event: a transaction may commit rows of a chunk whose cursor it cannot
// write yet (an earlier chunk of the stream is still being decoded, or the
// chunk itself is half done), and a run resuming from the cursor cuts the
// same chunks again, so the ledger skips (or resumes inside) what was
// committed past the cursor. A run that fails or is killed thus resumes
// with no gap and no duplicate, flow logs included (they have no key the
// store could de-duplicate them by).
//
// A query ends at now − Settle: CloudWatch Logs accepts events with past
// timestamps, and an event that arrives after its stream was read past its
// timestamp would be missed. Settle (15 minutes by default) is the delay
// an event may have and still be read; a longer one delays every event by
// as much. Following a group (Follow > 0), the streams are listed again
// and read from where they stopped every Follow.
package cwlogs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/trawl-project/trawl/internal/ledger"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/awscall"
)

// API is the part of the CloudWatch Logs client the source uses;
// *cloudwatchlogs.Client implements it.
type API interface {
	DescribeLogStreams(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// Ledger reads the streams' positions back; app.PipelineStore(st) and
// *duckdb.Store implement it.
type Ledger interface {
	LedgerEntries(ctx context.Context, objects []string) (map[string]ledger.Entry, error)
}

// Group is one log group to read.
type Group struct {
	Name string
	// StreamPrefix, if set, limits the group to the streams whose names
	// start with it.
	StreamPrefix string
	// FilterPattern, if set, is passed to FilterLogEvents: only matching
	// events are read (CloudWatch Logs filter syntax).
	FilterPattern string
	// LogFormat is the flow-log format of the group's lines
	// ("${version} ${account-id} …", as given to create-flow-logs), or ""
	// for CloudTrail events and flow logs in the default format. Its field
	// names become a header line in front of every page.
	LogFormat string
}

// Config configures a Source.
type Config struct {
	Groups []Group
	// Start is where a stream without a cursor is read from (zero: from its
	// first event).
	Start time.Time
	// Settle is how far behind now a query ends (default 15 minutes; < 0:
	// none), so that events arriving late are not skipped.
	Settle time.Duration
	// Follow, if > 0, makes the source run until its context ends: every
	// Follow it lists the groups' streams again (picking up new ones) and
	// reads each from where it stopped. 0: one pass up to now − Settle,
	// then io.EOF.
	Follow time.Duration
	// RequestsPerSecond limits FilterLogEvents calls (default 5, the
	// account's default quota per region, which every reader of the
	// account shares); DescribeLogStreams calls get the same rate.
	RequestsPerSecond float64
	// PageLimit is the events per page asked for (default and maximum
	// 10,000).
	PageLimit int32
	// ChunkEvents is the events per object (default 10,000).
	ChunkEvents int
	// Backoff, MaxBackoff and Attempts tune the retries of throttled calls
	// (awscall.Retry; defaults 500 ms, 20 s, 10).
	Backoff, MaxBackoff time.Duration
	Attempts            int
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// DefaultSettle is the default Config.Settle.
const DefaultSettle = 15 * time.Minute

// Stats counts a source's work.
type Stats struct {
	Requests  int64 // API calls made, throttled ones included
	Throttled int64 // calls refused with ThrottlingException and retried
	Transient int64 // calls failed on the connection (reset, closed) and retried
	Pages     int64 // objects yielded
	Skipped   int64 // chunks an earlier run committed whole, not yielded again
	Events    int64 // events in them
	Streams   int64 // streams listed (every listing counted)
}

// Source reads log groups. Next is called from one goroutine; a Source
// serves one pipeline.Run (its cursors' Seq start at 0).
type Source struct {
	api      API
	led      Ledger
	cfg      Config
	filter   awscall.Retry
	describe awscall.Retry

	pipeline.Generator // Run is s.run

	pos map[string]*position
	seq map[string]int64

	requests, throttled, transient, pages, skipped, events, streams atomic.Int64
}

type position struct {
	ts      int64    // timestamp (ms) of the last event read
	ids     []string // ids of the events read at ts
	scanned int64    // this run read the stream up to here (exclusive)
}

// New returns a source reading cfg.Groups with api.
func New(api API, led Ledger, cfg Config) (*Source, error) {
	if len(cfg.Groups) == 0 {
		return nil, errors.New("cwlogs: no log group")
	}
	for _, g := range cfg.Groups {
		if g.Name == "" {
			return nil, errors.New("cwlogs: a log group without a name")
		}
	}
	if cfg.Settle == 0 {
		cfg.Settle = DefaultSettle
	} else if cfg.Settle < 0 {
		cfg.Settle = 0
	}
	if cfg.RequestsPerSecond == 0 {
		cfg.RequestsPerSecond = 5
	}
	if cfg.PageLimit <= 0 || cfg.PageLimit > 10000 {
		cfg.PageLimit = 10000
	}
	if cfg.ChunkEvents <= 0 {
		cfg.ChunkEvents = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Source{api: api, led: led, cfg: cfg, pos: map[string]*position{}, seq: map[string]int64{}}
	s.Run = s.run
	s.filter = awscall.Retry{Limiter: awscall.NewLimiter(cfg.RequestsPerSecond), Base: cfg.Backoff, Max: cfg.MaxBackoff, Attempts: cfg.Attempts,
		OnThrottle: func(error) { s.throttled.Add(1) }, OnTransient: func(error) { s.transient.Add(1) }}
	s.describe = s.filter
	s.describe.Limiter = awscall.NewLimiter(cfg.RequestsPerSecond)
	return s, nil
}

// StreamKey is the ledger key of a stream's cursor.
func StreamKey(group, stream string) string { return "cwl://" + group + "/" + stream }

// Stats returns the counts so far.
func (s *Source) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Throttled: s.throttled.Load(), Transient: s.transient.Load(), Pages: s.pages.Load(), Skipped: s.skipped.Load(), Events: s.events.Load(), Streams: s.streams.Load()}
}

func (s *Source) run(yield func(pipeline.Object, error) bool) {
	for {
		end := s.cfg.Now().Add(-s.cfg.Settle).UnixMilli()
		for _, g := range s.cfg.Groups {
			streams, err := s.list(g)
			if err != nil {
				yield(pipeline.Object{}, err)
				return
			}
			if err := s.positions(g, streams); err != nil {
				yield(pipeline.Object{}, err)
				return
			}
			for _, st := range streams {
				if !s.read(g, st, end, yield) {
					return
				}
			}
		}
		if s.cfg.Follow <= 0 {
			return
		}
		t := time.NewTimer(s.cfg.Follow)
		select {
		case <-t.C:
		case <-s.Ctx().Done():
			t.Stop()
			yield(pipeline.Object{}, s.Ctx().Err())
			return
		}
	}
}

// list returns the group's streams, by name.
func (s *Source) list(g Group) ([]types.LogStream, error) {
	var all []types.LogStream
	in := &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(g.Name), Limit: aws.Int32(50), OrderBy: types.OrderByLogStreamName}
	if g.StreamPrefix != "" {
		in.LogStreamNamePrefix = aws.String(g.StreamPrefix)
	}
	for {
		var out *cloudwatchlogs.DescribeLogStreamsOutput
		err := s.describe.Do(s.Ctx(), func(ctx context.Context) error {
			s.requests.Add(1)
			var err error
			out, err = s.api.DescribeLogStreams(ctx, in)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("cwlogs: listing the streams of %s: %w", g.Name, err)
		}
		all = append(all, out.LogStreams...)
		if out.NextToken == nil || *out.NextToken == "" || (in.NextToken != nil && *in.NextToken == *out.NextToken) {
			break
		}
		in.NextToken = out.NextToken
	}
	s.streams.Add(int64(len(all)))
	slices.SortFunc(all, func(a, b types.LogStream) int {
		return strings.Compare(aws.ToString(a.LogStreamName), aws.ToString(b.LogStreamName))
	})
	return all, nil
}

// positions reads the cursors of streams not seen before from the ledger.
func (s *Source) positions(g Group, streams []types.LogStream) error {
	var keys []string
	for _, st := range streams {
		k := StreamKey(g.Name, aws.ToString(st.LogStreamName))
		if s.pos[k] == nil {
			keys = append(keys, k)
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		var ents map[string]ledger.Entry
		if s.led != nil {
			var err error
			if ents, err = s.led.LedgerEntries(s.Ctx(), keys[:n]); err != nil {
				return fmt.Errorf("cwlogs: reading the cursors of %s: %w", g.Name, err)
			}
		}
		for _, k := range keys[:n] {
			p := &position{}
			if !s.cfg.Start.IsZero() {
				p.ts = s.cfg.Start.UnixMilli()
			}
			if e, ok := ents[k]; ok && e.Status == ledger.StatusCursor && e.Cursor != "" {
				ts, ids, err := ParseCursor(e.Cursor)
				if err != nil {
					return fmt.Errorf("cwlogs: the cursor of %s: %w", k, err)
				}
				p.ts, p.ids = ts, ids
			}
			s.pos[k] = p
		}
		keys = keys[n:]
	}
	return nil
}

// FormatCursor encodes a stream's position: the timestamp (ms) of the
// last event read and the ids of the events read at that timestamp.
func FormatCursor(ts int64, ids []string) string {
	return strconv.FormatInt(ts, 10) + " " + strings.Join(ids, ",")
}

// ParseCursor decodes FormatCursor's value.
func ParseCursor(v string) (ts int64, ids []string, err error) {
	t, rest, _ := strings.Cut(v, " ")
	ts, err = strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("bad cursor %q", v)
	}
	if rest != "" {
		ids = strings.Split(rest, ",")
	}
	return ts, ids, nil
}

// maxFuture is how far past its last ingestion a stream may hold events
// (CloudWatch Logs accepts timestamps up to 2 hours in the future).
const maxFuture = 2 * time.Hour

// read reads one stream up to end (exclusive), yielding its chunks.
func (s *Source) read(g Group, st types.LogStream, end int64, yield func(pipeline.Object, error) bool) bool {
	name := aws.ToString(st.LogStreamName)
	key := StreamKey(g.Name, name)
	p := s.pos[key]
	start := max(p.ts, p.scanned)
	if start >= end {
		return true
	}
	if st.LastIngestionTime != nil && *st.LastIngestionTime+maxFuture.Milliseconds() < start {
		// Nothing arrived since the position. The position does not move:
		// should lastIngestionTime lag, the events are read on a later
		// pass, not skipped.
		return true
	}
	in := &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName:   aws.String(g.Name),
		LogStreamNames: []string{name},
		StartTime:      aws.Int64(start),
		EndTime:        aws.Int64(end - 1), // inclusive
		Limit:          aws.Int32(s.cfg.PageLimit),
	}
	if g.FilterPattern != "" {
		in.FilterPattern = aws.String(g.FilterPattern)
	}
	c := chunk{header: flowHeader(g.LogFormat)}
	c.reset(p.ts, p.ids)
	for {
		var out *cloudwatchlogs.FilterLogEventsOutput
		err := s.filter.Do(s.Ctx(), func(ctx context.Context) error {
			s.requests.Add(1)
			var err error
			out, err = s.api.FilterLogEvents(ctx, in)
			return err
		})
		if err != nil {
			return yield(pipeline.Object{}, fmt.Errorf("cwlogs: reading %s: %w", key, err))
		}
		for _, ev := range out.Events {
			ts, id := aws.ToInt64(ev.Timestamp), aws.ToString(ev.EventId)
			if ts < p.ts || (ts == p.ts && slices.Contains(p.ids, id)) {
				continue // read before the restart, or an event before the start
			}
			if ts != p.ts {
				p.ts, p.ids = ts, p.ids[:0:0]
			}
			p.ids = append(p.ids, id)
			c.add(ts, id, aws.ToString(ev.Message))
			if len(c.evs) == s.cfg.ChunkEvents {
				if !s.emit(key, p, &c, yield) {
					return false
				}
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	for len(c.evs) > 0 { // more than once when a chunk is cut
		if !s.emit(key, p, &c, yield) {
			return false
		}
	}
	p.scanned = end
	return true
}

// chunk gathers the events of one object.
type chunk struct {
	header   string
	b        strings.Builder
	evs      []eventPos
	startTS  int64    // the position before the chunk
	startIDs []string //
}

type eventPos struct {
	ts  int64
	id  string
	end int // offset after the event's line
}

func (c *chunk) reset(ts int64, ids []string) {
	c.b = strings.Builder{}
	c.b.WriteString(c.header)
	c.evs = c.evs[:0]
	c.startTS, c.startIDs = ts, slices.Clone(ids)
}

func (c *chunk) add(ts int64, id, msg string) {
	writeLine(&c.b, msg)
	c.evs = append(c.evs, eventPos{ts, id, c.b.Len()})
}

// after returns the position after the first k events.
func (c *chunk) after(k int) (int64, []string) {
	ts := c.evs[k-1].ts
	var ids []string
	if c.startTS == ts {
		ids = slices.Clone(c.startIDs)
	}
	for _, e := range c.evs[:k] {
		if e.ts == ts {
			ids = append(ids, e.id)
		}
	}
	return ts, ids
}

func (c *chunk) name(key string) string {
	return fmt.Sprintf("%s@%s#%s", key, time.UnixMilli(c.evs[0].ts).UTC().Format("2006-01-02T15:04:05.000Z"), c.evs[0].id)
}

// emit yields the chunk as an object, unless an earlier run committed it
// whole (its ledger entry is done): then only the position moves on.
//
// A chunk is the ChunkEvents events that follow a position, so a run that
// resumes from a committed cursor cuts the same chunks as the run before
// it, and the ledger skips, or resumes inside, what that run committed
// past the cursor. A chunk the earlier run committed in part but cut
// shorter (the last chunk of a pass, or of that run) is cut at the same
// event again, so that the pipeline resumes it after its committed
// records instead of reading it again from its start.
func (s *Source) emit(key string, p *position, c *chunk, yield func(pipeline.Object, error) bool) bool {
	text := c.b.String()
	name := c.name(key)
	k := len(c.evs)
	if s.led != nil {
		ents, err := s.led.LedgerEntries(s.Ctx(), []string{name})
		if err != nil {
			return yield(pipeline.Object{}, fmt.Errorf("cwlogs: reading the ledger: %w", err))
		}
		e, ok := ents[name]
		switch {
		case ok && e.Status == ledger.StatusDone && e.Size == int64(len(text)):
			s.skipped.Add(1)
			c.reset(p.ts, p.ids)
			return true
		case ok && (e.Status == ledger.StatusPartial || e.Status == ledger.StatusFailed) && e.Size < int64(len(text)):
			if i, found := slices.BinarySearchFunc(c.evs, int(e.Size), func(ev eventPos, n int) int { return ev.end - n }); found {
				k = i + 1
			}
		}
	}
	ts, ids := p.ts, p.ids
	rest := ""
	var restEvs []eventPos
	if k < len(c.evs) {
		ts, ids = c.after(k)
		rest = text[c.evs[k-1].end:]
		text = text[:c.evs[k-1].end]
		restEvs = slices.Clone(c.evs[k:])
	}
	cursor := FormatCursor(ts, ids)
	s.pages.Add(1)
	s.events.Add(int64(k))
	seq := s.seq[key]
	s.seq[key] = seq + 1
	c.reset(ts, ids)
	if len(restEvs) > 0 {
		// The events after the cut start the next chunk.
		shift := len(text) - len(c.header)
		c.b.WriteString(rest)
		for _, e := range restEvs {
			e.end -= shift
			c.evs = append(c.evs, e)
		}
	}
	return yield(pipeline.Object{
		Name: name,
		Size: int64(len(text)),
		Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(text)), nil
		},
		Cursor: &pipeline.Cursor{Key: key, Seq: seq, Value: cursor},
	}, nil)
}

// writeLine writes one event's message as one line.
func writeLine(b *strings.Builder, msg string) {
	msg = strings.TrimRight(msg, "\r\n")
	if strings.ContainsAny(msg, "\r\n") {
		msg = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(msg)
	}
	b.WriteString(msg)
	b.WriteByte('\n')
}

// flowHeader turns a flow-log format ("${version} ${account-id} …") into
// the header line of field names the flow-log decoder reads.
func flowHeader(format string) string {
	f := strings.Fields(format)
	if len(f) == 0 {
		return ""
	}
	for i, x := range f {
		f[i] = strings.TrimSuffix(strings.TrimPrefix(x, "${"), "}")
	}
	return strings.Join(f, " ") + "\n"
}
