package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
)

// TestTheBinaryTakesItsAdminTokenFromAFile runs the built mallpointsd with
// MALLPOINTS_ADMIN_TOKEN_FILE, as docs/deploy.md says to.
func TestTheBinaryTakesItsAdminTokenFromAFile(t *testing.T) {
	t.Parallel()
	const token = "0123456789abcdef0123456789abcdef" // 32 characters
	tokenFile := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	svc := startAlone(t, testkit.ServiceOptions{Env: []string{"MALLPOINTS_ADMIN_TOKEN_FILE=" + tokenFile}})
	for _, c := range []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer " + token, http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, svc.AdminURL+"/api/members", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("Authorization %q: status %d, want %d\n%s", strings.TrimSuffix(c.auth, token), resp.StatusCode, c.want, svc.Output())
		}
	}
	if strings.Contains(svc.Output(), "cmdline") {
		t.Errorf("a warning about the command line for a token read from a file:\n%s", svc.Output())
	}
}
