package directory

// SealedToken is what a search for a token by the codes it shows reads of each token: enough
// to compute its codes around now and to name it. Sealed is the secret as stored (encrypted
// under the master key, bound to the serial); it is opened only by whoever computes the codes,
// and never printed or logged.
type SealedToken struct {
	Serial   string
	UPN      string // owner as stored; empty when unassigned
	Status   TokenStatus
	Hash     string
	Digits   int
	Period   int
	Drift    int   // learned drift in time steps
	LastStep int64 // last accepted time step (0: the token never verified a code)
	Sealed   []byte
}
