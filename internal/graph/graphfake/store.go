package graphfake

import (
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/tokens"
)

// MaxOathMethods is the documented limit of OATH tokens (hardware and software) per user.
const MaxOathMethods = 5

// ActivationWindow is the drift the fake accepts at activation, in steps each way: Entra's
// documented ±1 day for 30-second tokens and ±2 days for 60-second ones are both 2880 steps.
const ActivationWindow = 2880

const passwordMethodID = "28c10230-6103-485e-b985-444c60001490"

type device struct {
	graph.Device // SecretKey kept here, never written out
	created      time.Time
	assigned     time.Time
}

type user struct {
	graph.User
	methods     []graph.AuthMethod // besides the password and hardware OATH
	defaultID   string             // id of the default method ("" none)
	revocations int
}

// out is a device as Graph reads it: secretKey and empty references present as null.
func (d *device) out() map[string]any {
	b, _ := json.Marshal(d.Device)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["@odata.type"] = "#microsoft.graph.hardwareOathTokenAuthenticationMethodDevice"
	m["secretKey"] = nil
	for _, k := range []string{"displayName", "assignedTo", "lastUsedDateTime"} {
		if _, ok := m[k]; !ok {
			m[k] = nil
		}
	}
	return m
}

func (d *device) method() map[string]any {
	return map[string]any{
		"@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethod",
		"id":          d.ID, "createdDateTime": d.assigned.UTC().Format(time.RFC3339),
		"lastUsedDateTime": d.LastUsedDateTime, "device": d.out(),
	}
}

func (u *user) json() map[string]any {
	b, _ := json.Marshal(u.User)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// AddUser adds a user; an empty ID gets a new one, returned.
func (s *Server) AddUser(u graph.User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = newID()
	}
	if u.AccountEnabled == nil {
		t := true
		u.AccountEnabled = &t
	}
	if u.UserType == "" {
		u.UserType = "Member"
	}
	s.users = append(s.users, &user{User: u})
	return u.ID
}

// User returns a user as the fake holds it (by id or UPN).
func (s *Server) User(idOrUPN string) (graph.User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.user(idOrUPN); u != nil {
		return u.User, true
	}
	return graph.User{}, false
}

// Revocations counts the revokeSignInSessions calls for a user.
func (s *Server) Revocations(idOrUPN string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.user(idOrUPN); u != nil {
		return u.revocations
	}
	return 0
}

// AddMethod gives a user an authentication method (phone, email, softwareOath,
// microsoftAuthenticator, ...); an empty ID gets a new one (phones take their fixed id from
// PhoneType). With isDefault it becomes the user's default method. It returns the id.
func (s *Server) AddMethod(userID string, m graph.AuthMethod, isDefault bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user(userID)
	if u == nil {
		panic("graphfake: AddMethod: no user " + userID)
	}
	if m.ID == "" {
		switch {
		case m.Kind() == graph.KindPhone && m.PhoneType == "alternateMobile":
			m.ID = graph.PhoneAlternateMobileID
		case m.Kind() == graph.KindPhone && m.PhoneType == "office":
			m.ID = graph.PhoneOfficeID
		case m.Kind() == graph.KindPhone:
			m.ID, m.PhoneType = graph.PhoneMobileID, "mobile"
		default:
			m.ID = newID()
		}
	}
	u.methods = append(u.methods, m)
	if isDefault {
		u.defaultID = m.ID
	}
	return m.ID
}

// Methods returns the ids of a user's methods the fake holds besides the password, hardware
// OATH included, and the id of the default one.
func (s *Server) Methods(userID string) (ids []string, defaultID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user(userID)
	if u == nil {
		return nil, ""
	}
	for _, m := range u.methods {
		ids = append(ids, m.ID)
	}
	for _, d := range s.devices {
		if d.AssignedTo != nil && d.AssignedTo.ID == u.ID {
			ids = append(ids, d.ID)
		}
	}
	return ids, u.defaultID
}

// AddSignIn, AddAudit and AddRegistration seed the reports.
func (s *Server) AddSignIn(si graph.SignIn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signIns = append(s.signIns, si)
}

