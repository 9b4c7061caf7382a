package graph_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/graph/graphfake"
	"github.com/mfactl/mfactl/internal/tokens"
)

// clock is the shared fake time of client and fake: the client's sleep seam records each
// wait and advances the clock instead of sleeping.
type clock struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.t = c.t.Add(d)
	return ctx.Err()
}

func (c *clock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	fake  *graphfake.Server
	c     *graph.Client
	clock *clock
	debug *syncBuffer
}

// newEnv starts a fake and a client on it; edit adjusts the client's options.
func newEnv(t *testing.T, edit func(*graph.Options)) *env {
	t.Helper()
	f := graphfake.New()
	t.Cleanup(f.Close)
	// The clock starts at a fixed time, so that every code of the tests is the same on every
	// run: a "wrong" code picked at the real time matched one of the 5,761 steps of the
	// activation window about once in 170 runs.
	clk := &clock{t: time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)}
	f.SetNow(clk.Now)
	e := &env{fake: f, clock: clk, debug: &syncBuffer{}}
	opts := graph.Options{
		BaseURL: f.URL, HTTPClient: f.Client(), Tokens: graph.StaticToken(graphfake.Token),
		Timeout: 5 * time.Second, Debug: e.debug,
		Now: clk.Now, Sleep: clk.Sleep, Rand: func() float64 { return 0.5 },
	}
	if edit != nil {
		edit(&opts)
	}
	e.c = graph.New(opts)
	return e
}

// Secrets of the tests (Base32 of distinct 20-byte seeds).
func secretFor(i int) string {
	seed := []byte(fmt.Sprintf("mfactl-graph-seed-%02d", i))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(seed[:20])
}

func device(i int) graph.Device {
	return graph.Device{
		SerialNumber: fmt.Sprintf("TOTP%06d", i), Manufacturer: "Contoso", Model: "Hardware Token 1000",
		SecretKey: graph.Secret(secretFor(i)), TimeIntervalInSeconds: 30, HashFunction: graph.HashSHA1,
	}
}

// code is the current TOTP of secret i at the clock's time.
func (e *env) code(t *testing.T, i int) string {
	t.Helper()
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secretFor(i))
	if err != nil {
		t.Fatal(err)
	}
	c, err := tokens.TOTP(seed, tokens.OTPParams{Hash: tokens.HashSHA1, Digits: 6}, tokens.Step(e.clock.Now(), 30))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode is a code that differs from the right one in every digit.
func wrongCode(right string) string {
	b := []byte(right)
	for i := range b {
		b[i] = '0' + (b[i]-'0'+5)%10
	}
	return string(b)
}

func (e *env) create(t *testing.T, i int) *graph.Device {
	t.Helper()
	d, err := e.c.CreateDevice(context.Background(), device(i))
	if err != nil {
		t.Fatalf("creating device %d: %v", i, err)
	}
	return d
}

func (e *env) status(t *testing.T, id string) graph.DeviceStatus {
	t.Helper()
	d, err := e.c.GetDevice(context.Background(), id)
	if err != nil {
		t.Fatalf("getting device: %v", err)
	}
	return d.Status
}

func graphErr(t *testing.T, err error) *graph.Error {
	t.Helper()
	ge, ok := err.(*graph.Error)
	if !ok {
		t.Fatalf("error %v (%T) is not a *graph.Error", err, err)
	}
	return ge
}
