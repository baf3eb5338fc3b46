package testkit

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"time"
)

// startTimeout bounds how long a program may take to print that it listens.
const startTimeout = 60 * time.Second

// Sandbox is a running `wxpay sandbox`.
type Sandbox struct {
	*Proc
	URL string // base URL, ending in a slash; the admin API is under URL + "sandbox/"
}

// SandboxOptions configures StartSandbox.
type SandboxOptions struct {
	NotifyURL string // where notifications go
	// RetrySchedule is --notify-retry-schedule, e.g. "1s,1s,2s,5s"; empty
	// means WeChat Pay's own schedule (first retry after 15 s).
	RetrySchedule string
	// SubMchIDs make the merchant a service provider for these malls
	// (--sub-mchid).
	SubMchIDs []string
	// Config is a --config file naming several merchants (each with its
	// own notification URL) and WeChat Pay's keys; the keys passed to
	// StartSandbox, NotifyURL and SubMchIDs are then not used.
	Config string
}

var sandboxListening = regexp.MustCompile(`wxpay sandbox: listening on (http://\S+/) `)

// StartSandbox starts `wxpay sandbox` on a free loopback port with keys k.
func (b Binaries) StartSandbox(ctx context.Context, k Keys, o SandboxOptions) (*Sandbox, error) {
	args := []string{"sandbox", "--listen", "127.0.0.1:0", "--keys-dir", k.Dir, "--notify-url", o.NotifyURL}
	if o.Config != "" {
		args = []string{"sandbox", "--listen", "127.0.0.1:0", "--config", o.Config}
	}
	if o.RetrySchedule != "" {
		args = append(args, "--notify-retry-schedule", o.RetrySchedule)
	}
	for _, id := range o.SubMchIDs {
		args = append(args, "--sub-mchid", id)
	}
	p, err := start("wxpay sandbox", b.Wxpay, args, nil)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	m, err := p.waitFor(ctx, sandboxListening)
	if err != nil {
		p.Kill()
		return nil, err
	}
	return &Sandbox{Proc: p, URL: m[1]}, nil
}

// Service is a running mallpointsd.
type Service struct {
	*Proc
	// NotifyURL is http://…/wechatpay/notify; under --merchants each
	// merchant's is NotifyURL + "/" + its mchid.
	NotifyURL string
	AdminURL  string // http://… (the API is under /api/)
	// SandboxURL is the embedded sandbox's base URL (no trailing slash) when
	// the service runs without credentials.
	SandboxURL string
	// StartedIn is the time from starting the process to its saying that
	// it listens: migrations, the rules, the merchants and their keys.
	StartedIn time.Duration
}

// ServiceOptions configures StartService.
type ServiceOptions struct {
	Name string // for messages, e.g. "replica 2"
	DB   string // --db: a SQLite path or a postgres:// URL; empty with an embedded sandbox
	// SandboxURL and Keys are the WeChat Pay the service talks to; without
	// a SandboxURL it runs against an embedded sandbox of its own.
	SandboxURL string
	Keys       Keys
	// Merchants, with SandboxURL, is a --merchants file that takes the
	// place of Keys: the service serves every merchant it lists.
	Merchants string
	Workers   int      // --workers; 0 keeps the default
	Args      []string // more flags
	Env       []string // more environment, KEY=value
	// Wrapper, when set, runs mallpointsd through another command, which
	// gets the binary and its flags as arguments (e.g. a shell that lowers
	// a limit first).
	Wrapper []string
}

var (
	// The admin API's line comes after the public listener's (one line per
	// merchant under --merchants).
	serviceListening = regexp.MustCompile(`admin API at (http://\S+)/api/`)
	publicListener   = regexp.MustCompile(`at (http://[^/\s]+)/wechatpay/notify`)
	embeddedSandbox  = regexp.MustCompile(`embedded sandbox at (http://\S+) `)
)

// StartService starts mallpointsd on free loopback ports against the
// sandbox, with the merchant credentials of o.Keys.
func (b Binaries) StartService(ctx context.Context, o ServiceOptions) (*Service, error) {
	args := []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}
	if o.DB != "" {
		args = append(args, "--db", o.DB)
	}
	switch {
	case o.SandboxURL != "" && o.Merchants != "":
		args = append(args, "--base-url", o.SandboxURL, "--merchants", o.Merchants)
	case o.SandboxURL != "":
		args = append(args, o.Keys.credentialFlags(o.SandboxURL)...)
	default:
		args = append(args, "--sandbox-listen", "127.0.0.1:0")
	}
	if o.Workers > 0 {
		args = append(args, "--workers", fmt.Sprint(o.Workers))
	}
	args = append(args, o.Args...)
	name := o.Name
	if name == "" {
		name = "mallpointsd"
	}
	bin := b.Mallpointsd
	if len(o.Wrapper) > 0 {
		bin, args = o.Wrapper[0], append(append(o.Wrapper[1:len(o.Wrapper):len(o.Wrapper)], b.Mallpointsd), args...)
	}
	// The environment must not add settings the flags do not show; the
	// APIv3 key comes from its file, as in production.
	env := []string{"MALLPOINTS_RULES=", "MALLPOINTS_ADMIN_TOKEN=", "MALLPOINTS_ADMIN_TOKEN_FILE=", "MALLPOINTS_ADMIN_URL=",
		"WXPAY_APIV3_KEY=", "WXPAY_APIV3_KEY_FILE="}
	if o.SandboxURL != "" && o.Merchants == "" {
		env = append(env, "WXPAY_APIV3_KEY_FILE="+filepath.Join(o.Keys.Dir, "apiv3_key.txt"))
	}
	env = append(env, o.Env...)
	began := time.Now()
	p, err := start(name, bin, args, env)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	m, err := p.waitFor(ctx, serviceListening)
	if err != nil {
		p.Kill()
		return nil, err
	}
	s := &Service{Proc: p, AdminURL: m[1], StartedIn: time.Since(began)}
	if m := publicListener.FindStringSubmatch(p.Output()); m != nil {
		s.NotifyURL = m[1] + "/wechatpay/notify"
	}
	if o.SandboxURL == "" {
		if m := embeddedSandbox.FindStringSubmatch(p.Output()); m != nil {
			s.SandboxURL = m[1]
		}
	}
	return s, nil
}
