package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// Messages WeChat Pay was observed to send (docs/protocol.md §2.5, §3.3, §4, §6.1), and
// the sandbox's own where none was found (marked).
const (
	msgMissingAcceptOrUA = "Http头缺少Accept或User-Agent"
	msgAuthFormat        = "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》"
	msgAuthScheme        = "Http头Authorization认证类型不正确"
	msgAuthTimestamp     = "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"
	msgMerchantSerial    = "商户证书序列号有误。请使用签名私钥匹配的证书序列号"
	msgBadSignature      = "错误的签名，验签失败"
	msgPointsMismatch    = "参数校验错误，请检查商圈商户号，微信订单号，OPENID是否为空"
	msgNoPlatformCert    = "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥。可查看指引https://pay.weixin.qq.com/docs/merchant/products/platform-certificate/wxp-pub-key-guide.html"
	msgSystemError       = "系统异常，请稍后重试"
	msgNoAuth            = "商户暂无权限使用此功能"
	msgInvalidRequest    = "HTTP 请求不符合微信支付 APIv3 接口规则"
	msgFrequencyLimited  = "频率超限，请降低请求接口频率"    // code per domestic API tables; text of the sandbox
	msgNotFound          = "请求的资源不存在"          // sandbox's own
	msgNoRelation        = "受理关系不存在"           // sandbox's own: sub_mchid is not the caller's sub-merchant
	msgRepeatedSync      = "该笔订单已同步过积分，请勿重复同步" // sandbox's own, only with RejectRepeatedPointsSync
	msgAppIDMismatch     = "appid和mchid不匹配"    // sandbox's own
	msgBrandAppID        = "appid未绑定该品牌"       // sandbox's own
	msgUserNotAuthorized = "用户未授权商圈会员积分服务"     // sandbox's own: a sync for a DEAUTHORIZED member (inferred)
)

// apiError is an answer WeChat Pay gives to a request it does not accept:
// {"code","message","detail"?}. check and reason are for the log only.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
	allow   string // Allow header of a 405
	check   string // the pipeline step that failed
	reason  string // what exactly, in English, without secrets
}

func newError(status int, code, message, reason string) *apiError {
	return &apiError{status: status, Code: code, Message: message, reason: reason}
}

func invalidRequest(message, reason string) *apiError {
	return newError(http.StatusBadRequest, "INVALID_REQUEST", message, reason)
}

func signError(message, reason string) *apiError {
	return newError(http.StatusUnauthorized, "SIGN_ERROR", message, reason)
}

func noAuth(message, reason string) *apiError {
	return newError(http.StatusForbidden, "NO_AUTH", message, reason)
}

// paramError is 400 PARAM_ERROR about one parameter, with detail.field (a
// JSON pointer in the body, the name in the query or path) and
// detail.location, as WeChat Pay's basic rules describe (docs/protocol.md §4.2).
func paramError(p param, message, issue string, value any) *apiError {
	d := paramDetail{Field: p.field(), Location: p.location, Issue: issue}
	if value != nil {
		d.Value = value
	}
	return &apiError{status: http.StatusBadRequest, Code: "PARAM_ERROR", Message: message, Detail: d,
		reason: p.location + " " + p.name + ": " + issue}
}

type paramDetail struct {
	Field    string `json:"field"`
	Location string `json:"location"`
	Value    any    `json:"value,omitempty"`
	Issue    string `json:"issue,omitempty"`
}

// signatureMismatch is the 401 of a signature that does not verify, with the
// detail WeChat Pay was seen to send: the message it verified, cut short.
func signatureMismatch(method, target string, message []byte) *apiError {
	type issue struct {
		Issue string `json:"issue"`
	}
	type signInformation struct {
		Method               string `json:"method"`
		URL                  string `json:"url"`
		SignMessageLength    int    `json:"sign_message_length"`
		TruncatedSignMessage string `json:"truncated_sign_message"`
	}
	e := signError(msgBadSignature, "signature does not verify with the merchant key")
	e.Detail = struct {
		Field           string          `json:"field"`
		Location        string          `json:"location"`
		Detail          issue           `json:"detail"`
		SignInformation signInformation `json:"sign_information"`
	}{"signature", "authorization", issue{"sign not match"}, signInformation{
		method, target, len(message), truncateUTF8(string(message), truncatedSignMessageBytes),
	}}
	return e
}

// truncatedSignMessageBytes bounds truncated_sign_message. WeChat Pay's cut
// is not documented (the one example is a whole 85-byte message).
const truncatedSignMessageBytes = 256

func systemError(reason string) *apiError {
	return newError(http.StatusInternalServerError, "SYSTEM_ERROR", msgSystemError, reason)
}

// body encodes the error as WeChat Pay does: JSON, no HTML escaping.
func (e *apiError) body() []byte { return marshal(e) }

// marshal encodes v as JSON without HTML escaping and without a trailing
// newline.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("sandbox: encode " + strconv.Quote(err.Error())) // only for types of our own
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