// AddAudit seeds the directory audit log.
func (s *Server) AddAudit(a graph.DirectoryAudit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audits = append(s.audits, a)
}

// AddRegistration seeds the userRegistrationDetails report.
func (s *Server) AddRegistration(r graph.RegistrationDetails) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regs = append(s.regs, r)
}

// Device returns a device as the fake holds it, its secret included, by id or serial number.
func (s *Server) Device(idOrSerial string) (graph.Device, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.device(idOrSerial); d != nil {
		return d.Device, true
	}
	if d := s.deviceBySerial(idOrSerial); d != nil {
		return d.Device, true
	}
	return graph.Device{}, false
}

// DeviceCount is the number of devices of the inventory.
func (s *Server) DeviceCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.devices)
}

func (s *Server) user(idOrUPN string) *user {
	idOrUPN, _ = url.PathUnescape(idOrUPN)
	for _, u := range s.users {
		if u.ID == idOrUPN || strings.EqualFold(u.UserPrincipalName, idOrUPN) {
			return u
		}
	}
	return nil
}

func (s *Server) device(id string) *device {
	for _, d := range s.devices {
		if d.ID == id {
			return d
		}
	}
	return nil
}

func (s *Server) deviceBySerial(serial string) *device {
	for _, d := range s.devices {
		if strings.EqualFold(d.SerialNumber, serial) {
			return d
		}
	}
	return nil
}

// userDevice is the device of a user's hardware OATH method: the method id is the device id,
// as in every published example.
func (s *Server) userDevice(u *user, methodID string) *device {
	d := s.device(methodID)
	if d == nil || d.AssignedTo == nil || d.AssignedTo.ID != u.ID {
		return nil
	}
	return d
}

func (s *Server) oathCount(u *user) int {
	n := 0
	for _, d := range s.devices {
		if d.AssignedTo != nil && d.AssignedTo.ID == u.ID {
			n++
		}
	}
	for _, m := range u.methods {
		if m.Kind() == graph.KindSoftwareOath {
			n++
		}
	}
	return n
}

// ---- listings ----

// page writes one page of items (JSON maps already filtered) with an @odata.nextLink that
// carries the query and a skip token.
func (s *Server) page(w http.ResponseWriter, r *http.Request, items []map[string]any) *gerror {
	q := r.URL.Query()
	items, e := filter(items, q.Get("$filter"))
	if e != nil {
		return e
	}
	size := s.pageSize
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top > 0 && top < size {
		size = top
	}
	off, _ := strconv.Atoi(q.Get("$skiptoken"))
	off = min(max(off, 0), len(items))
	end := min(off+size, len(items))
	out := map[string]any{"value": items[off:end]}
	if end < len(items) {
		q.Set("$skiptoken", strconv.Itoa(end))
		out["@odata.nextLink"] = s.URL + r.URL.Path + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	writeJSON(w, 200, out)
	return nil
}

var clauseRE = regexp.MustCompile(`^\s*([A-Za-z/]+)\s+(eq|ne|ge|gt|le|lt)\s+('(?:[^']|'')*'|\S+)\s*$`)

// filter applies an OData $filter of clauses joined by "and": `field op value`, field a
// property or a/b path, value a quoted string or a bare number, boolean or date. Strings
// compare ignoring case, as Graph does for these properties.
func filter(items []map[string]any, f string) ([]map[string]any, *gerror) {
	if strings.TrimSpace(f) == "" {
		return items, nil
	}
	type clause struct{ field, op, value string }
	var cs []clause
	for _, part := range regexp.MustCompile(`(?i)\s+and\s+`).Split(f, -1) {
		m := clauseRE.FindStringSubmatch(part)
		if m == nil {
			return nil, badRequest("BadRequest", "Invalid filter clause: "+part)
		}
		v := m[3]
		if strings.HasPrefix(v, "'") {
			v = strings.ReplaceAll(v[1:len(v)-1], "''", "'")
		}
		cs = append(cs, clause{m[1], m[2], v})
	}
	var out []map[string]any
	for _, it := range items {
		ok := true
		for _, c := range cs {
			var cur any = it
			for _, p := range strings.Split(c.field, "/") {
				mm, _ := cur.(map[string]any)
				cur = mm[p]
			}
			if !compare(cur, c.op, c.value) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, it)
		}
	}
	return out, nil
}

