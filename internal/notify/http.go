package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
)

// post sends body to url and returns an error unless the answer is 2xx.
// A 429 or 503 with Retry-After gives a *RetryAfter.
func post(ctx context.Context, client *http.Client, url string, body []byte, header http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "trawl")
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("posting to %s: %w", redactURL(url), err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 == 2 {
		return answer, nil
	}
	err = fmt.Errorf("posting to %s: HTTP %d: %s", redactURL(url), resp.StatusCode, strings.TrimSpace(string(answer)))
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, perr := strconv.Atoi(s); perr == nil && secs > 0 {
			return nil, &RetryAfter{Err: err, After: time.Duration(secs) * time.Second}
		}
	}
	return nil, err
}

// redactURL keeps the scheme and host of a URL: Slack webhook paths are
// secrets.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "the URL"
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host + "/…"
}

// Slack posts to an incoming webhook: a header with severity and title,
// the alert's main fields, and the rendered text.
type Slack struct {
	URL    string
	Client *http.Client
}

// Send posts the message. Slack answers "ok" with 200; anything else is an
// error (429 carries Retry-After).
func (s *Slack) Send(ctx context.Context, m *Message) error {
	body, err := json.Marshal(SlackPayload(m))
	if err != nil {
		return err
	}
	_, err = post(ctx, s.Client, s.URL, body, nil)
	return err
}

// slackLabels are the fields a Slack message shows, with their labels.
var slackLabels = []struct{ key, label string }{
	{"event_time", "Time"}, {"principal", "Principal"}, {"event_name", "API"}, {"event_source", "Service"},
	{"source_ip", "Source IP"}, {"region", "Region"}, {"account", "Account"},
}

// SlackPayload is the JSON body of a Slack message (Block Kit): text is
// the notification fallback.
func SlackPayload(m *Message) map[string]any {
	a := m.Alert
	var fields []map[string]any
	f := func(label, v string) {
		if v != "" && len(fields) < 10 { // Slack allows 10 fields a section
			fields = append(fields, map[string]any{"type": "mrkdwn", "text": "*" + label + "*\n" + slackEscape(v)})
		}
	}
	if a.Fields["event_time"] == "" {
		f("Time", a.LastSeen.UTC().Format(time.RFC3339))
	}
	for _, l := range slackLabels {
		f(l.label, a.Fields[l.key])
	}
	header := truncate(m.Subject, 150) // a header's text is at most 150 characters
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": header}},
	}
	if len(fields) > 0 {
		blocks = append(blocks, map[string]any{"type": "section", "fields": fields})
	}
	blocks = append(blocks,
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": truncate(slackEscape(m.Text), 3000)}},
		map[string]any{"type": "context", "elements": []map[string]any{{"type": "mrkdwn",
			"text": slackEscape(fmt.Sprintf("rule %s · alert #%d · %s · seen %d× · delivery %s", a.RuleID, a.ID, a.Status, a.Count, m.ID()))}}},
	)
	return map[string]any{"text": header, "blocks": blocks, "unfurl_links": false, "unfurl_media": false}
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate cuts s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Webhook posts the alert as JSON, signed: X-Trawl-Signature is
// "sha256=" and the hex HMAC-SHA256 of the body with Secret.
// X-Trawl-Timestamp (Unix seconds, also in the body as sent_at) lets
// receivers refuse old messages; X-Trawl-Delivery and Idempotency-Key
// carry the message id.
type Webhook struct {
	URL     string
	Secret  []byte
	Headers map[string]string
	Client  *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// WebhookBody is the JSON a webhook receives.
type WebhookBody struct {
	ID       string      `json:"id"`
	SentAt   int64       `json:"sent_at"`
	Subject  string      `json:"subject"`
	Text     string      `json:"text"`
	Alert    webhookJSON `json:"alert"`
	Delivery int64       `json:"delivery_id"`
}

type webhookJSON struct {
	ID        int64             `json:"id"`
	RuleID    string            `json:"rule_id"`
	Severity  string            `json:"severity"`
	Title     string            `json:"title"`
	Status    alert.Status      `json:"status"`
	LogType   string            `json:"log_type,omitempty"`
	DedupKey  string            `json:"dedup_key"`
	FirstSeen time.Time         `json:"first_seen"`
	LastSeen  time.Time         `json:"last_seen"`
	Count     int64             `json:"count"`
	EventIDs  []string          `json:"event_ids"`
	Tags      []string          `json:"tags,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"`
}

// Sign returns the X-Trawl-Signature value of body.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether sig is the signature of body with secret, in
// constant time.
func Verify(secret, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(sig))
}

// Send posts the message.
func (w *Webhook) Send(ctx context.Context, m *Message) error {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	a := m.Alert
	sent := now().Unix()
	body, err := json.Marshal(WebhookBody{ID: m.ID(), SentAt: sent, Subject: m.Subject, Text: m.Text, Delivery: m.DeliveryID,
		Alert: webhookJSON{ID: a.ID, RuleID: a.RuleID, Severity: a.Severity, Title: a.Title, Status: a.Status, LogType: a.LogType,
			DedupKey: a.DedupKey, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, Count: a.Count, EventIDs: a.EventIDs, Tags: a.Tags, Fields: a.Fields}})
	if err != nil {
		return err
	}
	h := http.Header{}
	for k, v := range w.Headers {
		h.Set(k, v)
	}
	h.Set("X-Trawl-Signature", Sign(w.Secret, body))
	h.Set("X-Trawl-Timestamp", strconv.FormatInt(sent, 10))
	h.Set("X-Trawl-Delivery", m.ID())
	h.Set("Idempotency-Key", m.ID())
	_, err = post(ctx, w.Client, w.URL, body, h)
	return err
}
