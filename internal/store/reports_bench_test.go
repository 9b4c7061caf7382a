package store

// Benchmarks of the report queries over a generated directory.
//
// By default they run over a small directory generated in a temporary folder (so that
// `go test -bench .` stays quick). With MFACTL_BENCH_REPORTS=1 they use the full-size
// directory of the reports target (docs/performance.md): 10,000,000 auth events, 1,000,000
// tokens, 250,000 users. Generating it takes a few minutes, so it is cached and reused:
// $TMPDIR/mfactl-bench/report.db (key file mfactl.key beside it); MFACTL_BENCH_REPORTS_DB
// names another path. Delete the file to regenerate it.
//
//	MFACTL_BENCH_REPORTS=1 go test ./internal/store -run '^$' -bench Report -benchtime 3x
//
// The same file serves the end-to-end figures measured with the mfactl binary.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchSpec sizes a generated directory.
type benchSpec struct {
	Events, Tokens, Users, Audit int
}

var (
	fullBench  = benchSpec{Events: 10_000_000, Tokens: 1_000_000, Users: 250_000, Audit: 100_000}
	smallBench = benchSpec{Events: 100_000, Tokens: 10_000, Users: 2_500, Audit: 1_000}
)

// benchEnd is the generated directory's "now": events span the year before it.
var benchEnd = time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC)

// metaBench marks a complete generated directory and records its size.
const metaBench = "bench_reports"

var benchDB struct {
	once sync.Once
	db   *DB
	err  error
}

// openBenchDB returns the directory to benchmark: the shared full-size one with
// MFACTL_BENCH_REPORTS=1 (generated on first use), else a small one of its own.
func openBenchDB(b *testing.B) *DB {
	b.Helper()
	if os.Getenv("MFACTL_BENCH_REPORTS") != "1" {
		d, err := cachedReportDB(context.Background(), filepath.Join(b.TempDir(), "report.db"), smallBench, b.Logf)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Close() })
		return d
	}
	benchDB.once.Do(func() {
		path := os.Getenv("MFACTL_BENCH_REPORTS_DB")
		if path == "" {
			path = filepath.Join(os.TempDir(), "mfactl-bench", "report.db")
		}
		benchDB.db, benchDB.err = cachedReportDB(context.Background(), path, fullBench, b.Logf)
	})
	if benchDB.err != nil {
		b.Fatal(benchDB.err)
	}
	return benchDB.db
}

