package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/api"
)

// testProxies trusts 10.0.0.0/8, the one address 192.0.2.10 and fd00::/8.
func testProxies(t testing.TB, cfg Config) *proxies {
	t.Helper()
	cfg.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.10", " fd00::/8 "}
	p, err := newProxies(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTheClientIsTheRightMostXForwardedForEntryThatIsNotATrustedProxy(t *testing.T) {
	t.Parallel()
	p := testProxies(t, Config{})
	for _, c := range []struct {
		name string
		peer string
		xff  []string
		want string
	}{
		{"a direct client that is not a proxy is itself, whatever it sends", "203.0.113.5", []string{"198.51.100.7"}, "203.0.113.5"},
		{"a block of one trusts that address only", "192.0.2.11", []string{"198.51.100.7"}, "192.0.2.11"},
		{"a trusted proxy without the header is the client", "10.0.0.1", nil, "10.0.0.1"},
		{"a trusted proxy names the client", "10.0.0.1", []string{"198.51.100.7"}, "198.51.100.7"},
		{"a single trusted address names the client", "192.0.2.10", []string{"198.51.100.7"}, "198.51.100.7"},
		{"entries the client wrote on the left are ignored", "10.0.0.1", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},
		{"a spoofed trusted address on the left is ignored", "10.0.0.1", []string{"10.9.9.9, 198.51.100.7"}, "198.51.100.7"},
		{"a chain of trusted proxies is walked", "10.0.0.1", []string{"6.6.6.6, 198.51.100.7, 10.0.0.3, 192.0.2.10"}, "198.51.100.7"},
		{"header lines are one list, in order", "10.0.0.1", []string{"6.6.6.6", "198.51.100.7, 10.0.0.2"}, "198.51.100.7"},
		{"a spoofed line before the proxy's is ignored", "10.0.0.1", []string{"198.51.100.66", "198.51.100.7"}, "198.51.100.7"},
		{"all trusted: the left-most", "10.0.0.1", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"an entry that is not an address stops the walk at the trusted hop", "10.0.0.1", []string{"198.51.100.7, 10.0.0.2, unknown"}, "10.0.0.1"},
		{"past the first trusted hop too", "10.0.0.1", []string{"198.51.100.7, unknown, 10.0.0.2"}, "10.0.0.2"},
		{"garbage left of the client is never read", "10.0.0.1", []string{"<script>, 198.51.100.7"}, "198.51.100.7"},
		{"empty entries are skipped", "10.0.0.1", []string{" 198.51.100.7 ,, ", ""}, "198.51.100.7"},
		{"an IPv4 address with a port", "10.0.0.1", []string{"198.51.100.7:5555"}, "198.51.100.7"},
		{"IPv6 behind an IPv6 proxy", "fd00::1", []string{"2001:db8::5"}, "2001:db8::5"},
		{"IPv6 in brackets with a port", "fd00::1", []string{"[2001:db8::5]:4711"}, "2001:db8::5"},
		{"IPv6 in brackets", "10.0.0.1", []string{"[2001:db8::5]"}, "2001:db8::5"},
		{"IPv6 behind a trusted IPv6 hop", "10.0.0.1", []string{"2001:db8::5, fd00::7"}, "2001:db8::5"},
		{"an IPv4-mapped address is IPv4", "10.0.0.1", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
		{"an IPv4-mapped trusted hop is trusted", "10.0.0.1", []string{"198.51.100.7, ::ffff:10.0.0.2"}, "198.51.100.7"},
		{"a zone is dropped", "10.0.0.1", []string{"fe80::1%eth0"}, "fe80::1"},
		{"an untrusted IPv6 client ignores the header", "2001:db8::9", []string{"198.51.100.7"}, "2001:db8::9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := p.clientAddr(netip.MustParseAddr(c.peer), c.xff)
			if got.String() != c.want {
				t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", c.peer, c.xff, got, c.want)
			}
		})
	}
}

// FuzzClientAddr: whatever the header holds, the client is the peer or an
// address the header names; a peer that is not a trusted proxy is always
// the client; and nothing a client writes to the left of what the proxies
// saw changes the answer.
func FuzzClientAddr(f *testing.F) {
	for _, s := range []struct{ peer, xff, left string }{
		{"10.0.0.1", "198.51.100.7", "6.6.6.6"},
		{"10.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.2", "10.0.0.9"},
		{"fd00::1", "[2001:db8::5]:80, fd00::2", "::ffff:10.0.0.1"},
		{"203.0.113.5", "10.0.0.1", ""},
		{"10.0.0.1", "unknown, ,,198.51.100.7:1", "%"},
	} {
		f.Add(s.peer, s.xff, s.left)
	}
	p := testProxies(f, Config{})
	f.Fuzz(func(t *testing.T, peerText, xff, left string) {
		peer, err := netip.ParseAddr(peerText)
		if err != nil {
			return
		}
		peer = peer.Unmap().WithZone("")
		got := p.clientAddr(peer, []string{xff})
		if !got.IsValid() {
			t.Fatalf("peer %s, %q: no address", peer, xff)
		}
		if !p.trusts(peer) && got != peer {
			t.Fatalf("peer %s is not a proxy, yet the client is %s (%q)", peer, got, xff)
		}
		if got != peer {
			named := false
			for _, e := range strings.Split(xff, ",") {
				if a, ok := forwardedAddr(strings.TrimSpace(e)); ok && a == got {
					named = true
				}
			}
			if !named {
				t.Fatalf("peer %s, %q: %s is neither the peer nor an entry", peer, xff, got)
			}
		}
		if !p.trusts(got) {
			if again := p.clientAddr(peer, []string{left, xff}); again != got {
				t.Fatalf("peer %s, %q: %s, but %s with %q in front", peer, xff, got, again, left)
			}
		}
	})
}

const testProxySecret = "proxy-secret-0123456789abcdef0123456789"

func TestProxySettingsAreCheckedAtStart(t *testing.T) {
	t.Parallel()
	lookup := func(context.Context, string) (accounts.Principal, bool) { return accounts.Principal{}, false }
	proxies := []string{"10.0.0.0/8"}
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"a block that does not parse", Config{TrustedProxies: []string{"10.0.0.0/33"}}, "--admin-trusted-proxies"},
		{"a name is not an address", Config{TrustedProxies: []string{"proxy.internal"}}, "--admin-trusted-proxies"},
		{"a secret for nothing", Config{TrustedProxies: proxies, ProxySecret: testProxySecret}, "--admin-proxy-user-header"},
		{"a user header needs trusted proxies", Config{ProxyUserHeader: "X-Forwarded-User", ProxySecret: testProxySecret, ProxyAccount: lookup}, "--admin-trusted-proxies"},
		{"a user header needs the secret", Config{TrustedProxies: proxies, ProxyUserHeader: "X-Forwarded-User", ProxyAccount: lookup}, "--admin-proxy-secret-file"},
		{"a short secret is refused", Config{TrustedProxies: proxies, ProxyUserHeader: "X-Forwarded-User", ProxySecret: "short", ProxyAccount: lookup}, "at least 32"},
		{"a user header needs accounts", Config{TrustedProxies: proxies, ProxyUserHeader: "X-Forwarded-User", ProxySecret: testProxySecret}, "account"},
		{"the user header is not another's", Config{TrustedProxies: proxies, ProxyUserHeader: "authorization", ProxySecret: testProxySecret, ProxyAccount: lookup}, "Authorization"},
		{"the user header is a header name", Config{TrustedProxies: proxies, ProxyUserHeader: "X User", ProxySecret: testProxySecret, ProxyAccount: lookup}, "not a header name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := newProxies(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("newProxies: %v; want an error naming %q", err, c.want)
			}
		})
	}
	if _, err := newProxies(Config{TrustedProxies: proxies, ProxyUserHeader: "x-forwarded-user", ProxySecret: testProxySecret, ProxyAccount: lookup}); err != nil {
		t.Errorf("a complete configuration: %v", err)
	}
}

