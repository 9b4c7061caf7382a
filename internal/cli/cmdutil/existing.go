package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mfactl/mfactl/internal/store"
)

// ExistingStore is Store for the commands that work on a directory that must already exist
// (verify, activate, assign, show, delete, the user commands other than add, import and list):
// when the database file is missing, which is what a mistyped --db looks like, it fails with
// "no directory database at PATH" instead of creating an empty directory and a master key and
// then answering "user not found".
func (f *Factory) ExistingStore(ctx context.Context) (*store.DB, error) {
	if f.db != nil {
		return f.db, nil
	}
	path := f.dbPath()
	if path == "" {
		var err error
		if path, err = store.DefaultPath(); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, WithHint(fmt.Errorf("no directory database at %s", path),
				"pass the directory's database with --db or MFACTL_DB; 'mfactl tokens import' or 'mfactl users add' creates one")
		}
		return nil, fmt.Errorf("opening the directory: %w", err)
	}
	return f.Store(ctx)
}
