// Package chtest runs a real clickhouse-server for tests: one server per
// test binary, started on first use on free loopback ports with its data in
// a temporary directory, and a fresh database for every caller.
//
// A test package that uses it stops the server at the end with
//
//	func TestMain(m *testing.M) { chtest.Main(m) }
//
// When the server binary is missing, DSN skips the test with a clear
// message, or fails it when TRAWL_REQUIRE_CLICKHOUSE=1 (CI sets it).
package chtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Binary is the server executable that tests start; TRAWL_CLICKHOUSE_SERVER
// overrides it.
const Binary = "/usr/sbin/clickhouse-server"

// RequireEnv names the variable that turns a missing server into a failure.
const RequireEnv = "TRAWL_REQUIRE_CLICKHOUSE"

var (
	mu      sync.Mutex
	srv     *server
	srvErr  error
	dbCount atomic.Int64
)

type server struct {
	cmd     *exec.Cmd
	dir     string
	base    string // http://127.0.0.1:port
	done    chan struct{}
	ownsDir bool
}

// Main runs the tests and then stops the server if one was started. Use it
// as the package's TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the server started by DSN or URL, if any. Main calls it.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if srv == nil {
		return
	}
	srv.stop()
	srv = nil
}

// binary returns the server binary's path, or "" when it is missing.
func binary() string {
	b := os.Getenv("TRAWL_CLICKHOUSE_SERVER")
	if b == "" {
		b = Binary
	}
	if _, err := os.Stat(b); err != nil {
		if p, err := exec.LookPath("clickhouse-server"); err == nil {
			return p
		}
		return ""
	}
	return b
}

// Available reports whether a server can be started here.
func Available() bool { return binary() != "" }

// URL returns the base HTTP address (http://127.0.0.1:PORT) of the test
// server, starting it if needed. It skips or fails t when no server can run.
func URL(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if srv == nil && srvErr == nil {
		bin := binary()
		if bin == "" {
			msg := fmt.Sprintf("clickhouse-server not found at %s (install the clickhouse-server package)", Binary)
			if os.Getenv(RequireEnv) == "1" {
				t.Fatalf("%s, and %s=1", msg, RequireEnv)
			}
			t.Skip(msg + "; set " + RequireEnv + "=1 to fail instead")
		}
		srv, srvErr = start(bin)
	}
	if srvErr != nil {
		t.Fatalf("starting clickhouse-server: %v", srvErr)
	}
	return srv.base
}

// DSN creates a fresh, empty database on the test server and returns its
// clickhouse://127.0.0.1:PORT/NAME address.
func DSN(t testing.TB) string {
	t.Helper()
	base := URL(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbCount.Add(1))
	if err := Exec(base, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if os.Getenv("TRAWL_KEEP_CLICKHOUSE") == "" {
			_ = Exec(base, "DROP DATABASE IF EXISTS "+name)
		}
	})
	return "clickhouse://" + strings.TrimPrefix(base, "http://") + "/" + name
}

// Exec runs one statement on the server at base (an http:// address) and
// returns its error, with the server's message.
func Exec(base, sql string) error {
	resp, err := http.Post(base+"/", "text/plain", strings.NewReader(sql))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

const configXML = `<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>{{dir}}/log/server.log</log>
        <errorlog>{{dir}}/log/server.err.log</errorlog>
        <size>10M</size>
        <count>1</count>
    </logger>
    <http_port>{{http}}</http_port>
    <tcp_port>{{tcp}}</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>134217728</uncompressed_cache_size>
    <mark_cache_size>134217728</mark_cache_size>
    <path>{{dir}}/data/</path>
    <tmp_path>{{dir}}/tmp/</tmp_path>
    <user_files_path>{{dir}}/user_files/</user_files_path>
    <format_schema_path>{{dir}}/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
</yandex>
`

const usersXML = `<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
        <readonly>
            <readonly>1</readonly>
        </readonly>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
`

// Server is a clickhouse-server started by StartServer, for programs
// other than tests (the benchmark tool).
type Server struct{ s *server }

// StartServer starts a clickhouse-server on free loopback ports with its
// data in a new temporary directory.
func StartServer() (*Server, error) {
	bin := binary()
	if bin == "" {
		return nil, fmt.Errorf("clickhouse-server not found at %s (install the clickhouse-server package)", Binary)
	}
	s, err := start(bin)
	if err != nil {
		return nil, err
	}
	return &Server{s}, nil
}

// URL returns the server's HTTP address, http://127.0.0.1:PORT.
func (s *Server) URL() string { return s.s.base }

// DataDir returns the directory holding the server's data.
func (s *Server) DataDir() string { return s.s.dir }

// Stop stops the server and removes its data.
func (s *Server) Stop() { s.s.stop() }

func start(bin string) (*server, error) {
	dir, err := os.MkdirTemp("", "trawl-chtest-")
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"log", "data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := startIn(bin, dir)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

func startIn(bin, dir string) (*server, error) {
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	tcpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := strings.NewReplacer("{{dir}}", dir, "{{http}}", strconv.Itoa(httpPort), "{{tcp}}", strconv.Itoa(tcpPort)).Replace(configXML)
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(usersXML), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "log", "stdout.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config-file="+filepath.Join(dir, "config.xml"))
	cmd.Dir = dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Its own process group, killed with the test binary if that dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &server{cmd: cmd, dir: dir, base: "http://127.0.0.1:" + strconv.Itoa(httpPort), done: make(chan struct{}), ownsDir: true}
	go func() { cmd.Wait(); logf.Close(); close(s.done) }() //nolint:errcheck // the exit status is in the log
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/ping", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			out, _ := os.ReadFile(filepath.Join(dir, "log", "server.err.log"))
			more, _ := os.ReadFile(filepath.Join(dir, "log", "stdout.log"))
			return nil, fmt.Errorf("clickhouse-server exited: %s %s", tail(out), tail(more))
		case <-ctx.Done():
			s.ownsDir = false
			s.stop()
			return nil, fmt.Errorf("clickhouse-server did not answer /ping on %s within 60s", s.base)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	if s.ownsDir && os.Getenv("TRAWL_KEEP_CLICKHOUSE") == "" {
		os.RemoveAll(s.dir)
	}
}

// Query runs a query on the server at base and returns its output as text
// (TabSeparated unless sql names a format), for test assertions.
func Query(base, sql string) (string, error) {
	resp, err := http.Post(base+"/?"+url.Values{"query": {sql}}.Encode(), "text/plain", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}
