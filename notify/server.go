package notify

import (
	"net/http"
	"time"
)

// NewServer returns an http.Server for addr serving h (a NewHandler, or a
// mux holding one) with the limits a notification URL needs. The handler
// bounds the body it reads, but only the server can bound how slowly a
// request arrives or how long an idle connection stays; without these a
// client sending one byte a second holds a connection for as long as it likes.
//
// WeChat Pay sends a notification's headers and its few KiB of body at once
// and wants an answer within 5 seconds, so the server has:
//
//   - ReadHeaderTimeout 5 s and MaxHeaderBytes 64 KiB (a notification's
//     headers are under 2 KiB; a 900 KiB Wechatpay-Serial is refused, 431);
//   - ReadTimeout 10 s for headers and body (at most DefaultMaxBodyBytes);
//   - WriteTimeout 15 s from the end of the headers to the end of the
//     answer: the callback (DefaultTimeout), Store.Done and the write;
//   - IdleTimeout 60 s for a keep-alive connection between deliveries.
//
// A server built by hand should set the same fields. Change them before
// serving if the mux serves other routes too; serve with ListenAndServeTLS,
// since WeChat Pay delivers only over HTTPS.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}
