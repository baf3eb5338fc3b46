package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file checks parameters against the tables of docs/protocol.md §6, written from
// the spec and not from package businesscircle, so that the two can catch
// each other's mistakes. Messages follow the shape of WeChat Pay's answers
// to other APIv3 calls (输入源“/body/…”映射到字段“…”…); only the
// points_update_time one was observed on a business-circle call.

// kind is a parameter's JSON type.
type kind int

const (
	text kind = iota
	integer
	boolean
)

// rule is one documented parameter.
type rule struct {
	name     string
	label    string // the document's name for it, used in messages
	kind     kind
	required bool
	maxBytes int                           // text: longest value in UTF-8 bytes, as WeChat Pay counts
	minInt   int64                         // integer: smallest value, when checkMin
	checkMin bool                          //
	check    func(param, string) *apiError // text: a further rule (format, enum)
}

// param names a parameter and where it was found.
type param struct {
	location string // body, query or path
	name     string
	label    string
}

// field is detail.field: a JSON pointer in the body, the name elsewhere.
func (p param) field() string {
	if p.location == "body" {
		return "/" + p.name
	}
	return p.name
}

// source is how WeChat Pay's messages name a parameter: 输入源“/body/openid”.
func (p param) source() string { return "/" + p.location + "/" + p.name }

func (p param) missing() *apiError {
	return paramError(p, fmt.Sprintf("输入源“%s”映射到字段“%s”必填性规则校验失败，此字段为必填项", p.source(), p.label),
		"is required", nil)
}

func (p param) isNull() *apiError {
	return paramError(p, fmt.Sprintf("输入源“%s”映射到字段“%s”规则校验失败，不允许为 null", p.source(), p.label),
		"must not be null", nil)
}

func (p param) wrongType(want, wantCN string, raw []byte) *apiError {
	return paramError(p, fmt.Sprintf("无法将 JSON 输入源“%s”映射到目标字段“%s”中，此字段需要一个%s", p.source(), p.label, wantCN),
		"must be "+want, string(raw))
}

func (p param) tooLong(n, limit int, value string) *apiError {
	return paramError(p, fmt.Sprintf("输入源“%s”映射到值字段“%s”字符串规则校验失败，字节数 %d，大于最大值 %d", p.source(), p.label, n, limit),
		fmt.Sprintf("must be at most %d bytes, got %d", limit, n), value)
}

func (p param) badText(issueCN, issue, value string) *apiError {
	return paramError(p, fmt.Sprintf("输入源“%s”映射到值字段“%s”%s", p.source(), p.label, issueCN), issue, value)
}

// checkText applies what every string parameter shares: valid UTF-8 without
// four-byte characters (docs/protocol.md §1), the length in bytes, then r.check.
func (r rule) checkText(p param, s string) *apiError {
	if !utf8.ValidString(s) {
		return p.badText("字符串规则校验失败，不是合法的 UTF-8 编码", "is not valid UTF-8", "")
	}
	for _, c := range s {
		if c > 0xFFFF {
			return p.badText("字符串规则校验失败，包含不支持的字符（仅支持 1 至 3 字节的 UTF-8 字符）",
				"contains a four-byte UTF-8 character", s)
		}
	}
	if len(s) > r.maxBytes {
		return p.tooLong(len(s), r.maxBytes, s)
	}
	if r.check != nil {
		return r.check(p, s)
	}
	return nil
}

func (r rule) param(location string) param {
	return param{location: location, name: r.name, label: r.label}
}

// checkBody checks a JSON body against rules and returns its members by
// exact name, which are all the endpoint may act on. The body must be one
// JSON object; a member given twice, or under another case of a documented
// name ("OPENID" beside "openid"), is refused, as is null as the value of a
// documented member (docs/protocol.md §1: the current rules allow no null).
// Unknown members are otherwise ignored.
func checkBody(body []byte, rules []rule) (map[string]json.RawMessage, *apiError) {
	whole := param{location: "body", name: "", label: "请求体"}
	trimmed := bytes.TrimSpace(body)
	if !json.Valid(trimmed) {
		return nil, paramError(whole, "请求体不是合法的 JSON", "body is not valid JSON", nil)
	}
	list, err := objectMembers(trimmed)
	if err != nil {
		return nil, paramError(whole, "请求体必须是一个 JSON 对象", "body must be a JSON object", nil)
	}
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.name
	}
	if name, issue := ambiguousMember(list, names); issue != "" {
		p := param{location: "body", name: name, label: name}
		return nil, paramError(p, fmt.Sprintf("输入源“%s”规则校验失败，字段重复或仅大小写不同", p.source()), issue, nil)
	}
	members := make(map[string]json.RawMessage, len(list))
	for _, m := range list {
		members[m.name] = m.raw
	}
	for _, r := range rules {
		p := r.param("body")
		raw, ok := members[r.name]
		if !ok {
			if r.required {
				return nil, p.missing()
			}
			continue
		}
		if string(raw) == "null" {
			return nil, p.isNull()
		}
		if e := r.checkJSON(p, raw); e != nil {
			return nil, e
		}
	}
	return members, nil
}

