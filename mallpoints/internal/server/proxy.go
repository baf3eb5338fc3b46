package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/api"
)

// ProxySecretHeader carries the secret a trusted proxy shares with the
// service (--admin-proxy-secret-file): without it, or from an address that
// is not a trusted proxy, the proxy's user header is refused.
const ProxySecretHeader = "X-Mallpoints-Proxy-Secret"

// minProxySecret is the shortest proxy secret taken, as for the admin token.
const minProxySecret = 32

// proxies is what the admin listener believes of reverse proxies in front
// of it: which addresses are proxies (--admin-trusted-proxies), and, for
// single sign-on, the header that names the person signed in at the proxy,
// the secret that proves the proxy sent it, and the accounts it maps to.
type proxies struct {
	trusted    []netip.Prefix
	userHeader string // canonical; "" turns single sign-on off
	secret     [sha256.Size]byte
	account    func(ctx context.Context, name string) (accounts.Principal, bool)
}

// newProxies checks cfg's proxy settings.
func newProxies(cfg Config) (*proxies, error) {
	p := &proxies{account: cfg.ProxyAccount}
	for _, s := range cfg.TrustedProxies {
		prefix, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("server: --admin-trusted-proxies %q: want an address or a CIDR block such as 10.0.0.0/8 or fd00::/8", s)
		}
		p.trusted = append(p.trusted, prefix)
	}
	header := http.CanonicalHeaderKey(strings.TrimSpace(cfg.ProxyUserHeader))
	switch {
	case header == "" && cfg.ProxySecret != "":
		return nil, errors.New("server: --admin-proxy-secret-file is for single sign-on: give --admin-proxy-user-header too")
	case header == "":
		return p, nil
	case !validHeaderName(header):
		return nil, fmt.Errorf("server: --admin-proxy-user-header %q is not a header name", cfg.ProxyUserHeader)
	case reservedHeaders[header]:
		return nil, fmt.Errorf("server: --admin-proxy-user-header %s: that header means something else; use the one the proxy sets, such as X-Forwarded-User", header)
	case len(p.trusted) == 0:
		return nil, errors.New("server: --admin-proxy-user-header is honoured only from a trusted proxy: give --admin-trusted-proxies")
	case len(cfg.ProxySecret) < minProxySecret:
		return nil, fmt.Errorf("server: --admin-proxy-user-header needs --admin-proxy-secret-file, a file holding a secret of at least %d characters that the proxy sends as %s",
			minProxySecret, ProxySecretHeader)
	case cfg.ProxyAccount == nil:
		return nil, errors.New("server: --admin-proxy-user-header maps people to accounts, and there is no account store to look them up in")
	}
	p.userHeader, p.secret = header, sha256.Sum256([]byte(cfg.ProxySecret))
	return p, nil
}

// reservedHeaders may not name the proxy's user.
var reservedHeaders = map[string]bool{"Authorization": true, "Cookie": true, "Host": true, "X-Forwarded-For": true,
	ProxySecretHeader: true, "Origin": true, "Sec-Fetch-Site": true}

func validHeaderName(h string) bool {
	for _, r := range h {
		if !(r == '-' || r == '_' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return h != ""
}

// parsePrefix reads a CIDR block, or a single address as a block of one.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, errors.New("an IPv4-mapped block: write it as IPv4")
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// trusts reports whether a is a trusted proxy's address.
func (p *proxies) trusts(a netip.Addr) bool {
	for _, prefix := range p.trusted {
		if prefix.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr is the address a request comes from. From a peer that is not
// a trusted proxy it is the peer's, whatever X-Forwarded-For says. From a
// trusted proxy it is the right-most X-Forwarded-For entry that is not a
// trusted proxy: entries to its left were written by the client and can be
// anything. When every entry is a trusted proxy it is the left-most; at an
// entry that is not an address (a proxy that writes "unknown"), the walk
// stops and the trusted hop to its right is the client as far as is known.
// xff holds the X-Forwarded-For header lines in the order received.
func (p *proxies) clientAddr(peer netip.Addr, xff []string) netip.Addr {
	if !p.trusts(peer) {
		return peer
	}
	hop := peer
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for line != "" {
			var entry string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				line, entry = line[:j], line[j+1:]
			} else {
				line, entry = "", line
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			a, ok := forwardedAddr(entry)
			if !ok {
				return hop
			}
			if !p.trusts(a) {
				return a
			}
			hop = a
		}
	}
	return hop
}

// forwardedAddr reads one X-Forwarded-For entry: an address, with or
// without a port, IPv6 with or without brackets. An IPv4-mapped IPv6
// address is its IPv4 one, and a zone is dropped.
func forwardedAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}

// peerAddr is the address of the connection r came on.
func peerAddr(r *http.Request) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// handler sets each request's RemoteAddr to its client's address (no
// port), for the sign-in throttle, the logs and the audit log, and signs in
// whoever the trusted proxy names: such a request goes to open, the routes
// without the admin token's guard, as the account the proxy's user maps
// to. Every other request goes to guarded. A user header from anywhere but
// a trusted proxy that sends the shared secret is refused (403), as is a
// name no account has: that header is how people sign in, so it must never
// be taken from whoever sends it.
func (p *proxies) handler(guarded, open http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := peerAddr(r)
		fromProxy := ok && p.trusts(peer)
		if fromProxy {
			r = r.Clone(r.Context())
			r.RemoteAddr = p.clientAddr(peer, r.Header.Values("X-Forwarded-For")).String()
		}
		if p.userHeader == "" {
			guarded.ServeHTTP(w, r)
			return
		}
		names, sent := r.Header[p.userHeader]
		if !sent {
			guarded.ServeHTTP(w, r)
			return
		}
		if !fromProxy || !p.secretSent(r) {
			writeProxyError(w, http.StatusForbidden, "UNTRUSTED_PROXY_USER",
				p.userHeader+" is honoured only from a trusted proxy that sends "+ProxySecretHeader)
			return
		}
		name := ""
		if len(names) == 1 {
			name = strings.TrimSpace(names[0])
		}
		var who accounts.Principal
		known := false
		if name != "" && len(name) <= 256 && utf8.ValidString(name) {
			who, known = p.account(r.Context(), name)
		}
		if !known {
			writeProxyError(w, http.StatusForbidden, "UNKNOWN_ACCOUNT", "the proxy's user has no account here")
			return
		}
		r.Header.Del(ProxySecretHeader)
		open.ServeHTTP(w, r.WithContext(api.WithActor(r.Context(), who)))
	})
}

// secretSent reports whether r carries the proxy's secret, compared in
// constant time (digests of equal length, so not even the length leaks).
func (p *proxies) secretSent(r *http.Request) bool {
	got := r.Header.Values(ProxySecretHeader)
	if len(got) != 1 {
		return false
	}
	sum := sha256.Sum256([]byte(got[0]))
	return subtle.ConstantTimeCompare(sum[:], p.secret[:]) == 1
}

// writeProxyError answers as the JSON API does, naming the header at fault.
func writeProxyError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%q,"message":%q}`+"\n", code, message)
}
