package main

// Process-level concurrency on PostgreSQL: many real mfactl processes (the test binary, as in
// import_concurrent_test.go) on one directory kept in a PostgreSQL database, each test in a
// scratch database of its own, created on the admin URL MFACTL_TEST_PG (default: the local
// server, trust auth) and dropped at the end. An unreachable server skips these tests, except
// under CI=true, where it fails them (the rule of the store's suite).

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the admin and check connections
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/mfactl/mfactl/internal/store"
)

const defaultTestPG = "postgres://root@127.0.0.1:5432/test?sslmode=disable"

// pgDirectory is a directory in a scratch PostgreSQL database, with the folder of its key file.
type pgDirectory struct {
	url string // the scratch database
	dir string // HOME of the processes; holds the key file
	db  *sql.DB
}

// newPGDirectory creates a scratch database (none of mfactl's tables yet), dropped when the
// test ends.
func newPGDirectory(t *testing.T) *pgDirectory {
	t.Helper()
	admin := os.Getenv("MFACTL_TEST_PG")
	if admin == "" {
		admin = defaultTestPG
	}
	unavailable := func(err error) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s: %v", store.RedactURL(admin), err)
		}
		t.Skipf("PostgreSQL at %s unavailable: %v (set MFACTL_TEST_PG to an admin URL; CI=true makes this fail)", store.RedactURL(admin), err)
	}
	u, err := url.Parse(admin)
	if err != nil || u.Scheme == "" {
		t.Fatalf("MFACTL_TEST_PG %s: want a postgres:// URL", store.RedactURL(admin))
	}
	adb, err := sql.Open("pgx", admin)
	if err != nil {
		unavailable(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := adb.PingContext(ctx); err != nil {
		adb.Close()
		unavailable(err)
	}
	var b [4]byte
	rand.Read(b[:])
	name := fmt.Sprintf("mfactl_cmdtest_%d_%s", os.Getpid(), hex.EncodeToString(b[:]))
	if _, err := adb.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		adb.Close()
		t.Fatalf("creating scratch database: %v", err)
	}
	base := *u
	base.Path = "/" + name
	d := &pgDirectory{url: base.String(), dir: t.TempDir()}
	d.db, err = sql.Open("pgx", d.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.db.Close()
		if _, err := adb.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("dropping scratch database %s: %v", name, err)
		}
		adb.Close()
	})
	return d
}

// process is the command for an mfactl process on the directory, with the clock at now (unix
// seconds; 0: the real clock).
func (d *pgDirectory) process(t *testing.T, now int64, args ...string) *exec.Cmd {
	t.Helper()
	cmd := mfactlProcess(t, d.dir, args...)
	for i, kv := range cmd.Env {
		if strings.HasPrefix(kv, "MFACTL_DB=") {
			cmd.Env[i] = "MFACTL_DB=" + d.url
		}
	}
	cmd.Env = append(cmd.Env, "MFACTL_KEY_FILE="+filepath.Join(d.dir, "mfactl.key"))
	if now != 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("MFACTL_TEST_NOW=%d", now))
	}
	return cmd
}

// run runs an mfactl process that must succeed.
func (d *pgDirectory) run(t *testing.T, now int64, args ...string) string {
	t.Helper()
	out, err := d.process(t, now, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("mfactl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// count runs a query returning one number.
func (d *pgDirectory) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := d.db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// outcome is how one of several processes run at once ended.
type outcome struct {
	code   int
	stdout string
	stderr string
}

// together starts the commands at once, calls started (when not nil) and waits for all of
// them.
func together(t *testing.T, cmds []*exec.Cmd, started func()) []outcome {
	t.Helper()
	out := make([]outcome, len(cmds))
	outs := make([]bytes.Buffer, len(cmds))
	errs := make([]bytes.Buffer, len(cmds))
	for i, c := range cmds {
		c.Stdout, c.Stderr = &outs[i], &errs[i]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if started != nil {
		started()
	}
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Wait(); err != nil {
				out[i].code = -1
				if ee, ok := err.(*exec.ExitError); ok {
					out[i].code = ee.ExitCode()
				}
			}
		}()
	}
	wg.Wait()
	for i := range out {
		out[i].stdout, out[i].stderr = outs[i].String(), errs[i].String()
	}
	return out
}

// atOnce runs the commands so that they overlap as much as they can: the test holds the
// directory's writer lock (the advisory lock every read-write transaction of mfactl takes
// first) while it starts them, waits until each of them is waiting for it, then lets them go.
// So every process has read the directory before any of them writes, the race the lock and
// the conditional writes must win. The processes wait up to a minute for the lock (the
// lock_timeout of their URL), as starting 20 of them on a loaded machine takes a while.
func (d *pgDirectory) atOnce(t *testing.T, cmds []*exec.Cmd) []outcome {
	t.Helper()
	ctx := context.Background()
	conn, err := d.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7169633, hashtext(COALESCE(current_schema(), '')))`); err != nil {
		t.Fatal(err)
	}
	// A process that fails before waiting for the lock holds the others for the minute.
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			var waiting int
			if err := d.db.QueryRow(`SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&waiting); err != nil {
				break
			}
			if waiting == len(cmds) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for _, c := range cmds {
		for i, kv := range c.Env {
			if strings.HasPrefix(kv, "MFACTL_DB=") {
				c.Env[i] = kv + "&lock_timeout=60000"
			}
		}
	}
	return together(t, cmds, func() {
		<-done
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
			t.Error(err)
		}
	})
}

