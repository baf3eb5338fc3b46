package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"
)

// Faults make the sandbox misbehave the way WeChat Pay sometimes does, or
// the way an attacker between it and the merchant would, to test what a
// client and a notification receiver do about it: errors, latency, dropped
// connections, and signatures a verifier must refuse (a probe, a key nobody
// trusts, a serial nobody has, a timestamp off the clock). A share of 0
// never happens and 1 always does, so tests stay deterministic.
type Faults struct {
	// Endpoints maps an endpoint, named by its path template (PathPointsNotify,
	// PathUserAuthorization and the others, such as
	// "v3/businesscircle/points/notify"; a leading slash is accepted and
	// dropped), or "*" for every endpoint without an entry of its own, to its
	// faults.
	Endpoints map[string]EndpointFaults `json:"endpoints,omitempty"`
	// Notifications applies to every notification attempt.
	Notifications NotificationFaults `json:"notifications"`
}

// EndpointFaults are the faults of one endpoint. They apply to requests
// that passed the signature check.
type EndpointFaults struct {
	// ErrorRate is the share of requests answered with ErrorStatus before
	// the endpoint acts: nothing happens.
	ErrorRate float64 `json:"error_rate,omitempty"`
	// ErrorStatus is 500 (SYSTEM_ERROR, the default) or 429 (FREQUENCY_LIMITED).
	ErrorStatus int `json:"error_status,omitempty"`
	// Latency is added before the answer.
	Latency Duration `json:"latency,omitempty"`
	// DropRate is the share of requests whose connection is closed without
	// an answer after the endpoint acted: the call took effect, the caller
	// cannot know.
	DropRate float64 `json:"drop_rate,omitempty"`
	// ProbeRate is the share of 2xx answers signed with a WECHATPAY/SIGNTEST/
	// probe signature, which a client must refuse.
	ProbeRate float64 `json:"probe_rate,omitempty"`
	// BadSignatureRate is the share of 2xx answers signed over the right
	// message by a key nobody trusts (one RSA key made for the purpose, once
	// per process), under the serial of the right key: a client must refuse
	// them as a bad signature.
	BadSignatureRate float64 `json:"bad_signature_rate,omitempty"`
	// UnknownSerialRate is the share of 2xx answers whose Wechatpay-Serial
	// names a key nobody has, a public key id or a certificate serial like
	// the right one; the signature is otherwise valid. A client must refuse
	// them as an unknown serial.
	UnknownSerialRate float64 `json:"unknown_serial_rate,omitempty"`
	// ClockSkew is added to the Wechatpay-Timestamp of 2xx answers, which are
	// signed correctly for the shifted time. WeChat Pay's limit is five
	// minutes either way: a client keeping to it accepts 300 s and refuses
	// 301 s.
	ClockSkew Duration `json:"clock_skew,omitempty"`
}

// NotificationFaults are the faults of notification attempts.
type NotificationFaults struct {
	// ProbeRate is the share of notifications whose first attempt carries a
	// WECHATPAY/SIGNTEST/ probe signature. The receiver must refuse it; the
	// next attempt is signed correctly.
	ProbeRate float64 `json:"probe_rate,omitempty"`
	// BadSignatureRate is the share of notifications whose first attempt is
	// signed by a key nobody trusts, as for EndpointFaults; the next attempt
	// is signed correctly.
	BadSignatureRate float64 `json:"bad_signature_rate,omitempty"`
	// UnknownSerialRate is the share of notifications whose first attempt
	// names a key nobody has in Wechatpay-Serial, as for EndpointFaults; the
	// next attempt is correct.
	UnknownSerialRate float64 `json:"unknown_serial_rate,omitempty"`
	// ClockSkew is added to Wechatpay-Timestamp; beyond five minutes either
	// way receivers refuse the notification.
	ClockSkew Duration `json:"clock_skew,omitempty"`
}

// Duration is a time.Duration written in JSON as a string such as "250ms"
// or "-10m".
type Duration time.Duration

// MarshalJSON writes d as a string such as "1.5s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a string in time.ParseDuration syntax. A failure is a
// *json.UnmarshalTypeError, so that encoding/json names the field.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	err := json.Unmarshal(b, &s)
	var v time.Duration
	if err == nil {
		v, err = time.ParseDuration(s)
	}
	if err != nil {
		return &json.UnmarshalTypeError{Value: "duration " + string(b), Type: reflect.TypeFor[Duration]()}
	}
	*d = Duration(v)
	return nil
}

// maxLatency bounds injected latency, so that a typo cannot hang a test.
const maxLatency = time.Minute

// faultSet holds the current faults.
type faultSet struct {
	mu sync.Mutex
	f  Faults
}

func (fs *faultSet) get() Faults {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.f
}

func (fs *faultSet) set(f Faults) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.f = f
}

