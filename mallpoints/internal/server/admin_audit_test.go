package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/api"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// A state-changing route whose handler writes no entry of its own is
// audited by the admin middleware when it succeeds, by its route; a
// failure, a read and a route in ownAudit are not.
func TestARouteWithoutAnEntryOfItsOwnIsAuditedByItsRoute(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "mallpoints.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s := &Server{db: db, log: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	ok := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }
	}
	mux.HandleFunc("POST /api/things/{id}/touch", ok(http.StatusAccepted))
	mux.HandleFunc("DELETE /api/things/{id}", ok(http.StatusBadRequest))
	mux.HandleFunc("GET /api/things/{id}", ok(http.StatusOK))
	mux.HandleFunc("POST /api/parkings", ok(http.StatusAccepted)) // its handler writes its own
	audited := s.audit(mux)
	// The guard names the actor: here, the implicit local administrator.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		audited.ServeHTTP(w, r.WithContext(api.WithActor(r.Context(), accounts.Principal{Name: accounts.LocalActor, Role: accounts.Admin})))
	})
	for _, c := range []struct{ method, path, requestID string }{
		{http.MethodPost, "/api/things/7/touch", "req-1"},
		{http.MethodPost, "/api/things/7/touch", strings.Repeat("x", 129)},
		{http.MethodPost, "/api/things/7/touch", "two words"},
		{http.MethodDelete, "/api/things/7", ""},
		{http.MethodGet, "/api/things/7", ""},
		{http.MethodPost, "/api/parkings", ""},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		r.RemoteAddr = "192.0.2.1:4711"
		r.Header.Set("X-Request-Id", c.requestID)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	list, err := db.AuditLog(ctx, storage.AuditFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("entries %+v; want the three touches only", list)
	}
	for i, want := range []string{"", "", "req-1"} {
		if e := list[i]; e.Action != "things.touch.post" || e.Actor != "local" || e.RemoteAddr != "192.0.2.1" || e.RequestID != want {
			t.Errorf("entry %+v; want things.touch.post by local from 192.0.2.1, request id %q", e, want)
		}
	}
}