// The token of the verification tests and its codes (also in verify-replay.txtar).
const (
	pgT0        = 1767225600 // the activation
	pgSecret    = "KLZCMZNGBQJNFCIYLWKQ52EBGYERM33L"
	pgUPN       = "adele.vance@contoso.com"
	pgStockFile = "upn,serial number,secret key,time interval,manufacturer,model\n" +
		pgUPN + ",GALT2100400," + pgSecret + ",30,Gemalto,OTP c200\n"
)

func pgCode(t *testing.T, at int64) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(pgSecret, time.Unix(at, 0), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// activatedPGDirectory is a directory with adele's token, activated at pgT0.
func activatedPGDirectory(t *testing.T) *pgDirectory {
	t.Helper()
	d := newPGDirectory(t)
	stock := filepath.Join(d.dir, "stock.csv")
	if err := os.WriteFile(stock, []byte(pgStockFile), 0o600); err != nil {
		t.Fatal(err)
	}
	d.run(t, pgT0, "-q", "tokens", "import", stock)
	d.run(t, pgT0, "-q", "tokens", "activate", "GALT2100400", pgCode(t, pgT0))
	if n := d.count(t, `SELECT COUNT(*) FROM auth_events`); n != 1 {
		t.Fatalf("%d auth events after the activation, want 1", n)
	}
	return d
}

// TestPostgresConcurrentVerifySameCode runs 20 `auth verify` processes at once with the same
// valid code: exactly one succeeds, every other one is refused as a replay (duplicate, or
// older than the step just accepted), the replays do not lock the user, and every attempt is
// recorded.
func TestPostgresConcurrentVerifySameCode(t *testing.T) {
	const n = 20
	d := activatedPGDirectory(t)
	now := int64(pgT0 + 30)
	c := pgCode(t, now)
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmds[i] = d.process(t, now, "auth", "verify", pgUPN, c, "-o", "csv")
	}
	success, replays := 0, 0
	for i, o := range d.atOnce(t, cmds) {
		switch {
		case o.code == 0 && strings.Contains(o.stdout, ",success,SUCCESS_OATH_CODE_VERIFIED,"):
			success++
		case o.code == 1 && (strings.Contains(o.stdout, ",denied,FAILED_OATH_CODE_DUPLICATE,") ||
			strings.Contains(o.stdout, ",denied,FAILED_OATH_CODE_OLD,")):
			replays++
		default:
			t.Errorf("process %d: exit %d, want a success or a replay refused\nstdout:\n%s\nstderr:\n%s", i, o.code, o.stdout, o.stderr)
		}
	}
	if success != 1 || replays != n-1 {
		t.Errorf("%d successes and %d replays refused, want 1 and %d", success, replays, n-1)
	}
	if got := d.count(t, `SELECT locked FROM users WHERE upn_key = $1`, pgUPN); got != 0 {
		t.Errorf("the user is locked after %d replays: replays must not count as failures", n-1)
	}
	if got := d.count(t, `SELECT failed_attempts FROM users WHERE upn_key = $1`, pgUPN); got != 0 {
		t.Errorf("the user has %d failed attempts after replays, want 0", got)
	}
	if got := d.count(t, `SELECT COUNT(*) FROM auth_events WHERE time = $1`, now); got != n {
		t.Errorf("%d auth events of the verifications, want %d", got, n)
	}
	if got := d.count(t, `SELECT COUNT(*) FROM auth_events`); got != n+1 {
		t.Errorf("%d auth events, want %d (the activation and %d verifications)", got, n+1, n)
	}
	if got := d.count(t, `SELECT COUNT(*) FROM auth_events WHERE result = 'success' AND time = $1`, now); got != 1 {
		t.Errorf("%d successful verifications recorded, want 1", got)
	}
}

