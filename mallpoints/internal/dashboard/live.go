package dashboard

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// liveSyncs is what a page showing pending syncs polls (static/live.js),
// GET /live/syncs?id=1&id=2: each sync's state and its word in the page's
// language, so that a payment shown pending turns synced without a
// reload. Syncs of malls the viewer does not see, and ids that name none,
// are left out.
func (d *Dashboard) liveSyncs(w http.ResponseWriter, r *http.Request) {
	type state struct {
		ID    int64  `json:"id"`
		State string `json:"state"`
		Label string `json:"label"`
	}
	l := d.lang(r)
	out := []state{}
	ids := r.URL.Query()["id"]
	if len(ids) > maxLiveSyncs {
		ids = ids[:maxLiveSyncs]
	}
	for _, raw := range ids {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			continue
		}
		s, err := d.cfg.DB.Sync(r.Context(), id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue
		case err != nil:
			d.cfg.Logger.ErrorContext(r.Context(), "dashboard: live sync states", "error", err)
			http.Error(w, `{"code":"INTERNAL"}`, http.StatusInternalServerError)
			return
		case !viewer(r).Sees(s.Mall):
			continue
		}
		out = append(out, state{ID: s.ID, State: s.State, Label: l.label("sync", s.State)})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	json.NewEncoder(w).Encode(map[string]any{"syncs": out})
}

// maxLiveSyncs bounds the syncs one poll asks about: more than any page
// lists.
const maxLiveSyncs = 100
