package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Secret is a write-only value (a token's seed). It marshals to JSON as itself, so it can be
// sent, but prints as [REDACTED] with every fmt verb, so it never reaches a log by accident.
type Secret string

// String hides the value.
func (Secret) String() string { return redacted }

// GoString hides the value from %#v.
func (Secret) GoString() string { return redacted }

// Seconds is a token's time step. Graph's own bulk example sends it as the string "30", so
// both a JSON number and a string of digits are read; it is always written as a number.
type Seconds int

// UnmarshalJSON accepts 30, "30" and null.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*s = 0
		return nil
	}
	str := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(str))
	if err != nil {
		return fmt.Errorf("timeIntervalInSeconds %q is not a number of seconds", str)
	}
	*s = Seconds(n)
	return nil
}

// DeviceStatus is the state of a hardware OATH token in Graph.
type DeviceStatus string

// Device states: created tokens are available; assigning makes them assigned; activation with
// a good code makes them activated (a bad code, failedActivation); deactivation returns an
// activated token to assigned; unassigning returns it to available.
const (
	StatusAvailable        DeviceStatus = "available"
	StatusAssigned         DeviceStatus = "assigned"
	StatusActivated        DeviceStatus = "activated"
	StatusFailedActivation DeviceStatus = "failedActivation"
	StatusUnknownFuture    DeviceStatus = "unknownFutureValue"
)

// Hash functions of a hardware OATH token.
const (
	HashSHA1   = "hmacsha1"
	HashSHA256 = "hmacsha256"
)