func compare(have any, op, want string) bool {
	var h string
	switch v := have.(type) {
	case nil:
		h = "null"
	case string:
		h = v
	case float64:
		h = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		h = fmt.Sprint(v)
	}
	cmp := strings.Compare(strings.ToLower(h), strings.ToLower(want))
	if ht, err := time.Parse(time.RFC3339, h); err == nil {
		if wt, err := time.Parse(time.RFC3339, want); err == nil {
			cmp = ht.Compare(wt)
		}
	}
	if hn, err := strconv.ParseFloat(h, 64); err == nil {
		if wn, err := strconv.ParseFloat(want, 64); err == nil {
			cmp = 0
			if hn < wn {
				cmp = -1
			} else if hn > wn {
				cmp = 1
			}
		}
	}
	switch op {
	case "eq":
		return cmp == 0
	case "ne":
		return cmp != 0
	case "ge":
		return cmp >= 0
	case "gt":
		return cmp > 0
	case "le":
		return cmp <= 0
	case "lt":
		return cmp < 0
	}
	return false
}

func toMaps[T any](xs []T) []map[string]any {
	out := make([]map[string]any, 0, len(xs))
	for _, x := range xs {
		b, _ := json.Marshal(x)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		out = append(out, m)
	}
	return out
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) *gerror {
	items := make([]map[string]any, 0, len(s.devices))
	for _, d := range s.devices {
		items = append(items, d.out())
	}
	return s.page(w, r, items)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) *gerror {
	items := make([]map[string]any, 0, len(s.users))
	for _, u := range s.users {
		items = append(items, u.json())
	}
	return s.page(w, r, items)
}

func (s *Server) listUserOath(w http.ResponseWriter, r *http.Request, u *user) *gerror {
	var items []map[string]any
	for _, d := range s.devices {
		if d.AssignedTo != nil && d.AssignedTo.ID == u.ID {
			items = append(items, d.method())
		}
	}
	return s.page(w, r, items)
}

func (s *Server) listRegistrations(w http.ResponseWriter, r *http.Request) *gerror {
	return s.page(w, r, toMaps(s.regs))
}

func (s *Server) listAudits(w http.ResponseWriter, r *http.Request) *gerror {
	return s.page(w, r, toMaps(s.audits))
}

// listSignIns lists newest first; v1.0 has no MFA details, so they are dropped there.
func (s *Server) listSignIns(w http.ResponseWriter, r *http.Request, version string) *gerror {
	sorted := append([]graph.SignIn(nil), s.signIns...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j].CreatedDateTime.After(sorted[j-1].CreatedDateTime); j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	items := toMaps(sorted)
	if version != "beta" {
		for _, m := range items {
			delete(m, "authenticationDetails")
			delete(m, "authenticationRequirement")
			delete(m, "authenticationMethodsUsed")
		}
	}
	return s.page(w, r, items)
}

// ---- inventory ----

var base32RE = regexp.MustCompile(`^[A-Z2-7]+$`)

