package webhook_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/webhook"
)

// nodeHarness follows the Node.js snippet of docs/signing.md in one file:
// it reads cases as JSON on stdin and writes one result per case, a
// signature for a "sign" case, "ok" or the thrown message for the others.
const nodeHarness = `
const cases = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(cases.map((c) => {
  const body = Buffer.from(c.body, 'base64');
  if (c.sign) return signature(c.secret, c.timestamp, c.id, body);
  try {
    verify(c.headers, body, c.secrets, c.nowMs);
    return 'ok';
  } catch (e) {
    return e.message;
  }
})));
`

// nodeCase is one call of the harness. Body is encoded as Base64 by
// encoding/json, which the harness decodes.
type nodeCase struct {
	Sign      bool              `json:"sign,omitempty"`
	Secret    string            `json:"secret,omitempty"`
	Timestamp string            `json:"timestamp,omitempty"`
	ID        string            `json:"id,omitempty"`
	Body      []byte            `json:"body"`
	Headers   map[string]string `json:"headers,omitempty"`
	Secrets   []string          `json:"secrets,omitempty"`
	NowMs     int64             `json:"nowMs,omitempty"`
}

// docs/signing.md gives receivers the known answer to check their code
// against; it must be this one.
func TestDocsShowTheKnownAnswer(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "docs", "signing.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`printf '%s' '` + katTimestamp + "." + katID + "." + katBody + `' | openssl dgst -sha256 -hmac '` + katSecret + `'`,
		"SHA2-256(stdin)= " + katV1,
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("docs/signing.md does not show %s", want)
		}
	}
}

// TestNodeSnippet runs the Node.js verifier docs/signing.md shows on calls
// signed in Go, and verifies in Go the signatures it makes. Without node it
// skips, unless CI=true.
func TestNodeSnippet(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not on PATH; CI=true forbids skipping the Node.js verifier of docs/signing.md")
		}
		t.Skip("node is not on PATH: the Node.js verifier of docs/signing.md is not tested")
	}
	snippet := docsSnippet(t, filepath.Join("..", "docs", "signing.md"), "js")
	script := filepath.Join(t.TempDir(), "verify.js")
	if err := os.WriteFile(script, []byte(snippet+nodeHarness), 0o600); err != nil {
		t.Fatal(err)
	}

	old, current := []byte("whsec-old-secret"), []byte("whsec-new-secret")
	body := []byte(`{"id":"evt_7","seq":7,"type":"points.earned","mall":"m1","openid":"o-Ab.c_1","data":{"points":12,"remark":"满100送10"}}`)
	now := time.Now()
	goSigned := func(sent time.Time, secrets ...[]byte) map[string]string {
		h := http.Header{}
		webhook.Sign(h, "evt_7", sent, body, secrets...)
		return nodeHeaders(h)
	}
	tests := []struct {
		name string
		call nodeCase
		want string // "ok", or a word of the refusal
	}{
		{"a call signed in Go verifies", nodeCase{Headers: goSigned(now, current), Body: body, Secrets: []string{string(current)}}, "ok"},
		{"signed with two secrets, the receiver holds the new one", nodeCase{Headers: goSigned(now, old, current), Body: body, Secrets: []string{string(current)}}, "ok"},
		{"signed with the new secret, the receiver holds both", nodeCase{Headers: goSigned(now, current), Body: body, Secrets: []string{string(old), string(current)}}, "ok"},
		{"body changed by one byte", nodeCase{Headers: goSigned(now, current), Body: bytes.Replace(body, []byte("12"), []byte("13"), 1), Secrets: []string{string(current)}}, "matches"},
		{"wrong secret", nodeCase{Headers: goSigned(now, old), Body: body, Secrets: []string{string(current)}}, "matches"},
		{"6 minutes old", nodeCase{Headers: goSigned(now.Add(-6*time.Minute), current), Body: body, Secrets: []string{string(current)}}, "5 minutes"},
		{"4 minutes old", nodeCase{Headers: goSigned(now.Add(-4*time.Minute), current), Body: body, Secrets: []string{string(current)}}, "ok"},
		{"6 minutes ahead", nodeCase{Headers: goSigned(now.Add(6*time.Minute), current), Body: body, Secrets: []string{string(current)}}, "5 minutes"},
		{"an empty secret", nodeCase{Headers: goSigned(now, []byte{}), Body: body, Secrets: []string{""}}, "no secret"},
		{"the known answer at its time", nodeCase{
			Headers: map[string]string{"mallpoints-id": katID, "mallpoints-timestamp": katTimestamp, "mallpoints-signature": "v2=x, v1=" + katV1},
			Body:    []byte(katBody), Secrets: []string{katSecret}, NowMs: katTime.UnixMilli(),
		}, "ok"},
		{"the known answer under another scheme", nodeCase{
			Headers: map[string]string{"mallpoints-id": katID, "mallpoints-timestamp": katTimestamp, "mallpoints-signature": "v0=" + katV1},
			Body:    []byte(katBody), Secrets: []string{katSecret}, NowMs: katTime.UnixMilli(),
		}, "matches"},
		{"the known answer with a dot added to the id", nodeCase{
			Headers: map[string]string{"mallpoints-id": katID + ".", "mallpoints-timestamp": katTimestamp, "mallpoints-signature": "v1=" + katV1},
			Body:    []byte(katBody), Secrets: []string{katSecret}, NowMs: katTime.UnixMilli(),
		}, "Mallpoints-Id"},
	}
	calls := make([]nodeCase, 0, len(tests)+1)
	for _, tt := range tests {
		calls = append(calls, tt.call)
	}
	// The signature node makes, verified in Go below.
	calls = append(calls, nodeCase{Sign: true, Secret: string(current), Timestamp: "1767225600", ID: "evt_7", Body: body})
	results := runNode(t, bin, script, calls)

	for i, tt := range tests {
		if got := results[i]; got != tt.want && (tt.want == "ok" || !strings.Contains(got, tt.want)) {
			t.Errorf("%s: node's verify gave %q, want %q", tt.name, got, tt.want)
		}
	}
	h := http.Header{}
	h.Set(webhook.HeaderID, "evt_7")
	h.Set(webhook.HeaderTimestamp, "1767225600")
	h.Set(webhook.HeaderSignature, "v1="+results[len(tests)])
	if err := webhook.VerifyAt(h, body, katTime, webhook.DefaultTolerance, old, current); err != nil {
		t.Errorf("a call node signed does not verify in Go: %v", err)
	}
}

// runNode runs the harness script on calls and returns its results.
func runNode(t *testing.T, bin, script string, calls []nodeCase) []string {
	t.Helper()
	in, err := json.Marshal(calls)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.Bytes())
	}
	var results []string
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(calls) {
		t.Fatalf("node answered %q (%v), want %d results", out, err, len(calls))
	}
	return results
}

// nodeHeaders gives h as Node.js's http module gives a request's headers:
// lower-case names, the values of a repeated header joined with ", ".
func nodeHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return out
}

// docsSnippet returns the one fenced code block of language lang in the
// Markdown file at path.
func docsSnippet(t *testing.T, path, lang string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	rest := string(raw)
	for {
		_, after, ok := strings.Cut(rest, "\n```"+lang+"\n")
		if !ok {
			break
		}
		block, tail, ok := strings.Cut(after, "\n```\n")
		if !ok {
			t.Fatalf("%s: a ```%s block is not closed", path, lang)
		}
		blocks = append(blocks, block+"\n")
		rest = tail
	}
	if len(blocks) != 1 {
		t.Fatalf("%s has %d ```%s blocks, want 1", path, len(blocks), lang)
	}
	return blocks[0]
}