// cachedReportDB opens the generated directory at path, generating it first when it is absent
// or was generated with another size. Generation writes path+".tmp" and renames it when
// complete, so an interrupted run never leaves a half-filled cache behind.
func cachedReportDB(ctx context.Context, path string, spec benchSpec, logf func(string, ...any)) (*DB, error) {
	keyFile := filepath.Join(filepath.Dir(path), DefaultKeyName)
	want := fmt.Sprintf("%+v", spec)
	if _, err := os.Stat(path); err == nil {
		d, err := Open(ctx, path, Options{KeyFile: keyFile, Now: func() time.Time { return benchEnd }})
		if err != nil {
			return nil, err
		}
		got, ok, err := d.getMeta(ctx, metaBench)
		if err == nil && ok && string(got) == want && allMigrationsApplied(ctx, d) {
			return d, nil
		}
		d.Close()
		logf("%s holds another directory or an older schema; regenerating", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	tmp := path + ".tmp"
	for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		os.Remove(f)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := generateReportDB(ctx, tmp, keyFile, spec); err != nil {
		return nil, fmt.Errorf("generating %s: %w", tmp, err)
	}
	for _, f := range []string{"", "-wal", "-shm"} {
		os.Remove(path + f)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	logf("generated %s (%s) in %s", path, want, time.Since(start).Round(time.Second))
	return Open(ctx, path, Options{KeyFile: keyFile, Now: func() time.Time { return benchEnd }})
}

// allMigrationsApplied reports whether every embedded migration was applied. The runner skips
// versions below the highest applied one, so a cache generated before a lower-numbered
// migration was added would silently lack it.
func allMigrationsApplied(ctx context.Context, d *DB) bool {
	ms, err := loadMigrations()
	if err != nil {
		return false
	}
	var n int
	if err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		return false
	}
	return n == len(ms)
}

// generateReportDB fills a new directory at path: the schema and key check through Open, then
// every row with multi-row INSERTs in ONE transaction on a connection without journal (a
// failed generation is thrown away, so a rollback journal would only cost time). The secondary
// indexes of auth_events are dropped during the load and rebuilt after it, which sorts each
// once instead of updating it at random positions ten million times.
func generateReportDB(ctx context.Context, path, keyFile string, spec benchSpec) error {
	d, err := Open(ctx, path, Options{KeyFile: keyFile, Now: func() time.Time { return benchEnd }})
	if err != nil {
		return err
	}
	if err := d.Close(); err != nil {
		return err
	}
	raw, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+
		"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)&_pragma=foreign_keys(0)")
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)

	var indexes []string
	rows, err := raw.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'auth_events' AND sql IS NOT NULL`)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return err
		}
		names, indexes = append(names, name), append(indexes, def)
	}
	rows.Close()
	for _, n := range names {
		if _, err := raw.ExecContext(ctx, `DROP INDEX `+n); err != nil {
			return err
		}
	}

	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	g := newBenchGen(spec)
	steps := []struct {
		table string
		cols  []string
		n     int
		row   func(i int, args []any) []any
	}{
		{"users", []string{"id", "upn", "upn_key", "display_name", "email", "phone", "state", "blocked_reason", "must_register", "created_at", "updated_at"}, spec.Users, g.user},
		{"tokens", []string{"id", "serial", "serial_key", "secret_enc", "secret_fp", "manufacturer", "model", "user_id", "status", "disabled_reason", "drift", "created_at", "updated_at", "activated_at", "last_used_at"}, spec.Tokens, g.token},
		{"auth_methods", []string{"id", "user_id", "name", "secret_enc", "secret_fp", "created_at", "updated_at"}, spec.Users / 5, g.authMethod},
		{"app_passwords", []string{"id", "user_id", "name", "hash", "created_at"}, spec.Users / 8, g.appPassword},
		{"auth_events", []string{"time", "upn", "first_name", "last_name", "email", "phone", "device_token", "mode", "result", "result_code", "reason", "server_name", "server_ip", "client_ip"}, spec.Events, g.event},
		{"audit_events", []string{"time", "actor", "host", "command", "target", "result", "detail"}, spec.Audit, g.audit},
	}
	for _, s := range steps {
		if err := bulkInsert(ctx, tx, s.table, s.cols, s.n, s.row); err != nil {
			return fmt.Errorf("%s: %w", s.table, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)`, metaBench, []byte(fmt.Sprintf("%+v", spec))); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	for _, def := range indexes {
		if _, err := raw.ExecContext(ctx, def); err != nil {
			return err
		}
	}
	// No ANALYZE: the queries must find their indexes without planner statistics, as in a
	// directory that mfactl itself maintains.
	_, err = raw.ExecContext(ctx, `PRAGMA journal_mode = WAL`)
	return err
}

// bulkInsert inserts n generated rows with prepared multi-row INSERTs.
func bulkInsert(ctx context.Context, tx *sql.Tx, table string, cols []string, n int, row func(int, []any) []any) error {
	batch := max(1, 4096/len(cols))
	tuple := "(" + placeholders(len(cols)) + ")"
	prepare := func(rows int) (*sql.Stmt, error) {
		return tx.PrepareContext(ctx, `INSERT INTO `+table+` (`+strings.Join(cols, ", ")+`) VALUES `+
			strings.TrimSuffix(strings.Repeat(tuple+", ", rows), ", "))
	}
	full, err := prepare(batch)
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, batch*len(cols))
	for i := 0; i < n; i++ {
		args = row(i, args)
		if len(args) == cap(args) {
			if _, err := full.ExecContext(ctx, args...); err != nil {
				return err
			}
			args = args[:0]
		}
	}
	if len(args) == 0 {
		return nil
	}
	last, err := prepare(len(args) / len(cols))
	if err != nil {
		return err
	}
	defer last.Close()
	_, err = last.ExecContext(ctx, args...)
	return err
}

// benchGen makes the rows of a generated directory, deterministically.
//
// Users: user%07d@contoso.com; 1% blocked, 2% must re-register. Tokens: 30% unassigned stock,
// the rest owned by the first 80% of users (at most 4 each; the other 20% of users have no
// hardware token), spread over three manufacturers and six models, half of all tokens
// activated with last use over the year (a tenth never used). Auth events: spread evenly over
// the year before benchEnd, 94% success, denials over six result codes.
type benchGen struct {
	spec   benchSpec
	rnd    *rand.Rand
	owners int
	secret []byte
}

func newBenchGen(spec benchSpec) *benchGen {
	return &benchGen{spec: spec, rnd: rand.New(rand.NewPCG(1, 2)), owners: spec.Users * 4 / 5, secret: make([]byte, 48)}
}