// validate checks a new device as Graph is reported to: serial, manufacturer, model and
// secret required; the secret strictly Base32 upper case (A-Z, 2-7, no padding), at most 128
// characters (the documented CSV rule; Graph's own limit is not documented); 30 or 60 s; a
// known hash. A duplicate serial number is refused with the 400 Graph gives directory objects
// ("Another object with the same value for property ... already exists"): Graph documents no
// code for it, and 400 is what its directory answers for duplicate unique properties.
func (s *Server) validate(d *graph.Device, batch map[string]bool) *gerror {
	switch {
	case d.SerialNumber == "":
		return badRequest("badRequest", "serialNumber is required.")
	case d.Manufacturer == "":
		return badRequest("badRequest", "manufacturer is required.")
	case d.Model == "":
		return badRequest("badRequest", "model is required.")
	case d.SecretKey == "":
		return badRequest("badRequest", "secretKey is required.")
	case len(d.SecretKey) > 128 || !base32RE.MatchString(string(d.SecretKey)):
		return badRequest("badRequest", "secretKey must be a Base32 string of at most 128 characters (A-Z, 2-7).")
	}
	if d.TimeIntervalInSeconds == 0 {
		d.TimeIntervalInSeconds = 30
	}
	if d.TimeIntervalInSeconds != 30 && d.TimeIntervalInSeconds != 60 {
		return badRequest("badRequest", "timeIntervalInSeconds must be 30 or 60.")
	}
	if d.HashFunction == "" {
		d.HashFunction = graph.HashSHA1
	}
	if d.HashFunction != graph.HashSHA1 && d.HashFunction != graph.HashSHA256 {
		return badRequest("badRequest", "hashFunction must be hmacsha1 or hmacsha256.")
	}
	key := strings.ToLower(d.SerialNumber)
	if s.deviceBySerial(d.SerialNumber) != nil || batch[key] {
		return badRequest("Request_BadRequest", "Another object with the same value for property serialNumber already exists.")
	}
	if batch != nil {
		batch[key] = true
	}
	if d.AssignTo != nil {
		u := s.user(d.AssignTo.ID)
		if u == nil {
			return notFound("Resource '" + d.AssignTo.ID + "' does not exist or one of its queried reference-property objects are not present.")
		}
		if e := s.canAssign(u); e != nil {
			return e
		}
	}
	return nil
}

func (s *Server) canAssign(u *user) *gerror {
	if strings.EqualFold(u.UserType, "Guest") {
		return badRequest("badRequest", "Hardware OATH tokens cannot be assigned to guest users.")
	}
	if s.oathCount(u) >= MaxOathMethods {
		return badRequest("badRequest", fmt.Sprintf("The user already has the maximum number of OATH tokens (%d).", MaxOathMethods))
	}
	return nil
}

func (s *Server) insert(d graph.Device) *device {
	now := s.now()
	d.ID = newID()
	d.Status = graph.StatusAvailable
	nd := &device{Device: d, created: now}
	nd.ODataType = ""
	if d.AssignTo != nil {
		u := s.user(d.AssignTo.ID)
		nd.AssignedTo = &graph.Identity{ID: u.ID, DisplayName: u.DisplayName}
		nd.Status = graph.StatusAssigned
		nd.assigned = now
	}
	nd.AssignTo = nil
	s.devices = append(s.devices, nd)
	return nd
}

func decode(body []byte, v any) *gerror {
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("BadRequest", "Invalid request body: "+err.Error())
	}
	return nil
}

func (s *Server) createDevice(w http.ResponseWriter, body []byte) *gerror {
	var d graph.Device
	if e := decode(body, &d); e != nil {
		return e
	}
	if e := s.validate(&d, nil); e != nil {
		return e
	}
	writeJSON(w, 201, s.insert(d).out())
	return nil
}

// bulkCreate is the collection PATCH. Graph does not document per-item errors; the fake
// refuses the whole request with the first item's error and creates nothing.
func (s *Server) bulkCreate(w http.ResponseWriter, body []byte) *gerror {
	if s.bulkStatus != 0 {
		return &gerror{status: s.bulkStatus, code: "Request_BadRequest", message: "The bulk operation is not supported."}
	}
	var req struct {
		Context string         `json:"@context"`
		Value   []graph.Device `json:"value"`
	}
	if e := decode(body, &req); e != nil {
		return e
	}
	if req.Context != "#$delta" {
		return badRequest("BadRequest", `a bulk update needs "@context":"#$delta".`)
	}
	batch := map[string]bool{}
	for i := range req.Value {
		if e := s.validate(&req.Value[i], batch); e != nil {
			e.message = fmt.Sprintf("item %d: %s", i+1, e.message)
			return e
		}
	}
	out := []map[string]any{}
	for _, d := range req.Value {
		out = append(out, s.insert(d).method())
	}
	writeJSON(w, 201, map[string]any{"value": out})
	return nil
}

func (s *Server) getDevice(w http.ResponseWriter, id string) *gerror {
	d := s.device(id)
	if d == nil {
		return notFound("Hardware OATH token '" + id + "' not found.")
	}
	writeJSON(w, 200, d.out())
	return nil
}