// Identity is Graph's identity: who a token is assigned to.
type Identity struct {
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

// Ref points at an object by id (assignTo on create, device on assign).
type Ref struct {
	ID string `json:"id"`
}

// Device is a hardware OATH token of the tenant's inventory
// (#microsoft.graph.hardwareOathTokenAuthenticationMethodDevice, beta).
type Device struct {
	ODataType    string `json:"@odata.type,omitempty"`
	ID           string `json:"id,omitempty"`
	DisplayName  string `json:"displayName,omitempty"`
	SerialNumber string `json:"serialNumber,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Model        string `json:"model,omitempty"`
	// SecretKey is the Base32 seed, sent on create only: Graph always reads it back as null.
	SecretKey             Secret       `json:"secretKey,omitempty"`
	TimeIntervalInSeconds Seconds      `json:"timeIntervalInSeconds,omitempty"`
	HashFunction          string       `json:"hashFunction,omitempty"`
	Status                DeviceStatus `json:"status,omitempty"`
	AssignedTo            *Identity    `json:"assignedTo,omitempty"`
	LastUsedDateTime      *time.Time   `json:"lastUsedDateTime,omitempty"`
	// AssignTo, on create only, assigns the new token to a user in the same call.
	AssignTo *Ref `json:"assignTo,omitempty"`
}

// DeviceUpdate is the PATCH of a device; nil fields are left alone. Graph accepts it only for
// an unassigned token, and the secret cannot be changed.
type DeviceUpdate struct {
	DisplayName           *string  `json:"displayName,omitempty"`
	Manufacturer          *string  `json:"manufacturer,omitempty"`
	Model                 *string  `json:"model,omitempty"`
	TimeIntervalInSeconds *Seconds `json:"timeIntervalInSeconds,omitempty"`
	HashFunction          *string  `json:"hashFunction,omitempty"`
}

// HardwareOathMethod is a hardware OATH token as a user's authentication method
// (#microsoft.graph.hardwareOathAuthenticationMethod, beta). Its id is, in every published
// example, the device's id; code should not rely on it and use Device.ID.
type HardwareOathMethod struct {
	ID               string     `json:"id,omitempty"`
	CreatedDateTime  *time.Time `json:"createdDateTime,omitempty"`
	LastUsedDateTime *time.Time `json:"lastUsedDateTime,omitempty"`
	Device           *Device    `json:"device,omitempty"`
}

// User is the part of a Graph user mfactl reads.
type User struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName,omitempty"`
	Mail              string `json:"mail,omitempty"`
	MobilePhone       string `json:"mobilePhone,omitempty"`
	UserType          string `json:"userType,omitempty"`
	// AccountEnabled is nil when the service did not return it.
	AccountEnabled *bool `json:"accountEnabled,omitempty"`
}

// userSelect is the $select of every user read: Graph returns accountEnabled only when asked.
const userSelect = "id,userPrincipalName,displayName,mail,mobilePhone,userType,accountEnabled"

// MethodKind names a kind of authentication method, from its @odata.type.
type MethodKind string

// Kinds of authentication methods. The collection of each (for DELETE) is Kind + "Methods".
const (
	KindPassword               MethodKind = "password"
	KindPhone                  MethodKind = "phone"
	KindEmail                  MethodKind = "email"
	KindSoftwareOath           MethodKind = "softwareOath"
	KindHardwareOath           MethodKind = "hardwareOath"
	KindMicrosoftAuthenticator MethodKind = "microsoftAuthenticator"
	KindFido2                  MethodKind = "fido2"
	KindWindowsHello           MethodKind = "windowsHelloForBusiness"
	KindTemporaryAccessPass    MethodKind = "temporaryAccessPass"
	KindPlatformCredential     MethodKind = "platformCredential"
	KindExternal               MethodKind = "externalAuthentication"
)

// The fixed ids of a user's phone methods: Graph gives each phone type one well-known id.
const (
	PhoneMobileID          = "3179e48a-750b-4051-897c-87b9720928f7"
	PhoneAlternateMobileID = "b6332ec1-7057-4abe-9331-3d72feddfe41"
	PhoneOfficeID          = "e37fc753-ff3b-4958-9484-eaa9425c82bc"
)

// AuthMethod is one authentication method of a user as /authentication/methods lists it: the
// common part, plus the fields of the kinds mfactl shows (the others stay in Raw).
type AuthMethod struct {
	ODataType       string     `json:"@odata.type"`
	ID              string     `json:"id"`
	CreatedDateTime *time.Time `json:"createdDateTime,omitempty"`
	// phone
	PhoneNumber    string `json:"phoneNumber,omitempty"`
	PhoneType      string `json:"phoneType,omitempty"` // mobile, alternateMobile, office
	SMSSignInState string `json:"smsSignInState,omitempty"`
	// email
	EmailAddress string `json:"emailAddress,omitempty"`
	// microsoftAuthenticator, fido2, windowsHelloForBusiness
	DisplayName     string `json:"displayName,omitempty"`
	DeviceTag       string `json:"deviceTag,omitempty"`
	PhoneAppVersion string `json:"phoneAppVersion,omitempty"`
	// softwareOath: the secret is never returned.

	// Raw is the method as Graph sent it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON keeps the raw object besides the typed fields.
func (m *AuthMethod) UnmarshalJSON(b []byte) error {
	type plain AuthMethod
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*m = AuthMethod(p)
	m.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// Kind is the method's kind from its @odata.type ("#microsoft.graph.phoneAuthenticationMethod"
// is KindPhone).
func (m AuthMethod) Kind() MethodKind {
	t := strings.TrimPrefix(m.ODataType, "#microsoft.graph.")
	t = strings.TrimSuffix(t, "AuthenticationMethod")
	return MethodKind(t)
}

// deletable are the kinds Graph can delete (v1.0 DELETE /users/{id}/authentication/{kind}Methods/{id});
// hardware OATH is unassigned through the beta API instead, and the password can only be reset.
var deletable = map[MethodKind]bool{
	KindPhone: true, KindEmail: true, KindSoftwareOath: true, KindMicrosoftAuthenticator: true,
	KindFido2: true, KindWindowsHello: true, KindTemporaryAccessPass: true,
	KindPlatformCredential: true, KindExternal: true,
}

// Deletable reports whether DeleteAuthMethod can delete m. The password cannot be deleted, and
// a hardware OATH method is unassigned or deactivated with the hardware OATH calls.
func (m AuthMethod) Deletable() bool { return deletable[m.Kind()] }

// SignInPreferences is a user's default ("preferred") second factor (beta).
type SignInPreferences struct {
	IsSystemPreferredAuthenticationMethodEnabled *bool `json:"isSystemPreferredAuthenticationMethodEnabled,omitempty"`
	// UserPreferredMethodForSecondaryAuthentication is push, oath, voiceMobile,
	// voiceAlternateMobile, voiceOffice, sms or none.
	UserPreferredMethodForSecondaryAuthentication string `json:"userPreferredMethodForSecondaryAuthentication,omitempty"`
	SystemPreferredAuthenticationMethod           string `json:"systemPreferredAuthenticationMethod,omitempty"`
}

// RegistrationDetails is one row of the userRegistrationDetails report (v1.0).
type RegistrationDetails struct {
	ID                                            string     `json:"id"`
	UserPrincipalName                             string     `json:"userPrincipalName"`
	UserDisplayName                               string     `json:"userDisplayName"`
	UserType                                      string     `json:"userType,omitempty"`
	IsAdmin                                       bool       `json:"isAdmin"`
	IsMfaCapable                                  bool       `json:"isMfaCapable"`
	IsMfaRegistered                               bool       `json:"isMfaRegistered"`
	IsPasswordlessCapable                         bool       `json:"isPasswordlessCapable"`
	IsSsprCapable                                 bool       `json:"isSsprCapable"`
	IsSsprEnabled                                 bool       `json:"isSsprEnabled"`
	IsSsprRegistered                              bool       `json:"isSsprRegistered"`
	IsSystemPreferredAuthenticationMethodEnabled  bool       `json:"isSystemPreferredAuthenticationMethodEnabled"`
	SystemPreferredAuthenticationMethods          []string   `json:"systemPreferredAuthenticationMethods"`
	UserPreferredMethodForSecondaryAuthentication string     `json:"userPreferredMethodForSecondaryAuthentication,omitempty"`
	MethodsRegistered                             []string   `json:"methodsRegistered"`
	LastUpdatedDateTime                           *time.Time `json:"lastUpdatedDateTime,omitempty"`
}

// SignIn is one entry of the sign-in log (beta, for the MFA details).
type SignIn struct {
	ID                        string                 `json:"id"`
	CreatedDateTime           time.Time              `json:"createdDateTime"`
	UserID                    string                 `json:"userId"`
	UserPrincipalName         string                 `json:"userPrincipalName"`
	UserDisplayName           string                 `json:"userDisplayName,omitempty"`
	AppDisplayName            string                 `json:"appDisplayName,omitempty"`
	IPAddress                 string                 `json:"ipAddress,omitempty"`
	CorrelationID             string                 `json:"correlationId,omitempty"`
	AuthenticationRequirement string                 `json:"authenticationRequirement,omitempty"`
	AuthenticationMethodsUsed []string               `json:"authenticationMethodsUsed,omitempty"`
	AuthenticationDetails     []AuthenticationDetail `json:"authenticationDetails,omitempty"`
	Status                    *SignInStatus          `json:"status,omitempty"`
}

// AuthenticationDetail is one step of a sign-in. The authenticationMethod string Graph logs
// for a hardware token is not documented; callers match it loosely.
type AuthenticationDetail struct {
	AuthenticationMethod           string     `json:"authenticationMethod"`
	AuthenticationMethodDetail     string     `json:"authenticationMethodDetail,omitempty"`
	AuthenticationStepDateTime     *time.Time `json:"authenticationStepDateTime,omitempty"`
	AuthenticationStepRequirement  string     `json:"authenticationStepRequirement,omitempty"`
	AuthenticationStepResultDetail string     `json:"authenticationStepResultDetail,omitempty"`
	Succeeded                      bool       `json:"succeeded"`
}

// SignInStatus is the outcome of a sign-in: errorCode 0 is success.
type SignInStatus struct {
	ErrorCode     int    `json:"errorCode"`
	FailureReason string `json:"failureReason,omitempty"`
}

// DirectoryAudit is one entry of the directory audit log (v1.0).
type DirectoryAudit struct {
	ID                  string          `json:"id"`
	ActivityDateTime    time.Time       `json:"activityDateTime"`
	ActivityDisplayName string          `json:"activityDisplayName"`
	Category            string          `json:"category,omitempty"`
	LoggedByService     string          `json:"loggedByService,omitempty"`
	OperationType       string          `json:"operationType,omitempty"`
	Result              string          `json:"result,omitempty"`
	ResultReason        string          `json:"resultReason,omitempty"`
	CorrelationID       string          `json:"correlationId,omitempty"`
	InitiatedBy         *AuditInitiator `json:"initiatedBy,omitempty"`
	TargetResources     []AuditTarget   `json:"targetResources,omitempty"`
}

// AuditInitiator says who did an audited change: a user or an app.
type AuditInitiator struct {
	User *struct {
		ID                string `json:"id,omitempty"`
		UserPrincipalName string `json:"userPrincipalName,omitempty"`
		DisplayName       string `json:"displayName,omitempty"`
	} `json:"user,omitempty"`
	App *struct {
		AppID       string `json:"appId,omitempty"`
		DisplayName string `json:"displayName,omitempty"`
	} `json:"app,omitempty"`
}

// AuditTarget is an object an audited change touched.
type AuditTarget struct {
	ID                string `json:"id,omitempty"`
	DisplayName       string `json:"displayName,omitempty"`
	Type              string `json:"type,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
}
