package server_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/server"
)

// Through the service: a member's activation and payment are events to
// the mall's webhook; a receiver that never answers has the first parked
// (MaxAttempts 1) and the payment's held behind it, both listed by the API;
// a redelivery names a webhook the rules know and a position.
func TestTheAPIListsParkedWebhookDeliveriesAndRedeliversThem(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		secret := filepath.Join(dir, "webhook.secret")
		if err := os.WriteFile(secret, []byte(crmSecret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "rules.yaml")
		if err := os.WriteFile(path, []byte(fmt.Sprintf("default:\n  webhooks: [{name: crm, url: \"http://127.0.0.1:9/events\", secret_file: %q}]\n", secret)), 0o600); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, dsn, envOptions{rulesPath: path, server: func(c *server.Config) { c.MaxAttempts = 1 }})
		openid := e.member(e.mchID)
		e.pay(e.mchID, openid, 10000, "S01")
		type page struct {
			Deliveries []struct {
				Webhook   string `json:"webhook"`
				EventID   string `json:"event_id"`
				OpenID    string `json:"openid"`
				State     string `json:"state"`
				LastError string `json:"last_error"`
				Seq       int64  `json:"seq"`
				Attempts  int64  `json:"attempts"`
			}
		}
		var parked, pending page
		e.eventually("the activation's delivery parked", func() bool {
			return e.get("/api/webhooks/deliveries?state=parked", &parked) == http.StatusOK && len(parked.Deliveries) == 1
		})
		if d := parked.Deliveries[0]; d.Webhook != "crm" || d.OpenID != openid || d.Attempts != 1 || d.LastError == "" || d.EventID != fmt.Sprint("evt_", d.Seq) {
			t.Errorf("parked %+v", d)
		}
		e.eventually("the payment's delivery held behind it", func() bool {
			return e.get("/api/webhooks/deliveries", &pending) == http.StatusOK && len(pending.Deliveries) == 1
		})
		if d := pending.Deliveries[0]; d.Attempts != 0 || d.Seq <= parked.Deliveries[0].Seq {
			t.Errorf("pending %+v: want never tried, after the parked one", d)
		}
		for _, c := range []struct {
			path   string
			body   any
			status int
		}{
			{"/api/webhooks/bi/redeliver", map[string]any{"after": 0}, http.StatusNotFound},
			{"/api/webhooks/crm/redeliver", map[string]any{}, http.StatusBadRequest},
			{"/api/webhooks/crm/redeliver", map[string]any{"after": -1}, http.StatusBadRequest},
			{"/api/webhooks/crm/redeliver", map[string]any{"after": parked.Deliveries[0].Seq - 1}, http.StatusAccepted},
		} {
			var ans map[string]any
			if got := e.do(http.MethodPost, c.path, c.body, nil, &ans); got != c.status {
				t.Errorf("POST %s %v: %d %v, want %d", c.path, c.body, got, ans, c.status)
			}
		}
		e.eventually("the redelivered one parked again", func() bool {
			var p page
			return e.get("/api/webhooks/deliveries?state=parked", &p) == http.StatusOK && len(p.Deliveries) == 1 && p.Deliveries[0].Attempts == 1
		})
		if got := e.get("/api/webhooks/deliveries?state=delivered", nil); got != http.StatusBadRequest {
			t.Errorf("state=delivered: %d, want 400", got)
		}
	})
}
