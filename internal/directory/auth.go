package directory

// MethodKind says which table an OATH method lives in.
type MethodKind string

// Kinds of OATH method.
const (
	MethodHardware MethodKind = "hardware"          // tokens
	MethodApp      MethodKind = "authenticator-app" // auth_methods
)

// OATHMethod is one of a user's OATH methods as verification needs it, with its decrypted
// secret. Callers must not print or log Secret.
type OATHMethod struct {
	Kind     MethodKind
	TokenID  int64  // tokens.id, for MethodHardware
	AppID    string // auth_methods.id, for MethodApp
	Name     string // the serial number, or the app's display name
	Secret   []byte
	Hash     string
	Digits   int
	Period   int
	Drift    int   // learned drift in time steps
	LastStep int64 // last accepted time step (0: none)
}

// DeviceToken is how the method is named in auth events: the serial number of a hardware
// token, the id of an authenticator app.
func (m OATHMethod) DeviceToken() string {
	if m.Kind == MethodApp {
		return m.AppID
	}
	return m.Name
}

// AuthSubject is a user about to be verified, with the OATH methods that can verify a code:
// activated hardware tokens (in serial order) and authenticator apps (in enrolment order).
// The method counts of User are not filled in.
type AuthSubject struct {
	User    User
	Methods []OATHMethod
}

// AppPasswordHash is a stored app-password hash (a PHC string), for checking a password offered
// by its user. Callers must not print or log Hash.
type AppPasswordHash struct {
	ID   string
	Name string
	Hash string
}