func (s *Server) updateDevice(w http.ResponseWriter, id string, body []byte) *gerror {
	d := s.device(id)
	if d == nil {
		return notFound("Hardware OATH token '" + id + "' not found.")
	}
	if d.AssignedTo != nil {
		return badRequest("badRequest", "The hardware OATH token is assigned to a user and cannot be updated. Unassign it first.")
	}
	var raw map[string]json.RawMessage
	if e := decode(body, &raw); e != nil {
		return e
	}
	if _, ok := raw["secretKey"]; ok {
		return badRequest("badRequest", "secretKey cannot be updated.")
	}
	var u graph.DeviceUpdate
	if e := decode(body, &u); e != nil {
		return e
	}
	if u.TimeIntervalInSeconds != nil && *u.TimeIntervalInSeconds != 30 && *u.TimeIntervalInSeconds != 60 {
		return badRequest("badRequest", "timeIntervalInSeconds must be 30 or 60.")
	}
	if u.HashFunction != nil && *u.HashFunction != graph.HashSHA1 && *u.HashFunction != graph.HashSHA256 {
		return badRequest("badRequest", "hashFunction must be hmacsha1 or hmacsha256.")
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&d.DisplayName, u.DisplayName)
	set(&d.Manufacturer, u.Manufacturer)
	set(&d.Model, u.Model)
	set(&d.HashFunction, u.HashFunction)
	if u.TimeIntervalInSeconds != nil {
		d.TimeIntervalInSeconds = *u.TimeIntervalInSeconds
	}
	w.WriteHeader(204)
	return nil
}

func (s *Server) deleteDevice(w http.ResponseWriter, id string) *gerror {
	d := s.device(id)
	if d == nil {
		return notFound("Hardware OATH token '" + id + "' not found.")
	}
	if d.AssignedTo != nil {
		return badRequest("badRequest", "The hardware OATH token is assigned to a user and cannot be deleted. Unassign it first.")
	}
	for i, x := range s.devices {
		if x == d {
			s.devices = append(s.devices[:i], s.devices[i+1:]...)
			break
		}
	}
	w.WriteHeader(204)
	return nil
}

// ---- a user's hardware OATH methods ----

func (s *Server) assignTo(u *user, d *device) *gerror {
	if d.AssignedTo != nil {
		if d.AssignedTo.ID == u.ID {
			return badRequest("badRequest", "The hardware OATH token is already assigned to this user.")
		}
		return badRequest("badRequest", "The hardware OATH token is already assigned to another user.")
	}
	if e := s.canAssign(u); e != nil {
		return e
	}
	d.AssignedTo = &graph.Identity{ID: u.ID, DisplayName: u.DisplayName}
	d.Status = graph.StatusAssigned
	d.assigned = s.now()
	return nil
}

func (s *Server) assign(w http.ResponseWriter, u *user, body []byte) *gerror {
	var req struct {
		Device *graph.Ref `json:"device"`
	}
	if e := decode(body, &req); e != nil {
		return e
	}
	if req.Device == nil || req.Device.ID == "" {
		return badRequest("badRequest", "device.id is required.")
	}
	d := s.device(req.Device.ID)
	if d == nil {
		return notFound("Hardware OATH token '" + req.Device.ID + "' not found.")
	}
	if e := s.assignTo(u, d); e != nil {
		return e
	}
	writeJSON(w, 201, map[string]any{"id": d.ID, "createdDateTime": d.assigned.UTC().Format(time.RFC3339)})
	return nil
}

type activation struct {
	VerificationCode string     `json:"verificationCode"`
	DisplayName      string     `json:"displayName"`
	SerialNumber     string     `json:"serialNumber"`
	Device           *graph.Ref `json:"device"`
}

// check runs the activation: the code is compared with the token's TOTP over ±2880 steps.
// A wrong code leaves the token failedActivation and answers 400 (Graph documents no error
// for it).
func (s *Server) check(d *device, a activation) *gerror {
	if a.VerificationCode == "" {
		return badRequest("badRequest", "verificationCode is required.")
	}
	if !s.codeMatches(d, a.VerificationCode) {
		d.Status = graph.StatusFailedActivation
		return badRequest("badRequest", "The verification code is not valid for this hardware OATH token.")
	}
	d.Status = graph.StatusActivated
	if a.DisplayName != "" {
		d.DisplayName = a.DisplayName
	}
	return nil
}

