// Package finder answers "the label on this token is gone; which one is it?": given the codes
// a token shows now, it finds the token(s) of the directory that show them, by computing every
// candidate token's codes around now. Each token is computed with its own period, digits and
// hash, around its own learned drift.
//
// One 6-digit code matches about one token in a million per time step by chance, so a search
// takes two consecutive codes: a token matches when its code at some step s is the first code
// and its code at s+1 the second. A single code is refused unless the caller allows it
// (Query.AllowOne), and even then the result says it is ambiguous.
//
// The search reads the tokens in one streamed query (Source.SealedTokens) and decrypts and
// computes them on a pool of GOMAXPROCS workers; it never stops early, since every match is
// wanted. Secrets are cleared as soon as their HMAC pads are absorbed, and the pads when the
// token is done. Codes are never part of an error, a result or a log.
package finder

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/tokens"
)

// Source is what a search reads; the SQL store is one.
type Source interface {
	// SealedTokens streams the tokens with the given statuses (all when empty) in batches
	// that the receiver may keep.
	SealedTokens(ctx context.Context, statuses []directory.TokenStatus) iter.Seq2[[]directory.SealedToken, error]
	// OpenSealed decrypts a sealed secret of the token serial; safe for concurrent use.
	OpenSealed(sealed []byte, serial string) ([]byte, error)
}

const (
	// DefaultWindow is how many time steps each way around its drift a token that never
	// verified a code is searched by default: the usual verification window, which keeps a
	// search of a million tokens within seconds. A token whose clock drifted in a drawer is
	// found with a wider Query.Window (activation absorbs 10 steps by default).
	DefaultWindow = 1
	// UsedWindow is the window of a token that verified codes (it has a last step): its drift
	// is learned, so the verification window around it is enough.
	UsedWindow = 1
	// MaxWindow bounds Query.Window, as the activation window is bounded: a wider window makes
	// a chance match of two codes likelier and the search slower.
	MaxWindow = tokens.MaxWindow
)

// ErrOneCode is returned for a single code when the query does not allow it.
var ErrOneCode = errors.New("one code is not enough to find a token: a 6-digit code matches about one token in a million at each time step; read the next code the token shows and give both")

// ErrCodeLengths is returned for two codes of different lengths: one token shows codes of one
// length.
var ErrCodeLengths = errors.New("the two codes have different numbers of digits: one token's codes all have the same")

// Query is what to look for and where.
type Query struct {
	// Codes are one or two codes as typed: the code the token shows and, second, the next one.
	// They are normalised (tokens.NormalizeCode).
	Codes []string
	// AllowOne allows a single code.
	AllowOne bool
	// Statuses limits the search to tokens in these statuses; empty: all tokens.
	Statuses []directory.TokenStatus
	// Window is how many steps each way around its drift a token that never verified a code
	// is searched; 0 means DefaultWindow. Tokens that verified codes get UsedWindow.
	Window int
	// Now is the time the codes were read; zero means time.Now().
	Now time.Time
	// Workers is how many goroutines compute codes; 0 means GOMAXPROCS.
	Workers int
}

// Match is a token that showed the codes.
type Match struct {
	Serial string
	UPN    string // owner as stored; empty when unassigned
	Status directory.TokenStatus
	// Offset is the step at which the first code matched minus the token's current step: how
	// far the token's clock is off, in its periods.
	Offset int
}

// Result is the outcome of a search.
type Result struct {
	Matches  []Match // ordered by serial
	Searched int     // tokens read
	Computed int     // of those, tokens whose codes have as many digits as the codes given
	Window   int     // the window of tokens that never verified a code
}

// Check returns the error Find would refuse q with before reading anything (one code not
// allowed, malformed codes, a window out of range), so that a caller can refuse it before it
// opens the directory.
func (q Query) Check() error {
	_, _, err := q.parse()
	return err
}

func (q Query) parse() (wanted, int, error) {
	window := q.Window
	if window == 0 {
		window = DefaultWindow
	}
	if window < 0 || window > MaxWindow {
		return wanted{}, window, fmt.Errorf("window of %d steps out of range 1..%d", q.Window, MaxWindow)
	}
	codes, err := parseCodes(q.Codes, q.AllowOne)
	return codes, window, err
}

