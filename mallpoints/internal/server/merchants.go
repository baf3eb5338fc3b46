package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/notify"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/ledger"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/parking"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// malls knows which merchant signs each mall's syncs, and what each mall is
// called: the merchants in force first; for a mall they do not list, the
// merchant whose URL received the mall's notifications, recorded in the
// database so that every replica, and the next start, know it. Such a
// mall's notifications are taken, never refused (WeChat Pay would drop
// them after a day of retries), and flagged.
type malls struct {
	db        *storage.DB
	merchants *merchants.Registry
	log       *slog.Logger
	// unlisted counts a notification of a mall the merchants in force do
	// not list, by the merchant that received it.
	unlisted func(merchant string)

	mu   sync.RWMutex
	seen map[string]storage.Mall // as recorded; every mall recorded, after load
}

// load reads the malls recorded.
func (m *malls) load(ctx context.Context) error {
	list, err := m.db.Malls(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seen = make(map[string]storage.Mall, len(list))
	for _, r := range list {
		m.seen[r.MchID] = r
	}
	return nil
}

// note records that a notification of its mall arrived at merchant at's
// URL, and the name WeChat Pay gives the mall, before the ledger takes it:
// a write only when either changed. A notification whose event names no
// mall is left to the ledger to refuse.
func (m *malls) note(ctx context.Context, at *merchants.Merchant, n *notify.Notification) error {
	var ev struct {
		MchID        string `json:"mchid"`
		MerchantName string `json:"merchant_name"`
	}
	if json.Unmarshal(n.Plaintext, &ev) != nil || ev.MchID == "" || len(ev.MchID) > 32 {
		return nil
	}
	name := ev.MerchantName
	if len(name) > 128 || !utf8.ValidString(name) {
		name = ""
	}
	m.mu.RLock()
	rec, known := m.seen[ev.MchID]
	m.mu.RUnlock()
	moved := !known || rec.Merchant != at.MchID
	log := m.log.With("mall", ev.MchID, "merchant", at.MchID, "notification_id", n.ID)
	switch owner := m.merchants.Load().Owner(ev.MchID); {
	case owner == nil:
		m.unlisted(at.MchID)
		if moved {
			log.Warn("merchants: a notification of a mall the merchants file lists nowhere: taken, and its syncs are " +
				"signed by the merchant whose URL received it; list the mall in that merchant's sub_mchids")
		}
	case owner.MchID != at.MchID && moved:
		log.Warn("merchants: a notification arrived at the URL of a merchant other than the one the merchants file "+
			"lists its mall under: taken; its syncs are signed by the merchant the file lists", "listed_under", owner.MchID)
	}
	if !moved && (name == "" || name == rec.Name) {
		return nil
	}
	rec = storage.Mall{MchID: ev.MchID, Merchant: at.MchID, Name: cmp.Or(name, rec.Name), FirstSeen: rec.FirstSeen}
	if err := m.db.NoteMall(ctx, rec); err != nil {
		return err
	}
	m.mu.Lock()
	m.seen[ev.MchID] = rec
	m.mu.Unlock()
	return nil
}

// record is what is recorded of mall: from memory, else from the
// database, where another replica may have recorded it.
func (m *malls) record(ctx context.Context, mall string) (storage.Mall, error) {
	m.mu.RLock()
	rec, ok := m.seen[mall]
	m.mu.RUnlock()
	if ok {
		return rec, nil
	}
	rec, err := m.db.Mall(ctx, mall)
	if err != nil {
		return rec, err
	}
	m.mu.Lock()
	m.seen[mall] = rec
	m.mu.Unlock()
	return rec, nil
}

// ClientFor is the client that signs mall's syncs, and the sub_mchid they
// name: the merchant in force that serves mall, else the one whose URL
// received its notifications (parking.Signers, for the outbox).
func (m *malls) ClientFor(ctx context.Context, mall string) (*wxpay.Client, string, error) {
	set := m.merchants.Load()
	if c, sub, ok := set.ClientFor(mall); ok {
		return c, sub, nil
	}
	rec, err := m.record(ctx, mall)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, "", fmt.Errorf("%w: the merchants file lists it nowhere, and no notification of it has arrived", parking.ErrNoMerchant)
	}
	if err != nil {
		return nil, "", err
	}
	by := set.Merchant(rec.Merchant)
	if by == nil {
		return nil, "", fmt.Errorf("%w: its notifications came to merchant %s, which the merchants file no longer lists", parking.ErrNoMerchant, rec.Merchant)
	}
	return by.Client, by.SubMchID(mall), nil
}

