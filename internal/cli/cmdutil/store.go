package cmdutil

import (
	"context"
	"errors"
	"fmt"

	"github.com/mfactl/mfactl/internal/store"
)

// DBPath is the database the command works on: --db, else MFACTL_DB, else the default in the
// user's data directory (empty: the store picks it).
func (f *Factory) dbPath() string {
	if f.DBPath != "" {
		return f.DBPath
	}
	return f.Getenv("MFACTL_DB")
}

func (f *Factory) keyPath() string {
	if f.KeyFile != "" {
		return f.KeyFile
	}
	return f.Getenv("MFACTL_KEY_FILE")
}

// Store opens the directory database on first use; later calls return the same handle.
// The root command closes it when the command ends.
func (f *Factory) Store(ctx context.Context) (*store.DB, error) {
	if f.db != nil {
		return f.db, nil
	}
	db, err := store.Open(ctx, f.dbPath(), store.Options{KeyFile: f.keyPath(), Now: f.Now})
	if err != nil {
		var keyErr *store.KeyError
		if errors.As(err, &keyErr) {
			if errors.Is(err, store.ErrKeyMissing) {
				return nil, WithHint(err, "pass the key file the directory was created with: --key-file PATH or MFACTL_KEY_FILE")
			}
			return nil, WithHint(err, "the key file belongs to another directory; pass the right one with --key-file or MFACTL_KEY_FILE")
		}
		return nil, fmt.Errorf("opening the directory: %w", err)
	}
	if db.KeyCreated() && !f.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "mfactl: created master key %s (mode 0600); back it up: without it the token secrets cannot be read\n", db.KeyPath())
	}
	f.db = db
	return db, nil
}

// Close releases what the factory opened.
func (f *Factory) Close() error {
	if f.db == nil {
		return nil
	}
	err := f.db.Close()
	f.db = nil
	return err
}
