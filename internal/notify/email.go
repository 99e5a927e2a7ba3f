package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/trawl-project/trawl/internal/config"
)

// Email sends a plain-text mail through an SMTP server, over STARTTLS
// (required) or implicit TLS, with PLAIN or LOGIN authentication. Its
// Message-ID is built from the delivery id, so a mail sent twice (a crash
// between send and mark) has the same id both times.
type Email struct {
	Addr     string // host:port
	Host     string // the server name checked in its certificate
	Implicit bool   // TLS from the start instead of STARTTLS
	TLS      *tls.Config
	Auth     string // plain, login or none
	Username string
	Password string
	From     string
	To       []string
	// Now is the clock of the Date header (time.Now when nil).
	Now func() time.Time
}

// NewEmail makes an Email notifier from its configuration.
func NewEmail(c config.EmailNotifier) (*Email, error) {
	tc := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", c.CAFile)
		}
		tc.RootCAs = pool
	}
	return &Email{Addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), Host: c.Host, Implicit: c.TLS == "tls", TLS: tc,
		Auth: c.Auth, Username: c.Username, Password: c.Password, From: c.From, To: c.To}, nil
}

// Send delivers the message to every recipient.
func (e *Email) Send(ctx context.Context, m *Message) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.Addr)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", e.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var c *smtp.Client
	if e.Implicit {
		c = smtp.NewClient(tls.Client(conn, e.TLS))
	} else {
		c, err = smtp.NewClientStartTLS(conn, e.TLS)
		if err != nil {
			conn.Close()
			return fmt.Errorf("%s: STARTTLS: %w", e.Addr, err)
		}
	}
	defer c.Close()
	switch e.Auth {
	case "plain":
		err = c.Auth(sasl.NewPlainClient("", e.Username, e.Password))
	case "login":
		err = c.Auth(&loginClient{user: e.Username, pass: e.Password})
	}
	if err != nil {
		return fmt.Errorf("%s: authenticating as %s: %w", e.Addr, e.Username, err)
	}
	msg, err := e.compose(m)
	if err != nil {
		return err
	}
	if err := c.SendMail(addrOnly(e.From), addrsOnly(e.To), bytes.NewReader(msg)); err != nil {
		return fmt.Errorf("%s: sending: %w", e.Addr, err)
	}
	_ = c.Quit() // the server accepted the mail; a failed QUIT does not undo that
	return nil
}

func addrOnly(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
	}
	return s
}

func addrsOnly(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = addrOnly(s)
	}
	return out
}

// compose builds the RFC 5322 message: UTF-8 text, quoted-printable.
func (e *Email) compose(m *Message) ([]byte, error) {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	domain := "trawl.invalid"
	if _, d, ok := strings.Cut(addrOnly(e.From), "@"); ok {
		domain = d
	}
	var b bytes.Buffer
	subject := strings.Join(strings.Fields(m.Subject), " ")
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\n",
		e.From, strings.Join(e.To, ", "), mime.QEncoding.Encode("utf-8", subject), now().Format(time.RFC1123Z), m.ID(), domain)
	fmt.Fprintf(&b, "X-Trawl-Alert: %d\r\nX-Trawl-Rule: %s\r\nX-Trawl-Severity: %s\r\n", m.Alert.ID, oneLine(m.Alert.RuleID), oneLine(m.Alert.Severity))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// loginClient is the LOGIN mechanism answering the server's prompts
// (Username:, Password:) by their meaning; go-sasl's sends the user name
// up front, which some servers refuse.
type loginClient struct{ user, pass string }

func (l *loginClient) Start() (string, []byte, error) { return "LOGIN", nil, nil }

func (l *loginClient) Next(challenge []byte) ([]byte, error) {
	switch c := strings.ToLower(string(challenge)); {
	case strings.HasPrefix(c, "user"):
		return []byte(l.user), nil
	case strings.HasPrefix(c, "pass"):
		return []byte(l.pass), nil
	}
	return nil, fmt.Errorf("unexpected LOGIN challenge %q", challenge)
}
