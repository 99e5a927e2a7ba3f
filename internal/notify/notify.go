// Package notify delivers alerts: notifiers for SNS, Slack, signed
// webhooks and e-mail, their message templates, and the Worker that sends
// the rows of the store's durable outbox with retries and backoff.
// docs/alerts.md describes the guarantees.
package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/config"
)

// Notifier sends one message. Send returns an error for anything short of
// the receiver accepting the message; the worker retries it later.
type Notifier interface {
	Send(ctx context.Context, m *Message) error
}

// Message is one delivery of an alert, with its subject and text rendered
// from the notifier's templates.
type Message struct {
	// DeliveryID is the outbox row's id: stable across retries, so
	// receivers can drop a message they have seen (at-least-once).
	DeliveryID int64
	Alert      alert.Alert
	Subject    string
	Text       string
	// Reason is why the message was queued: "created" or "reminder".
	Reason string
}

// ID is the message's idempotency key, "trawl-<delivery id>".
func (m *Message) ID() string { return fmt.Sprintf("trawl-%d", m.DeliveryID) }

// TemplateData is what subject and body templates see: {{.Alert.Title}},
// {{.Alert.Severity}}, {{.Alert.Count}}, {{.Fields.principal}},
// {{.DeliveryID}}, …
type TemplateData struct {
	Alert      alert.Alert
	Fields     map[string]string
	DeliveryID int64
	// Severity is the alert's severity in capitals (HIGH).
	Severity string
	// Reason is "created" for a new alert, "reminder" for one still
	// firing (alerts.remind_after).
	Reason string
	// FieldList is Fields in the order messages show them: time,
	// principal, service, API, source IP, region, account, …, then the
	// others by name.
	FieldList []Field
}

// Field is one named value of an alert.
type Field struct{ Name, Value string }

// Default templates. Fields are trawl's column names as the rule put them
// in the hit (principal, source_ip, event_name, …).
const (
	DefaultSubject = `[trawl {{.Severity}}] {{if eq .Reason "reminder"}}still firing: {{end}}{{.Alert.Title}}`
	DefaultBody    = `{{.Alert.Title}}
Rule: {{.Alert.RuleID}}   Severity: {{.Alert.Severity}}   Alert: #{{.Alert.ID}}
Seen: {{.Alert.Count}} time(s), {{.Alert.FirstSeen.Format "2006-01-02 15:04:05Z07:00"}} – {{.Alert.LastSeen.Format "2006-01-02 15:04:05Z07:00"}}
{{range .FieldList}}{{.Name}}: {{.Value}}
{{end}}{{with .Alert.Tags}}MITRE ATT&CK: {{join . ", "}}
{{end}}{{with .Alert.EventIDs}}Events: {{join . ", "}}
{{end}}`
)

var funcs = config.TemplateFuncs

// Templates renders a notifier's messages.
type Templates struct {
	subject, body *template.Template
}

// NewTemplates parses subject and body (empty for the defaults); name
// names the notifier in errors.
func NewTemplates(name, subject, body string) (*Templates, error) {
	if subject == "" {
		subject = DefaultSubject
	}
	if body == "" {
		body = DefaultBody
	}
	s, err := template.New(name + ".subject").Funcs(funcs).Option("missingkey=zero").Parse(subject)
	if err != nil {
		return nil, fmt.Errorf("notifier %s: template subject: %w", name, err)
	}
	b, err := template.New(name + ".body").Funcs(funcs).Option("missingkey=zero").Parse(body)
	if err != nil {
		return nil, fmt.Errorf("notifier %s: template body: %w", name, err)
	}
	return &Templates{subject: s, body: b}, nil
}

// Render makes the message of delivery id of a new alert a.
func (t *Templates) Render(id int64, a alert.Alert) (*Message, error) {
	return t.RenderFor(alert.Delivery{ID: id, Reason: "created"}, a)
}

