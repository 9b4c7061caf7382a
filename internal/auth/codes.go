package auth

// Result codes of auth events, after Azure MFA Server's two-step verification log. They are
// part of mfactl's interface (reports group by them, scripts match them): docs/auth-events.md
// documents each one, and a test keeps that table and this list in step.
const (
	// Verification of a code (auth verify).
	CodeVerified  = "SUCCESS_OATH_CODE_VERIFIED"
	CodeIncorrect = "FAILED_OATH_CODE_INCORRECT"
	CodeDuplicate = "FAILED_OATH_CODE_DUPLICATE" // the step of the last accepted code, again
	CodeOld       = "FAILED_OATH_CODE_OLD"       // a step before the last accepted one
	CodeThrottled = "FAILED_AUTHENTICATION_THROTTLED"
	CodeNoMethod  = "FAILED_NO_METHOD"

	// Any attempt.
	CodeUserBlocked = "FAILED_USER_BLOCKED"
	CodeUserUnknown = "FAILED_USER_UNKNOWN"

	// Activation of a hardware token (tokens activate). A wrong code is CodeIncorrect and a
	// replayed one CodeDuplicate or CodeOld, as for verification.
	CodeActivated        = "SUCCESS_OATH_TOKEN_ACTIVATED"
	CodeTokenLocked      = "FAILED_OATH_TOKEN_LOCKED"
	CodeTokenDisabled    = "FAILED_OATH_TOKEN_DISABLED"
	CodeTokenUnknown     = "FAILED_OATH_TOKEN_UNKNOWN"
	CodeTokenUnassigned  = "FAILED_OATH_TOKEN_UNASSIGNED"
	CodeTokenIsActivated = "FAILED_OATH_TOKEN_ALREADY_ACTIVATED"

	// App passwords (auth verify --app-password).
	CodeAppPasswordVerified  = "SUCCESS_APP_PASSWORD_VERIFIED"
	CodeAppPasswordIncorrect = "FAILED_APP_PASSWORD_INCORRECT"
)

// Codes lists every result code, successes first.
var Codes = []string{
	CodeVerified, CodeActivated, CodeAppPasswordVerified,
	CodeIncorrect, CodeDuplicate, CodeOld, CodeThrottled, CodeNoMethod,
	CodeUserBlocked, CodeUserUnknown,
	CodeTokenLocked, CodeTokenDisabled, CodeTokenUnknown, CodeTokenUnassigned, CodeTokenIsActivated,
	CodeAppPasswordIncorrect,
}
