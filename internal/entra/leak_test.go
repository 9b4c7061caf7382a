package entra

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/auth"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/entra/entrafake"
	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/graph/graphfake"
)

// TestNoSecretReachesResultsErrorsOrDebug runs an import and activations against a Graph whose
// every error quotes the request back (the secret keys of a bulk create, a code, the bearer
// token, also in lower case), with the debug log on. Neither the row problems and outcomes,
// nor the errors, nor the log may show any of them.
func TestNoSecretReachesResultsErrorsOrDebug(t *testing.T) {
	f := graphfake.New()
	f.SetActivationWindow(1)
	t.Cleanup(f.Close)
	if err := entrafake.Seed(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	var debug bytes.Buffer
	d, err := Open(context.Background(), "entra://"+entrafake.Domain, Options{
		GraphURL: f.URL, HTTPClient: f.Client(), Tokens: graph.StaticToken(graphfake.Token), Debug: &debug,
		graph: func(o *graph.Options) {
			o.MaxRetries = -1
			o.Sleep = func(context.Context, time.Duration) error { return nil }
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{fake: f, d: d}
	f.EchoRequests(true)
	ctx := context.Background()
	var out []string // everything a command could print

	// An import whose bulk create and per-token fallback fail with the request quoted.
	rows := rowsOf(galt("LEAK001", ""), galt("LEAK002", entrafake.Diego))
	f.FailAt(len(f.Requests())+3, graphfake.Fail500) // after the two reads of existing serials
	f.FailAt(len(f.Requests())+4, graphfake.Fail500)
	f.FailAt(len(f.Requests())+5, graphfake.Fail500)
	res, err := d.ImportTokens(ctx, rows, directory.ImportOptions{OnOutcome: func(o directory.RowOutcome) {
		out = append(out, fmt.Sprintf("%+v", o))
	}})
	out = append(out, fmt.Sprintf("%+v %v", res, err))
	for _, p := range res.Problems {
		out = append(out, p.Message)
	}
	if res.Imported == 2 {
		t.Fatalf("the import did not fail: %+v", res)
	}

	// An activation refused for a wrong code, and one whose answer is a 500.
	good := e.code(t, "GALT0003")
	r, err := d.Activate(ctx, "GALT0003", wrong(good), auth.ActivateOptions{})
	out = append(out, fmt.Sprintf("%+v %v", r, err))
	f.FailAt(len(f.Requests())+4, graphfake.Fail500) // after reading the token, its owner and the methods
	r, err = d.Activate(ctx, "GALT0003", good, auth.ActivateOptions{})
	out = append(out, fmt.Sprintf("%+v %v", r, err))
	if err == nil {
		t.Fatalf("the activation did not fail: %+v", r)
	}

	secrets := []string{graphfake.Token, good, wrong(good)}
	for _, s := range []string{"LEAK001", "LEAK002"} {
		secrets = append(secrets, secretEncoding.EncodeToString([]byte("12345678901234567890"+s)))
	}
	if !strings.Contains(debug.String(), "Refused request") {
		t.Fatal("the fake did not echo")
	}
	if !strings.Contains(strings.Join(out, "\n"), "Refused request") {
		t.Error("no quoted request reached the results or errors: the test proves nothing of them")
	}
	all := strings.Join(append(out, debug.String()), "\n")
	for _, s := range secrets {
		for _, v := range []string{s, strings.ToLower(s)} {
			if i := strings.Index(all, v); i >= 0 {
				t.Errorf("output holds secret %q: ...%s...", v, all[max(0, i-200):min(len(all), i+60)])
			}
		}
	}
}
