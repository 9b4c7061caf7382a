package graph

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// redacted replaces every secret value in debug output and errors.
const redacted = "[REDACTED]"

// sensitiveKeys are JSON properties and query parameters whose values are never shown: the
// token seed, the one-time codes, passwords and OAuth material. Compared ignoring case.
var sensitiveKeys = []string{
	"secretkey", "verificationcode", "password", "newpassword", "currentpassword",
	"client_secret", "access_token", "refresh_token",
}

func isSensitive(key string) bool { return slices.Contains(sensitiveKeys, strings.ToLower(key)) }

// sensitiveText catches the same values in text that is not JSON (a malformed body, an error
// message, an OData $filter): `"secretKey": "..."`, `secretKey=...`, `secretKey eq '...'`.
var sensitiveText = regexp.MustCompile(`(?i)("?(?:secretKey|verificationCode|password)"?\s*[:=]\s*)("[^"]*"|[^\s&,}]+)|((?:secretKey|verificationCode)\s+eq\s+)('[^']*')`)

// redactor removes secrets from what the client logs and reports. Besides the sensitive keys it
// knows the secret values of the request being sent (and its bearer token), so an echo of one
// in a response (an error message quoting the value it refused, in any case) is removed too.
type redactor struct {
	values []string
	known  *regexp.Regexp // the values, ignoring case; nil until text needs it
}

// add makes v a known secret value.
func (r *redactor) add(v string) {
	if len(v) >= 4 && !slices.Contains(r.values, v) {
		r.values = append(r.values, v)
		r.known = nil
	}
}

// newRedactor collects the sensitive values of a request body.
func newRedactor(body []byte) *redactor {
	r := &redactor{}
	var v any
	if len(body) > 0 && json.Unmarshal(body, &v) == nil {
		r.collect(v)
	}
	return r
}

func (r *redactor) collect(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && isSensitive(k) {
				r.add(s)
				continue
			}
			r.collect(x)
		}
	case []any:
		for _, x := range v {
			r.collect(x)
		}
	}
}

// text redacts free text: known values first, then anything that looks like a sensitive
// assignment.
func (r *redactor) text(s string) string {
	if len(r.values) > 0 {
		if r.known == nil {
			// Longest first, so a value that holds another is removed whole.
			vs := slices.Clone(r.values)
			slices.SortFunc(vs, func(a, b string) int { return len(b) - len(a) })
			for i, v := range vs {
				vs[i] = regexp.QuoteMeta(v)
			}
			r.known = regexp.MustCompile(`(?i)` + strings.Join(vs, "|"))
		}
		s = r.known.ReplaceAllLiteralString(s, redacted)
	}
	return sensitiveText.ReplaceAllStringFunc(s, func(m string) string {
		sub := sensitiveText.FindStringSubmatch(m)
		if sub[1] != "" {
			if strings.HasPrefix(sub[2], `"`) {
				return sub[1] + `"` + redacted + `"`
			}
			return sub[1] + redacted
		}
		return sub[3] + redacted
	})
}

// body redacts a JSON body by structure (every sensitive property at any depth), or as text
// when it is not JSON.
func (r *redactor) body(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return r.text(string(b))
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return r.text(string(b))
	}
	return r.text(string(out))
}

func redactValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if isSensitive(k) && x != nil {
				v[k] = redacted
				continue
			}
			v[k] = redactValue(x)
		}
	case []any:
		for i, x := range v {
			v[i] = redactValue(x)
		}
	}
	return v
}

// url returns u with sensitive query parameters and known values redacted.
func (r *redactor) url(u *url.URL) string {
	c := *u
	query := c.Query()
	c.RawQuery, c.ForceQuery = "", false
	s, _ := url.PathUnescape(c.String())
	if len(query) > 0 {
		// Shown decoded, so a $filter reads as written and its values can be found.
		keys := make([]string, 0, len(query))
		for k := range query {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var parts []string
		for _, k := range keys {
			for _, v := range query[k] {
				if isSensitive(k) {
					v = redacted
				}
				parts = append(parts, k+"="+v)
			}
		}
		s += "?" + strings.Join(parts, "&")
	}
	return r.text(s)
}

// path is url without scheme and host, for error messages.
func (r *redactor) path(u *url.URL) string {
	c := *u
	c.Scheme, c.Host, c.User = "", "", nil
	return r.url(&c)
}

// header renders headers for the debug log, the credentials redacted.
func (r *redactor) header(h http.Header) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		v := strings.Join(h[k], ", ")
		switch strings.ToLower(k) {
		case "authorization", "cookie", "set-cookie", "proxy-authorization":
			v = redacted
		}
		b.WriteString("  " + k + ": " + r.text(v) + "\n")
	}
	return b.String()
}
