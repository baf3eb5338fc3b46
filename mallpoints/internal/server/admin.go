package server

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/api"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/dashboard"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/parking"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// adminHandler is the admin surface: the host check first (DNS rebinding),
// then cross-origin protection, the client's address behind trusted
// proxies and a proxy's signed-in user, the guard (who makes the request:
// an account's token or session, the admin token, the implicit local
// administrator), and the routes, each behind the permission it needs and
// each state-changing request logged and audited with its actor.
func (s *Server) adminHandler() (http.Handler, error) {
	hosts, origins, err := adminHosts(s.cfg.AdminListen, s.cfg.AdminURLs)
	if err != nil {
		return nil, err
	}
	proxies, err := newProxies(s.cfg)
	if err != nil {
		return nil, err
	}
	d, err := dashboard.New(dashboard.Config{
		DB: s.db, Rules: s.rules, Retrier: s.outbox, Decider: s.ledger, Actor: api.Actor, MchID: s.cfg.MchID,
		Token: s.cfg.AdminToken, Accounts: s.accounts, SecureCookies: httpsURL(s.cfg.AdminURLs), Sandbox: s.cfg.Sandbox,
		Logger: s.log, MallName: s.malls.Name, Audit: s.recordAudit, Expiry: expiryRuns{s},
	})
	if err != nil {
		return nil, err
	}
	a := api.New(api.Config{DB: s.db, Ledger: s.ledger, Parking: parking.New(s.db, s.rules, s.outbox),
		Outbox: s.outbox, Expiry: expiryRuns{s}, Rules: s.rules, MchID: s.cfg.MchID, Logger: s.log, Merchants: s.merchants, Audit: s.recordAudit,
		Status: s.status})
	s.routes = s.adminRoutes(a, d)
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.Pattern, d.Allow(rt.Permission, rt.Handler))
	}
	// Refuse state-changing requests a browser sends cross-site, token or
	// not; the console's own origins are expected, also behind a proxy that
	// rewrites Host.
	cop := http.NewCrossOriginProtection()
	for _, o := range origins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("server: --admin-url: %w", err)
		}
	}
	// A person the trusted proxy signed in skips the guard, never the host
	// check, the cross-origin protection or the routes' permissions.
	routes := s.audit(mux)
	return s.checkHost(hosts, cop.Handler(proxies.handler(d.Guard(routes), routes))), nil
}

// httpsURL reports whether any of urls is https: the console is reached
// over TLS, perhaps ended at a proxy, and its cookies are Secure.
func httpsURL(urls []string) bool {
	for _, raw := range urls {
		if u, err := url.Parse(raw); err == nil && u.Scheme == "https" {
			return true
		}
	}
	return false
}

// adminHosts lists the Host values the admin listener answers besides its
// own address (which checkHost takes from each connection): the host of
// --admin-listen, with and without its port, and each --admin-url's host,
// also without the scheme's default port. It returns the URLs' origins.
func adminHosts(listen string, urls []string) (map[string]bool, []string, error) {
	hosts := map[string]bool{}
	if h, port, err := net.SplitHostPort(listen); err == nil && h != "" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			hosts[strings.ToLower(net.JoinHostPort(h, port))] = true
			hosts[strings.ToLower(hostOnly(h))] = true
		}
	}
	var origins []string
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, nil, fmt.Errorf("server: --admin-url %q: want an http or https URL such as https://points.mall.example", raw)
		}
		hosts[strings.ToLower(u.Host)] = true
		if port := u.Port(); port == "" || (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
			hosts[strings.ToLower(hostOnly(u.Hostname()))] = true
			hosts[strings.ToLower(net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme]))] = true
		}
		origins = append(origins, u.Scheme+"://"+u.Host)
	}
	return hosts, origins, nil
}

// hostOnly writes an IPv6 address in brackets, as a Host header does.
func hostOnly(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// checkHost answers 421 to a request whose Host is not a name the admin
// listener is served as. A web page whose name an attacker points at
// 127.0.0.1 (DNS rebinding) is same-origin with itself, so only the Host
// tells its requests apart. Accepted: the address the connection came in
// on, with and without its port; localhost, 127.0.0.1 and [::1] when that
// is loopback; and hosts.
func (s *Server) checkHost(hosts map[string]bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if hosts[host] || servedAs(r, host) {
			next.ServeHTTP(w, r)
			return
		}
		s.log.WarnContext(r.Context(), "admin: request for a host this listener is not served as (DNS rebinding?)",
			"host", r.Host, "client", r.RemoteAddr)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusMisdirectedRequest)
		fmt.Fprintf(w, "421 Misdirected Request: this admin listener is not served as host %q. Reach it by its address, "+
			"or start mallpointsd with --admin-url naming the URL people use (a name pointed at it by someone else is refused: DNS rebinding).\n", r.Host)
	})
}

