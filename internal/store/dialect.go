package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// dialect is the SQL engine behind a *DB. The store's SQL is written once, for SQLite, in the
// portable subset the migrations describe; the few statements that have no common form ask
// the dialect (see the dialect* methods below and postgres.go).
type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

func (d dialect) String() string {
	if d == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// asciiUpper and asciiLower fold letters the way SQLite's NOCASE does: ASCII only.
const (
	asciiUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	asciiLower = "abcdefghijklmnopqrstuvwxyz"
)

// eqNoCase is the condition "column equals one parameter, ignoring ASCII letter case".
// PostgreSQL has no NOCASE collation and its lower() folds beyond ASCII under most locales, so
// it spells SQLite's folding out with translate().
func (d dialect) eqNoCase(column string) string {
	if d == dialectPostgres {
		f := `translate(%s, '` + asciiUpper + `', '` + asciiLower + `')`
		return fmt.Sprintf(f, column) + ` = ` + fmt.Sprintf(f, `?`)
	}
	return column + ` = ? COLLATE NOCASE`
}

// rebind rewrites the `?` placeholders of query to PostgreSQL's $1, $2, ... It leaves string
// literals, quoted identifiers and comments alone. The result of each distinct query is cached
// (most are constants; the generated IN lists and multi-row INSERTs come in a few sizes), up
// to rebindCacheMax entries so that an unusual stream of distinct queries cannot grow it
// without bound.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	if v, ok := rebindCache.Load(query); ok {
		return v.(string)
	}
	out := rebindScan(query)
	if rebindCacheLen.Add(1) <= rebindCacheMax {
		rebindCache.Store(query, out)
	}
	return out
}

const rebindCacheMax = 4096

var (
	rebindCache    sync.Map
	rebindCacheLen atomic.Int64
)

func rebindScan(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote inside the literal
						j += 2
						continue
					}
					break
				}
				j++
			}
			b.WriteString(q[i:min(j+1, len(q))])
			i = j
			continue
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i - 1
			}
			b.WriteString(q[i : i+j+1])
			i += j
			continue
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// pgConnector opens pgx connections wrapped in pgConn.
type pgConnector struct {
	inner driver.Connector
}

func (c *pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	ci, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := ci.(*stdlib.Conn)
	if !ok {
		ci.Close()
		return nil, fmt.Errorf("unexpected pgx driver connection %T", ci)
	}
	return &pgConn{Conn: sc}, nil
}

func (c *pgConnector) Driver() driver.Driver { return c.inner.Driver() }

// pgConn is a pgx database/sql connection that speaks the store's SQL:
//   - `?` placeholders become $n (rebind), so the statements stay the same for both engines;
//   - Go bools are sent as 0/1, the schema's flags (BIGINT on PostgreSQL, as in SQLite);
//   - a read-write transaction starts by taking the directory's writer lock (see
//     writerLockSQL), which is what SQLite's BEGIN IMMEDIATE gives: one writer at a time, and
//     a writer that waits longer than the busy timeout (lock_timeout) fails with ErrBusy.
type pgConn struct {
	*stdlib.Conn
}

var (
	_ driver.ConnBeginTx        = (*pgConn)(nil)
	_ driver.ConnPrepareContext = (*pgConn)(nil)
	_ driver.ExecerContext      = (*pgConn)(nil)
	_ driver.QueryerContext     = (*pgConn)(nil)
	_ driver.NamedValueChecker  = (*pgConn)(nil)
	_ driver.SessionResetter    = (*pgConn)(nil)
	_ driver.Pinger             = (*pgConn)(nil)
	_ driver.Connector          = (*pgConnector)(nil)
)

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(rebind(query))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		nv.Value = int64(boolInt(b))
		return nil
	}
	return c.Conn.CheckNamedValue(nv)
}

func (c *pgConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.ReadOnly || sql.IsolationLevel(opts.Isolation) != sql.LevelDefault {
		tx, err := c.Conn.BeginTx(ctx, opts)
		if err != nil || opts.ReadOnly {
			return tx, err
		}
		if _, err := c.Conn.ExecContext(ctx, writerLockSQL, nil); err != nil {
			tx.Rollback()
			return nil, err
		}
		return tx, nil
	}
	// BEGIN and the writer lock in one round trip (a multi-statement simple query): every
	// write transaction, `auth verify` above all, spends most of its time waiting for the
	// server, one statement after another.
	tx, err := c.Conn.Conn().BeginTx(ctx, pgx.TxOptions{BeginQuery: "BEGIN; " + writerLockSQL})
	if err != nil {
		// The lock failed inside the transaction BEGIN opened: end it, or drop the connection.
		if !c.Conn.Conn().IsClosed() {
			if _, rerr := c.Conn.Conn().Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				c.Conn.Close()
			}
		}
		return nil, err
	}
	return pgTx{ctx: ctx, tx: tx}, nil
}

// pgTx is the driver.Tx of a transaction begun by pgConn.BeginTx (as pgx's stdlib wraps its own).
type pgTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t pgTx) Commit() error   { return t.tx.Commit(t.ctx) }
func (t pgTx) Rollback() error { return t.tx.Rollback(t.ctx) }

// readMigrations reads the numbered migrations (NNNN_name.sql) of dir in fsys, in order.
func readMigrations(fsys fs.ReadDirFS, dir string) ([]migration, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || path.Ext(name) != ".sql" {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", name)
		}
		text, err := fs.ReadFile(fsys, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(text)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("two migrations numbered %d", ms[i].version)
		}
	}
	if len(ms) == 0 {
		return nil, errors.New("no migrations")
	}
	return ms, nil
}
