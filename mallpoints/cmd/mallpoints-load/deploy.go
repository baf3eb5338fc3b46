package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/seed2ac2593f/wxpay/sandbox"

	"github.com/seed2ac2593f/wxpay/mallpoints/cmd/mallpoints-load/loadgen"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
)

// deployment is what --spawn starts on loopback: a sandbox standing in for
// WeChat Pay, a front (the load balancer WeChat Pay's notifications reach)
// and --replicas mallpointsd processes on one database behind it.
type deployment struct {
	bins     testkit.Binaries
	sandbox  *testkit.Sandbox
	front    *testkit.Front
	replicas []*testkit.Service
	opts     []testkit.ServiceOptions // how each replica was started
}

// directMchID is the mchid of direct merchant i (0-based) of --direct: its
// own mall. They stay clear of the provider's sub-merchants, 1900001001 on.
func directMchID(i int) string { return fmt.Sprintf("19000003%02d", i+1) }

// subMchID is the mchid of sub-merchant i (0-based) of --malls.
func subMchID(i int) string { return fmt.Sprintf("19%08d", 1001+i) }

// deploy starts the deployment: with --direct, the merchant of keys (a
// service provider with --malls above 1) and the direct merchants, each
// with keys of its own, are given to the service in a --merchants file and
// to the sandbox in a --config file, each merchant notified at its own URL;
// otherwise the service takes the single merchant's flags. The first replica
// starts alone (on an empty database it runs the migrations), the others
// together, as a rolling deploy would.
func deploy(ctx context.Context, o *options, bins testkit.Binaries, keys testkit.Keys, dir, db string) (_ *deployment, err error) {
	d := &deployment{bins: bins}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	if d.front, err = testkit.NewFront(); err != nil {
		return nil, err
	}
	sbOpts := testkit.SandboxOptions{NotifyURL: d.front.URL() + "/wechatpay/notify", RetrySchedule: "1s,2s,5s,10s,30s"}
	svcOpts := testkit.ServiceOptions{DB: db, Keys: keys, Workers: o.workers}
	if o.direct > 0 {
		if sbOpts.Config, svcOpts.Merchants, err = writeMerchants(dir, keys, o, d.front.URL()); err != nil {
			return nil, err
		}
	} else if o.malls > 1 {
		for i := range o.malls {
			sbOpts.SubMchIDs = append(sbOpts.SubMchIDs, subMchID(i))
		}
	}
	if d.sandbox, err = bins.StartSandbox(ctx, keys, sbOpts); err != nil {
		return nil, err
	}
	svcOpts.SandboxURL = d.sandbox.URL
	for i := range o.replicas {
		opts := svcOpts
		opts.Name = fmt.Sprintf("replica %d", i+1)
		d.opts = append(d.opts, opts)
	}
	d.replicas = make([]*testkit.Service, o.replicas)
	if d.replicas[0], err = bins.StartService(ctx, d.opts[0]); err != nil {
		return nil, err
	}
	errs := make([]error, o.replicas)
	var wg sync.WaitGroup
	for i := 1; i < o.replicas; i++ {
		wg.Go(func() { d.replicas[i], errs[i] = bins.StartService(ctx, d.opts[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return d, d.setFront()
}

// setFront points the front at every replica.
func (d *deployment) setFront() error {
	var backends []*testkit.Backend
	for _, r := range d.replicas {
		b, err := testkit.NewBackend(r.Name, r.NotifyURL)
		if err != nil {
			return err
		}
		backends = append(backends, b)
	}
	d.front.Set(backends...)
	return nil
}

// restart stops replica i and starts it again on the database as the run
// left it, and returns how long the new process took to listen.
func (d *deployment) restart(ctx context.Context, i int) (time.Duration, error) {
	if _, err := d.replicas[i].Stop(30 * time.Second); err != nil {
		return 0, err
	}
	r, err := d.bins.StartService(ctx, d.opts[i])
	if err != nil {
		return 0, err
	}
	d.replicas[i] = r
	return r.StartedIn, d.setFront()
}

// cpu is the CPU time every replica has used.
func (d *deployment) cpu() (time.Duration, error) {
	var sum time.Duration
	for _, r := range d.replicas {
		t, err := processCPU(r.Pid())
		if err != nil {
			return 0, err
		}
		sum += t
	}
	return sum, nil
}

// stop ends the replicas with SIGTERM, as an operator would.
func (d *deployment) stop() error {
	var errs []error
	for _, r := range d.replicas {
		if r != nil && !r.Exited() {
			_, err := r.Stop(30 * time.Second)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// close kills whatever is still running.
func (d *deployment) close() {
	for _, r := range d.replicas {
		if r != nil && !r.Exited() {
			r.Kill()
		}
	}
	if d.sandbox != nil {
		d.sandbox.Kill()
	}
	if d.front != nil {
		d.front.Close()
	}
}

// mallsOf are the malls the members pay in: the sub-merchants of --malls
// above 1, else the first merchant's own mall, then the direct merchants'.
func mallsOf(malls, direct int) []loadgen.Mall {
	var out []loadgen.Mall
	if malls > 1 {
		for i := range malls {
			out = append(out, loadgen.Mall{SubMchID: subMchID(i)})
		}
	} else if direct > 0 {
		out = append(out, loadgen.Mall{})
	}
	for i := range direct {
		out = append(out, loadgen.Mall{MchID: directMchID(i)})
	}
	return out
}

// writeMerchants makes keys for the direct merchants (WeChat Pay's are the
// sandbox's, shared by all, as they are WeChat Pay's) and writes the
// sandbox's --config and the service's --merchants file into dir, each
// merchant notified at front + /wechatpay/notify/{mchid}.
func writeMerchants(dir string, keys testkit.Keys, o *options, front string) (sandboxConfig, merchantsFile string, err error) {
	first, err := sandbox.LoadKeysDir(keys.Dir)
	if err != nil {
		return "", "", err
	}
	type merchant struct {
		dir  string
		keys *sandbox.Keys
		mode string
		subs []string
	}
	m0 := merchant{dir: keys.Dir, keys: first, mode: "merchant"}
	if o.malls > 1 {
		m0.mode = "partner"
		for i := range o.malls {
			m0.subs = append(m0.subs, subMchID(i))
		}
	}
	ms := []merchant{m0}
	for i := range o.direct {
		k, err := sandbox.GenerateKeys()
		if err != nil {
			return "", "", err
		}
		k.MchID, k.WechatPayKey, k.PublicKeyID = directMchID(i), first.WechatPayKey, first.PublicKeyID
		k.PlatformCert, k.PlatformKey, k.PlatformSerial = first.PlatformCert, first.PlatformKey, first.PlatformSerial
		m := merchant{dir: filepath.Join(dir, "merchant-"+k.MchID), keys: k, mode: "merchant"}
		if err := k.WriteDir(m.dir); err != nil {
			return "", "", err
		}
		ms = append(ms, m)
	}

	type sbMerchant struct {
		MchID        string   `json:"mchid"`
		MerchantCert string   `json:"merchant-cert"`
		APIv3Key     string   `json:"apiv3-key"`
		NotifyURL    string   `json:"notify-url"`
		SubMchIDs    []string `json:"sub-mchids,omitempty"`
	}
	sb := struct {
		WechatPayPrivateKey string       `json:"wechatpay-private-key"`
		WechatPayKeyID      string       `json:"wechatpay-public-key-id"`
		NotifyRetrySchedule string       `json:"notify-retry-schedule"`
		Merchants           []sbMerchant `json:"merchants"`
	}{filepath.Join(keys.Dir, sandbox.FileWechatPayKey), first.PublicKeyID, "1s,2s,5s,10s,30s", nil}
	var yaml strings.Builder
	yaml.WriteString("merchants:\n")
	for _, m := range ms {
		sb.Merchants = append(sb.Merchants, sbMerchant{MchID: m.keys.MchID, MerchantCert: filepath.Join(m.dir, sandbox.FileMerchantCert),
			APIv3Key: m.keys.APIv3Key, NotifyURL: front + "/wechatpay/notify/" + m.keys.MchID, SubMchIDs: m.subs})
		fmt.Fprintf(&yaml, "  - mchid: %q\n    mode: %s\n", m.keys.MchID, m.mode)
		for _, kv := range [][2]string{
			{"private_key", sandbox.FileMerchantKey}, {"merchant_cert", sandbox.FileMerchantCert},
			{"wechatpay_public_key", sandbox.FilePublicKey}, {"apiv3_key_file", sandbox.FileAPIv3Key},
		} {
			fmt.Fprintf(&yaml, "    %s: %q\n", kv[0], filepath.Join(m.dir, kv[1]))
		}
		fmt.Fprintf(&yaml, "    wechatpay_public_key_id: %q\n", m.keys.PublicKeyID)
		if len(m.subs) > 0 {
			subs, _ := json.Marshal(m.subs) // a JSON array of strings is a YAML flow sequence
			fmt.Fprintf(&yaml, "    sub_mchids: %s\n", subs)
		}
	}
	raw, err := json.MarshalIndent(sb, "", "  ")
	if err != nil {
		return "", "", err
	}
	sandboxConfig, merchantsFile = filepath.Join(dir, "sandbox.json"), filepath.Join(dir, "merchants.yaml")
	return sandboxConfig, merchantsFile, errors.Join(
		os.WriteFile(sandboxConfig, raw, 0o600),
		os.WriteFile(merchantsFile, []byte(yaml.String()), 0o600))
}

// figures are what a run reports of the deployment beside the load's own.
type figures struct {
	replicas    []string
	startedIn   []time.Duration // each replica's start-up, the first on the empty database
	restartedIn time.Duration   // the first replica's, restarted on the database the run left
	rss, peak   []int64         // each replica's resident memory after the run, and its peak, in bytes
	series      int             // Prometheus series on the first replica's /metrics
}

// measure reads each replica's memory and the first one's metrics, then
// restarts the first replica and times its start-up on the data the run
// left behind.
func (d *deployment) measure(ctx context.Context) (*figures, error) {
	f := &figures{}
	for _, r := range d.replicas {
		rss, peak, err := processMemory(r.Pid())
		if err != nil {
			return nil, err
		}
		f.replicas = append(f.replicas, r.Name)
		f.startedIn, f.rss, f.peak = append(f.startedIn, r.StartedIn), append(f.rss, rss), append(f.peak, peak)
	}
	n, err := countSeries(ctx, d.replicas[0].AdminURL+"/metrics")
	if err != nil {
		return nil, err
	}
	f.series = n
	if f.restartedIn, err = d.restart(ctx, 0); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *figures) write(w io.Writer) {
	for i, name := range f.replicas {
		fmt.Fprintf(w, "%s: started in %.2f s, memory after the run %.0f MiB resident (peak %.0f MiB)\n",
			name, f.startedIn[i].Seconds(), mib(f.rss[i]), mib(f.peak[i]))
	}
	fmt.Fprintf(w, "%s restarted on the run's data in %.2f s; %d Prometheus series on its /metrics\n",
		f.replicas[0], f.restartedIn.Seconds(), f.series)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// countSeries counts the samples of a Prometheus text exposition: every
// line that is neither a comment nor blank.
func countSeries(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	n := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n, sc.Err()
}
