// Package secrets protects token secrets at rest: it loads or creates the master key file and
// seals secrets with AES-256-GCM, binding each ciphertext to its token serial so that a value
// copied onto another row does not decrypt. It also derives keyed fingerprints so that callers
// can compare secrets (identical rows, a secret reused on another serial) without decrypting
// them and without storing anything an attacker could test guesses against.
package secrets

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeySize is the length in bytes of the master key (AES-256).
const KeySize = 32

// Errors returned by LoadOrCreateKey; test for them with errors.Is.
var (
	// ErrKeyNotFound: the key file does not exist and creating it was not allowed.
	ErrKeyNotFound = errors.New("key file not found")
	// ErrKeyInvalid: the key file exists but does not hold a key in mfactl's format.
	ErrKeyInvalid = errors.New("key file is not a valid mfactl key")
	// ErrKeyInsecure: the key file can be read by group or others.
	ErrKeyInsecure = errors.New("key file is readable by group or others")
)

// KeyFileError describes a problem with a key file. It names the file and never its content.
type KeyFileError struct {
	Path string
	Mode fs.FileMode // set for ErrKeyInsecure
	Err  error       // one of the Err* values above, or an I/O error
}

func (e *KeyFileError) Error() string {
	switch {
	case errors.Is(e.Err, ErrKeyNotFound):
		return fmt.Sprintf("key file %s not found", e.Path)
	case errors.Is(e.Err, ErrKeyInvalid):
		return fmt.Sprintf("key file %s is not a valid mfactl key (want %d hex characters)", e.Path, 2*KeySize)
	case errors.Is(e.Err, ErrKeyInsecure):
		return fmt.Sprintf("key file %s is readable by group or others (mode %04o); run: chmod 600 %s", e.Path, e.Mode.Perm(), e.Path)
	default:
		return fmt.Sprintf("key file %s: %v", e.Path, e.Err)
	}
}

func (e *KeyFileError) Unwrap() error { return e.Err }

// LoadOrCreateKey reads the master key from path. When the file does not exist and allowCreate
// is true, it creates the parent directory (0700) and a new random key in a file of mode 0600;
// created reports that. The file holds the key as hex on one line. It appears whole and never
// replaces another (see writeKey), so two processes racing to create it share the one that won.
//
// On Unix an existing key file that group or others may read is refused (ErrKeyInsecure), as
// ssh does with private keys: a leaked master key exposes every secret in the database.
func LoadOrCreateKey(path string, allowCreate bool) (key []byte, created bool, err error) {
	key, err = readKey(path)
	if err == nil || !errors.Is(err, ErrKeyNotFound) || !allowCreate {
		return key, false, err
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, &KeyFileError{Path: path, Err: fmt.Errorf("generating key: %w", err)}
	}
	if err := writeKey(path, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: use theirs.
			key, err = readKey(path)
			return key, false, err
		}
		return nil, false, &KeyFileError{Path: path, Err: err}
	}
	return key, true, nil
}

func readKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &KeyFileError{Path: path, Err: ErrKeyNotFound}
		}
		return nil, &KeyFileError{Path: path, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &KeyFileError{Path: path, Err: err}
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, &KeyFileError{Path: path, Mode: st.Mode(), Err: ErrKeyInsecure}
	}
	// A key file is 65 bytes; read a little more so that a wrong file is recognised without
	// reading all of it.
	buf := make([]byte, 4*KeySize)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, &KeyFileError{Path: path, Err: err}
	}
	text := strings.TrimSpace(string(buf[:n]))
	key, err := hex.DecodeString(text)
	if err != nil || len(key) != KeySize {
		return nil, &KeyFileError{Path: path, Err: ErrKeyInvalid}
	}
	return key, nil
}

// writeKey creates the key file at path, failing with fs.ErrExist when one exists. The key is
// written and synced to a temporary file beside it, which is then hard-linked to path: a link
// never replaces an existing file, and a process that finds path finds the whole key (creating
// path with O_EXCL and writing it afterwards let a concurrent reader see an empty file). Where
// the file system has no hard links, the file is created with O_EXCL and written in place.
func writeKey(path string, key []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// os.CreateTemp creates the file with mode 0600.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fillKeyFile(tmp, key); err != nil {
		return err
	}
	err = os.Link(tmp.Name(), path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := fillKeyFile(f, key); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// fillKeyFile writes the key as hex on one line, syncs and closes f.
func fillKeyFile(f *os.File, key []byte) error {
	var err error
	// Mode 0600 is subject to the umask only in the restrictive direction, but be explicit in
	// case the file system ignores the creation mode.
	if runtime.GOOS != "windows" {
		err = f.Chmod(0o600)
	}
	if err == nil {
		_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