var (
	benchFirst = []string{"Helga", "Ana", "Kenji", "Omar", "Priya", "Lars", "Chloe", "Mateo", "Yuki", "Amara"}
	benchLast  = []string{"Lindqvist", "Silva", "Tanaka", "Haddad", "Raman", "Berg", "Martin", "Garcia", "Sato", "Okafor"}
	benchMakes = []struct{ make, model string }{
		{"Contoso", "HardwareKey"}, {"Contoso", "HardwareKey Mini"}, {"Fabrikam", "C200"},
		{"Fabrikam", "C300"}, {"Token2", "miniOTP-3"}, {"Token2", "molto-1"},
	}
	benchCodes = []struct {
		code, reason string
		permille     int
	}{
		{"FAILED_OATH_CODE_INCORRECT", "the code does not match", 30},
		{"FAILED_OATH_CODE_DUPLICATE", "the code was already used", 5},
		{"FAILED_OATH_CODE_OLD", "the code is older than the last one accepted", 5},
		{"FAILED_AUTHENTICATION_THROTTLED", "too many failed attempts", 5},
		{"FAILED_USER_BLOCKED", "the user is blocked", 10},
		{"FAILED_NO_METHOD", "the user has no activated OATH method", 5},
	}
)

func benchUPN(u int) string { return fmt.Sprintf("user%07d@contoso.com", u) }

func (g *benchGen) user(i int, args []any) []any {
	state, reason := "active", ""
	if i%100 == 7 {
		state, reason = "blocked", "left the company"
	}
	upn := benchUPN(i)
	return append(args, i+1, upn, upn, benchFirst[i%10]+" "+benchLast[i/10%10], upn,
		fmt.Sprintf("+1 425555%04d", i%10000), state, reason, boolInt(i%50 == 3),
		unix(benchEnd.AddDate(-2, 0, 0)), unix(benchEnd.AddDate(-2, 0, 0)))
}

func (g *benchGen) bytes(n int) []byte {
	for i := range g.secret[:n] {
		g.secret[i] = byte(g.rnd.Uint32())
	}
	return append([]byte(nil), g.secret[:n]...)
}

func (g *benchGen) token(i int, args []any) []any {
	serial := fmt.Sprintf("SN%08d", i)
	mk := benchMakes[i%len(benchMakes)]
	created := unix(benchEnd.AddDate(-1, -6, 0))
	var user, activated, used any
	status, reason := "available", ""
	if i%10 >= 3 { // 70% owned, cycling over the owners
		user = (i/10*7+i%10-3)%g.owners + 1
		switch r := i % 20; {
		case r < 10:
			status = "activated"
			activated = created + int64(i%300)*secondsPerDay
			if i%100 >= 10 { // a tenth of the activated tokens were never used
				used = unix(benchEnd) - int64(i%365)*secondsPerDay - int64(i%86400)
			}
		case r < 16:
			status = "assigned"
		case r < 18:
			status = "failed_activation"
		default:
			status, reason = "disabled", "locked after 10 failed attempts"
		}
	} else if i%50 == 0 {
		status, reason = "disabled", "reported lost"
	}
	return append(args, i+1, serial, strings.ToLower(serial), g.bytes(48), g.bytes(32), mk.make, mk.model,
		user, status, reason, 0, created, created, activated, used)
}

func (g *benchGen) authMethod(i int, args []any) []any {
	t := unix(benchEnd.AddDate(-1, 0, 0))
	// Spread over all users except the last fifth, which stays without any method.
	return append(args, fmt.Sprintf("am%07d", i), i*4%g.owners+1, "Authenticator", g.bytes(48), g.bytes(32), t, t)
}

func (g *benchGen) appPassword(i int, args []any) []any {
	return append(args, fmt.Sprintf("ap%07d", i), i*7%g.spec.Users+1, "mail client",
		"$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
		unix(benchEnd.AddDate(0, -3, 0)))
}

func (g *benchGen) event(i int, args []any) []any {
	span := int64(365 * secondsPerDay)
	t := unix(benchEnd) - span + int64(i)*span/int64(g.spec.Events)
	u := int(g.rnd.Uint32N(uint32(g.spec.Users)))
	upn := benchUPN(u)
	mode, device := "oath-hardware", fmt.Sprintf("SN%08d", u*10/7)
	switch g.rnd.Uint32N(10) {
	case 0:
		mode, device = "app-password", ""
	case 1:
		mode, device = "oath-app", fmt.Sprintf("am%07d", u)
	}
	result, code, reason := "success", "SUCCESS_OATH_CODE_VERIFIED", ""
	p := int(g.rnd.Uint32N(1000))
	for _, c := range benchCodes {
		if p < c.permille {
			result, code, reason = "denied", c.code, c.reason
			break
		}
		p -= c.permille
	}
	return append(args, t, upn, benchFirst[u%10], benchLast[u/10%10], upn, fmt.Sprintf("+1 425555%04d", u%10000),
		device, mode, result, code, reason, "mfa01.contoso.com", "10.0.0.5",
		fmt.Sprintf("203.0.113.%d", g.rnd.Uint32N(255)))
}

