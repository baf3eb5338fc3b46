package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// endpoint is one emulated API: its method, path template, documented
// parameters (docs/protocol.md §6) and what it does once they passed.
type endpoint struct {
	method   string
	name     string   // the path template, also the key of its faults
	segs     []string // name split at "/"
	pathRule *rule    // the {openid} segment, if any
	query    []rule
	body     []rule // nil: the body is not read as JSON
	act      func(*exchange) (status int, body []byte, err *apiError)
}

func newEndpoint(method, name string, act func(*exchange) (int, []byte, *apiError)) *endpoint {
	return &endpoint{method: method, name: name, segs: strings.Split(name, "/"), act: act}
}

// match reports whether the escaped path segments fit the template, and
// returns the unescaped {openid}. An empty segment never fits.
func (ep *endpoint) match(segs []string) (openid string, ok bool) {
	if len(segs) != len(ep.segs) {
		return "", false
	}
	for i, want := range ep.segs {
		got, err := url.PathUnescape(segs[i])
		if err != nil {
			return "", false
		}
		if want == "{openid}" {
			if got == "" {
				return "", false
			}
			openid = got
		} else if got != want {
			return "", false
		}
	}
	return openid, true
}

// endpointNamed finds an endpoint by its path template.
func (s *Sandbox) endpointNamed(name string) *endpoint {
	for _, ep := range s.endpoints {
		if ep.name == name {
			return ep
		}
	}
	return nil
}

// Path templates of the emulated endpoints, the names used in Faults. They
// are spelt as WeChat Pay's documents and package businesscircle spell them,
// relative to the base URL and without a leading slash; SetFaults also
// accepts them with one.
const (
	PathPointsNotify       = "v3/businesscircle/points/notify"
	PathUserAuthorization  = "v3/businesscircle/user-authorizations/{openid}"
	PathPointsCommitStatus = "v3/businesscircle/users/{openid}/points/commit_status"
	PathParkings           = "v3/businesscircle/parkings"
	PathCertificates       = "v3/certificates"
)

// businessCircleEndpoints lists the four business-circle APIs (docs/protocol.md §6) and
// the certificate download (docs/protocol.md §3.3), with their parameter tables.
func (s *Sandbox) businessCircleEndpoints() []*endpoint {
	points := newEndpoint(http.MethodPost, PathPointsNotify, s.pointsNotify)
	points.body = []rule{
		{name: "sub_mchid", label: "商圈商户ID", maxBytes: 64},
		{name: "transaction_id", label: "微信订单号", required: true, maxBytes: 64},
		{name: "appid", label: "小程序AppID", required: true, maxBytes: 128},
		{name: "openid", label: "顾客OpenID", required: true, maxBytes: 64},
		{name: "earn_points", label: "是否获得积分", kind: boolean, required: true},
		{name: "increased_points", label: "订单新增积分值", kind: integer, required: true},
		{name: "points_update_time", label: "积分更新时间", required: true, maxBytes: 32, check: pointsUpdateTime},
		{name: "no_points_remarks", label: "未获得积分的备注信息", maxBytes: 128},
		{name: "total_points", label: "顾客积分总额", kind: integer},
	}

	auth := newEndpoint(http.MethodGet, PathUserAuthorization, s.userAuthorization)
	auth.pathRule = &rule{name: "openid", label: "顾客OpenID", required: true, maxBytes: 64, check: pathSegment}
	auth.query = []rule{
		{name: "sub_mchid", label: "商圈商户ID", maxBytes: 64},
		{name: "appid", label: "小程序AppID", required: true, maxBytes: 128},
	}

	commit := newEndpoint(http.MethodGet, PathPointsCommitStatus, s.commitStatus)
	commit.pathRule = &rule{name: "openid", label: "用户标识", required: true, maxBytes: 128, check: pathSegment}
	commit.query = []rule{
		{name: "sub_mchid", label: "子商户号", maxBytes: 32},
		{name: "brandid", label: "品牌ID", kind: integer, required: true, checkMin: true, minInt: 1},
		{name: "appid", label: "AppID", required: true, maxBytes: 128},
	}

	parkings := newEndpoint(http.MethodPost, PathParkings, s.parkings)
	parkings.body = []rule{
		{name: "sub_mchid", label: "子商户号", maxBytes: 32},
		{name: "brandid", label: "品牌ID", kind: integer, required: true, checkMin: true, minInt: 1},
		{name: "appid", label: "AppID", required: true, maxBytes: 32},
		{name: "openid", label: "用户标识", required: true, maxBytes: 64},
		{name: "plate_number", label: "车牌号", required: true, maxBytes: 32, check: plateNumber},
		{name: "state", label: "在场状态", required: true, maxBytes: 8, check: enum("IN", "OUT")},
		{name: "time", label: "在场状态更新时间", required: true, maxBytes: 32, check: rfc3339Time},
	}

	certs := newEndpoint(http.MethodGet, PathCertificates, s.certificates)
	certs.query = []rule{{name: "algorithm_type", label: "证书算法类型", maxBytes: 8, check: enum("RSA", "SM2", "ALL")}}

	return []*endpoint{points, auth, commit, parkings, certs}
}