// checkJSON checks one body member's type and value.
func (r rule) checkJSON(p param, raw json.RawMessage) *apiError {
	switch r.kind {
	case boolean:
		if s := string(raw); s != "true" && s != "false" {
			return p.wrongType("a boolean", "布尔值", raw)
		}
		return nil
	case integer:
		return r.checkInt(p, string(raw), raw)
	}
	if raw[0] != '"' {
		return p.wrongType("a string", "字符串", raw)
	}
	if !utf8.Valid(raw) {
		return p.badText("字符串规则校验失败，不是合法的 UTF-8 编码", "is not valid UTF-8", "")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return p.wrongType("a string", "字符串", raw)
	}
	if s == "" {
		if r.required {
			return p.missing()
		}
		return nil // an empty optional string counts as not sent
	}
	return r.checkText(p, s)
}

// intPattern is a JSON integer: no fraction, no exponent.
var intPattern = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

func (r rule) checkInt(p param, s string, raw []byte) *apiError {
	n, err := strconv.ParseInt(s, 10, 64)
	if !intPattern.MatchString(s) || err != nil {
		return p.wrongType("a 64-bit integer", "合法的 64 位有符号整数", raw)
	}
	if r.checkMin && n < r.minInt {
		return paramError(p, fmt.Sprintf("输入源“%s”映射到值字段“%s”数值规则校验失败，值 %d，小于最小值 %d", p.source(), p.label, n, r.minInt),
			fmt.Sprintf("must be at least %d", r.minInt), n)
	}
	return nil
}

// checkQuery checks the query string against rules. As in a body, a
// documented parameter given twice, or under another case of its name, is
// refused: the value acted on must be the value checked.
func checkQuery(rawQuery string, rules []rule) (url.Values, *apiError) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, paramError(param{location: "query", label: "查询参数"}, "查询参数格式错误", "query string does not parse", nil)
	}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		for _, r := range rules {
			issue := ""
			switch {
			case name == r.name && len(q[name]) > 1:
				issue = "is given more than once"
			case name != r.name && strings.EqualFold(name, r.name):
				issue = "differs from the parameter " + r.name + " only in case"
			}
			if issue != "" {
				p := param{location: "query", name: name, label: name}
				return nil, paramError(p, fmt.Sprintf("输入源“%s”规则校验失败，参数重复或仅大小写不同", p.source()), issue, nil)
			}
		}
	}
	for _, r := range rules {
		p := r.param("query")
		v := q.Get(r.name)
		if v == "" {
			if r.required {
				return nil, p.missing()
			}
			continue
		}
		var e *apiError
		if r.kind == integer {
			e = r.checkInt(p, v, []byte(strconv.Quote(v)))
		} else {
			e = r.checkText(p, v)
		}
		if e != nil {
			return nil, e
		}
	}
	return q, nil
}

// rfc3339 is RFC 3339's date-time (upper-case T and Z, the form WeChat
// Pay documents), with optional fractional seconds.
var rfc3339 = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$`)

// parseRFC3339 parses a time of that form, refusing impossible dates.
func parseRFC3339(s string) (time.Time, bool) {
	if !rfc3339.MatchString(s) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	if off := s[len(s)-6:]; s[len(s)-1] != 'Z' && (off[1:3] > "23" || off[4:6] > "59") {
		return time.Time{}, false
	}
	return t, true
}

// pointsUpdateTime answers a non-RFC 3339 points_update_time with the
// misleading message WeChat Pay was seen to send (docs/protocol.md §6.1).
func pointsUpdateTime(p param, s string) *apiError {
	if _, ok := parseRFC3339(s); ok {
		return nil
	}
	e := paramError(p, msgPointsMismatch, "is not an RFC 3339 time", s)
	return e
}

// rfc3339Time checks any other time parameter.
func rfc3339Time(p param, s string) *apiError {
	if _, ok := parseRFC3339(s); ok {
		return nil
	}
	return p.badText("日期时间格式校验失败，需为 RFC 3339 格式，如 2022-06-01T10:43:39+08:00", "is not an RFC 3339 time", s)
}

// enum returns a check that s is one of values.
func enum(values ...string) func(param, string) *apiError {
	return func(p param, s string) *apiError {
		for _, v := range values {
			if s == v {
				return nil
			}
		}
		return p.badText(fmt.Sprintf("枚举规则校验失败，可选值为 %s", strings.Join(values, "、")),
			"must be one of "+strings.Join(values, ", "), s)
	}
}

// provinces are the one-character abbreviations of the 31 mainland
// provincial-level divisions a plate starts with (emulator policy: the
// documents say only 首位需为省份的中文简称). 港, 澳 and 台 are not among them:
// Hong Kong and Macau cars drive in the mainland on 粤Z…港 and 粤Z…澳 plates.
const provinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

// plateNumber checks 首位需为省份的中文简称，第二位起支持大写字母、数字、中文.
func plateNumber(p param, s string) *apiError {
	bad := func() *apiError {
		return p.badText("格式校验失败，首位需为省份的中文简称，第二位起支持大写字母、数字、中文",
			"must be a province abbreviation followed by upper-case letters, digits or Chinese", s)
	}
	first, size := utf8.DecodeRuneInString(s)
	if !strings.ContainsRune(provinces, first) || size == len(s) {
		return bad()
	}
	for _, c := range s[size:] {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || unicode.Is(unicode.Han, c)) {
			return bad()
		}
	}
	return nil
}

// pathSegment refuses an openid of "." or ".." (sent escaped, as %2E): any
// URL normaliser between the caller and WeChat Pay would remove such a
// segment, so it cannot name a customer (emulator policy).
func pathSegment(p param, s string) *apiError {
	if s == "." || s == ".." {
		return p.badText("格式校验失败，不能是 . 或 ..", "must not be . or ..", s)
	}
	return nil
}
