package config

import (
	"slices"
	"strings"
	"testing"
)

// exampleAlerts is the example's alerts section with its comments removed:
// the commented notifiers and routes must be valid when uncommented.
func exampleAlerts(t *testing.T) string {
	t.Helper()
	_, block, ok := strings.Cut(Example, "\nalerts:")
	if !ok {
		t.Fatal("the example has no alerts section")
	}
	var b strings.Builder
	b.WriteString("alerts:")
	for _, line := range strings.Split(block, "\n") {
		if code, ok := strings.CutPrefix(line, "  # "); ok {
			line = "  " + code
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func TestAlertsExample(t *testing.T) {
	t.Setenv("TRAWL_SMTP_PASSWORD", "pw")
	t.Setenv("TRAWL_SLACK_WEBHOOK", "https://hooks.slack.com/services/T0/B0/X")
	t.Setenv("TRAWL_WEBHOOK_SECRET", "s3cret")
	c, err := Parse("/etc/trawl/trawl.yaml", []byte(exampleAlerts(t)))
	if err != nil {
		t.Fatalf("%v\n%s", err, exampleAlerts(t))
	}
	a := c.Alerts
	if !strings.Contains(a.Notifiers[3].Subject, "{{.Alert.Title}}") {
		t.Errorf("the template was expanded as ${VAR}s or lost: %q", a.Notifiers[3].Subject)
	}
	if len(a.Notifiers) != 4 || len(a.Routes) != 2 {
		t.Fatalf("notifiers %d routes %d", len(a.Notifiers), len(a.Routes))
	}
	var types []string
	for _, n := range a.Notifiers {
		types = append(types, n.Type())
	}
	if !slices.Equal(types, []string{"email", "slack", "webhook", "sns"}) {
		t.Errorf("types %v", types)
	}
	if e := a.Notifiers[0].Email; e.Port != 587 || e.TLS != "starttls" || e.Password != "pw" {
		t.Errorf("email %+v", e)
	}
	if r := a.Notifiers[3].SNS.AWS.Region; r != "us-east-1" {
		t.Errorf("the SNS region %q is not the topic's", r)
	}
	for _, c := range []struct {
		rule, sev string
		want      []string
	}{
		{"aws-iam-create-user", "high", []string{"sec-email", "pager", "slack"}},
		{"aws-iam-create-user", "low", []string{"slack"}},
		{"aws-s3-public", "critical", []string{"sec-email", "pager"}},
		{"aws-s3-public", "medium", nil},
	} {
		if got := a.Route(c.rule, c.sev); !slices.Equal(got, c.want) {
			t.Errorf("Route(%s, %s) = %v, want %v", c.rule, c.sev, got, c.want)
		}
	}
	printed := c.String()
	for _, secret := range []string{"password: pw", "s3cret", "hooks.slack.com"} {
		if strings.Contains(printed, secret) {
			t.Errorf("printed config shows the secret %q:\n%s", secret, printed)
		}
	}
	if !strings.Contains(printed, "topic_arn: arn:aws:sns") {
		t.Errorf("printed config lacks the topic:\n%s", printed)
	}
}

func TestAlertsErrors(t *testing.T) {
	if _, err := Parse("/etc/trawl/trawl.yaml", []byte(`alerts:
  notifiers:
    - name: s
      subject: '{{upper .Severity}} {{join .Alert.Tags ", "}} $HOME'
      slack: {webhook_url: "https://hooks.slack.com/x"}
`)); err != nil {
		t.Errorf("a template with trawl's functions: %v", err)
	}
	got := problems(t, `alerts:
  suppress: 0s
  notifiers:
    - name: a
      subject: "{{.Alert.Title"
      webhook: {url: "ftp://x"}
    - name: a
      slack: {webhook_url: "https://hooks.slack.com/x"}
      email: {host: h, from: x, to: []}
    - name: m
      email: {host: h, from: t@example.com, to: [bad], auth: cram}
  routes:
    - notifiers: [nope]
      min_severity: urgent
`)
	want := []string{
		"alerts.suppress: must be at least 1s",
		"alerts.notifiers[0].subject: template a.subject",
		"alerts.notifiers[0].webhook.url: \"ftp://x\" is not an http or https URL",
		"alerts.notifiers[0].webhook.secret: is required",
		"alerts.notifiers[1].name: \"a\" names another notifier too",
		"alerts.notifiers[1]: needs exactly one of sns, slack, webhook or email",
		"alerts.notifiers[2].email.auth: \"cram\" is not one of plain, login, none",
		"alerts.notifiers[2].email.to[0]: \"bad\" is not a mail address",
		"alerts.routes[0].notifiers[0]: \"nope\" is not a notifier",
		"alerts.routes[0].min_severity: \"urgent\" is not one of",
	}
	all := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("missing problem %q in\n%s", w, all)
		}
	}
}