func (s *Server) codeMatches(d *device, code string) bool {
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(d.SecretKey))
	if err != nil || len(code) != 6 {
		return false
	}
	hash := tokens.HashSHA1
	if d.HashFunction == graph.HashSHA256 {
		hash = tokens.HashSHA256
	}
	p := tokens.OTPParams{Hash: hash, Digits: 6}
	center := tokens.Step(s.now(), int(d.TimeIntervalInSeconds))
	window := s.window
	if window == 0 {
		window = ActivationWindow
	}
	for off := -window; off <= window; off++ {
		if c, err := tokens.TOTP(secret, p, center+off); err == nil && c == code {
			return true
		}
	}
	return false
}

func (s *Server) activate(w http.ResponseWriter, u *user, methodID string, body []byte) *gerror {
	d := s.userDevice(u, methodID)
	if d == nil {
		return notFound("Hardware OATH method '" + methodID + "' not found for the user.")
	}
	var a activation
	if e := decode(body, &a); e != nil {
		return e
	}
	if e := s.check(d, a); e != nil {
		return e
	}
	w.WriteHeader(204)
	return nil
}

// assignAndActivate assigns (unless the token is already the user's) and activates. A wrong
// code leaves the token assigned to the user, failedActivation, as separate assign and
// activate calls would.
func (s *Server) assignAndActivate(w http.ResponseWriter, u *user, body []byte, bySerial bool) *gerror {
	var a activation
	if e := decode(body, &a); e != nil {
		return e
	}
	var d *device
	if bySerial {
		if a.SerialNumber == "" {
			return badRequest("badRequest", "serialNumber is required.")
		}
		if d = s.deviceBySerial(a.SerialNumber); d == nil {
			return notFound("No hardware OATH token with serial number '" + a.SerialNumber + "'.")
		}
	} else {
		if a.Device == nil || a.Device.ID == "" {
			return badRequest("badRequest", "device.id is required.")
		}
		if d = s.device(a.Device.ID); d == nil {
			return notFound("Hardware OATH token '" + a.Device.ID + "' not found.")
		}
	}
	if a.VerificationCode == "" {
		return badRequest("badRequest", "verificationCode is required.")
	}
	if d.AssignedTo == nil || d.AssignedTo.ID != u.ID {
		if e := s.assignTo(u, d); e != nil {
			return e
		}
	}
	if e := s.check(d, a); e != nil {
		return e
	}
	w.WriteHeader(204)
	return nil
}

func (s *Server) deactivate(w http.ResponseWriter, u *user, methodID string) *gerror {
	d := s.userDevice(u, methodID)
	if d == nil {
		return notFound("Hardware OATH method '" + methodID + "' not found for the user.")
	}
	d.Status = graph.StatusAssigned
	w.WriteHeader(204)
	return nil
}

func (s *Server) unassign(w http.ResponseWriter, u *user, methodID string) *gerror {
	d := s.userDevice(u, methodID)
	if d == nil {
		return notFound("Hardware OATH method '" + methodID + "' not found for the user.")
	}
	if e := s.defaultGuard(u, methodID); e != nil {
		return e
	}
	d.AssignedTo = nil
	d.Status = graph.StatusAvailable
	w.WriteHeader(204)
	return nil
}

// ---- authentication methods ----

// defaultGuard refuses to delete the default method while the user has others, with the
// message Graph is reported to give.
func (s *Server) defaultGuard(u *user, id string) *gerror {
	if u.defaultID != id {
		return nil
	}
	ids := len(u.methods) + s.oathDevices(u)
	if ids > 1 {
		return badRequest("badRequest", "Cannot delete default method with other methods configured. Please change default method before deletion.")
	}
	u.defaultID = ""
	return nil
}

func (s *Server) oathDevices(u *user) int {
	n := 0
	for _, d := range s.devices {
		if d.AssignedTo != nil && d.AssignedTo.ID == u.ID {
			n++
		}
	}
	return n
}

