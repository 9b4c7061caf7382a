package directory

import "fmt"

// ImportRow is one already-validated token to import. Secret is the raw shared secret; the
// importer copies what it keeps, so the source may reuse the buffer after yielding.
type ImportRow struct {
	Line         int // 1-based line (or record number) in the source, for problems
	Serial       string
	UPN          string // empty: unassigned stock
	Secret       []byte
	Period       int    // seconds; 0 means 30
	Digits       int    // 0 means 6
	Hash         string // "SHA1" (also when empty), "SHA256", "SHA512"
	Manufacturer string
	Model        string
	SourceFile   string
}

// DuplicatePolicy says what ImportTokens does with a serial that is already in the directory
// with different data. An identical row is always a no-op, whatever the policy.
type DuplicatePolicy string

// Duplicate policies (the --on-duplicate flag).
const (
	DuplicateFail   DuplicatePolicy = "fail"
	DuplicateSkip   DuplicatePolicy = "skip"
	DuplicateUpdate DuplicatePolicy = "update"
)

// Problem codes reported by ImportTokens: the rules that depend on what the directory already
// holds (docs/formats.md lists every code).
const (
	CodeSerialExists = "serial.exists"
	CodeUserUnknown  = "user.unknown"
	CodeUserLimit    = "user.limit"
)

// DefaultMaxProblems bounds ImportResult.Problems so memory stays flat when every row of a
// huge file is rejected; OnProblem sees them all.
const DefaultMaxProblems = 1000

// ImportOptions control ImportTokens.
type ImportOptions struct {
	OnDuplicate DuplicatePolicy // empty means DuplicateFail
	// RequireExistingUsers makes an unknown UPN a problem (user.unknown); otherwise the user is
	// created and counted in UsersCreated.
	RequireExistingUsers bool
	// SkipInvalid commits the good rows when some rows have problems (they are reported and
	// counted in Rejected); otherwise any problem rolls the whole import back.
	SkipInvalid bool
	// DryRun does everything except the commit; the result says what would have happened.
	DryRun bool
	// MaxMethods is the per-user limit of OATH methods; 0 means MaxMethods.
	MaxMethods int
	// MaxProblems bounds ImportResult.Problems; 0 means DefaultMaxProblems.
	MaxProblems int
	// WarningsAreErrors makes a warning (a secret already held by another token of the
	// directory, secret.reused) reject its row like any other problem.
	WarningsAreErrors bool
	// Progress, when set, is called with the number of rows processed so far after each batch.
	Progress func(rows int)
	// OnProblem, when set, is called for every problem in source order (e.g. to write a
	// rejected-rows file).
	OnProblem func(RowProblem)
	// Audit, when set, is recorded in the same transaction as the import (so it exists exactly
	// when the import committed) with Result "success" and a summary in Detail when Detail is
	// empty. A rejected, failed or cancelled import records it with Result "failure" instead.
	// A dry run records nothing.
	Audit *AuditEvent
	// SourceCounts, when set, says how many rows the source read in all and how many of them it
	// rejected itself (by the file rules) and so never yielded. The audit summary counts them,
	// so that it describes the file rather than the rows that reached the store. It is called
	// once the store has stopped reading the source: before the commit of a successful import,
	// after the rollback of a failed one (so the source may finish reading its input then,
	// without holding the write lock).
	SourceCounts func() (rows, rejected int)
	// OnWork, when set, is called by a backend whose work after reading the source takes long
	// (Microsoft Entra ID, one or more Graph requests per row) as that work goes, for a
	// progress bar by work done: see Work. The SQL store never calls it.
	OnWork func(Work)
	// OnOutcome, when set, is called once per row the directory received, in source order,
	// with what the import did with it (for a row that failed, the backend's error code and
	// request id); it never carries a secret. How the outcomes relate to what is in the
	// directory afterwards depends on the backend:
	//   - The SQL store tells each batch's rows once the batch is written inside the import's
	//     transaction (created, updated, unchanged, skipped, or rejected with the problem code).
	//     They come true only if the import commits: when ImportTokens returns without Committed
	//     (a rejected import, an error, a cancelled ctx, a dry run) nothing was written,
	//     whatever was told, and the rows received after a failure are not told at all.
	//   - Microsoft Entra ID, which has no transactions, tells every row once, at the end: after
	//     the writes (a row Graph refused is failed), or after the plan when nothing is sent (a
	//     dry run, a rejected import: what the plan was, rejected rows with their code).
	// A caller that reports outcomes therefore settles them by the result: with Committed, as
	// told; otherwise no row was created or updated (docs/formats.md, the import report).
	OnOutcome func(RowOutcome)
}

// RowOutcome is what an import did with one row.
type RowOutcome struct {
	Line    int
	Serial  string
	UPN     string
	Outcome string // one of the Outcome constants
	Detail  string // for failed and rejected rows: the error code and, from Graph, the request ids
}

// The outcomes of RowOutcome.
const (
	OutcomeCreated   = "created"   // a new token (assigned to the row's user when it names one)
	OutcomeAssigned  = "assigned"  // an existing unassigned token with the row's data, now assigned
	OutcomeUnchanged = "unchanged" // already there with the row's data and owner
	OutcomeUpdated   = "updated"   // an existing token whose data was changed
	OutcomeSkipped   = "skipped"   // a duplicate left alone
	OutcomeRejected  = "rejected"  // a problem found before anything was sent
	OutcomeFailed    = "failed"    // the directory refused or failed the write
	// OutcomeNotImported is never told by a directory: it is what a report says of a row of an
	// import that wrote nothing (refused or failed), the row itself having no problem.
	OutcomeNotImported = "not-imported"
)

// RowProblem is a row that cannot be imported because of the directory's state, or, when
// Warning is set, a row that is imported but deserves a look.
type RowProblem struct {
	Line    int
	Serial  string
	Column  string // "serial number", "upn" or, for secret.reused, "secret key"
	Code    string // CodeSerialExists, CodeUserUnknown, CodeUserLimit or tokens.CodeSecretReused
	Message string
	Warning bool // the row is not rejected for it
}

// ImportResult counts what an import did, or for a dry run or a rejected import what it would
// have done.
type ImportResult struct {
	Rows         int // rows read from the source
	Imported     int // new tokens
	Unchanged    int // identical to the directory: nothing written
	Updated      int // existing tokens overwritten (DuplicateUpdate)
	Skipped      int // existing tokens left alone (DuplicateSkip)
	Rejected     int // rows with a problem
	UsersCreated int
	Problems     []RowProblem // the first MaxProblems problems, warnings included
	Committed    bool         // the transaction committed
}

// ImportError is returned when problems rejected the import and nothing was written.
type ImportError struct {
	Rejected int
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("import rejected: %d rows cannot be imported; nothing was written", e.Rejected)
}

// Is makes errors.Is(err, ErrRejected) true.
func (e *ImportError) Is(target error) bool { return target == ErrRejected }