// pointsNotify is 商圈会员积分同步: the transaction must be the caller's (and
// the mall's), with the same app id and openid, and the member must not have
// withdrawn the authorisation (DeauthorizedSyncAnswer, inferred); a second
// sync overwrites the first and is counted unless RejectRepeatedPointsSync.
func (s *Sandbox) pointsNotify(x *exchange) (int, []byte, *apiError) {
	appid := x.text("appid")
	mall, e := mallOf(x.merchant, x.text("sub_mchid"), param{"body", "sub_mchid", "商圈商户ID"})
	if e != nil {
		return 0, nil, e
	}
	if e := checkAppID(x.merchant, appid, param{"body", "appid", "小程序AppID"}); e != nil {
		return 0, nil, e
	}
	switch s.state.sync(x.merchant.MchID, memberKey{mall, appid, x.text("openid")}, x.text("transaction_id"), x.body, s.now(), s.cfg.RejectRepeatedPointsSync) {
	case syncNoSuchTx:
		return 0, nil, newError(http.StatusBadRequest, "PARAM_ERROR", msgPointsMismatch,
			"no transaction with this id, mall, appid and openid for the caller")
	case syncDeauthorized:
		a := s.cfg.DeauthorizedSyncAnswer
		return 0, nil, newError(a.Status, a.Code, a.Message, "the member withdrew the authorisation (DEAUTHORIZED)")
	case syncRepeated:
		return 0, nil, newError(http.StatusBadRequest, "PARAM_ERROR", msgRepeatedSync, "transaction already synced")
	}
	return http.StatusNoContent, nil, nil
}

// userAuthorization is 商圈会员积分服务授权查询: an openid never seen is
// UNAUTHORIZED, not 404.
func (s *Sandbox) userAuthorization(x *exchange) (int, []byte, *apiError) {
	appid := x.query.Get("appid")
	mall, e := mallOf(x.merchant, x.query.Get("sub_mchid"), param{"query", "sub_mchid", "商圈商户ID"})
	if e != nil {
		return 0, nil, e
	}
	if e := checkAppID(x.merchant, appid, param{"query", "appid", "小程序AppID"}); e != nil {
		return 0, nil, e
	}
	mb := s.state.member(memberKey{mall, appid, x.openid})
	return http.StatusOK, marshal(struct {
		OpenID          string `json:"openid"`
		AuthorizeState  string `json:"authorize_state"`
		AuthorizeTime   string `json:"authorize_time,omitempty"`
		DeauthorizeTime string `json:"deauthorize_time,omitempty"`
	}{x.openid, mb.AuthorizeState, mb.AuthorizeTime, mb.DeauthorizeTime}), nil
}