// TestPostgresConcurrentWrongCodesLock runs 14 `auth verify` processes at once with wrong
// codes: the failures are counted one by one across the processes, so the tenth locks the
// user's OATH methods and the four after it find them locked, and none of the 14 attempts is
// lost from the log.
func TestPostgresConcurrentWrongCodesLock(t *testing.T) {
	const n = 14
	d := activatedPGDirectory(t)
	now := int64(pgT0 + 30)
	// Codes that no step near now produces, so none can be accepted by the drift window.
	valid := map[string]bool{}
	for s := int64(-20); s <= 20; s++ {
		valid[pgCode(t, now+30*s)] = true
	}
	var wrong []string
	for i := 0; len(wrong) < n; i++ {
		if c := fmt.Sprintf("%06d", 100000+i*7919); !valid[c] {
			wrong = append(wrong, c)
		}
	}
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmds[i] = d.process(t, now, "auth", "verify", pgUPN, wrong[i], "-o", "csv")
	}
	incorrect, throttled, locking := 0, 0, 0
	for i, o := range d.atOnce(t, cmds) {
		switch {
		case o.code == 1 && strings.Contains(o.stdout, ",denied,FAILED_OATH_CODE_INCORRECT,"):
			incorrect++
			if strings.Contains(o.stdout, "(10 of 10 consecutive failures); OATH methods locked") {
				locking++
			}
		case o.code == 1 && strings.Contains(o.stdout, ",denied,FAILED_AUTHENTICATION_THROTTLED,"):
			throttled++
		default:
			t.Errorf("process %d: exit %d, want a denial\nstdout:\n%s\nstderr:\n%s", i, o.code, o.stdout, o.stderr)
		}
	}
	if incorrect != 10 || throttled != n-10 || locking != 1 {
		t.Errorf("%d incorrect (%d locking), %d throttled; want 10 incorrect of which 1 locks, then %d throttled",
			incorrect, locking, throttled, n-10)
	}
	if got := d.count(t, `SELECT locked FROM users WHERE upn_key = $1`, pgUPN); got != 1 {
		t.Error("the user is not locked after 14 wrong codes")
	}
	if got := d.count(t, `SELECT COUNT(*) FROM auth_events WHERE time = $1 AND result = 'denied'`, now); got != n {
		t.Errorf("%d denied auth events, want %d", got, n)
	}
	if got := d.count(t, `SELECT COUNT(*) FROM auth_events`); got != n+1 {
		t.Errorf("%d auth events, want %d (the activation and %d verifications)", got, n+1, n)
	}
	// Locked: even the right code is refused now.
	out, err := d.process(t, now+30, "auth", "verify", pgUPN, pgCode(t, now+30), "-o", "csv").Output()
	if err == nil || !strings.Contains(string(out), ",FAILED_AUTHENTICATION_THROTTLED,") {
		t.Errorf("the right code after the lockout: %v\n%s\nwant FAILED_AUTHENTICATION_THROTTLED", err, out)
	}
}

// TestPostgresConcurrentFirstRuns starts two imports of different files at once on an empty
// database, several times: both create the directory, both succeed, the schema is migrated
// once (each migration recorded once) and both imports used the same master key.
func TestPostgresConcurrentFirstRuns(t *testing.T) {
	for round := range 3 {
		d := newPGDirectory(t)
		a, b := filepath.Join(d.dir, "a.csv"), filepath.Join(d.dir, "b.csv")
		generateCSV(t, a, 500, int64(10+round), "")
		generateCSV(t, b, 500, int64(20+round), "B")
		res := together(t, []*exec.Cmd{
			d.process(t, 0, "-q", "tokens", "import", a),
			d.process(t, 0, "-q", "tokens", "import", b),
			d.process(t, 0, "-q", "users", "add", "first@contoso.com"),
		}, nil)
		for i, o := range res {
			if o.code != 0 {
				t.Errorf("round %d, process %d: exit %d, want 0\nstderr:\n%s", round, i, o.code, o.stderr)
			}
		}
		if t.Failed() {
			return
		}
		if got, distinct := d.count(t, `SELECT COUNT(*) FROM schema_migrations`), d.count(t, `SELECT COUNT(DISTINCT version) FROM schema_migrations`); got != distinct || got != pgMigrations(t) {
			t.Errorf("round %d: %d migrations recorded (%d distinct), want %d", round, got, distinct, pgMigrations(t))
		}
		if got := d.count(t, `SELECT COUNT(*) FROM tokens`); got != 1000 {
			t.Errorf("round %d: %d tokens, want 1000", round, got)
		}
		if got := d.count(t, `SELECT COUNT(*) FROM meta WHERE key = 'key_check'`); got != 1 {
			t.Errorf("round %d: %d key check values, want 1", round, got)
		}
		// One key for both: the directory opens with the key file, and a secret of each file
		// opens with it.
		db, err := store.OpenPostgres(context.Background(), d.url, store.Options{Mode: store.ModeExisting, KeyFile: filepath.Join(d.dir, "mfactl.key")})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, serial := range []string{firstSerial(t, a), firstSerial(t, b)} {
			if _, err := db.TokenSecret(context.Background(), serial); err != nil {
				t.Errorf("round %d: token %s: %v", round, serial, err)
			}
		}
		db.Close()
	}
}

