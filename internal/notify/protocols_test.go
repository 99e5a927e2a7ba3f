package notify_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/notify"
)

// snsServer speaks SNS's Publish as AWS documents it: the query protocol
// (a form-encoded POST, Action=Publish&Version=2010-03-31&TopicArn=…),
// answered with a PublishResponse XML document, or an ErrorResponse with
// HTTP 500 for the first fail requests.
type snsServer struct {
	mu        sync.Mutex
	fail      int
	requests  int
	published []map[string]string
}

func (s *snsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	if s.requests <= s.fail {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Receiver</Type><Code>InternalError</Code><Message>Internal service error</Message></Error><RequestId>a1b2c3</RequestId></ErrorResponse>`)
		return
	}
	if r.Form.Get("Action") != "Publish" || r.Form.Get("Version") != "2010-03-31" {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>bad action</Message></Error><RequestId>x</RequestId></ErrorResponse>`)
		return
	}
	subject := r.Form.Get("Subject")
	if utf8.RuneCountInString(subject) > 100 || strings.ContainsAny(subject, "\r\n") {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid parameter: Subject</Message></Error><RequestId>x</RequestId></ErrorResponse>`)
		return
	}
	p := map[string]string{}
	for k := range r.Form {
		p[k] = r.Form.Get(k)
	}
	s.published = append(s.published, p)
	fmt.Fprintf(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>%d-94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId></PublishResult><ResponseMetadata><RequestId>f187a3c1</RequestId></ResponseMetadata></PublishResponse>`, len(s.published))
}

// TestSNS publishes through the AWS SDK to a server speaking SNS's query
// protocol: an InternalError first (retried by the worker, not the SDK),
// then a published message with a subject cut to 100 characters.
func TestSNS(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"), "pager")
	defer st.Close()
	a := newAlert(t, st, strings.Repeat("long-key-", 12))
	srv := &snsServer{fail: 1}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	const topic = "arn:aws:sns:eu-west-1:111122223333:security-alerts"
	n, err := notify.NewSNS(ctx, config.SNSNotifier{TopicARN: topic, AWS: &config.AWS{Endpoint: ts.URL}})
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	w := worker(st, c, configured(t, "pager", n, 5*time.Second))
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	d := deliveries(t, st)[0]
	if d.Status != alert.Pending || !strings.Contains(d.LastError, "InternalError") || srv.requests != 1 {
		t.Fatalf("after an InternalError: %+v, %d requests (the SDK must not retry)", d, srv.requests)
	}
	c.Advance(time.Minute)
	if n, err := w.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("%d delivered, %v", n, err)
	}
	if len(srv.published) != 1 {
		t.Fatalf("%d published", len(srv.published))
	}
	p := srv.published[0]
	if p["TopicArn"] != topic || !strings.Contains(p["Message"], "Rule: aws-root-login") || !strings.Contains(p["Message"], "source_ip: 203.0.113.7") {
		t.Errorf("published %v", p)
	}
	if s := p["Subject"]; utf8.RuneCountInString(s) != 100 || !strings.HasPrefix(s, "[trawl HIGH] Root account console login") || !strings.HasSuffix(s, "…") {
		t.Errorf("subject %q (%d characters) is not the title cut to 100", s, utf8.RuneCountInString(s))
	}
	if p["MessageAttributes.entry.1.Name"] != "trawl_message_id" || p["MessageAttributes.entry.1.Value.StringValue"] != fmt.Sprintf("trawl-%d", d.ID) {
		t.Errorf("message attributes %v", p)
	}
	if got := deliveries(t, st)[0]; got.Status != alert.Delivered || got.AlertID != a.ID {
		t.Errorf("row %+v", got)
	}
}

// smtpBackend is an SMTP server (emersion/go-smtp) that offers STARTTLS
// and requires AUTH PLAIN or LOGIN before MAIL.
type smtpBackend struct {
	mu       sync.Mutex
	user     string
	pass     string
	messages []smtpMessage
	auths    []string
}

type smtpMessage struct {
	from string
	to   []string
	data []byte
	tls  bool
}

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{b: b, conn: c}, nil
}

