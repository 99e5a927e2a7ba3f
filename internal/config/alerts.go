package config

import (
	"fmt"
	"net/mail"
	"path"
	"strings"
	"text/template"
	"time"
)

// Alerts configures what happens to rule hits: how long hits of one rule
// and key are grouped into one alert, the notifiers alerts are delivered
// to, which alerts go to which notifier, and the delivery retries.
// docs/alerts.md describes them.
type Alerts struct {
	// Suppress is the suppression window of rules that set none: a hit of
	// the same rule and dedup key less than this after an open alert's
	// last_seen updates it instead of opening one (default 1h).
	Suppress time.Duration `yaml:"suppress"`
	// RemindAfter, if set, sends a reminder to an alert's notifiers when
	// it absorbs a hit this long or longer after its last message; 0 (the
	// default) notifies only when an alert is created.
	RemindAfter time.Duration `yaml:"remind_after,omitempty"`
	// RetryFor is how long a delivery is retried before it is marked
	// failed (default 24h).
	RetryFor time.Duration `yaml:"retry_for"`
	// MaxBackoff caps the wait between attempts (default 1h).
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Poll is how often the delivery worker looks for due deliveries
	// (default 5s).
	Poll time.Duration `yaml:"poll"`
	// Notifiers are where alerts can be sent; names are unique.
	Notifiers []Notifier `yaml:"notifiers,omitempty"`
	// Routes choose the notifiers of an alert: it goes to the notifiers
	// of every route that matches it. With no routes every alert goes to
	// every notifier.
	Routes []Route `yaml:"routes,omitempty"`
}

// Notifier is one destination: exactly one of SNS, Slack, Webhook and
// Email is set.
type Notifier struct {
	// Name identifies the notifier in routes and in the outbox.
	Name string `yaml:"name"`
	// Subject and Body are text/template templates replacing the
	// notifier's default message (docs/alerts.md lists the data).
	Subject string `yaml:"subject,omitempty" cfg:"literal"`
	Body    string `yaml:"body,omitempty" cfg:"literal"`
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration `yaml:"timeout"`

	SNS     *SNSNotifier     `yaml:"sns,omitempty"`
	Slack   *SlackNotifier   `yaml:"slack,omitempty"`
	Webhook *WebhookNotifier `yaml:"webhook,omitempty"`
	Email   *EmailNotifier   `yaml:"email,omitempty"`
}

// Type returns the key of the notifier's kind: sns, slack, webhook or
// email.
func (n *Notifier) Type() string {
	switch {
	case n.SNS != nil:
		return "sns"
	case n.Slack != nil:
		return "slack"
	case n.Webhook != nil:
		return "webhook"
	case n.Email != nil:
		return "email"
	}
	return ""
}

// SNSNotifier publishes to an SNS topic.
type SNSNotifier struct {
	// TopicARN is the topic (arn:aws:sns:REGION:ACCOUNT:NAME).
	TopicARN string `yaml:"topic_arn"`
	// AWS is the notifier's effective AWS settings after Parse (the
	// top-level aws block merged with this one).
	AWS *AWS `yaml:"aws,omitempty"`
}

// SlackNotifier posts to a Slack incoming webhook.
type SlackNotifier struct {
	// WebhookURL is the incoming webhook's URL; it is a secret.
	WebhookURL string `yaml:"webhook_url" cfg:"secret"`
}

// WebhookNotifier posts JSON to a URL, signed with HMAC-SHA256.
type WebhookNotifier struct {
	URL string `yaml:"url"`
	// Secret is the HMAC key of the X-Trawl-Signature header.
	Secret string `yaml:"secret" cfg:"secret"`
	// Headers are further request headers.
	Headers map[string]string `yaml:"headers,omitempty"`
}