// firstSerial is the serial number of the first row of a generated file.
func firstSerial(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(data), "\n", 3)
	f := strings.Split(lines[1], ",")
	return f[1]
}

// pgCrashRows is the size of the file killed mid-import on PostgreSQL.
const pgCrashRows = 200_000

// TestPostgresImportKill9LeavesAllOrNothing kills `tokens import` with SIGKILL while it writes
// a 200,000-row file into PostgreSQL, at several points (the tokens table's size on disk
// grows as the uncommitted rows are written), and checks that the directory then holds none
// or all of the file, users and tokens together, and that a run after the crashes imports
// all of it.
func TestPostgresImportKill9LeavesAllOrNothing(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL semantics are tested on unix")
	}
	if testing.Short() {
		t.Skip("a 200,000-row import (-short)")
	}
	d := newPGDirectory(t)
	file := filepath.Join(d.dir, "tokens.csv")
	generateCSV(t, file, pgCrashRows, 9, "")
	d.run(t, 0, "-q", "users", "add", "first@contoso.com") // the schema, to watch the table
	tableSize := func() int64 {
		var n int64
		if err := d.db.QueryRow(`SELECT pg_relation_size('tokens')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i, grown := range []int64{1 << 20, 8 << 20, 24 << 20} {
		base := tableSize()
		cmd := d.process(t, 0, "-q", "tokens", "import", file)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		finished := false
		deadline := time.After(3 * time.Minute)
	wait:
		for {
			select {
			case err := <-exited:
				t.Logf("kill %d: the import finished before the table grew by %d bytes (%v) %s", i, grown, err, &stderr)
				finished = true
				break wait
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("kill %d: the import did not write %d bytes in 3 minutes", i, grown)
			case <-time.After(5 * time.Millisecond):
			}
			if tableSize()-base >= grown {
				break wait
			}
		}
		if !finished {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-exited
		}
		// The server rolls the transaction back once it sees the connection gone; until
		// then the rows are invisible to others anyway.
		n := d.count(t, `SELECT COUNT(*) FROM tokens`)
		users := d.count(t, `SELECT COUNT(*) FROM users`) - 1
		t.Logf("killed once the table grew by %d bytes: %d tokens, %d users", grown, n, users)
		if n != 0 && n != pgCrashRows {
			t.Fatalf("kill %d: the directory holds %d tokens, want 0 or %d", i, n, pgCrashRows)
		}
		if i == 0 && n != 0 {
			t.Fatalf("kill %d, long before the commit, left %d tokens, want 0", i, n)
		}
		if (n == 0) != (users == 0) {
			t.Fatalf("kill %d: %d tokens but %d users: users and tokens must commit together", i, n, users)
		}
		if n == pgCrashRows {
			break
		}
	}
	d.run(t, 0, "-q", "tokens", "import", file)
	if n := d.count(t, `SELECT COUNT(*) FROM tokens`); n != pgCrashRows {
		t.Fatalf("after a complete import: %d tokens, want %d", n, pgCrashRows)
	}
	if n := d.count(t, `SELECT COUNT(DISTINCT serial_key) FROM tokens`); n != pgCrashRows {
		t.Fatalf("after a complete import: %d distinct serials, want %d", n, pgCrashRows)
	}
}

// pgMigrations is the number of PostgreSQL migrations this mfactl applies to a new directory.
func pgMigrations(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "internal", "store", "migrations", "postgres", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("the PostgreSQL migrations: %v (%d files)", err, len(files))
	}
	return len(files)
}
