package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/dashboard"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// noRetries is a Retrier for a dashboard that retries nothing.
type noRetries struct{}

func (noRetries) Retry(context.Context, int64) (bool, error) { return false, nil }

// Guard finds who makes a request, Allow checks what a route needs: the
// API wants a Bearer token, a browser is sent to sign in.
// noDecisions is a Decider for a dashboard that decides nothing.
type noDecisions struct{}

func (noDecisions) RetryDecision(context.Context, string, string, string, string) error { return nil }
func (noDecisions) DecideByFile(context.Context, string, string, string, string) error  { return nil }

// Guard puts the admin surface behind the admin token: the API and the
// metrics want the bearer token, a browser is sent to sign in.
func ExampleDashboard_Guard() {
	dir, _ := os.MkdirTemp("", "example-")
	defer os.RemoveAll(dir)
	db, err := storage.Open(context.Background(), filepath.Join(dir, "mallpoints.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	d, err := dashboard.New(dashboard.Config{DB: db, Rules: rules.NewCurrent(rules.Default()), Retrier: noRetries{},
		Decider: noDecisions{}, Actor: func(context.Context) string { return "token" }, Token: "s3cret"})
	if err != nil {
		fmt.Println(err)
		return
	}
	admin := d.Guard(d.Allow(accounts.Read, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})))
	for _, c := range []struct{ path, auth string }{
		{"/api/members", ""},
		{"/api/members", "Bearer s3cret"},
		{"/members", ""},
	} {
		r := httptest.NewRequest(http.MethodGet, c.path, nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		admin.ServeHTTP(w, r)
		fmt.Println(c.path, c.auth != "", w.Code, w.Header().Get("Location") != "") // path, token sent, status, sent to sign in
	}
	// Output:
	// /api/members false 401 false
	// /api/members true 200 false
	// /members false 303 true
}
