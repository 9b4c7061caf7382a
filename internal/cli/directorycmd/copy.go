package directorycmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
	"github.com/mfactl/mfactl/internal/cli/render"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/store"
)

type copyOptions struct {
	f                  *cmdutil.Factory
	format             string
	from, to           string
	fromKey, toKey     string
	force              bool
	fromLoc, toLoc     store.Location
	cmd                *cobra.Command
	targetCreatedPaths []string // files of a new SQLite target, removed when the copy fails
}

// copyView is `directory copy` in JSON.
type copyView struct {
	Source       string          `json:"source"`
	Target       string          `json:"target"`
	Tables       []copyTableView `json:"tables"`
	Secrets      string          `json:"secrets"`   // "as_stored" or "resealed"
	KeyCheck     string          `json:"key_check"` // kept, copied, set or none
	SourceDigest string          `json:"source_digest"`
	TargetDigest string          `json:"target_digest"`
	Verified     bool            `json:"verified"`
}

type copyTableView struct {
	Table  string `json:"table"`
	Source int64  `json:"source"`
	Target int64  `json:"target"`
}

func newCopyCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &copyOptions{f: f}
	cmd := &cobra.Command{
		Use:   "copy --from LOCATION --to LOCATION",
		Short: "Copy a whole directory to another backend",
		Long: `Copy a whole directory, secrets included, from one location to another: a SQLite file to a
PostgreSQL database when a team outgrows one machine, and back, or between two files or two
databases. A location is what --db takes: a file path or a postgres:// URL (or libpq keyword
string). Copying to or from Microsoft Entra ID is not supported.

Every row of every table is copied with its id, so references stay valid, and PostgreSQL's id
sequences continue after the copied ids. The copy is one transaction on the target: an error or
Ctrl-C leaves the target as it was. The target must hold no data (a new file or database, or one
just created) unless --force, which replaces its content. The source is only read.

Secrets: when both directories use the same master key (or the target is new and no key file is
given for it), the sealed secrets are copied as they are and a new target takes the source's key:
put that key file on every host that uses the target. When the target has another key, or
--to-key-file names another key for a new target, every secret is decrypted with the source's
key and sealed again under the target's, which needs both --from-key-file and --to-key-file;
without them the copy is refused before anything is written.

Before it commits, the copy checks the target against the source: the row count of every table
and a SHA-256 digest over every row in id order (secrets as stored, or as digests of their
plaintext when re-sealed). It prints both and fails (exit 1, nothing written) when they differ.
The target's audit log records the copy.`,
		Example: `  $ mfactl directory copy --from ~/.local/share/mfactl/mfactl.db --to postgres://mfactl@db.contoso.com/mfa
  $ mfactl directory copy --from postgres://mfactl@db.contoso.com/mfa --to laptop.db
  $ mfactl directory copy --from old.db --to postgres://mfactl@db/mfa --from-key-file old.key --to-key-file team.key --force`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.format, err = f.OutputFormat(cmd, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
				return err
			}
			opts.cmd = cmd
			return copyRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.from, "from", "", "`location` of the directory to copy: a file path or a postgres:// URL")
	fl.StringVar(&opts.to, "to", "", "`location` to copy it to: a file path or a postgres:// URL")
	fl.BoolVar(&opts.force, "force", false, "replace the content of a target that is not empty")
	fl.StringVar(&opts.fromKey, "from-key-file", "", "master key `path` of the source (needed to re-seal secrets)")
	fl.StringVar(&opts.toKey, "to-key-file", "", "master key `path` of the target (needed to re-seal secrets)")
	return cmd
}

// parseLocation reads --from or --to as --db is read.
func parseLocation(flag, value string) (store.Location, error) {
	if value == "" {
		return store.Location{}, cmdutil.Usagef("%s is required: a file path or a postgres:// URL", flag)
	}
	loc, err := store.ParseLocation(value)
	if err != nil {
		return loc, cmdutil.Usagef("%s: %w", flag, err)
	}
	if loc.Kind == store.KindEntra {
		return loc, cmdutil.Usagef("%s %s: copying to or from Microsoft Entra ID is not supported", flag, loc)
	}
	return loc, nil
}

// sameLocation tells whether two locations name the same directory, as far as can be told
// without opening them.
func sameLocation(a, b store.Location) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == store.KindSQLite {
		pa, errA := filepath.Abs(a.Path)
		pb, errB := filepath.Abs(b.Path)
		if errA != nil || errB != nil {
			return a.Path == b.Path
		}
		if pa == pb {
			return true
		}
		sa, errA := os.Stat(pa)
		sb, errB := os.Stat(pb)
		return errA == nil && errB == nil && os.SameFile(sa, sb)
	}
	return a.URL == b.URL
}

func (o *copyOptions) open(ctx context.Context, loc store.Location, mode store.Mode) (*store.DB, error) {
	opts := store.Options{Mode: mode, NoKey: true, Now: o.f.Now, BusyTimeout: o.f.BusyTimeout}
	if loc.Kind == store.KindPostgres {
		return store.OpenPostgres(ctx, loc.URL, opts)
	}
	return store.Open(ctx, loc.Path, opts)
}

