package graphfake

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// serve checks the request the way Graph's front door does (failures, token, throttling,
// permissions, licence), then routes it. The store is locked for the whole request, so the
// fake is sequential: good enough for tests and free of races in the lifecycle.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.requests) + 1
	s.requests = append(s.requests, Request{N: n, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ClientRequestID: r.Header.Get("client-request-id")})
	fail := s.failures[n]
	var wait time.Duration
	version, rest := splitVersion(r.URL.Path)
	for _, d := range s.delays {
		if d.matches(r.Method, rest) {
			wait = d.d
		}
	}
	s.mu.Unlock()

	reqID := newID()
	w.Header().Set("request-id", reqID)
	w.Header().Set("client-request-id", r.Header.Get("client-request-id"))
	status := 0
	defer func() {
		s.mu.Lock()
		s.requests[n-1].Status = status
		s.mu.Unlock()
	}()

	switch fail {
	case FailDrop:
		drop(w)
		return
	case Fail500, Fail503, Fail504:
		status = map[Failure]int{Fail500: 500, Fail503: 503, Fail504: 504}[fail]
		e := &gerror{status: status, code: "UnknownError", message: "the fake failed this request on purpose"}
		if s.echoing() {
			e.message += echoOf(r, readBody(r))
		}
		e.write(w, r, reqID)
		return
	}
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
			return // the client gave up: nothing applied
		}
	}

	// The body is read here, once, so that an echoing fake can quote it in any error.
	body := readBody(r)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := httptest.NewRecorder()
	for k, v := range w.Header() {
		rec.Header()[k] = v
	}
	e := s.admit(r, version, rest)
	if e == nil {
		e = s.route(rec, r, version, rest)
	}
	if e != nil {
		if s.echo {
			e.message += echoOf(r, body)
		}
		e.write(rec, r, reqID)
	}
	if fail == FailDropAfter {
		drop(w)
		return
	}
	status = rec.Code
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// admit answers what Graph refuses before it looks at the resource. Called with s.mu held.
func (s *Server) admit(r *http.Request, version, rest string) *gerror {
	if r.Header.Get("Authorization") != "Bearer "+Token {
		return &gerror{status: 401, code: "InvalidAuthenticationToken", message: "Access token is empty or invalid."}
	}
	if s.throttleN > 0 {
		s.throttleN--
		e := &gerror{status: 429, code: "TooManyRequests", message: "Too many requests."}
		if s.throttleRA != "" {
			e.header = map[string]string{"Retry-After": s.throttleRA}
		}
		return e
	}
	if s.bucket != nil {
		if d, ok := s.bucket.take(s.now()); !ok {
			secs := int((d + time.Second - 1) / time.Second)
			return &gerror{status: 429, code: "TooManyRequests", message: "Too many requests.", header: map[string]string{
				"Retry-After": strconv.Itoa(max(secs, 1)), "x-ms-throttle-scope": "Tenant_Application/ReadWrite/fake",
			}}
		}
	}
	if version == "" {
		return notFound("Invalid version.")
	}
	for _, d := range s.denied {
		if d.matches(r.Method, rest) {
			return &gerror{status: 403, code: "Authorization_RequestDenied", message: "Insufficient privileges to complete the operation."}
		}
	}
	if s.noPremium && (strings.HasPrefix(rest, "/reports/") || strings.HasPrefix(rest, "/auditLogs/signIns")) {
		return &gerror{status: 403, code: "Authentication_RequestFromNonPremiumTenantOrB2CTenant", message: "Neither tenant is B2C or tenant doesn't have premium license"}
	}
	return nil
}

func (r rule) matches(method, rest string) bool {
	return (r.method == "" || r.method == method) && strings.HasPrefix(rest, r.prefix)
}

