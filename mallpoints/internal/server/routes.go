package server

import (
	"net/http"
	"net/http/pprof"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/accounts"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/api"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/dashboard"
)

// Route is one route of the admin listener and the permission it needs.
type Route struct {
	Pattern    string // a ServeMux pattern
	Permission accounts.Permission
	Handler    http.Handler
}

// adminRoutes is every route of the admin listener: the API's, the
// dashboard's, the metrics and the profiler. The admin mux is made from
// this list alone, each route behind its permission, so a test that walks
// it (TestEveryRouteForEveryRole) walks every route there is.
func (s *Server) adminRoutes(a *api.API, d *dashboard.Dashboard) []Route {
	var list []Route
	for _, r := range a.Routes() {
		list = append(list, Route{r.Pattern, r.Permission, r.Handler})
	}
	for _, r := range d.Routes() {
		list = append(list, Route{r.Pattern, r.Permission, r.Handler})
	}
	return append(list,
		Route{"GET /metrics", accounts.Metrics, s.metrics.Handler()},
		Route{"GET /debug/pprof/", accounts.Debug, http.HandlerFunc(pprof.Index)},
		Route{"GET /debug/pprof/profile", accounts.Debug, http.HandlerFunc(pprof.Profile)},
		Route{"GET /debug/pprof/trace", accounts.Debug, http.HandlerFunc(pprof.Trace)},
	)
}

// AdminRoutes lists the routes of the admin listener, each with the
// permission it needs (accounts.Grants says which roles hold it).
func (s *Server) AdminRoutes() []Route { return s.routes }