// EmailNotifier sends mail through an SMTP server.
type EmailNotifier struct {
	// Host and Port are the SMTP server (port default 587).
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS is starttls (default: STARTTLS is required) or tls (implicit
	// TLS, usually port 465).
	TLS string `yaml:"tls"`
	// CAFile is a PEM file of CAs to trust besides the system's.
	CAFile string `yaml:"ca_file,omitempty" cfg:"path"`
	// Auth is plain (default) or login; none sends no credentials.
	Auth     string   `yaml:"auth"`
	Username string   `yaml:"username,omitempty"`
	Password string   `yaml:"password,omitempty" cfg:"secret"`
	From     string   `yaml:"from"`
	To       []string `yaml:"to"`
}

// Route sends the alerts it matches to Notifiers: alerts of a rule
// matching one of Rules (shell patterns, e.g. aws-iam-*; empty for all)
// with a severity of at least MinSeverity (empty for all).
type Route struct {
	Notifiers   []string `yaml:"notifiers,omitempty"`
	Rules       []string `yaml:"rules,omitempty"`
	MinSeverity string   `yaml:"min_severity,omitempty"`
}

// TemplateFuncs are the functions notifier templates may call, besides
// text/template's own; internal/notify renders with the same.
var TemplateFuncs = template.FuncMap{"join": strings.Join, "upper": strings.ToUpper}

// Default values of the alerts section.
const (
	DefaultSuppress        = time.Hour
	DefaultRetryFor        = 24 * time.Hour
	DefaultMaxBackoff      = time.Hour
	DefaultPoll            = 5 * time.Second
	DefaultNotifierTimeout = 10 * time.Second
	DefaultSMTPPort        = 587
)

// Severities are the alert severities, in increasing order.
var Severities = []string{"info", "low", "medium", "high", "critical"}

func (a *Alerts) defaults() {
	a.Suppress, a.RetryFor, a.MaxBackoff, a.Poll = DefaultSuppress, DefaultRetryFor, DefaultMaxBackoff, DefaultPoll
}

func (n *Notifier) defaults()      { n.Timeout = DefaultNotifierTimeout }
func (e *EmailNotifier) defaults() { e.Port, e.TLS, e.Auth = DefaultSMTPPort, "starttls", "plain" }

// Matches reports whether the route takes alerts of rule with severity.
func (r *Route) Matches(rule, severity string) bool {
	if r.MinSeverity != "" && rank(severity) < rank(r.MinSeverity) {
		return false
	}
	if len(r.Rules) == 0 {
		return true
	}
	for _, p := range r.Rules {
		if ok, _ := path.Match(p, rule); ok {
			return true
		}
	}
	return false
}

func rank(s string) int {
	for i, v := range Severities {
		if strings.EqualFold(v, s) {
			return i
		}
	}
	return -1
}

// Route returns the notifiers an alert of rule with severity goes to.
func (a *Alerts) Route(rule, severity string) []string {
	if len(a.Routes) == 0 {
		names := make([]string, len(a.Notifiers))
		for i, n := range a.Notifiers {
			names[i] = n.Name
		}
		return names
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range a.Routes {
		if !r.Matches(rule, severity) {
			continue
		}
		for _, n := range r.Notifiers {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

func (d *decoder) checkAlerts(c *Config) {
	a := &c.Alerts
	if a.RemindAfter != 0 && a.RemindAfter < time.Minute {
		d.errPath("alerts.remind_after", "must be 0 (no reminders) or at least 1m")
	}
	for _, p := range []struct {
		key string
		v   time.Duration
		min time.Duration
	}{{"suppress", a.Suppress, time.Second}, {"retry_for", a.RetryFor, time.Minute}, {"max_backoff", a.MaxBackoff, time.Second}, {"poll", a.Poll, 100 * time.Millisecond}} {
		if p.v < p.min {
			d.errPath("alerts."+p.key, "must be at least %s", p.min)
		}
	}
	names := map[string]bool{}
	for i := range a.Notifiers {
		n := &a.Notifiers[i]
		p := fmt.Sprintf("alerts.notifiers[%d]", i)
		if d.bad[p] {
			continue
		}
		switch {
		case n.Name == "":
			d.errPath(p+".name", "is required")
		case names[n.Name]:
			d.errPath(p+".name", "%q names another notifier too", n.Name)
		}
		names[n.Name] = true
		set := 0
		for _, b := range []bool{n.SNS != nil, n.Slack != nil, n.Webhook != nil, n.Email != nil} {
			if b {
				set++
			}
		}
		if set != 1 {
			d.errPath(p, "needs exactly one of sns, slack, webhook or email")
			continue
		}
		if n.Timeout < time.Second {
			d.errPath(p+".timeout", "must be at least 1s")
		}
		for _, t := range []struct{ key, text string }{{"subject", n.Subject}, {"body", n.Body}} {
			if t.text == "" {
				continue
			}
			if _, err := template.New(n.Name + "." + t.key).Funcs(TemplateFuncs).Option("missingkey=zero").Parse(t.text); err != nil {
				d.errPath(p+"."+t.key, "template %s.%s: %v", n.Name, t.key, err)
			}
		}
		switch {
		case n.SNS != nil:
			if !strings.HasPrefix(n.SNS.TopicARN, "arn:") || strings.Count(n.SNS.TopicARN, ":") != 5 {
				d.errPath(p+".sns.topic_arn", "%q is not an SNS topic ARN (arn:aws:sns:us-east-1:123456789012:NAME)", n.SNS.TopicARN)
			}
			m := merge(c.AWS, n.SNS.AWS)
			if m.Region == "" && m.Endpoint == "" {
				// The topic's region is the default.
				if parts := strings.Split(n.SNS.TopicARN, ":"); len(parts) == 6 {
					m.Region = parts[3]
				}
			}
			d.checkAWS(&m, p+".sns.aws")
			n.SNS.AWS = &m
		case n.Slack != nil:
			d.checkURL(p+".slack.webhook_url", n.Slack.WebhookURL)
		case n.Webhook != nil:
			d.checkURL(p+".webhook.url", n.Webhook.URL)
			if n.Webhook.Secret == "" {
				d.errPath(p+".webhook.secret", "is required: receivers check the signature made with it")
			}
		case n.Email != nil:
			e := n.Email
			if e.Host == "" {
				d.errPath(p+".email.host", "is required")
			}
			if e.Port < 1 || e.Port > 65535 {
				d.errPath(p+".email.port", "must be a port number")
			}
			d.enum(p+".email.tls", e.TLS, "starttls", "tls")
			if d.enum(p+".email.auth", e.Auth, "plain", "login", "none") && e.Auth != "none" && e.Username == "" {
				d.errPath(p+".email.username", "is required with auth %s", e.Auth)
			}
			if _, err := mail.ParseAddress(e.From); err != nil {
				d.errPath(p+".email.from", "%q is not a mail address", e.From)
			}
			if len(e.To) == 0 {
				d.errPath(p+".email.to", "needs at least one address")
			}
			for j, to := range e.To {
				if _, err := mail.ParseAddress(to); err != nil {
					d.errPath(fmt.Sprintf("%s.email.to[%d]", p, j), "%q is not a mail address", to)
				}
			}
		}
	}
	for i, r := range a.Routes {
		p := fmt.Sprintf("alerts.routes[%d]", i)
		if len(r.Notifiers) == 0 {
			d.errPath(p+".notifiers", "needs at least one notifier")
		}
		for j, n := range r.Notifiers {
			if !names[n] {
				d.errPath(fmt.Sprintf("%s.notifiers[%d]", p, j), "%q is not a notifier in alerts.notifiers", n)
			}
		}
		for j, pat := range r.Rules {
			if _, err := path.Match(pat, ""); err != nil {
				d.errPath(fmt.Sprintf("%s.rules[%d]", p, j), "%q is not a valid pattern", pat)
			}
		}
		if r.MinSeverity != "" {
			d.enum(p+".min_severity", r.MinSeverity, Severities...)
		}
	}
}
