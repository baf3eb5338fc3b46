package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// Demo values, from the protocol's own examples.
const (
	demoAppID  = "wx1234567890abcdef"
	demoOpenID = "oWmnN4xxxxxxxxxxe92NHIGf1xd8"
)

// demo runs a real points sync and a signed GET against an in-process fake
// of WeChat Pay that checks our signatures with code of its own, then makes
// the fake misbehave and shows that the client refuses its answers.
func (c *cli) demo(ctx context.Context, args []string) int {
	fs := newFlagSet("demo")
	positional, code, done := c.parseFlags(fs, demoHelp, args)
	if done {
		return code
	}
	if len(positional) > 0 {
		return c.usageError("wxpay demo", fmt.Errorf("unexpected argument %q", positional[0]))
	}

	out := c.stdout
	keys, err := c.newKeys()
	if err != nil {
		return c.failure(err)
	}
	srv := wxtest.NewServer(keys)
	defer srv.Close()
	srv.Handle(http.MethodGet, "/v3/businesscircle/user-authorizations/"+demoOpenID, func(*wxtest.Request) (int, []byte) {
		return http.StatusOK, []byte(`{"openid":"` + demoOpenID + `","authorize_state":"AUTHORIZED","authorize_time":"2020-05-20T13:29:35+08:00"}`)
	})
	client, err := wxpay.NewClient(
		wxpay.WithMerchant(keys.MchID, keys.MerchantSerial, keys.MerchantKey),
		wxpay.WithWechatPayPublicKey(keys.PublicKeyID, &keys.WechatPayKey.PublicKey),
		wxpay.WithBaseURL(srv.URL),
		wxpay.WithHTTPClient(srv.Client()),
		wxpay.WithoutRetries(),
	)
	if err != nil {
		return c.failure(err)
	}

	fmt.Fprintln(out, "wxpay demo: WeChat Pay APIv3 against an in-process fake on loopback (fresh keys; nothing leaves this machine)")
	fmt.Fprintf(out, "  merchant %s signs with certificate %s; answers are checked with WeChat Pay public key %s\n\n",
		keys.MchID, keys.MerchantSerial, keys.PublicKeyID)

	// Each step makes one call; it prints what the fake received, whether
	// the fake's own verifier accepted our signature, and then what the
	// client made of the answer.
	ok, steps := 0, 0
	var sentBody []byte // shown once; repeats are named, to keep the output short
	step := func(title string, call func() ([]string, error)) {
		steps++
		fmt.Fprintf(out, "%d. %s\n", steps, title)
		before := len(srv.Requests())
		lines, err := call()
		if reqs := srv.Requests(); len(reqs) > before {
			r := reqs[len(reqs)-1]
			fmt.Fprintf(out, "   sent    %s %s", r.Method, r.RequestTarget)
			switch {
			case len(r.Body) > 0 && bytes.Equal(r.Body, sentBody):
				fmt.Fprint(out, " (the same body)")
			case len(r.Body) > 0:
				fmt.Fprintf(out, " %s", r.Body)
				sentBody = r.Body
			}
			fmt.Fprintln(out)
			if r.AuthErr != nil {
				err = errors.Join(err, fmt.Errorf("the server refused our signature: %w", r.AuthErr))
			} else {
				fmt.Fprintf(out, "   server  verified our signature (%s, mchid %s)\n", wxpay.SignatureScheme, keys.MchID)
			}
		} else if err == nil {
			err = errors.New("the request never reached the server")
		}
		for _, l := range lines {
			fmt.Fprintf(out, "   %s\n", l)
		}
		if err != nil {
			fmt.Fprintf(out, "   FAIL    %s\n", oneLine(err))
			return
		}
		ok++
	}

	points := []byte(`{"transaction_id":"1217752501201407033233368018","appid":"` + demoAppID + `","openid":"` + demoOpenID +
		`","earn_points":true,"increased_points":100,"points_update_time":"2020-05-20T13:29:35.120+08:00"}`)
	step("points sync (商圈会员积分同步)", func() ([]string, error) {
		resp, err := client.Chain("v3/businesscircle/points/notify").Post(ctx, wxpay.RawJSON(points))
		if err != nil {
			return nil, err
		}
		lines := []string{fmt.Sprintf("answer  HTTP %d, its signature verified with %s", resp.StatusCode, resp.Serial)}
		if resp.StatusCode != http.StatusNoContent {
			return lines, fmt.Errorf("want HTTP 204, got %d", resp.StatusCode)
		}
		return lines, nil
	})
	step("points-authorization query (积分服务授权查询), a signed GET", func() ([]string, error) {
		resp, err := client.Chain("v3/businesscircle/user-authorizations/{openid}").Get(ctx,
			wxpay.PathParam("openid", demoOpenID), wxpay.Query("appid", demoAppID))
		if err != nil {
			return nil, err
		}
		lines := []string{
			fmt.Sprintf("answer  HTTP %d, its signature verified with %s", resp.StatusCode, resp.Serial),
			fmt.Sprintf("body    %s", resp.Body),
		}
		if resp.StatusCode != http.StatusOK || len(resp.Body) == 0 {
			return lines, fmt.Errorf("want HTTP 200 with a body, got %d with %d bytes", resp.StatusCode, len(resp.Body))
		}
		return lines, nil
	})

	// Fail closed: answers that do not verify are errors, and say why.
	for _, f := range []struct {
		fault    wxtest.Fault
		title    string
		sentinel error
		name     string
	}{
		{wxtest.FaultProbe, "the fake answers with a " + wxpay.ProbeSignaturePrefix + " probe signature", wxpay.ErrProbeSignature, "wxpay.ErrProbeSignature"},
		{wxtest.FaultBadSignature, "the fake signs its answer with a key nobody trusts", wxpay.ErrBadSignature, "wxpay.ErrBadSignature"},
	} {
		step("fail closed: "+f.title, func() ([]string, error) {
			srv.SetFault(f.fault)
			defer srv.SetFault(wxtest.NoFault)
			_, err := client.Chain("v3/businesscircle/points/notify").Post(ctx, wxpay.RawJSON(points))
			var ve *wxpay.VerificationError
			switch {
			case err == nil:
				return nil, errors.New("the client accepted the answer")
			case !errors.Is(err, f.sentinel) || !errors.As(err, &ve):
				return nil, fmt.Errorf("the client failed for another reason: %w", err)
			}
			return []string{fmt.Sprintf("client  rejected the answer: %v (errors.Is(err, %s))", ve.Err, f.name)}, nil
		})
	}

	fmt.Fprintln(out)
	if ok != steps {
		fmt.Fprintf(out, "FAIL: %d of %d steps behaved as expected\n", ok, steps)
		fmt.Fprintf(c.stderr, "wxpay demo: %d of %d steps failed\n", steps-ok, steps)
		return exitFailed
	}
	fmt.Fprintf(out, "ok: all %d steps behaved as expected\n", steps)
	return exitOK
}