// Name is mall's display name: the merchants file's name, else
// merchant_name as its notifications last gave it; "" when neither is known.
func (m *malls) Name(mall string) string {
	if n := m.merchants.Load().Name(mall); n != "" {
		return n
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.seen[mall].Name
}

// stranded counts, per merchant of cur, the pending syncs that it signs and
// that no merchant of next would: those a reload to next would leave
// unsent.
func (m *malls) stranded(ctx context.Context, cur, next *merchants.Set) (map[string]int64, error) {
	pending, err := m.db.PendingSyncsByMall(ctx)
	if err != nil || len(pending) == 0 {
		return nil, err
	}
	list, err := m.db.Malls(ctx)
	if err != nil {
		return nil, err
	}
	received := make(map[string]string, len(list)) // mall → the merchant whose URL received it
	for _, r := range list {
		received[r.MchID] = r.Merchant
	}
	signer := func(set *merchants.Set, mall string) string {
		if o := set.Owner(mall); o != nil {
			return o.MchID
		}
		if by := received[mall]; set.Merchant(by) != nil {
			return by
		}
		return ""
	}
	out := map[string]int64{}
	for mall, n := range pending {
		if by := signer(cur, mall); by != "" && signer(next, mall) == "" {
			out[by] += n
		}
	}
	return out, nil
}

// ErrMerchantsNotReloaded: the merchants file read again would leave
// pending syncs without a merchant to sign them.
var ErrMerchantsNotReloaded = errors.New("merchants reload refused")

// ReloadMerchants reads the merchants file again and puts it in force, with
// its certificate refreshers running and each merchant's notifications
// taken at its URL. On error the merchants in force stay: a file that
// cannot be used, or one that drops a merchant with pending syncs (the
// error names how many).
func (s *Server) ReloadMerchants(ctx context.Context) (*merchants.Set, error) {
	if s.cfg.MerchantsPath == "" {
		return nil, errors.New("server: no merchants file to reload (--merchants)")
	}
	s.reloading.Lock()
	defer s.reloading.Unlock()
	next, err := merchants.Load(s.cfg.MerchantsPath, s.cfg.MerchantOptions)
	if err != nil {
		return nil, err
	}
	cur := s.merchants.Load()
	stranded, err := s.malls.stranded(ctx, cur, next)
	if err != nil {
		return nil, err
	}
	if len(stranded) > 0 {
		var parts []string
		for _, by := range slices.Sorted(maps.Keys(stranded)) {
			n, syncs := stranded[by], "syncs"
			if n == 1 {
				syncs = "sync"
			}
			parts = append(parts, fmt.Sprintf("merchant %s has %d pending %s", by, n, syncs))
		}
		return nil, fmt.Errorf("%w: %s that no merchant of the new file would sign; let them finish, or list their malls under "+
			"another merchant, then reload", ErrMerchantsNotReloaded, strings.Join(parts, ", "))
	}
	if err := next.StartRefresh(ctx, merchants.RefreshInterval); err != nil {
		return nil, err
	}
	s.useMerchants(next)
	cur.Stop()
	return next, nil
}

// useMerchants puts set in force: the syncs' signers and the notification
// handler of each merchant's URL.
func (s *Server) useMerchants(set *merchants.Set) {
	handlers := make(map[string]http.Handler, len(set.Merchants()))
	for _, m := range set.Merchants() {
		handlers[m.MchID] = notify.NewHandler(m.Parser, s.metrics.Notify(func(ctx context.Context, n *notify.Notification) (ledger.Outcome, error) {
			if err := s.malls.note(ctx, m, n); err != nil {
				return "", err
			}
			return s.ledger.Handle(ctx, n)
		}), notify.WithLogger(s.limitedLog), notify.WithRejectionHook(s.metrics.Rejected), notify.WithTimeout(4*time.Second))
	}
	s.merchants.Store(set)
	s.notifyAt.Store(&handlers)
}

// notifyMerchant takes a notification at POST /wechatpay/notify/{mchid}:
// verified and decrypted with that merchant's keys only, so one that
// decrypts only with another's key is refused (and WeChat Pay retries it).
// A merchant not in force is 404.
func (s *Server) notifyMerchant(w http.ResponseWriter, r *http.Request) {
	h := (*s.notifyAt.Load())[r.PathValue("mchid")]
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h.ServeHTTP(w, r)
}

// Merchants holds the merchants in force.
func (s *Server) Merchants() *merchants.Registry { return s.merchants }

// MallName is mall's display name, "" when none is known.
func (s *Server) MallName(mall string) string { return s.malls.Name(mall) }
