package directory

import "time"

// AuditEvent records one change made by an admin command (docs/audit.md).
type AuditEvent struct {
	ID      int64
	Time    time.Time // zero: now
	Actor   string    // OS user
	Host    string
	Command string // e.g. "tokens import"
	Target  string // e.g. the serial, UPN or file
	Result  string // e.g. "success", "failure"
	Detail  string // free text; never secret material
}

// AuditFilter selects audit events; zero times are open bounds. Since is inclusive, Until
// exclusive.
type AuditFilter struct {
	Since, Until time.Time
}

// AuthEvent is one verification or activation attempt, with the fields of Azure MFA Server's
// two-step verification log (docs/auth-events.md).
type AuthEvent struct {
	ID          int64
	Time        time.Time // zero: now
	UPN         string
	FirstName   string
	LastName    string
	Email       string
	Phone       string
	DeviceToken string // token serial for OATH
	Mode        string // "oath-hardware", "app-password", ...
	Result      string // "success" or "denied"
	ResultCode  string // e.g. "SUCCESS_OATH_CODE_VERIFIED"
	Reason      string
	ServerName  string
	ServerIP    string
	ClientIP    string
}

// AuthEventFilter selects auth events; empty fields match everything. Since is inclusive,
// Until exclusive. UPN matches exactly as recorded: callers pass the UPN as stored for the
// user (see GetUser), which is what verification records.
type AuthEventFilter struct {
	Since, Until time.Time
	UPN          string
	Result       string
}

// UsageFilter selects auth events for the usage report; zero fields match everything. Since is
// inclusive, Until exclusive. UPNs match exactly as recorded (pass both the UPN as typed and as
// stored for the user); Result and Mode match exactly.
type UsageFilter struct {
	Since, Until time.Time
	UPNs         []string
	// UPNAnyCase matches the events of a UPN in any letter case (ASCII, as SQLite's NOCASE),
	// for a UPN that is not in the directory: its events keep the spelling each attempt typed.
	// No index serves it, so use UPNs for the users of the directory.
	UPNAnyCase string
	Result     string
	Mode       string
}

// UsageDimension is what UsageCounts groups auth events by.
type UsageDimension string

// Usage dimensions.
const (
	ByDay        UsageDimension = "day"         // UTC calendar day of the event
	ByUser       UsageDimension = "user"        // UPN as recorded
	ByMode       UsageDimension = "mode"        // authentication mode ("oath-hardware", ...)
	ByResultCode UsageDimension = "result_code" // result code ("FAILED_OATH_CODE_INCORRECT", ...)
)

// UsageCount counts the auth events of one group.
type UsageCount struct {
	// Key names the group: the day as YYYY-MM-DD (UTC), the UPN, the mode or the result code.
	Key     string
	Success int64 // result "success"
	Denied  int64 // result "denied"
	Total   int64 // all events of the group
}

// InventoryRow counts the tokens of one manufacturer and model by status.
type InventoryRow struct {
	Manufacturer     string
	Model            string
	Total            int64
	Available        int64 // unassigned stock, ready to hand out
	Assigned         int64
	Activated        int64
	FailedActivation int64
	Disabled         int64
	Unassigned       int64 // no owner, whatever the status (available plus disabled stock)
}

// Actor is who changes the directory: the OS user, the host and the command (e.g. "tokens
// assign"). A directory bound to an actor writes the audit rows of each change in the same
// transaction as the change, so that a row exists exactly when its change does.
type Actor struct {
	Name    string
	Host    string
	Command string
}

// AuditChain is what a check of the audit chain found: each audit row carries a MAC of its
// content and of the previous row's MAC under a key derived from the master key, so that an
// edited, deleted, inserted or reordered row breaks the chain.
type AuditChain struct {
	// Rows is the number of rows checked: all of them when the chain is intact, else up to
	// and including the first bad row.
	Rows int64
	// Head is the MAC of the last row (nil for an empty trail), to be kept elsewhere: rows
	// deleted from the end are only detected against a kept head.
	Head   []byte
	HeadID int64
	// Break is the first bad row; nil when every row checked out.
	Break *AuditBreak
	// KeptHeadID is the id of the row whose MAC is the kept head given to the check (0: not
	// found, or none given), and KeptHeadRows the number of rows up to it.
	KeptHeadID   int64
	KeptHeadRows int64
}

// AuditBreak is the first audit row that does not fit the chain, and why.
type AuditBreak struct {
	ID      int64
	Time    time.Time
	Problem string
}

// DriftPoint is one learned drift of a hardware token, kept when it changed (and at
// activation), with what the drift report needs of the token.
type DriftPoint struct {
	TokenID  int64
	Serial   string
	UPN      string // the owner now; empty for a token without one
	Period   int    // seconds per time step
	LastUsed time.Time
	Time     time.Time // when the drift was learned
	Step     int64     // the time step of the code accepted
	Drift    int       // the learned drift, in time steps
}