func TestAProxysUserIsSignedInOnlyFromATrustedProxyWithTheSecret(t *testing.T) {
	t.Parallel()
	known := map[string]bool{"zhang.wei": true}
	p := testProxies(t, Config{ProxyUserHeader: "X-Forwarded-User", ProxySecret: testProxySecret,
		ProxyAccount: func(_ context.Context, name string) (accounts.Principal, bool) {
			return accounts.Principal{Name: name, Role: accounts.Admin}, known[name]
		}})
	type reached struct {
		via, actor, remote string
		secret             bool
	}
	var got *reached
	handler := func(via string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = &reached{via: via, actor: api.Actor(r.Context()), remote: r.RemoteAddr, secret: r.Header.Get(ProxySecretHeader) != ""}
		})
	}
	h := p.handler(handler("guard"), handler("open"))
	for _, c := range []struct {
		name   string
		peer   string
		header map[string][]string
		status int
		want   *reached
	}{
		{"from the proxy with the secret: signed in as the account", "10.0.0.1:4000",
			map[string][]string{"X-Forwarded-User": {"zhang.wei"}, ProxySecretHeader: {testProxySecret}, "X-Forwarded-For": {"198.51.100.7"}},
			200, &reached{via: "open", actor: "zhang.wei", remote: "198.51.100.7"}},
		{"without the secret: refused", "10.0.0.1:4000",
			map[string][]string{"X-Forwarded-User": {"zhang.wei"}}, 403, nil},
		{"with a wrong secret: refused", "10.0.0.1:4000",
			map[string][]string{"X-Forwarded-User": {"zhang.wei"}, ProxySecretHeader: {testProxySecret + "x"}}, 403, nil},
		{"with the secret twice: refused", "10.0.0.1:4000",
			map[string][]string{"X-Forwarded-User": {"zhang.wei"}, ProxySecretHeader: {testProxySecret, testProxySecret}}, 403, nil},
		{"from an address that is not a proxy, secret and all: refused", "203.0.113.5:4000",
			map[string][]string{"X-Forwarded-User": {"zhang.wei"}, ProxySecretHeader: {testProxySecret}}, 403, nil},
		{"a name no account has: refused", "10.0.0.1:4000",
			map[string][]string{"X-Forwarded-User": {"li.na"}, ProxySecretHeader: {testProxySecret}}, 403, nil},
		{"an empty name: refused", "10.0.0.1:4000",
			map[string][]string{"X-Forwarded-User": {""}, ProxySecretHeader: {testProxySecret}}, 403, nil},
		{"two names: refused", "10.0.0.1:4000",
			map[string][]string{"X-Forwarded-User": {"zhang.wei", "li.na"}, ProxySecretHeader: {testProxySecret}}, 403, nil},
		{"from the proxy without a user: the guard decides, as the client", "10.0.0.1:4000",
			map[string][]string{"X-Forwarded-For": {"6.6.6.6, 198.51.100.7"}}, 200, &reached{via: "guard", remote: "198.51.100.7"}},
		{"from anywhere else: the guard decides, as the peer", "203.0.113.5:4000",
			map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, 200, &reached{via: "guard", remote: "203.0.113.5:4000"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got = nil
			r := httptest.NewRequest(http.MethodPost, "/api/members/1900000109/oA/adjustments", nil)
			r.RemoteAddr = c.peer
			for k, vs := range c.header {
				r.Header[http.CanonicalHeaderKey(k)] = vs
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.status {
				t.Errorf("status %d, want %d (%s)", w.Code, c.status, w.Body)
			}
			switch {
			case c.want == nil && got != nil:
				t.Errorf("reached %+v, want refused", *got)
			case c.want != nil && (got == nil || *got != *c.want):
				t.Errorf("reached %+v, want %+v", got, *c.want)
			}
		})
	}
}

func TestWithoutSingleSignOnTheUserHeaderIsNobodysName(t *testing.T) {
	t.Parallel()
	p := testProxies(t, Config{})
	var actor string
	h := p.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { actor = api.Actor(r.Context()) + "(guard)" }),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("signed in without single sign-on") }))
	r := httptest.NewRequest(http.MethodGet, "/api/members", nil)
	r.RemoteAddr = "10.0.0.1:4000"
	r.Header.Set("X-Forwarded-User", "zhang.wei")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if actor != "(guard)" {
		t.Errorf("the request reached %q, want the guard with no actor", actor)
	}
}

func TestRouteActionIsMadeFromTheRoutesLiteralSegments(t *testing.T) {
	t.Parallel()
	for pattern, want := range map[string]string{
		"POST /api/webhooks/{name}/redeliver": "webhooks.redeliver.post",
		"PUT /api/members/{mall}/{openid}":    "members.put",
		"DELETE /api/users/{name}":            "users.delete",
		"POST /simulate/payment":              "simulate.payment.post",
	} {
		method, _, _ := strings.Cut(pattern, " ")
		if got := routeAction(method, pattern); got != want {
			t.Errorf("routeAction(%q) = %q, want %q", pattern, got, want)
		}
	}
}