// servedAs reports whether host names the local address r's connection
// came in on.
func servedAs(r *http.Request, host string) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	ip, port, err := net.SplitHostPort(local.String())
	if err != nil {
		return false
	}
	names := []string{hostOnly(ip)}
	if addr := net.ParseIP(ip); addr != nil && addr.IsLoopback() {
		names = append(names, "localhost", "127.0.0.1", "[::1]")
	}
	for _, n := range names {
		if host == n || host == n+":"+port {
			return true
		}
	}
	return false
}

// audit logs each state-changing admin request with its status and its
// actor, whom the guard or a trusted proxy named (none when it found no
// credential). The routes in ownAudit write their own audit entries, with
// the values before and after; any other state-changing request that
// succeeds (2xx) is written here, its action made from its route. Sign-in
// logs its own outcome, and its throttle audits bursts of failures.
func (s *Server) audit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet, r.Method == http.MethodHead, r.Method == http.MethodOptions, r.URL.Path == "/signin":
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		s.log.InfoContext(r.Context(), "admin: state-changing request", "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "actor", api.Actor(r.Context()))
		// The muxes set r.Pattern on r as they route it.
		if sw.status/100 == 2 && !ownAudit[r.Pattern] {
			s.recordAudit(r, storage.AuditEntry{Action: routeAction(r.Method, r.Pattern)})
		}
	})
}

// ownAudit are the state-changing admin routes whose handlers write their
// own audit entry (the ones that change something, once it is made, with
// the values before and after), or that change nothing: previews, and
// signing out of a session the browser alone holds. The language switch
// writes an entry when it changes an account's language, and none when it
// only sets the browser's cookie.
var ownAudit = map[string]bool{
	"POST /decisions/{kind}/{mall}/{subject}/{action}": true,
	"POST /api/members/{mall}/{openid}/adjustments":    true,
	"POST /api/members/{mall}/{openid}/erasure":        true,
	"PUT /api/members/{mall}/{openid}/tier":            true,
	"PUT /api/members/{mall}/{openid}":                 true,
	"POST /api/syncs/{id}/retry":                       true,
	"POST /api/parkings":                               true,
	"POST /api/expiry/run":                             true,
	"POST /expiry/run":                                 true,
	"POST /api/decisions/{kind}/{mall}/{subject}":      true,
	"POST /api/webhooks/{name}/redeliver":              true,
	"POST /api/rules/preview":                          true,
	"POST /parked/{id}/retry":                          true,
	"POST /simulate/payment":                           true,
	"POST /simulate/refund":                            true,
	"POST /rules/preview":                              true,
	"POST /signout":                                    true,
	"POST /lang":                                       true,
}

// routeAction is the audit action of a request to a route without an
// entry of its own: the route's literal segments after /api/ and its
// method, such as "things.touch.post" for
// "POST /api/things/{id}/touch".
func routeAction(method, pattern string) string {
	path := pattern
	if _, p, ok := strings.Cut(pattern, " "); ok {
		path = p
	}
	var parts []string
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/api/"), "/") {
		if seg != "" && !strings.HasPrefix(seg, "{") {
			parts = append(parts, seg)
		}
	}
	return strings.Join(append(parts, strings.ToLower(method)), ".")
}

// ActorSystem is the audit log's actor for what the service does by
// itself: expiry runs (the daily one, and those asked for), a rules
// reload on SIGHUP.
const ActorSystem = "system"

// recordAudit writes e, a change r made (committed by now), to the audit
// log, with who made it (the request's actor, unless e names one), from
// where (r's client address) and r's X-Request-Id when it sends a usable
// one. The entry follows the change's commit rather than sharing its
// transaction, which the ledger, the outbox and the sandbox each keep to
// themselves: a crash between the two loses the entry (adjustments and
// decided parked decisions also carry their actor in their own rows).
func (s *Server) recordAudit(r *http.Request, e storage.AuditEntry) {
	if e.Actor == "" {
		e.Actor = cmp.Or(api.Actor(r.Context()), "anonymous")
	}
	e.RemoteAddr = clientHost(r.RemoteAddr)
	if id := r.Header.Get("X-Request-Id"); len(id) <= 128 && printableASCII(id) {
		e.RequestID = id
	}
	s.appendAudit(r.Context(), e)
}

// appendAudit writes e; a failure is logged, and the change it records
// stands. A request that ends now does not stop the write.
func (s *Server) appendAudit(ctx context.Context, e storage.AuditEntry) {
	ctx = context.WithoutCancel(ctx)
	if err := s.db.AppendAudit(ctx, &e); err != nil {
		s.log.ErrorContext(ctx, "audit: entry not written", "action", e.Action, "actor", e.Actor, "mall", e.Mall, "error", err)
	}
}

// clientHost is the address of RemoteAddr, without a port.
func clientHost(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// statusWriter keeps the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
