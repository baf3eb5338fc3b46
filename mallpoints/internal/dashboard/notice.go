package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// noticeCookie carries the message of an action (a retry, a simulated
// payment) to the page it redirects to, once. A page shows only notices the
// service made and signed, never text from its URL, which anyone can put in
// a link.
const noticeCookie = "mallpointsd_notice"

// maxNotice bounds a notice, so that its cookie stays far below browsers'
// 4 KB.
const maxNotice = 1024

// noticeKey is the key notices are signed with: derived from the admin
// token, so that every replica accepts the others' notices, or made at
// random when there is none (one process on loopback).
func noticeKey(token string) []byte {
	if token == "" {
		return []byte(rand.Text())
	}
	h := hmac.New(sha256.New, []byte(token))
	h.Write([]byte("mallpointsd dashboard notice"))
	return h.Sum(nil)
}

func (d *Dashboard) noticeMAC(msg []byte) []byte {
	h := hmac.New(sha256.New, d.noticeKey)
	h.Write(msg)
	return h.Sum(nil)
}

// redirectWithNotice sends the browser to path, where notice is shown.
func (d *Dashboard) redirectWithNotice(w http.ResponseWriter, r *http.Request, path, notice string) {
	msg := []byte(notice[:min(len(notice), maxNotice)])
	enc := base64.RawURLEncoding
	http.SetCookie(w, &http.Cookie{Name: noticeCookie, Value: enc.EncodeToString(msg) + "." + enc.EncodeToString(d.noticeMAC(msg)),
		Path: "/", MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: d.secure(r)})
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// takeNotice returns the notice r carries, if the service signed it, and
// clears it so that it is shown once.
func (d *Dashboard) takeNotice(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(noticeCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: noticeCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: d.secure(r)})
	msg, mac, _ := strings.Cut(c.Value, ".")
	enc := base64.RawURLEncoding
	rawMsg, err1 := enc.DecodeString(msg)
	rawMAC, err2 := enc.DecodeString(mac)
	if err1 != nil || err2 != nil || !hmac.Equal(rawMAC, d.noticeMAC(rawMsg)) {
		return ""
	}
	return string(rawMsg)
}