type smtpSession struct {
	b      *smtpBackend
	conn   *smtp.Conn
	authed bool
	msg    smtpMessage
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != s.b.user || pass != s.b.pass {
			return errors.New("invalid credentials")
		}
		s.authed = true
		s.b.mu.Lock()
		s.b.auths = append(s.b.auths, mech)
		s.b.mu.Unlock()
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, errors.New("unsupported mechanism")
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.msg = smtpMessage{from: from, tls: isTLS}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.to = append(s.msg.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.data = data
	s.b.mu.Lock()
	s.b.messages = append(s.b.messages, s.msg)
	s.b.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN: Username:, Password:.
type loginServer struct {
	check func(user, pass string) error
	user  *string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	if l.user == nil {
		if resp == nil {
			u := ""
			l.user = &u
			return []byte("Username:"), false, nil
		}
		u := string(resp)
		l.user = &u
		return []byte("Password:"), false, nil
	}
	if *l.user == "" {
		u := string(resp)
		l.user = &u
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(*l.user, string(resp))
}

// selfSigned makes a certificate for 127.0.0.1 and writes it as a PEM CA
// file.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

func startSMTP(t *testing.T, be *smtpBackend, cert *tls.Certificate) (host string, port int) {
	t.Helper()
	s := smtp.NewServer(be)
	s.Domain = "localhost"
	s.AllowInsecureAuth = false // AUTH only after STARTTLS
	if cert != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l) //nolint:errcheck // ends with Close
	t.Cleanup(func() { s.Close() })
	a := l.Addr().(*net.TCPAddr)
	return "127.0.0.1", a.Port
}

// TestEmail sends through an SMTP server with STARTTLS and AUTH PLAIN, and
// LOGIN; a wrong password is retried; a server without STARTTLS is refused.
func TestEmail(t *testing.T) {
	cert, caFile := selfSigned(t)
	be := &smtpBackend{user: "trawl", pass: "pw"}
	host, port := startSMTP(t, be, &cert)
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"), "mail-plain", "mail-login", "mail-wrong")
	defer st.Close()
	a := newAlert(t, st, "k1")
	cfg := config.EmailNotifier{Host: host, Port: port, TLS: "starttls", CAFile: caFile, Auth: "plain", Username: "trawl", Password: "pw",
		From: "trawl <trawl@example.com>", To: []string{"sec@example.com", "Ops <ops@example.com>"}}
	plain, err := notify.NewEmail(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth = "login"
	login, _ := notify.NewEmail(cfg)
	cfg.Password = "wrong"
	wrong, _ := notify.NewEmail(cfg)
	ns := configured(t, "mail-plain", plain, 5*time.Second)
	for k, v := range configured(t, "mail-login", login, 5*time.Second) {
		ns[k] = v
	}
	for k, v := range configured(t, "mail-wrong", wrong, 5*time.Second) {
		ns[k] = v
	}
	c := newClock()
	w := worker(st, c, ns)
	if n, err := w.RunOnce(ctx); n != 2 || err != nil {
		t.Fatalf("%d delivered, %v", n, err)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.messages) != 2 || strings.Join(be.auths, ",") != "PLAIN,LOGIN" && strings.Join(be.auths, ",") != "LOGIN,PLAIN" {
		t.Fatalf("%d messages, auths %v", len(be.messages), be.auths)
	}
	for _, m := range be.messages {
		if !m.tls || m.from != "trawl@example.com" || strings.Join(m.to, ",") != "sec@example.com,ops@example.com" {
			t.Errorf("envelope %+v", m)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(m.data))
		if err != nil {
			t.Fatal(err)
		}
		subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if subj != "[trawl HIGH] Root account console login (k1)" || !strings.HasPrefix(msg.Header.Get("Message-ID"), "<trawl-") ||
			msg.Header.Get("X-Trawl-Alert") != strconv.FormatInt(a.ID, 10) || !strings.Contains(string(body), "principal: arn:aws:iam::111122223333:root") {
			t.Errorf("message %v\n%s", msg.Header, body)
		}
	}
	for _, d := range deliveries(t, st) {
		if d.Notifier == "mail-wrong" && (d.Status != alert.Pending || !strings.Contains(d.LastError, "authenticating")) {
			t.Errorf("wrong password: %+v", d)
		}
	}

	// A server that offers no STARTTLS: nothing is sent in clear text.
	be2 := &smtpBackend{user: "trawl", pass: "pw"}
	host2, port2 := startSMTP(t, be2, nil)
	cfg2 := cfg
	cfg2.Host, cfg2.Port, cfg2.Password = host2, port2, "pw"
	noTLS, _ := notify.NewEmail(cfg2)
	m, _ := ns["mail-plain"].Templates.Render(99, a)
	if err := noTLS.Send(ctx, m); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("a server without STARTTLS: %v", err)
	}
}
