package dashboard_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/dashboard"
)

// Guard puts the admin surface behind the admin token: the API and the
// metrics want the bearer token, a browser is sent to sign in.
func ExampleGuard() {
	admin := dashboard.Guard("s3cret", time.Now, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	for _, c := range []struct{ path, auth string }{
		{"/api/members", ""},
		{"/api/members", "Bearer s3cret"},
		{"/members", ""},
	} {
		r := httptest.NewRequest(http.MethodGet, c.path, nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		admin.ServeHTTP(w, r)
		fmt.Println(c.path, c.auth != "", w.Code, w.Header().Get("Location") != "") // path, token sent, status, sent to sign in
	}
	// Output:
	// /api/members false 401 false
	// /api/members true 200 false
	// /members false 303 true
}