func (g *benchGen) audit(i int, args []any) []any {
	span := int64(365 * secondsPerDay)
	t := unix(benchEnd) - span + int64(i)*span/int64(max(1, g.spec.Audit))
	cmds := []string{"tokens import", "tokens assign", "tokens activate", "users reset", "users block"}
	return append(args, t, "helpdesk", "admin01", cmds[i%len(cmds)], fmt.Sprintf("SN%08d", i), "success", "")
}

// The benchmarks: each runs one report query to the end, as `mfactl report` does.

func benchWindow(days int) UsageFilter {
	return UsageFilter{Since: benchEnd.AddDate(0, 0, -days), Until: benchEnd}
}

func benchCounts(b *testing.B, f UsageFilter, by UsageDimension) {
	d := openBenchDB(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		groups, err := collect(d.UsageCounts(ctx, f, by))
		if err != nil || len(groups) == 0 {
			b.Fatalf("%d groups, %v", len(groups), err)
		}
	}
}

func BenchmarkReportUsageByDayAll(b *testing.B)    { benchCounts(b, UsageFilter{}, ByDay) }
func BenchmarkReportUsageByDay30d(b *testing.B)    { benchCounts(b, benchWindow(30), ByDay) }
func BenchmarkReportUsageByUserAll(b *testing.B)   { benchCounts(b, UsageFilter{}, ByUser) }
func BenchmarkReportUsageByUser30d(b *testing.B)   { benchCounts(b, benchWindow(30), ByUser) }
func BenchmarkReportUsageByModeAll(b *testing.B)   { benchCounts(b, UsageFilter{}, ByMode) }
func BenchmarkReportUsageByResultAll(b *testing.B) { benchCounts(b, UsageFilter{}, ByResultCode) }
func BenchmarkReportUsageReasonsAll(b *testing.B) {
	benchCounts(b, UsageFilter{Result: "denied"}, ByResultCode)
}
func BenchmarkReportUsageReasons30d(b *testing.B) {
	f := benchWindow(30)
	f.Result = "denied"
	benchCounts(b, f, ByResultCode)
}
func BenchmarkReportUsageOneUserAll(b *testing.B) {
	benchCounts(b, UsageFilter{UPNs: []string{benchUPN(42)}}, ByDay)
}
func BenchmarkReportUsageModeByDay30d(b *testing.B) {
	f := benchWindow(30)
	f.Mode = "app-password"
	benchCounts(b, f, ByDay)
}

func benchIter[T any](b *testing.B, seq func(d *DB) func(func(T, error) bool)) {
	d := openBenchDB(b)
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, err := range seq(d) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n == 0 {
			b.Fatal("no rows")
		}
		b.ReportMetric(float64(n), "rows/op")
	}
}

func BenchmarkReportUsageEvents1d(b *testing.B) {
	benchIter(b, func(d *DB) func(func(AuthEvent, error) bool) {
		return d.UsageEvents(context.Background(), benchWindow(1))
	})
}

func BenchmarkReportUsageEvents30d(b *testing.B) {
	benchIter(b, func(d *DB) func(func(AuthEvent, error) bool) {
		return d.UsageEvents(context.Background(), benchWindow(30))
	})
}

func BenchmarkReportUsageEventsAll(b *testing.B) {
	benchIter(b, func(d *DB) func(func(AuthEvent, error) bool) {
		return d.UsageEvents(context.Background(), UsageFilter{})
	})
}

func BenchmarkReportRegistration(b *testing.B) {
	benchIter(b, func(d *DB) func(func(User, error) bool) { return d.RegistrationUsers(context.Background()) })
}

func BenchmarkReportTokenInventory(b *testing.B) {
	d := openBenchDB(b)
	b.ResetTimer()
	for b.Loop() {
		rows, err := d.TokenInventory(context.Background())
		if err != nil || len(rows) != len(benchMakes) {
			b.Fatalf("%d rows, %v", len(rows), err)
		}
	}
}

func BenchmarkReportUnusedTokens90d(b *testing.B) {
	benchIter(b, func(d *DB) func(func(Token, error) bool) {
		return d.UnusedTokens(context.Background(), benchEnd.AddDate(0, 0, -90))
	})
}

func BenchmarkReportAuditAll(b *testing.B) {
	benchIter(b, func(d *DB) func(func(AuditEvent, error) bool) {
		return d.AuditEvents(context.Background(), AuditFilter{})
	})
}
