package opensearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter caps a server's Retry-After.
const maxRetryAfter = 5 * time.Minute

// bulkResponse is the part of a _bulk response the sink reads.
type bulkResponse struct {
	Errors bool                     `json:"errors"`
	Items  []map[string]*bulkResult `json:"items"`
}

type bulkResult struct {
	Index  string     `json:"_index"`
	ID     string     `json:"_id"`
	Status int        `json:"status"`
	Error  *bulkError `json:"error"`
}

type bulkError struct {
	Type     string     `json:"type"`
	Reason   string     `json:"reason"`
	CausedBy *bulkError `json:"caused_by"`
}

func (e *bulkError) String() string {
	if e == nil {
		return "no reason given"
	}
	s := e.Type + ": " + e.Reason
	if e.CausedBy != nil {
		s += " (caused by " + e.CausedBy.String() + ")"
	}
	return s
}

// retryableItem tells whether a rejected document is worth sending again:
// the cluster was overloaded or a shard was unavailable.
func retryableItem(status int, e *bulkError) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return true
	}
	for ; e != nil; e = e.CausedBy {
		switch e.Type {
		case "es_rejected_execution_exception", "opensearch_rejected_execution_exception",
			"unavailable_shards_exception", "cluster_block_exception", "circuit_breaking_exception":
			return true
		}
	}
	return false
}

// retryableStatus tells whether a whole _bulk request is worth sending
// again after this HTTP status.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// ItemError reports documents the cluster refused for good.
type ItemError struct {
	Index, ID string
	Status    int
	Reason    string // the cluster's error type and reason
	More      int    // further documents of the same request refused
}

func (e *ItemError) Error() string {
	s := fmt.Sprintf("opensearch: index %s, id %s: HTTP %d: %s", e.Index, e.ID, e.Status, e.Reason)
	if e.More > 0 {
		s += fmt.Sprintf(" (and %d more documents refused)", e.More)
	}
	return s
}

// bulk sends c and retries what the cluster could not take yet, until
// every document is acknowledged or refused, or the attempts run out.
func (s *Sink) bulk(ctx context.Context, c *chunk) error {
	body, items := c.buf, c.items
	s.addStats(Stats{Bytes: int64(len(body))})
	for attempt := 1; ; attempt++ {
		wait, retry, err := s.attempt(ctx, body, items)
		if err != nil {
			return err
		}
		if len(retry) == 0 {
			return nil
		}
		if attempt >= s.cfg.MaxRetries {
			it := retry[0]
			return fmt.Errorf("opensearch: %d documents still refused after %d attempts, e.g. index %s, id %s: %w",
				len(retry), attempt, it.item.index, it.item.id, it.err)
		}
		if wait <= 0 {
			wait = s.backoff(attempt)
		}
		if err := s.sleep(ctx, wait); err != nil {
			return fmt.Errorf("opensearch: waiting to resend %d documents: %w", len(retry), err)
		}
		if len(retry) != len(items) {
			// Rebuild the body from the documents still to send.
			nb := make([]byte, 0, len(body))
			ni := make([]item, 0, len(retry))
			for _, r := range retry {
				it := r.item
				start := len(nb)
				nb = append(nb, c.buf[it.start:it.end]...)
				it.start, it.end = start, len(nb)
				ni = append(ni, it)
			}
			c.buf, body, items = nb, nb, ni
		}
		s.addStats(Stats{Retried: int64(len(items))})
	}
}

type retryItem struct {
	item item
	err  error
}