// commitStatus is 商圈会员待积分状态查询, answered 200 with a body as the newer
// documents say: PENDING when a payment of the member waits for points (one
// of today, Beijing time, notified and not synced yet, or one held for the
// member's submission that has not lapsed), else FINISHED.
func (s *Sandbox) commitStatus(x *exchange) (int, []byte, *apiError) {
	appid := x.query.Get("appid")
	brand, _ := strconv.ParseInt(x.query.Get("brandid"), 10, 64)
	mall, e := mallOf(x.merchant, x.query.Get("sub_mchid"), param{"query", "sub_mchid", "子商户号"})
	if e != nil {
		return 0, nil, e
	}
	if e := checkBrand(x.merchant, brand, appid, "query"); e != nil {
		return 0, nil, e
	}
	status := "FINISHED"
	if s.state.pending(memberKey{mall, appid, x.openid}, s.now()) {
		status = "PENDING"
	}
	return http.StatusOK, marshal(struct {
		PointsCommitStatus string `json:"points_commit_status"`
	}{status}), nil
}

// parkings is 商圈会员停车状态同步: the latest state per member and plate is kept.
func (s *Sandbox) parkings(x *exchange) (int, []byte, *apiError) {
	brand, appid := x.integer("brandid"), x.text("appid")
	mall, e := mallOf(x.merchant, x.text("sub_mchid"), param{"body", "sub_mchid", "子商户号"})
	if e != nil {
		return 0, nil, e
	}
	if e := checkBrand(x.merchant, brand, appid, "body"); e != nil {
		return 0, nil, e
	}
	s.state.park(Parking{
		MchID: mall, BrandID: brand, AppID: appid, OpenID: x.text("openid"),
		PlateNumber: x.text("plate_number"), State: x.text("state"), Time: x.text("time"), ReceivedAt: formatTime(s.now()),
	})
	return http.StatusNoContent, nil, nil
}

// text is the checked body member name as a string; "" when it was not sent.
func (x *exchange) text(name string) string {
	var v string
	json.Unmarshal(x.members[name], &v) // checked by checkBody: a string or absent
	return v
}

// integer is the checked body member name as an integer; 0 when not sent.
func (x *exchange) integer(name string) int64 {
	v, _ := strconv.ParseInt(string(x.members[name]), 10, 64) // checked by checkBody
	return v
}

// mallOf is the mall a request is about. A service provider must name one
// of its sub-merchants; a merchant may name only itself. Naming another
// merchant's mall is 403 NO_AUTH (emulator policy).
func mallOf(m *merchant, sub string, p param) (string, *apiError) {
	if m.isPartner() {
		if sub == "" {
			return "", p.missing()
		}
		if _, ok := m.subs[sub]; !ok {
			return "", noAuth(msgNoRelation, "sub_mchid is not a sub-merchant of the caller")
		}
		return sub, nil
	}
	if sub != "" && sub != m.MchID {
		return "", noAuth(msgNoRelation, "sub_mchid given by a merchant without sub-merchants")
	}
	return m.MchID, nil
}

// checkAppID wants an app id bound to the merchant, when any are configured.
func checkAppID(m *merchant, appid string, p param) *apiError {
	if len(m.appIDs) > 0 && !m.appIDs[appid] {
		return paramError(p, msgAppIDMismatch, "app id is not bound to the merchant", appid)
	}
	return nil
}

// checkBrand wants a brand of the merchant and an app id bound to it, when
// brands are configured; otherwise only the app id rule applies.
func checkBrand(m *merchant, brand int64, appid, location string) *apiError {
	if e := checkAppID(m, appid, param{location, "appid", "AppID"}); e != nil {
		return e
	}
	if len(m.Brands) == 0 {
		return nil
	}
	apps, ok := m.Brands[brand]
	if !ok {
		return noAuth(msgNoAuth, "brandid is not a brand of the caller")
	}
	if len(apps) > 0 && !slices.Contains(apps, appid) {
		return paramError(param{location, "appid", "AppID"}, msgBrandAppID, "app id is not bound to the brand", appid)
	}
	return nil
}
