package clickhouse

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"syscall"
	"testing"
)

// fakeTransport answers from a list of outcomes, one per request, and
// tells the request's trace whether the connection was a reused one.
type fakeTransport struct {
	reused []bool
	errs   []error
	bodies []string
}

func (f *fakeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	n := len(f.bodies)
	b, _ := io.ReadAll(req.Body)
	f.bodies = append(f.bodies, string(b))
	if tr := httptrace.ContextClientTrace(req.Context()); tr != nil && tr.GotConn != nil {
		tr.GotConn(httptrace.GotConnInfo{Reused: f.reused[n]})
	}
	if f.errs[n] != nil {
		return nil, f.errs[n]
	}
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok")), Header: http.Header{}}, nil
}

// TestDoRetrying: a request that fails on a kept-alive connection the
// server had closed (broken pipe, reset, EOF) is sent once more, with
// the same body; one that failed on a new connection, or with another
// error, is not.
func TestDoRetrying(t *testing.T) {
	pipe := fmt.Errorf("write tcp: %w", syscall.EPIPE)
	for _, tc := range []struct {
		name   string
		reused []bool
		errs   []error
		sends  int
		ok     bool
	}{
		{"broken pipe on a reused connection", []bool{true, false}, []error{pipe, nil}, 2, true},
		{"reset on a reused connection", []bool{true, false}, []error{fmt.Errorf("read: %w", syscall.ECONNRESET), nil}, 2, true},
		{"EOF on a reused connection", []bool{true, false}, []error{io.EOF, nil}, 2, true},
		{"broken pipe on a new connection", []bool{false}, []error{pipe}, 1, false},
		{"another error on a reused connection", []bool{true}, []error{errors.New("no route to host")}, 1, false},
		{"fails again: only one retry", []bool{true, true}, []error{pipe, pipe}, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeTransport{reused: tc.reused, errs: tc.errs}
			req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", strings.NewReader("INSERT body"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := doRetrying(&http.Client{Transport: ft}, req)
			if resp != nil {
				resp.Body.Close()
			}
			if len(ft.bodies) != tc.sends {
				t.Errorf("sent %d times, want %d", len(ft.bodies), tc.sends)
			}
			for i, b := range ft.bodies {
				if b != "INSERT body" {
					t.Errorf("send %d had body %q", i+1, b)
				}
			}
			if (err == nil) != tc.ok {
				t.Errorf("error %v, want success %v", err, tc.ok)
			}
		})
	}
}