// forEndpoint returns the faults of the endpoint named, or of "*".
func (fs *faultSet) forEndpoint(name string) (EndpointFaults, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f, ok := fs.f.Endpoints[name]; ok {
		return f, true
	}
	f, ok := fs.f.Endpoints["*"]
	return f, ok
}

// SetFaults replaces every fault; the zero Faults turns them all off.
// An error (an *InputError) names the first bad setting, and nothing changes.
// The first bad-signature fault makes the untrusted key, which takes a moment.
func (s *Sandbox) SetFaults(f Faults) error {
	share := func(field string, v float64) error {
		if v < 0 || v > 1 {
			return &InputError{Field: field, Message: fmt.Sprintf("%v is not a share between 0 and 1", v)}
		}
		return nil
	}
	endpoints := make(map[string]EndpointFaults, len(f.Endpoints))
	for given, e := range f.Endpoints {
		name := strings.TrimPrefix(given, "/")
		if given != "*" && s.endpointNamed(name) == nil {
			return &InputError{Field: "endpoints/" + given, Message: "no such endpoint; use a path template such as " + PathPointsNotify + ", or *"}
		}
		if _, twice := endpoints[name]; twice {
			return &InputError{Field: "endpoints/" + given, Message: "names the endpoint " + name + " twice, with and without the leading slash"}
		}
		field := "endpoints/" + given + "/"
		for _, c := range []struct {
			name string
			v    float64
		}{
			{"error_rate", e.ErrorRate}, {"drop_rate", e.DropRate}, {"probe_rate", e.ProbeRate},
			{"bad_signature_rate", e.BadSignatureRate}, {"unknown_serial_rate", e.UnknownSerialRate},
		} {
			if err := share(field+c.name, c.v); err != nil {
				return err
			}
		}
		switch e.ErrorStatus {
		case 0:
			e.ErrorStatus = http.StatusInternalServerError
		case http.StatusInternalServerError, http.StatusTooManyRequests:
		default:
			return &InputError{Field: field + "error_status", Message: fmt.Sprintf("%d is neither 500 nor 429", e.ErrorStatus)}
		}
		if e.Latency < 0 || time.Duration(e.Latency) > maxLatency {
			return &InputError{Field: field + "latency", Message: "must be between 0 and " + maxLatency.String()}
		}
		endpoints[name] = e
	}
	n := f.Notifications
	for _, c := range []struct {
		name string
		v    float64
	}{{"probe_rate", n.ProbeRate}, {"bad_signature_rate", n.BadSignatureRate}, {"unknown_serial_rate", n.UnknownSerialRate}} {
		if err := share("notifications/"+c.name, c.v); err != nil {
			return err
		}
	}
	if usesUntrustedKey(endpoints, n) {
		// Made now rather than at the first faulty answer, which would
		// otherwise wait for it.
		if _, err := untrustedKey(); err != nil {
			return fmt.Errorf("sandbox: make the untrusted key: %w", err)
		}
	}
	f.Endpoints = endpoints
	s.faults.set(f)
	return nil
}

// Faults returns the faults in force.
func (s *Sandbox) Faults() Faults {
	f := s.faults.get()
	out := f
	out.Endpoints = make(map[string]EndpointFaults, len(f.Endpoints))
	for k, v := range f.Endpoints {
		out.Endpoints[k] = v
	}
	return out
}

// injectFaults is the pipeline step: latency first, then a drawn error;
// the signature faults and drop are applied when answering.
func (s *Sandbox) injectFaults(x *exchange) *apiError {
	f, ok := s.faults.forEndpoint(x.endpoint.name)
	if !ok {
		return nil
	}
	if f.Latency > 0 {
		if err := sleep(x.r.Context(), time.Duration(f.Latency)); err != nil {
			return systemError("request cancelled during injected latency")
		}
	}
	x.signing.probe = s.draw(f.ProbeRate)
	x.drop = s.draw(f.DropRate)
	x.signing.badSignature = s.draw(f.BadSignatureRate)
	x.signing.unknownSerial = s.draw(f.UnknownSerialRate)
	x.signing.skew = time.Duration(f.ClockSkew)
	if s.draw(f.ErrorRate) {
		if f.ErrorStatus == http.StatusTooManyRequests {
			return newError(http.StatusTooManyRequests, "FREQUENCY_LIMITED", msgFrequencyLimited, "injected fault")
		}
		return systemError("injected fault")
	}
	return nil
}

// usesUntrustedKey reports whether any fault signs with the untrusted key.
func usesUntrustedKey(endpoints map[string]EndpointFaults, n NotificationFaults) bool {
	if n.BadSignatureRate > 0 {
		return true
	}
	for _, e := range endpoints {
		if e.BadSignatureRate > 0 {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
