package dashboard

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// SessionCookie is the name of the cookie a signed-in browser carries: an
// account's session id, or the bootstrap administrator's signed expiry.
const SessionCookie = "mallpointsd_session"

// sessionLifetime is how long a sign-in with the admin token lasts; an
// account's lasts accounts.DefaultSessionLifetime, the same.
const sessionLifetime = 12 * time.Hour

// Guard finds who makes each request on the admin surface and puts it in
// the request's context (accounts.WithPrincipal), for the routes' Allow to
// check. A request is an account's with "Authorization: Bearer <personal
// token>" or, for the dashboard's pages only, the session cookie signing in
// at /signin sets; the bootstrap administrator's ("token") with the admin
// token as the Bearer or its session; the implicit local administrator's
// ("local") with neither when no admin token is configured, no account
// exists and the request came over loopback, not through a proxy. A wrong
// Bearer is answered 401, and counts against the client's limit as wrong
// sign-ins do; a client over it gets 429. Any other request goes on
// without a principal, and Allow answers it.
func (d *Dashboard) Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := d.authenticate(w, r)
		if !ok {
			return
		}
		if p != nil {
			r = r.WithContext(accounts.WithPrincipal(r.Context(), *p))
		}
		next.ServeHTTP(w, r)
	})
}

// admin is an administrator that is not an account: the bootstrap one of
// --admin-token (accounts.TokenActor) or the implicit local one
// (accounts.LocalActor).
func admin(name string) *accounts.Principal {
	return &accounts.Principal{Name: name, Role: accounts.Admin}
}

// authenticate returns r's principal, nil for none; false when it has
// answered r (a wrong Bearer, a client over its limit, a database error).
func (d *Dashboard) authenticate(w http.ResponseWriter, r *http.Request) (*accounts.Principal, bool) {
	ctx := r.Context()
	if auth := r.Header.Get("Authorization"); auth != "" {
		addr := clientAddr(r)
		if blocked, until := d.signins.blocked(addr); blocked {
			w.Header().Set("Retry-After", d.retryAfter(until))
			writeAuthError(w, http.StatusTooManyRequests, "TOO_MANY_WRONG_TOKENS", "too many wrong tokens from this address; wait for Retry-After seconds")
			return nil, false
		}
		bearer, isBearer := strings.CutPrefix(auth, "Bearer ")
		switch {
		case isBearer && d.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(bearer), []byte(d.cfg.Token)) == 1:
			return admin(accounts.TokenActor), true
		case isBearer && d.cfg.Accounts != nil && strings.HasPrefix(bearer, accounts.TokenPrefix):
			p, err := d.cfg.Accounts.Token(ctx, bearer)
			if err == nil {
				return &p, true
			}
			if !errors.Is(err, accounts.ErrCredential) {
				d.authFailed(w, r, err)
				return nil, false
			}
		}
		d.failedSignin(r, addr)
		d.cfg.Logger.Warn("dashboard: wrong token in Authorization", "client", addr, "path", r.URL.Path)
		w.Header().Set("WWW-Authenticate", `Bearer realm="mallpointsd", error="invalid_token"`)
		writeAuthError(w, http.StatusUnauthorized, "UNAUTHORIZED", "send Authorization: Bearer <personal API token or admin token>")
		return nil, false
	}
	if c, err := r.Cookie(SessionCookie); err == nil && !machine(r.URL.Path) {
		switch {
		case strings.Contains(c.Value, "."): // the admin token's session: "<expiry>.<mac>"
			if d.cfg.Token != "" && validSession(r, d.cfg.Token, d.cfg.Now()) {
				return admin(accounts.TokenActor), true
			}
		case d.cfg.Accounts != nil:
			p, err := d.cfg.Accounts.Session(ctx, c.Value)
			if err == nil {
				return &p, true
			}
			if !errors.Is(err, accounts.ErrCredential) {
				d.authFailed(w, r, err)
				return nil, false
			}
		}
	}
	if d.implicitLocal(r) {
		return admin(accounts.LocalActor), true
	}
	return nil, true
}

// implicitLocal reports whether r is served by the implicit local
// administrator: no admin token, no account, a loopback connection that no
// proxy forwarded (a proxy on the same host would make everyone local).
func (d *Dashboard) implicitLocal(r *http.Request) bool {
	if d.cfg.Token != "" || !loopback(r) || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" {
		return false
	}
	if d.cfg.Accounts == nil {
		return true
	}
	exist, err := d.cfg.Accounts.Exist(r.Context())
	if err != nil {
		d.cfg.Logger.ErrorContext(r.Context(), "dashboard: accounts not read; the implicit local administrator is refused", "error", err)
		return false
	}
	return !exist
}