// Find searches src for the tokens that show q.Codes now.
func Find(ctx context.Context, src Source, q Query) (Result, error) {
	codes, window, err := q.parse()
	res := Result{Window: window}
	if err != nil {
		return res, err
	}
	now := q.Now
	if now.IsZero() {
		now = time.Now()
	}
	workers := q.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan []directory.SealedToken, 2*workers)
	type out struct {
		matches  []Match
		computed int
	}
	outs := make([]out, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			s := &searcher{codes: codes, now: now, window: res.Window, src: src, hs: newHashers()}
			for batch := range work {
				if ctx.Err() != nil {
					continue // drain, so the reader is never stuck
				}
				for i := range batch {
					if err := s.token(&batch[i]); err != nil {
						cancel(err)
						break
					}
				}
			}
			outs[w] = out{s.matches, s.computed}
		})
	}
	var readErr error
	for batch, err := range src.SealedTokens(ctx, q.Statuses) {
		if err != nil {
			readErr = err
			break
		}
		res.Searched += len(batch)
		select {
		case work <- batch:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return Result{Window: res.Window}, err
	}
	if readErr != nil {
		return Result{Window: res.Window}, readErr
	}
	for _, o := range outs {
		res.Matches = append(res.Matches, o.matches...)
		res.Computed += o.computed
	}
	slices.SortFunc(res.Matches, func(a, b Match) int { return strings.Compare(a.Serial, b.Serial) })
	return res, nil
}

// wanted is the codes as numbers, with their length.
type wanted struct {
	digits int
	first  uint32
	next   uint32
	two    bool
}

func parseCodes(in []string, allowOne bool) (wanted, error) {
	switch {
	case len(in) == 0:
		return wanted{}, errors.New("no code to look for")
	case len(in) > 2:
		return wanted{}, fmt.Errorf("%d codes given: want the code the token shows and the next one", len(in))
	case len(in) == 1 && !allowOne:
		return wanted{}, ErrOneCode
	}
	var w wanted
	for i, s := range in {
		c, err := tokens.NormalizeCode(s)
		if err != nil {
			return wanted{}, err
		}
		if i == 1 && len(c) != w.digits {
			return wanted{}, ErrCodeLengths
		}
		n, err := strconv.ParseUint(c, 10, 32)
		if err != nil {
			return wanted{}, &tokens.CodeError{NotDigits: true} // NormalizeCode let it through; never happens
		}
		w.digits = len(c)
		if i == 0 {
			w.first = uint32(n)
		} else {
			w.next, w.two = uint32(n), true
		}
	}
	return w, nil
}

// searcher is one worker's state.
type searcher struct {
	codes    wanted
	now      time.Time
	window   int
	src      Source
	hs       *hashers
	matches  []Match
	computed int
	// nowStep caches the current step per period: periods are few (30, 60).
	period  int
	nowStep int64
}

// token computes one token's codes in its window: the first code at every step, the next
// code only where the first matched. The first step that matches both, nearest to the
// token's drift, makes the match.
func (s *searcher) token(t *directory.SealedToken) error {
	if t.Digits != s.codes.digits {
		return nil // its codes cannot be these
	}
	h, err := s.hs.get(t.Hash)
	if err != nil {
		return fmt.Errorf("token %s: %w", t.Serial, err)
	}
	s.computed++
	if t.Period != s.period {
		s.period, s.nowStep = t.Period, tokens.Step(s.now, t.Period)
	}
	window := s.window
	if t.LastStep > 0 {
		window = UsedWindow
	}
	center := s.nowStep + int64(t.Drift)
	secret, err := s.src.OpenSealed(t.Sealed, t.Serial)
	if err != nil {
		return err
	}
	err = h.setKey(secret)
	clear(secret)
	if err != nil {
		return err
	}
	defer h.wipe()
	mod := pow10[t.Digits]
	best, found := 0, false
	for off := -window; off <= window; off++ {
		step := center + int64(off)
		if step < 0 || h.code(uint64(step), mod) != s.codes.first {
			continue
		}
		if s.codes.two && h.code(uint64(step+1), mod) != s.codes.next {
			continue
		}
		if !found || abs(off) < abs(best) {
			best, found = off, true
		}
	}
	if found {
		s.matches = append(s.matches, Match{
			Serial: t.Serial, UPN: t.UPN, Status: t.Status,
			Offset: int(center + int64(best) - s.nowStep),
		})
	}
	return nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
