package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/trawl-project/trawl/internal/pipeline"
)

// progressLine draws a one-line progress display on a terminal, redrawn in
// place at most a few times a second; in plain mode (a log file) it writes
// a line every ten seconds instead.
type progressLine struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	plain bool
	last  time.Time
	drawn bool
}

func newProgressLine(w io.Writer, on, plain bool) *progressLine {
	return &progressLine{w: w, on: on || plain, plain: plain, last: time.Now()}
}

func (p *progressLine) update(pr pipeline.Progress) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	every := 200 * time.Millisecond
	if p.plain {
		every = 10 * time.Second
	}
	if pr.Final || time.Since(p.last) < every {
		return
	}
	p.last = time.Now()
	el := time.Since(pr.Started)
	line := fmt.Sprintf("  %d/%d objects", pr.ObjectsDone, pr.ObjectsTotal)
	if pr.BytesTotal > 0 {
		line += fmt.Sprintf("  %s/%s", humanize.IBytes(uint64(pr.BytesRead)), humanize.IBytes(uint64(pr.BytesTotal)))
	}
	stored := pr.Stored()
	line += fmt.Sprintf("  %s records", humanize.Comma(stored))
	if s := el.Seconds(); s > 0.5 {
		line += fmt.Sprintf(" (%s/s)", humanize.Comma(int64(float64(stored)/s)))
	}
	if pr.Quarantined > 0 {
		line += fmt.Sprintf("  %s quarantined", humanize.Comma(pr.Quarantined))
	}
	if pr.BytesTotal > 0 && pr.BytesRead > 0 && pr.BytesRead < pr.BytesTotal && el > 2*time.Second {
		left := time.Duration(float64(el) * float64(pr.BytesTotal-pr.BytesRead) / float64(pr.BytesRead))
		line += fmt.Sprintf("  eta %s", left.Round(time.Second))
	}
	if p.plain {
		fmt.Fprintln(p.w, strings.TrimSpace(line))
		return
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.drawn = true
}

// println prints a message above the progress line.
func (p *progressLine) println(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
	fmt.Fprintln(p.w, msg)
}

// finish ends the progress line.
func (p *progressLine) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}
