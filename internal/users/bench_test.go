package users

import (
	"context"
	"fmt"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
)

// BenchmarkHashAppPassword measures the cost of the argon2id hash (19 MiB, 2 passes): the
// price of creating an app password, and of each stored hash an app-password check tries.
func BenchmarkHashAppPassword(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HashAppPassword("eGYzFWBGRxHerosx"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyAppPassword(b *testing.B) {
	h, err := HashAppPassword("eGYzFWBGRxHerosx")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := VerifyAppPassword(h, "eGYzFWBGRxHerosx"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkReset1000Users plans the reset of 1,000 users with two hardware tokens and one
// authenticator app each (a dry run does all the work of a reset, then rolls back).
func BenchmarkReset1000Users(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	db, err := store.Open(ctx, b.TempDir()+"/d.db", store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	upns := make([]string, n)
	rows := func(yield func(directory.ImportRow, error) bool) {
		for i := range 2 * n {
			secret := fmt.Appendf(nil, "secret-%014d", i)
			if !yield(directory.ImportRow{Line: i + 2, Serial: fmt.Sprintf("SN%08d", i), UPN: fmt.Sprintf("user%05d@contoso.com", i/2),
				Secret: secret, Period: 30, Digits: 6, Hash: "SHA1"}, nil) {
				return
			}
		}
	}
	if _, err := db.ImportTokens(ctx, rows, directory.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	for i := range upns {
		upns[i] = fmt.Sprintf("user%05d@contoso.com", i)
		if _, err := EnrollApp(ctx, db, upns[i], EnrollOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		res, err := Reset(ctx, db, upns, true)
		if err != nil || len(res) != n || len(res[n-1].Tokens) != 2 || len(res[n-1].AuthApps) != 1 {
			b.Fatal(len(res), err)
		}
	}
}