func copyRun(ctx context.Context, o *copyOptions) (err error) {
	f := o.f
	if o.fromLoc, err = parseLocation("--from", o.from); err != nil {
		return err
	}
	if o.toLoc, err = parseLocation("--to", o.to); err != nil {
		return err
	}
	if sameLocation(o.fromLoc, o.toLoc) {
		return cmdutil.Usagef("--from and --to name the same directory (%s)", o.fromLoc)
	}
	src, err := o.open(ctx, o.fromLoc, store.ModeReadOnly)
	if err != nil {
		return withOpenHint(fmt.Errorf("opening the source: %w", err), "--from")
	}
	defer src.Close()

	dst, err := o.open(ctx, o.toLoc, store.ModeExisting)
	created := false
	if errors.Is(err, store.ErrNoDirectory) {
		dst, err = o.open(ctx, o.toLoc, store.ModeCreate)
		created = err == nil
	}
	if err != nil {
		return withOpenHint(fmt.Errorf("opening the target: %w", err), "--to")
	}
	closed := false
	defer func() {
		if !closed {
			dst.Close()
		}
	}()
	if created && o.toLoc.Kind == store.KindSQLite {
		// A copy that does not happen leaves no new file behind: the target is as it was.
		defer func() {
			if err != nil {
				dst.Close()
				closed = true
				for _, suffix := range []string{"", "-wal", "-shm"} {
					os.Remove(o.toLoc.Path + suffix)
				}
			}
		}()
	}

	host := cmdutil.Host()
	res, err := store.Copy(ctx, src, dst, store.CopyOptions{
		SourceKeyFile: o.fromKey,
		TargetKeyFile: o.toKey,
		Force:         o.force,
		Audit: &directory.AuditEvent{Time: f.Now(), Actor: cmdutil.Actor(), Host: host.Name,
			Command: cmdutil.CommandName(o.cmd), Target: o.fromLoc.String(), Result: "success"},
	})
	if err != nil {
		return o.copyError(err, res)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("copying %s to %s: closing the target: %w", o.fromLoc, o.toLoc, err)
	}
	closed = true
	if !f.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "mfactl: copied %s to %s; counts and digest verified\n", o.fromLoc, o.toLoc)
		if res.KeyCheck == "copied" {
			fmt.Fprintf(f.IO.ErrOut, "mfactl: the target uses the source's master key: put that key file on every host that uses %s\n", o.toLoc)
		}
	}
	return o.render(res)
}

func (o *copyOptions) view(res *store.CopyResult) copyView {
	v := copyView{Source: o.fromLoc.String(), Target: o.toLoc.String(), Tables: []copyTableView{},
		Secrets: "as_stored", KeyCheck: res.KeyCheck, SourceDigest: res.SourceDigest, TargetDigest: res.TargetDigest,
		Verified: res.SourceDigest == res.TargetDigest}
	if res.Secrets == store.SecretsResealed {
		v.Secrets = "resealed"
	}
	for _, t := range res.Tables {
		v.Tables = append(v.Tables, copyTableView{Table: t.Table, Source: t.Source, Target: t.Target})
		if t.Source != t.Target {
			v.Verified = false
		}
	}
	return v
}

func (o *copyOptions) render(res *store.CopyResult) error {
	v := o.view(res)
	header := []string{"table", "source", "target"}
	rows := make([][]string, 0, len(v.Tables))
	for _, t := range v.Tables {
		rows = append(rows, []string{t.Table, itoa(t.Source), itoa(t.Target)})
	}
	out := o.f.IO.Out
	if o.format != cmdutil.FormatTable {
		return render.Rows(out, o.format, v, header, rows)
	}
	if err := render.Table(out, header, rows); err != nil {
		return err
	}
	fmt.Fprintln(out)
	return render.KeyValues(out, [][2]string{
		{"source", v.Source},
		{"target", v.Target},
		{"secrets", res.Secrets},
		{"key check", res.KeyCheck},
		{"digest", "sha256:" + v.TargetDigest},
		{"verified", "yes: counts and digest equal on both sides"},
	})
}

// copyError words a failed copy and adds the hint that fits it.
func (o *copyOptions) copyError(err error, res *store.CopyResult) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	err = fmt.Errorf("copying %s to %s: %w", o.fromLoc, o.toLoc, err)
	var keyErr *store.KeyError
	switch {
	case errors.Is(err, store.ErrNotEmpty):
		return cmdutil.WithHint(err, "pass --force to replace its content (in one transaction), or copy to a new file or database")
	case errors.As(err, &keyErr):
		return cmdutil.WithHint(err, "--from-key-file and --to-key-file name the key files of --from and --to")
	case errors.Is(err, store.ErrKeyMismatch):
		return cmdutil.WithHint(err, "pass the source's key with --from-key-file and the target's with --to-key-file")
	case errors.Is(err, store.ErrDigestMismatch):
		if res != nil && o.format == cmdutil.FormatJSON {
			// The checked counts and digests, for a program to see which side is which.
			_ = render.JSON(o.f.IO.Out, o.view(res))
		}
		return fmt.Errorf("%w; nothing was written", err)
	}
	return err
}

// withOpenHint adds the hint for a location that could not be opened.
func withOpenHint(err error, flag string) error {
	switch {
	case errors.Is(err, store.ErrNoDirectory):
		return cmdutil.WithHint(err, flag+" names a directory that does not exist")
	case errors.Is(err, store.ErrNotDirectory):
		return cmdutil.WithHint(err, "mfactl copies only to and from mfactl directories, and never writes to a file it did not create")
	}
	return err
}
