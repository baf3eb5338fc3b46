package dashboard

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// SessionCookie is the name of the cookie a signed-in browser carries.
const SessionCookie = "mallpointsd_session"

// sessionLifetime is how long a sign-in lasts.
const sessionLifetime = 12 * time.Hour

// Guard puts the admin surface behind the admin token. A request passes
// with "Authorization: Bearer <token>" (the JSON API and /metrics accept
// nothing else), or, for the dashboard's pages, with the session cookie that
// signing in at /signin sets. A browser that is not signed in is sent to
// /signin; any other caller gets 401. Wrong Bearer tokens count against the
// client's limit as wrong sign-ins do, and a client over it gets 429. With
// no token everything passes: the admin listener is then on loopback.
func (d *Dashboard) Guard(next http.Handler) http.Handler {
	token := d.cfg.Token
	if token == "" {
		return next
	}
	bearer := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth := r.Header.Get("Authorization"); auth != "" {
			addr := clientAddr(r)
			if blocked, until := d.signins.blocked(addr); blocked {
				w.Header().Set("Retry-After", d.retryAfter(until))
				writeAuthError(w, http.StatusTooManyRequests, "TOO_MANY_WRONG_TOKENS", "too many wrong admin tokens from this address; wait for Retry-After seconds")
				return
			}
			if subtle.ConstantTimeCompare([]byte(auth), bearer) == 1 {
				next.ServeHTTP(w, r)
				return
			}
			d.failedSignin(r, addr)
			d.cfg.Logger.Warn("dashboard: wrong admin token in Authorization", "client", addr, "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="mallpointsd", error="invalid_token"`)
			writeAuthError(w, http.StatusUnauthorized, "UNAUTHORIZED", "send Authorization: Bearer <admin token>")
			return
		}
		machine := strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics" || strings.HasPrefix(r.URL.Path, "/debug/pprof/")
		switch {
		case r.URL.Path == "/signin" || strings.HasPrefix(r.URL.Path, "/static/"):
			next.ServeHTTP(w, r)
		case !machine && validSession(r, token, d.cfg.Now()):
			next.ServeHTTP(w, r)
		case !machine && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="mallpointsd"`)
			writeAuthError(w, http.StatusUnauthorized, "UNAUTHORIZED", "send Authorization: Bearer <admin token>")
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
	d.render(w, r, http.StatusOK, "signin", page{Title: "Sign in", Data: map[string]any{"Next": localPath(r.URL.Query().Get("next"))}})
}

func (d *Dashboard) signin(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.PostFormValue("next"))
	if d.cfg.Token == "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	addr := clientAddr(r)
	if blocked, until := d.signins.blocked(addr); blocked {
		wait := max(until.Sub(d.cfg.Now()), time.Second)
		w.Header().Set("Retry-After", d.retryAfter(until))
		d.render(w, r, http.StatusTooManyRequests, "signin", page{Title: "Sign in",
			Error: fmt.Sprintf("Too many wrong tokens from your address: try again in %d min.", int((wait+time.Minute-1)/time.Minute)),
			Data:  map[string]any{"Next": next}})
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("token")), []byte(d.cfg.Token)) != 1 {
		d.failedSignin(r, addr)
		d.cfg.Logger.Warn("dashboard: wrong admin token at sign-in", "client", addr)
		d.render(w, r, http.StatusUnauthorized, "signin", page{Title: "Sign in", Error: "That is not the admin token.",
			Data: map[string]any{"Next": next}})
		return
	}
	expiry := d.cfg.Now().Add(sessionLifetime)
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: sessionValue(d.cfg.Token, expiry), Path: "/",
		Expires: expiry, MaxAge: int(sessionLifetime / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (d *Dashboard) signout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
