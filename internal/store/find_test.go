package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/mfactl/mfactl/internal/directory"
)

// TestSealedTokens: one streamed query yields every token of the chosen statuses in batches
// of at most SealedBatch, with its owner, parameters, drift and a sealed secret that opens to
// the imported one.
func TestSealedTokens(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	n := 2*SealedBatch + 76
	// Every third token has an owner (assigned), the others are stock (available).
	rows := genRows(0, n, 0)
	for i := range rows {
		if i%3 == 0 {
			rows[i].UPN = fmt.Sprintf("owner%d@contoso.com", i)
		}
	}
	rows[1].Period, rows[1].Digits, rows[1].Hash = 60, 8, "SHA256"
	if _, err := d.ImportTokens(ctx, rowsOf(rows), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := d.DisableToken(ctx, rows[2].Serial, "lost"); err != nil {
		t.Fatal(err)
	}
	bySerial := map[string]ImportRow{}
	for _, r := range rows {
		bySerial[r.Serial] = r
	}

	collect := func(statuses ...directory.TokenStatus) ([]directory.SealedToken, []int) {
		t.Helper()
		var all []directory.SealedToken
		var sizes []int
		for batch, err := range d.SealedTokens(ctx, statuses) {
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(batch))
			all = append(all, batch...)
		}
		return all, sizes
	}

	all, sizes := collect()
	if len(all) != n {
		t.Fatalf("all: %d tokens, want %d", len(all), n)
	}
	if !slices.Equal(sizes, []int{SealedBatch, SealedBatch, 76}) {
		t.Errorf("batch sizes %v", sizes)
	}
	seen := map[string]bool{}
	for _, tk := range all {
		r, ok := bySerial[tk.Serial]
		if !ok || seen[tk.Serial] {
			t.Fatalf("unexpected or repeated token %q", tk.Serial)
		}
		seen[tk.Serial] = true
		wantStatus, wantUPN := StatusAvailable, ""
		if r.UPN != "" {
			wantStatus, wantUPN = StatusAssigned, r.UPN
		}
		if tk.Serial == rows[2].Serial {
			wantStatus = StatusDisabled
		}
		wantPeriod, wantDigits, wantHash := 30, 6, "SHA1"
		if tk.Serial == rows[1].Serial {
			wantPeriod, wantDigits, wantHash = 60, 8, "SHA256"
		}
		if tk.UPN != wantUPN || tk.Status != wantStatus || tk.Period != wantPeriod || tk.Digits != wantDigits ||
			tk.Hash != wantHash || tk.Drift != 0 || tk.LastStep != 0 {
			t.Errorf("%+v", tk)
		}
		// Later rows must not have overwritten the batch's earlier secrets.
		plain, err := d.OpenSealed(tk.Sealed, tk.Serial)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain, r.Secret) {
			t.Errorf("%s: the sealed secret opens to another secret", tk.Serial)
		}
	}

	assigned, _ := collect(StatusAssigned)
	stock, _ := collect(StatusAvailable, StatusDisabled)
	if len(assigned) != (n+2)/3 || len(stock) != n-(n+2)/3 {
		t.Errorf("assigned %d, available or disabled %d", len(assigned), len(stock))
	}
	if none, sizes := collect(StatusActivated); len(none) != 0 || len(sizes) != 0 {
		t.Errorf("activated: %d tokens in %d batches", len(none), len(sizes))
	}

	// A sealed secret opens only for its own serial.
	if _, err := d.OpenSealed(all[0].Sealed, all[1].Serial); err == nil || err.Error() != "decrypting the secret of token "+all[1].Serial+": secret cannot be decrypted: the key file does not match the data" {
		t.Errorf("opened for another serial: %v", err)
	}
}

// TestSealedTokensStopEarly: breaking out of the loop ends the query cleanly.
func TestSealedTokensStopEarly(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	if _, err := d.ImportTokens(ctx, genSource(0, SealedBatch+1, 0), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for range d.SealedTokens(ctx, nil) {
		break
	}
	// The connection was given back: another query works.
	if got := count(t, d, "tokens"); got != SealedBatch+1 {
		t.Errorf("tokens %d", got)
	}
}

// TestRecordSearch: a search is audited in the bound actor's name; without an actor nothing
// is written.
func TestRecordSearch(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "", Options{})
	if err := d.RecordSearch(ctx, "none", "failure", "x"); err != nil {
		t.Fatal(err)
	}
	if got := auditLines(t, d); len(got) != 0 {
		t.Fatalf("without an actor: %q", got)
	}
	a := d.WithActor(directory.Actor{Name: "ada", Host: "hq", Command: "tokens find"})
	if err := a.RecordSearch(ctx, "SN1, SN2", "success", "2 tokens searched"); err != nil {
		t.Fatal(err)
	}
	if err := a.RecordSearch(ctx, "none", "failure", "2 tokens searched"); err != nil {
		t.Fatal(err)
	}
	want := []string{"ada|hq|tokens find|SN1, SN2|success|2 tokens searched", "ada|hq|tokens find|none|failure|2 tokens searched"}
	if got := auditLines(t, d); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