// splitVersion splits "/beta/users/x" into "beta" and "/users/x".
func splitVersion(p string) (string, string) {
	for _, v := range []string{"/beta", "/v1.0"} {
		if p == v || strings.HasPrefix(p, v+"/") {
			return v[1:], strings.TrimPrefix(p, v)
		}
	}
	return "", p
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// route dispatches a request to its resource. Called with s.mu held.
func (s *Server) route(w http.ResponseWriter, r *http.Request, version, rest string) *gerror {
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	body := readBody(r)
	switch {
	case len(seg) >= 3 && seg[0] == "directory" && seg[1] == "authenticationMethodDevices" && seg[2] == "hardwareOathDevices":
		if version != "beta" {
			return badRequest("BadRequest", "Resource not found for the segment 'authenticationMethodDevices'.")
		}
		if len(seg) == 3 {
			switch r.Method {
			case http.MethodGet:
				return s.listDevices(w, r)
			case http.MethodPost:
				return s.createDevice(w, body)
			case http.MethodPatch:
				return s.bulkCreate(w, body)
			}
		} else if len(seg) == 4 {
			switch r.Method {
			case http.MethodGet:
				return s.getDevice(w, seg[3])
			case http.MethodPatch:
				return s.updateDevice(w, seg[3], body)
			case http.MethodDelete:
				return s.deleteDevice(w, seg[3])
			}
		}
	case len(seg) >= 1 && seg[0] == "users":
		return s.routeUsers(w, r, version, seg, body)
	case rest == "/reports/authenticationMethods/userRegistrationDetails" && r.Method == http.MethodGet:
		return s.listRegistrations(w, r)
	case rest == "/auditLogs/signIns" && r.Method == http.MethodGet:
		return s.listSignIns(w, r, version)
	case rest == "/auditLogs/directoryAudits" && r.Method == http.MethodGet:
		return s.listAudits(w, r)
	}
	return &gerror{status: 405, code: "Request_BadRequest", message: "Specified HTTP method is not allowed for the request target."}
}

func (s *Server) routeUsers(w http.ResponseWriter, r *http.Request, version string, seg []string, body []byte) *gerror {
	if len(seg) == 1 {
		if r.Method == http.MethodGet {
			return s.listUsers(w, r)
		}
		return nil
	}
	u := s.user(seg[1])
	if u == nil {
		return notFound("Resource '" + seg[1] + "' does not exist or one of its queried reference-property objects are not present.")
	}
	switch {
	case len(seg) == 2 && r.Method == http.MethodGet:
		writeJSON(w, 200, u.json())
		return nil
	case len(seg) == 2 && r.Method == http.MethodPatch:
		return s.updateUser(w, u, body)
	case len(seg) == 3 && seg[2] == "revokeSignInSessions" && r.Method == http.MethodPost:
		u.revocations++
		if s.revoke204 {
			w.WriteHeader(204)
		} else {
			writeJSON(w, 200, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true})
		}
		return nil
	case len(seg) >= 4 && seg[2] == "authentication" && seg[3] == "hardwareOathMethods":
		if version != "beta" {
			return badRequest("BadRequest", "Resource not found for the segment 'hardwareOathMethods'.")
		}
		return s.routeOath(w, r, u, seg[4:], body)
	case len(seg) == 4 && seg[2] == "authentication" && seg[3] == "methods" && r.Method == http.MethodGet:
		return s.listMethods(w, u, version)
	case len(seg) == 4 && seg[2] == "authentication" && seg[3] == "signInPreferences":
		if version != "beta" {
			return badRequest("BadRequest", "Resource not found for the segment 'signInPreferences'.")
		}
		if r.Method == http.MethodGet {
			writeJSON(w, 200, s.prefs(u))
			return nil
		}
		if r.Method == http.MethodPatch {
			return s.setPrefs(w, u, body)
		}
	case len(seg) == 5 && seg[2] == "authentication" && strings.HasSuffix(seg[3], "Methods") && r.Method == http.MethodDelete:
		return s.deleteMethod(w, u, strings.TrimSuffix(seg[3], "Methods"), seg[4])
	}
	return &gerror{status: 405, code: "Request_BadRequest", message: "Specified HTTP method is not allowed for the request target."}
}

func (s *Server) routeOath(w http.ResponseWriter, r *http.Request, u *user, seg []string, body []byte) *gerror {
	switch {
	case len(seg) == 0 && r.Method == http.MethodGet:
		return s.listUserOath(w, r, u)
	case len(seg) == 0 && r.Method == http.MethodPost:
		return s.assign(w, u, body)
	case len(seg) == 1 && seg[0] == "assignAndActivate" && r.Method == http.MethodPost:
		return s.assignAndActivate(w, u, body, false)
	case len(seg) == 1 && seg[0] == "assignAndActivateBySerialNumber" && r.Method == http.MethodPost:
		return s.assignAndActivate(w, u, body, true)
	case len(seg) == 1 && r.Method == http.MethodGet:
		d := s.userDevice(u, seg[0])
		if d == nil {
			return notFound("Hardware OATH method '" + seg[0] + "' not found for the user.")
		}
		writeJSON(w, 200, d.method())
		return nil
	case len(seg) == 1 && r.Method == http.MethodDelete:
		return s.unassign(w, u, seg[0])
	case len(seg) == 2 && seg[1] == "activate" && r.Method == http.MethodPost:
		return s.activate(w, u, seg[0], body)
	case len(seg) == 2 && seg[1] == "deactivate" && r.Method == http.MethodPost:
		return s.deactivate(w, u, seg[0])
	}
	return &gerror{status: 405, code: "Request_BadRequest", message: "Specified HTTP method is not allowed for the request target."}
}

// echoOf is what an echoing fake adds to an error message: the request as it came, its body
// verbatim and in lower case, and its Authorization header.
func echoOf(r *http.Request, body []byte) string {
	return fmt.Sprintf(" Refused request: %s %s %s; the same in lower case: %s; authorization: %s.",
		r.Method, r.URL.RequestURI(), body, strings.ToLower(string(body)), r.Header.Get("Authorization"))
}

func readBody(r *http.Request) []byte {
	var b bytes.Buffer
	_, _ = b.ReadFrom(http.MaxBytesReader(nil, r.Body, 16<<20))
	return b.Bytes()
}
