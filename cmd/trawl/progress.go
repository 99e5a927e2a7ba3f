package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/pipeline"
)

// progressLine draws a one-line progress display on a terminal, redrawn in
// place at most a few times a second.
type progressLine struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	last  time.Time
	drawn bool
}

func newProgressLine(w io.Writer, on bool) *progressLine {
	return &progressLine{w: w, on: on}
}

func (p *progressLine) update(pr pipeline.Progress) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !pr.Final && time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	el := time.Since(pr.Started)
	line := fmt.Sprintf("  %d/%d objects", pr.ObjectsDone, pr.ObjectsTotal)
	if pr.BytesTotal > 0 {
		line += fmt.Sprintf("  %s/%s", output.Bytes(pr.BytesRead), output.Bytes(pr.BytesTotal))
	}
	stored := pr.Stored()
	line += fmt.Sprintf("  %s records", formatCount(stored))
	if s := el.Seconds(); s > 0.5 {
		line += fmt.Sprintf(" (%s/s)", formatCount(int64(float64(stored)/s)))
	}
	if pr.Quarantined > 0 {
		line += fmt.Sprintf("  %s quarantined", formatCount(pr.Quarantined))
	}
	if pr.BytesTotal > 0 && pr.BytesRead > 0 && pr.BytesRead < pr.BytesTotal && el > 2*time.Second {
		left := time.Duration(float64(el) * float64(pr.BytesTotal-pr.BytesRead) / float64(pr.BytesRead))
		line += fmt.Sprintf("  eta %s", left.Round(time.Second))
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