func (s *Server) listMethods(w http.ResponseWriter, u *user, version string) *gerror {
	items := []map[string]any{{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": passwordMethodID}}
	items = append(items, toMaps(u.methods)...)
	if version == "beta" {
		for _, d := range s.devices {
			if d.AssignedTo != nil && d.AssignedTo.ID == u.ID {
				items = append(items, d.method())
			}
		}
	}
	writeJSON(w, 200, map[string]any{"value": items})
	return nil
}

func (s *Server) deleteMethod(w http.ResponseWriter, u *user, kind, id string) *gerror {
	if kind == "password" {
		return &gerror{status: 405, code: "Request_BadRequest", message: "The password method cannot be deleted."}
	}
	for i, m := range u.methods {
		if m.ID == id && string(m.Kind()) == kind {
			if e := s.defaultGuard(u, id); e != nil {
				return e
			}
			if m.Kind() == graph.KindPhone && m.ID == graph.PhoneMobileID {
				for _, o := range u.methods {
					if o.ID == graph.PhoneAlternateMobileID {
						return badRequest("badRequest", "The mobile phone method cannot be deleted while an alternate mobile phone is registered.")
					}
				}
			}
			u.methods = append(u.methods[:i], u.methods[i+1:]...)
			w.WriteHeader(204)
			return nil
		}
	}
	return notFound("Authentication method '" + id + "' not found.")
}

var preferred = map[string]func(id string, k graph.MethodKind) bool{
	"push": func(_ string, k graph.MethodKind) bool { return k == graph.KindMicrosoftAuthenticator },
	"oath": func(_ string, k graph.MethodKind) bool {
		return k == graph.KindSoftwareOath || k == graph.KindHardwareOath
	},
	"sms":                  func(id string, _ graph.MethodKind) bool { return id == graph.PhoneMobileID },
	"voiceMobile":          func(id string, _ graph.MethodKind) bool { return id == graph.PhoneMobileID },
	"voiceAlternateMobile": func(id string, _ graph.MethodKind) bool { return id == graph.PhoneAlternateMobileID },
	"voiceOffice":          func(id string, _ graph.MethodKind) bool { return id == graph.PhoneOfficeID },
}

func (s *Server) prefs(u *user) graph.SignInPreferences {
	p := graph.SignInPreferences{UserPreferredMethodForSecondaryAuthentication: "none"}
	f := false
	p.IsSystemPreferredAuthenticationMethodEnabled = &f
	if u.defaultID == "" {
		return p
	}
	kind := graph.KindHardwareOath
	for _, m := range u.methods {
		if m.ID == u.defaultID {
			kind = m.Kind()
		}
	}
	for _, name := range []string{"push", "oath", "voiceMobile", "voiceAlternateMobile", "voiceOffice"} {
		if preferred[name](u.defaultID, kind) {
			p.UserPreferredMethodForSecondaryAuthentication = name
			break
		}
	}
	return p
}

func (s *Server) setPrefs(w http.ResponseWriter, u *user, body []byte) *gerror {
	var p graph.SignInPreferences
	if e := decode(body, &p); e != nil {
		return e
	}
	match := preferred[p.UserPreferredMethodForSecondaryAuthentication]
	if match == nil {
		return badRequest("badRequest", "Invalid userPreferredMethodForSecondaryAuthentication.")
	}
	for _, m := range u.methods {
		if match(m.ID, m.Kind()) {
			u.defaultID = m.ID
			w.WriteHeader(204)
			return nil
		}
	}
	for _, d := range s.devices {
		if d.AssignedTo != nil && d.AssignedTo.ID == u.ID && match(d.ID, graph.KindHardwareOath) {
			u.defaultID = d.ID
			w.WriteHeader(204)
			return nil
		}
	}
	return badRequest("badRequest", "The user has no method of the preferred kind.")
}

func (s *Server) updateUser(w http.ResponseWriter, u *user, body []byte) *gerror {
	var p struct {
		AccountEnabled *bool `json:"accountEnabled"`
	}
	if e := decode(body, &p); e != nil {
		return e
	}
	if p.AccountEnabled != nil {
		v := *p.AccountEnabled
		u.AccountEnabled = &v
	}
	w.WriteHeader(204)
	return nil
}
