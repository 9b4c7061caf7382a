package auth

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
	"github.com/mfactl/mfactl/internal/tokens"
)

// BenchmarkVerify measures one successful `auth verify` (read the user and their methods,
// check the code, the conditional update, the reset and the auth event in one transaction) in
// directories of 10,000 and 1,000,000 tokens (two per user). It should not grow with the
// directory: every statement is an index lookup (see TestAuthQueriesUseIndexes in store).
//
//	go test ./internal/auth -run '^$' -bench Verify -benchtime 3000x
//
// Building the 1M directory takes about a minute (store.ImportTokens).
func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			benchVerify(b, n)
		})
	}
}

func benchVerify(b *testing.B, n int) {
	ctx := context.Background()
	c := &clock{t: t0}
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{Now: c.now})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	nUsers := n / 2
	upn := func(i int) string { return fmt.Sprintf("user%07d@contoso.com", i%nUsers) }
	start := time.Now()
	if _, err := db.ImportTokens(ctx, tokenRows(n, upn), directory.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Logf("imported %d tokens in %v", n, time.Since(start).Round(time.Millisecond))
	svc := New(db, c.now, server)

	// 64 users spread over the directory, each with one activated token.
	const users = 64
	idx := make([]int, users)
	for k := range idx {
		idx[k] = k * (nUsers / users)
		i := idx[k]
		code, _ := tokens.TOTP(secretOf(i), tokens.OTPParams{Hash: "SHA1", Digits: 6}, tokens.Step(c.t, 30))
		r, err := svc.Activate(ctx, fmt.Sprintf("TOK%04d", i), code, ActivateOptions{Window: 1})
		if err != nil || !r.Success {
			b.Fatalf("activating token %d: %+v %v", i, r, err)
		}
	}
	b.ResetTimer()
	k := 0
	for b.Loop() {
		// Each round of users moves the clock one step on, so every code is fresh.
		if k%users == 0 {
			c.t = c.t.Add(30 * time.Second)
		}
		i := idx[k%users]
		k++
		code, _ := tokens.TOTP(secretOf(i), tokens.OTPParams{Hash: "SHA1", Digits: 6}, tokens.Step(c.t, 30))
		r, err := svc.Verify(ctx, upn(i), code, Options{})
		if err != nil || !r.Success {
			b.Fatalf("verify %d: %+v %v", i, r, err)
		}
	}
}