// attempt sends one _bulk request. It returns the documents to send
// again (and how long the server asked to wait), or the error that ends
// the request's documents' chances.
func (s *Sink) attempt(ctx context.Context, body []byte, items []item) (time.Duration, []retryItem, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/_bulk", bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("opensearch: _bulk request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	s.addStats(Stats{Requests: 1})
	res, data, err := s.do(req)
	all := func(err error) []retryItem {
		r := make([]retryItem, len(items))
		for i, it := range items {
			r[i] = retryItem{it, err}
		}
		return r
	}
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, fmt.Errorf("opensearch: _bulk of %d documents: %w", len(items), ctx.Err())
		}
		// A connection failure: the request may or may not have been
		// applied; sending it again is safe as every document has an id.
		return 0, all(fmt.Errorf("_bulk: %w", err)), nil
	}
	if retryableStatus(res.StatusCode) {
		return retryAfter(res.Header.Get("Retry-After")),
			all(fmt.Errorf("_bulk: HTTP %d: %s", res.StatusCode, snippet(data))), nil
	}
	if res.StatusCode/100 != 2 {
		hint := ""
		if res.StatusCode == http.StatusRequestEntityTooLarge {
			hint = " (lower flush_bytes)"
		}
		return 0, nil, fmt.Errorf("opensearch: _bulk of %d documents to %s: HTTP %d%s: %s",
			len(items), items[0].index, res.StatusCode, hint, snippet(data))
	}
	var br bulkResponse
	if err := json.Unmarshal(data, &br); err != nil {
		return 0, nil, fmt.Errorf("opensearch: _bulk response: %w: %s", err, snippet(data))
	}
	if !br.Errors {
		if len(br.Items) != len(items) {
			return 0, nil, fmt.Errorf("opensearch: _bulk response has %d items for %d documents", len(br.Items), len(items))
		}
		s.addStats(Stats{Docs: int64(len(items))})
		return 0, nil, nil
	}
	if len(br.Items) != len(items) {
		return 0, nil, fmt.Errorf("opensearch: _bulk response has %d items for %d documents", len(br.Items), len(items))
	}
	var (
		retry   []retryItem
		refused *ItemError
		st      Stats
	)
	for i, m := range br.Items {
		var r *bulkResult
		for _, v := range m {
			r = v
		}
		it := items[i]
		switch {
		case r == nil:
			return 0, nil, fmt.Errorf("opensearch: _bulk response item %d is empty", i)
		case r.Status/100 == 2:
			st.Docs++
		case r.Status == http.StatusConflict && it.external:
			// The cluster holds this finding's version or a newer one.
			st.Docs++
			st.Stale++
		case retryableItem(r.Status, r.Error):
			retry = append(retry, retryItem{it, fmt.Errorf("HTTP %d: %s", r.Status, r.Error)})
		case refused == nil:
			refused = &ItemError{Index: it.index, ID: it.id, Status: r.Status, Reason: r.Error.String()}
		default:
			refused.More++
		}
	}
	s.addStats(st)
	if refused != nil {
		return 0, nil, refused
	}
	return 0, retry, nil
}

// do sends req through the transport and reads the whole response.
func (s *Sink) do(req *http.Request) (*http.Response, []byte, error) {
	res, err := s.client.Stream(req)
	if res != nil && res.Body != nil {
		data, rerr := io.ReadAll(res.Body)
		res.Body.Close()
		if err == nil && rerr != nil {
			err = fmt.Errorf("reading the response: %w", rerr)
		}
		if err == nil {
			return res, data, nil
		}
	}
	if err == nil {
		err = errors.New("no response")
	}
	return nil, nil, err
}

func (s *Sink) addStats(d Stats) {
	s.mu.Lock()
	s.stats.Docs += d.Docs
	s.stats.Bytes += d.Bytes
	s.stats.Requests += d.Requests
	s.stats.Retried += d.Retried
	s.stats.Stale += d.Stale
	s.mu.Unlock()
}

// backoff is the wait before attempt+1: exponential from MinBackoff up to
// MaxBackoff, with jitter so that several workers do not retry together.
func (s *Sink) backoff(attempt int) time.Duration {
	d := s.cfg.MinBackoff << min(attempt-1, 30)
	if d > s.cfg.MaxBackoff || d <= 0 {
		d = s.cfg.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = time.Until(t)
	}
	return min(max(d, 0), maxRetryAfter)
}

func snippet(b []byte) string {
	const n = 300
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// putTemplates puts the index templates of the sink's flavor and prefix.
func (s *Sink) putTemplates(ctx context.Context) error {
	for _, t := range PrefixedTemplates(s.cfg.Flavor, s.prefix) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, "/_index_template/"+t.Name, bytes.NewReader(t.Body))
		if err != nil {
			return fmt.Errorf("opensearch: index template %s: %w", t.Name, err)
		}
		req.Header.Set("Content-Type", "application/json")
		res, data, err := s.do(req)
		if err != nil {
			return fmt.Errorf("opensearch: putting index template %s: %w", t.Name, err)
		}
		if res.StatusCode/100 != 2 {
			return fmt.Errorf("opensearch: putting index template %s: HTTP %d: %s", t.Name, res.StatusCode, snippet(data))
		}
	}
	return nil
}