// RenderFor makes the message of delivery d of alert a.
func (t *Templates) RenderFor(del alert.Delivery, a alert.Alert) (*Message, error) {
	id := del.ID
	d := TemplateData{Alert: a, Fields: a.Fields, DeliveryID: id, Severity: strings.ToUpper(a.Severity), Reason: del.Reason}
	if d.Fields == nil {
		d.Fields = map[string]string{}
	}
	for _, k := range sortedFields(d.Fields) {
		d.FieldList = append(d.FieldList, Field{k, d.Fields[k]})
	}
	var s, b bytes.Buffer
	if err := t.subject.Execute(&s, d); err != nil {
		return nil, fmt.Errorf("rendering %s: %w", t.subject.Name(), err)
	}
	if err := t.body.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("rendering %s: %w", t.body.Name(), err)
	}
	return &Message{DeliveryID: id, Alert: a, Subject: strings.TrimSpace(s.String()), Text: b.String(), Reason: del.Reason}, nil
}

// Configured is a notifier built from configuration, with its templates
// and attempt timeout.
type Configured struct {
	Name      string
	Notifier  Notifier
	Templates *Templates
	Timeout   time.Duration
}

// send renders delivery del of alert a with c's templates and sends it
// within c's timeout. A template that cannot render is a permanent error:
// trying again cannot help.
func (c *Configured) send(ctx context.Context, del alert.Delivery, a alert.Alert) error {
	m, err := c.Templates.RenderFor(del, a)
	if err != nil {
		return permanent{err}
	}
	sctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	return c.Notifier.Send(sctx, m)
}

// Build makes the configured notifiers, by name. It checks templates and
// settings; it does not contact the receivers.
func Build(ctx context.Context, cfg config.Alerts) (map[string]*Configured, error) {
	out := map[string]*Configured{}
	var errs []error
	for _, n := range cfg.Notifiers {
		c, err := build(ctx, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[n.Name] = c
	}
	return out, errors.Join(errs...)
}

func build(ctx context.Context, n config.Notifier) (*Configured, error) {
	t, err := NewTemplates(n.Name, n.Subject, n.Body)
	if err != nil {
		return nil, err
	}
	c := &Configured{Name: n.Name, Templates: t, Timeout: n.Timeout}
	if c.Timeout <= 0 {
		c.Timeout = config.DefaultNotifierTimeout
	}
	switch {
	case n.SNS != nil:
		c.Notifier, err = NewSNS(ctx, *n.SNS)
	case n.Slack != nil:
		c.Notifier = &Slack{URL: n.Slack.WebhookURL}
	case n.Webhook != nil:
		c.Notifier = &Webhook{URL: n.Webhook.URL, Secret: []byte(n.Webhook.Secret), Headers: n.Webhook.Headers}
	case n.Email != nil:
		c.Notifier, err = NewEmail(*n.Email)
	default:
		err = errors.New("no type (sns, slack, webhook or email)")
	}
	if err != nil {
		return nil, fmt.Errorf("notifier %s: %w", n.Name, err)
	}
	return c, nil
}

// fieldOrder lists the fields messages show first, in this order; others
// follow sorted by name.
var fieldOrder = []string{"event_time", "principal", "event_source", "event_name", "source_ip", "region", "account", "user_agent", "error_code"}

// sortedFields returns the keys of f, the known ones first.
func sortedFields(f map[string]string) []string {
	var keys []string
	for _, k := range fieldOrder {
		if f[k] != "" {
			keys = append(keys, k)
		}
	}
	var rest []string
	for k, v := range f {
		if v != "" && !slices.Contains(fieldOrder, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

// RetryAfter is an error carrying the wait a receiver asked for (HTTP 429
// Retry-After); the worker waits at least that long.
type RetryAfter struct {
	Err   error
	After time.Duration
}

func (e *RetryAfter) Error() string { return e.Err.Error() }

func (e *RetryAfter) Unwrap() error { return e.Err }