// loopback reports whether r came over a loopback connection: its peer,
// and the local address when the server says it, are loopback addresses.
func loopback(r *http.Request) bool {
	ip, err := netip.ParseAddr(clientAddr(r))
	if err != nil || !ip.Unmap().IsLoopback() {
		return false
	}
	if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		ap, err := netip.ParseAddrPort(local.String())
		return err == nil && ap.Addr().Unmap().IsLoopback()
	}
	return true
}

// machine reports whether path is one of the machine interfaces (the JSON
// API, the metrics, the profiler), which take Bearer tokens only: a
// session cookie, which a browser sends by itself, never reaches them.
func machine(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/metrics" || strings.HasPrefix(path, "/debug/pprof/")
}

// authFailed answers a request whose credential could not be checked.
func (d *Dashboard) authFailed(w http.ResponseWriter, r *http.Request, err error) {
	d.cfg.Logger.ErrorContext(r.Context(), "dashboard: credential not checked", "path", r.URL.Path, "error", err)
	writeAuthError(w, http.StatusInternalServerError, "INTERNAL", "the credential could not be checked; try again")
}

// Allow lets through to h the requests whose principal holds perm and, for
// a path naming a {mall}, sees that mall; Open lets everyone. Without a
// principal a browser asking for a page is sent to sign in, anyone else
// answered 401; a principal lacking perm is answered 403, and a mall not
// its own 404, as if the member or payment did not exist.
func (d *Dashboard) Allow(perm accounts.Permission, h http.Handler) http.Handler {
	if perm == accounts.Open {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := accounts.FromContext(r.Context())
		mall := r.PathValue("mall")
		switch {
		case !ok && !machine(r.URL.Path) && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		case !ok:
			w.Header().Set("WWW-Authenticate", `Bearer realm="mallpointsd"`)
			writeAuthError(w, http.StatusUnauthorized, "UNAUTHORIZED", "send Authorization: Bearer <personal API token or admin token>")
		case !p.Can(perm):
			d.cfg.Logger.InfoContext(r.Context(), "dashboard: request refused: the account lacks the permission",
				"actor", p.Name, "role", p.Role, "permission", perm, "method", r.Method, "path", r.URL.Path)
			d.refuse(w, r, http.StatusForbidden, "FORBIDDEN", func(l *language) string { return lacking(l, p, perm) })
		case mall != "" && !p.Sees(mall):
			d.refuse(w, r, http.StatusNotFound, "NOT_FOUND", func(l *language) string { return l.T("error.notfound.api") })
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// failedSignin counts a wrong token from addr; the one that blocks the
// client is written to the audit log, once per burst, as "anonymous".
func (d *Dashboard) failedSignin(r *http.Request, addr string) {
	if !d.signins.fail(addr) {
		return
	}
	d.record(r, storage.AuditEntry{Action: "signin.failures", Actor: "anonymous", Subject: clientKey(addr),
		After: storage.AuditValues(map[string]any{"failures": signinFailures, "window": signinWindow.String()})})
}

// lacking says, in l, why p lacks perm: its role, or its malls.
func lacking(l *language, p accounts.Principal, perm accounts.Permission) string {
	if (accounts.Principal{Role: p.Role}).Can(perm) {
		return l.T("error.forbidden.scoped", p.Name, perm, p.Role)
	}
	return l.T("error.forbidden.role", p.Name, perm, p.Role)
}

// refuse answers a refusal as the API does on machine paths, in English,
// and as a page in the viewer's language elsewhere: msg says why, in the
// language it is given.
func (d *Dashboard) refuse(w http.ResponseWriter, r *http.Request, status int, code string, msg func(*language) string) {
	if machine(r.URL.Path) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"code":%q,"message":%q}`+"\n", code, msg(d.langs[English]))
		return
	}
	d.errorPage(w, r, status, msg(d.lang(r)))
}

// writeAuthError answers as the JSON API does, naming the header at fault.
func writeAuthError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%q,"message":%q,"field":"Authorization"}`+"\n", code, message)
}

// retryAfter is the Retry-After value, in whole seconds, of a block that
// ends at until.
func (d *Dashboard) retryAfter(until time.Time) string {
	wait := max(until.Sub(d.cfg.Now()), time.Second)
	return strconv.Itoa(int((wait + time.Second - 1) / time.Second))
}

// sessionValue is "<expiry>.<mac>": the expiry in Unix seconds and an
// HMAC-SHA256 of it keyed by the admin token. It carries no secret, every
// replica with the same token accepts it, and changing the token ends every
// session.
func sessionValue(token string, expiry time.Time) string {
	exp := strconv.FormatInt(expiry.Unix(), 10)
	return exp + "." + sessionMAC(token, exp)
}

func sessionMAC(token, exp string) string {
	h := hmac.New(sha256.New, []byte(token))
	h.Write([]byte("mallpointsd dashboard session\x00" + exp))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func validSession(r *http.Request, token string, now time.Time) bool {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return false
	}
	exp, mac, ok := strings.Cut(c.Value, ".")
	if !ok {
		return false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || now.Unix() >= unix {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(sessionMAC(token, exp)))
}

// localPath keeps a sign-in's "next" on this site: only a clean absolute
// path passes, else "/". Browsers drop tabs and newlines from URLs and read
// a backslash as a slash, so "/\t/evil.example" or "/\\evil.example" would
// leave the site; the same checks hold once percent-decoded, and the path
// must parse with no scheme or host.
func localPath(next string) string {
	decoded, err := url.PathUnescape(next)
	if err != nil || !cleanPath(next) || !cleanPath(decoded) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return next
}

// cleanPath reports whether p starts with a single slash and holds no
// backslash, space, control or invisible format character.
func cleanPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return false
	}
	for _, r := range p {
		if r == '\\' || r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

func (d *Dashboard) signinForm(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "signin", page{Title: d.lang(r).T("title.signin"), Data: d.signinData(localPath(r.URL.Query().Get("next")), "")})
}

// signinData is what the sign-in form shows: the name typed, where to go
// next, and whether the admin token is an option.
func (d *Dashboard) signinData(next, name string) map[string]any {
	return map[string]any{"Next": next, "Name": name, "Token": d.cfg.Token != ""}
}

// signin starts a session: an account's, with its name and password, or
// the bootstrap administrator's, with the admin token. Wrong ones count
// against the client's limit, as wrong Bearer tokens do.
func (d *Dashboard) signin(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.PostFormValue("next"))
	name, password, token := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password"), r.PostFormValue("token")
	if d.cfg.Token == "" && d.implicitLocal(r) {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	addr := clientAddr(r)
	l := d.lang(r)
	if blocked, until := d.signins.blocked(addr); blocked {
		wait := max(until.Sub(d.cfg.Now()), time.Second)
		w.Header().Set("Retry-After", d.retryAfter(until))
		d.render(w, r, http.StatusTooManyRequests, "signin", page{Title: l.T("title.signin"), Here: "/signin",
			Error: l.T("signin.blocked", int((wait+time.Minute-1)/time.Minute)), Data: d.signinData(next, name)})
		return
	}
	wrong := func(what, msg string) {
		d.failedSignin(r, addr)
		d.cfg.Logger.Warn("dashboard: wrong sign-in", "client", addr, "with", what)
		d.render(w, r, http.StatusUnauthorized, "signin", page{Title: l.T("title.signin"), Here: "/signin",
			Error: msg, Data: d.signinData(next, name)})
	}
	if token != "" {
		if d.cfg.Token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(d.cfg.Token)) != 1 {
			wrong("admin token", l.T("signin.wrong.token"))
			return
		}
		expiry := d.cfg.Now().Add(sessionLifetime)
		d.setSession(w, r, sessionValue(d.cfg.Token, expiry), expiry)
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if d.cfg.Accounts == nil {
		wrong("name or password", l.T("signin.wrong.password"))
		return
	}
	sess, p, err := d.cfg.Accounts.SignIn(r.Context(), name, password)
	switch {
	case errors.Is(err, accounts.ErrSignIn):
		wrong("name or password", l.T("signin.wrong.password"))
		return
	case err != nil:
		d.fail(w, r, err)
		return
	}
	d.cfg.Logger.InfoContext(r.Context(), "dashboard: signed in", "actor", p.Name, "role", p.Role, "client", addr)
	d.setSession(w, r, sess.ID, sess.Expires)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// setSession sets the session cookie: HttpOnly, SameSite=Strict, Secure
// when the console is served over https.
func (d *Dashboard) setSession(w http.ResponseWriter, r *http.Request, value string, expiry time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/",
		Expires: expiry, MaxAge: int(expiry.Sub(d.cfg.Now()) / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: d.secure(r),
	})
}

// secure reports whether cookies get Secure: the request came over TLS, or
// the console is reached over https (--admin-url) through a proxy.
func (d *Dashboard) secure(r *http.Request) bool { return r.TLS != nil || d.cfg.SecureCookies }

// signout ends the session, in the database too for an account's.
func (d *Dashboard) signout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil && !strings.Contains(c.Value, ".") && d.cfg.Accounts != nil {
		if err := d.cfg.Accounts.SignOut(r.Context(), c.Value); err != nil {
			d.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: d.secure(r)})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
