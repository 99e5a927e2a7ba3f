package web_test

import (
	"context"
	"testing"

	"github.com/trawl-project/trawl/internal/api"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/dashboard"
	"github.com/trawl-project/trawl/internal/rules"
	"github.com/trawl-project/trawl/internal/server"
	"github.com/trawl-project/trawl/internal/web"
)

// startServer runs the real server as trawl serve builds it (the API, the
// dashboards and this package's UI behind the security middleware, SQL
// without external access) on a loopback port, and returns its base URL.
func startServer(t *testing.T, st *app.Store, set *rules.Set) string {
	t.Helper()
	return startServerToken(t, st, set, "")
}

// startServerToken is startServer with a token required.
func startServerToken(t *testing.T, st *app.Store, set *rules.Set, token string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := st.DisableExternalAccess(ctx); err != nil {
		t.Fatalf("sandboxing SQL: %v", err)
	}
	srv, err := server.Listen(server.Options{
		Addr:  "127.0.0.1:0",
		Token: token,
		API: api.New(api.Options{
			Store:  st.Querier(),
			SQL:    st.Store,
			Alerts: st.Store,
			Rules:  set.Rules,
		}),
		Dashboards: dashboard.Handler(st.Querier()),
		Web:        web.Handler(),
	})
	if err != nil {
		cancel()
		t.Fatalf("starting the server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return srv.URL()
}
