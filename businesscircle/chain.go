package businesscircle

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/seed2ac2593f/wxpay"
)

// Path templates of the four business-circle endpoints, relative to the base
// URL. They work with the string chain too:
//
//	c.Chain(businesscircle.PathPointsNotify).Post(ctx, wxpay.JSON(req))
const (
	PathPointsNotify       = "v3/businesscircle/points/notify"
	PathUserAuthorization  = "v3/businesscircle/user-authorizations/{openid}"
	PathPointsCommitStatus = "v3/businesscircle/users/{openid}/points/commit_status"
	PathParkings           = "v3/businesscircle/parkings"
)

// V3 is the root of the typed chain, the counterpart of the PHP SDK's
// $instance->v3 and the Node.js SDK's wxpay.v3. Its fields read like the
// path of each call:
//
//	v3 := businesscircle.New(client)
//	resp, err := v3.Businesscircle.Points.Notify.Post(ctx, req)
//
// A V3 holds no state of its own besides the client; it is safe for
// concurrent use, as the client is.
type V3 struct {
	// Businesscircle is /v3/businesscircle (智慧商圈).
	Businesscircle *Businesscircle
}

// New returns the typed chain for client c. The client's merchant decides
// the mode: a mall merchant calls as itself (直连商户); a service provider
// (服务商) calls with its own mchid and names the mall in each request's
// SubMchID.
func New(c *wxpay.Client) *V3 {
	return &V3{Businesscircle: &Businesscircle{
		Points: &Points{
			Notify: &PointsNotify{chain: c.Chain(PathPointsNotify)},
		},
		UserAuthorizations: &UserAuthorizations{chain: c.Chain(PathUserAuthorization)},
		Users: &Users{Points: &UserPoints{
			CommitStatus: &CommitStatus{chain: c.Chain(PathPointsCommitStatus)},
		}},
		Parkings: &Parkings{chain: c.Chain(PathParkings)},
		chain:    c.Chain("v3/businesscircle"),
	}}
}

// Businesscircle is /v3/businesscircle, the smart business circle
// (智慧商圈) family: points sync, the two member queries and parking sync.
type Businesscircle struct {
	// Points is /v3/businesscircle/points.
	Points *Points
	// UserAuthorizations is /v3/businesscircle/user-authorizations/{openid}.
	UserAuthorizations *UserAuthorizations
	// Users is /v3/businesscircle/users.
	Users *Users
	// Parkings is /v3/businesscircle/parkings.
	Parkings *Parkings

	chain *wxpay.Chain
}

// Chain returns the string chain at /v3/businesscircle, for calls the typed
// chain does not (yet) cover.
func (b *Businesscircle) Chain() *wxpay.Chain { return b.chain }

// Points is /v3/businesscircle/points.
type Points struct {
	// Notify is /v3/businesscircle/points/notify (商圈会员积分同步).
	Notify *PointsNotify
}

// Users is /v3/businesscircle/users; the openid segment that follows is an
// argument of the call at the end of the chain.
type Users struct {
	// Points is /v3/businesscircle/users/{openid}/points.
	Points *UserPoints
}

// UserPoints is /v3/businesscircle/users/{openid}/points.
type UserPoints struct {
	// CommitStatus is …/points/commit_status (商圈会员待积分状态查询).
	CommitStatus *CommitStatus
}

// expectStatus holds a typed call to the successes its endpoint documents:
// any other verified 2xx (a 200 with a body where only 204 is documented,
// say) is an error wrapping wxpay.ErrUnexpectedStatus, returned with the
// response. A 202 never gets here: the client repeats it (docs/protocol.md §4.1).
func expectStatus(resp *wxpay.Response, want ...int) error {
	for _, w := range want {
		if resp.StatusCode == w {
			return nil
		}
	}
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = strconv.Itoa(w) + " " + http.StatusText(w)
	}
	return fmt.Errorf("%w: %s %s answered %d with %d bytes, want %s (Request-ID %.64s); it may have taken effect",
		wxpay.ErrUnexpectedStatus, resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, len(resp.Body),
		strings.Join(names, " or "), resp.RequestID())
}
