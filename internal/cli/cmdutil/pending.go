package cmdutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// PendingFile is an output file written whole to a temporary name beside its destination and
// renamed into place by Commit, so that a failed run leaves the previous file (or none), never
// half of one; a signal that stops mfactl removes the temporary file at once (OnInterrupt).
// Errors name neither file: the caller names the destination, the temporary name would only
// confuse.
type PendingFile struct {
	tmp, dest string
	f         *os.File // open while the file is written as a stream (CreatePending)
	done      bool
	forget    func()
}

// WritePending writes data to a new temporary file in dest's directory with the given mode,
// synced to disk.
func WritePending(dest string, data []byte, mode os.FileMode) (*PendingFile, error) {
	p, err := CreatePending(dest, mode)
	if err != nil {
		return nil, err
	}
	if _, err := p.Write(data); err != nil {
		p.Discard()
		return nil, err
	}
	if err := p.finish(); err != nil {
		p.Discard()
		return nil, err
	}
	return p, nil
}

// CreatePending creates the temporary file of dest with the given mode, to be written as a
// stream (Write) and then committed, synced to disk, or discarded.
func CreatePending(dest string, mode os.FileMode) (*PendingFile, error) {
	tf, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.tmp")
	if err != nil {
		return nil, BareErr(err)
	}
	name := tf.Name()
	p := &PendingFile{tmp: name, dest: dest, f: tf, forget: OnInterrupt(func() { os.Remove(name) })}
	if runtime.GOOS != "windows" {
		// CreateTemp makes it 0600; the caller says what it should be.
		if err := tf.Chmod(mode); err != nil {
			p.Discard()
			return nil, BareErr(err)
		}
	}
	return p, nil
}

// Write writes to the temporary file.
func (p *PendingFile) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	return n, BareErr(err)
}

// finish syncs and closes the temporary file once written.
func (p *PendingFile) finish() error {
	if p.f == nil {
		return nil
	}
	err := p.f.Sync()
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	p.f = nil
	return BareErr(err)
}

// Commit renames the temporary file to its destination.
func (p *PendingFile) Commit() error {
	if err := p.finish(); err != nil {
		return err
	}
	if err := os.Rename(p.tmp, p.dest); err != nil {
		return BareErr(err)
	}
	p.done = true
	p.forget()
	return nil
}

// Discard removes the temporary file unless it was committed; it may be deferred.
func (p *PendingFile) Discard() {
	if !p.done {
		if p.f != nil {
			p.f.Close()
			p.f = nil
		}
		os.Remove(p.tmp)
		p.forget()
	}
}

// BareErr strips the operation and path from a file-system error.
func BareErr(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}
