package tokencmd

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mfactl/mfactl/internal/cli/cmdutil"
)

// spillChunk is how much plaintext is sealed at a time in a spillFile.
const spillChunk = 64 << 10

// spillFile holds data that has outgrown memory until the run knows what to do with it (the
// problems of validate, the CSV of convert, which holds secrets). No copy of the data may
// outlive the run, however it ends, so the file is:
//   - unlinked as soon as it is created, where the system allows it (not Windows): the open
//     descriptor keeps the data, and nothing is left behind even after SIGKILL;
//   - encrypted with AES-256-GCM under a random key that exists only in this process's
//     memory, so a file left where it cannot be unlinked, or read through the descriptor by
//     someone else, is noise;
//   - readable by the owner only (os.CreateTemp creates it 0600), and removed by name on
//     remove and when a signal stops the run, where it could not be unlinked at once.
//
// The data is sealed in chunks of spillChunk bytes, chunk i under nonce i; reading back checks
// every chunk, so a file altered by someone else fails to read instead of feeding back rows.
type spillFile struct {
	f      *os.File
	name   string // "" once unlinked
	forget func() // unregisters the removal on interrupt
	aead   cipher.AEAD
	plain  []byte // the chunk being filled
	sealed []byte
	chunks uint64 // chunks written
	last   int    // plaintext length of the last chunk written
}

func newSpillFile(pattern string) (*spillFile, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return nil, err
	}
	s := &spillFile{f: f, aead: aead, plain: make([]byte, 0, spillChunk)}
	if err := os.Remove(f.Name()); err != nil {
		// Windows cannot remove an open file: remove it by name at the end.
		s.name = f.Name()
		name := s.name
		s.forget = cmdutil.OnInterrupt(func() { os.Remove(name) })
	}
	return s, nil
}

func (s *spillFile) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), spillChunk-len(s.plain))
		s.plain = append(s.plain, p[:k]...)
		p = p[k:]
		if len(s.plain) == spillChunk {
			if err := s.seal(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (s *spillFile) nonce(i uint64) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	binary.BigEndian.PutUint64(nonce[len(nonce)-8:], i)
	return nonce
}

// seal encrypts and writes the chunk being filled.
func (s *spillFile) seal() error {
	if len(s.plain) == 0 {
		return nil
	}
	s.sealed = s.aead.Seal(s.sealed[:0], s.nonce(s.chunks), s.plain, nil)
	if _, err := s.f.Write(s.sealed); err != nil {
		return err
	}
	s.chunks++
	s.last = len(s.plain)
	clear(s.plain)
	s.plain = s.plain[:0]
	return nil
}

// reader returns everything written, from the start. Nothing may be written after it.
func (s *spillFile) reader() (io.Reader, error) {
	if err := s.seal(); err != nil {
		return nil, err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return &spillReader{s: s}, nil
}

type spillReader struct {
	s     *spillFile
	next  uint64 // the next chunk to read
	plain []byte // what is left of the current chunk
	buf   []byte
}

var errSpillAltered = errors.New("the temporary file was altered")

func (r *spillReader) Read(p []byte) (int, error) {
	s := r.s
	for len(r.plain) == 0 {
		if r.next == s.chunks {
			return 0, io.EOF
		}
		size := spillChunk
		if r.next == s.chunks-1 {
			size = s.last
		}
		if cap(r.buf) < size+s.aead.Overhead() {
			r.buf = make([]byte, size+s.aead.Overhead())
		}
		sealed := r.buf[:size+s.aead.Overhead()]
		if _, err := io.ReadFull(s.f, sealed); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = errSpillAltered
			}
			return 0, err
		}
		plain, err := s.aead.Open(sealed[:0], s.nonce(r.next), sealed, nil)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", errSpillAltered, err)
		}
		r.plain = plain
		r.next++
	}
	n := copy(p, r.plain)
	clear(r.plain[:n])
	r.plain = r.plain[n:]
	return n, nil
}

// remove closes the file, removes it if it still has a name, and wipes the plaintext held.
func (s *spillFile) remove() {
	s.f.Close()
	if s.name != "" {
		os.Remove(s.name)
		s.forget()
		s.name = ""
	}
	clear(s.plain[:cap(s.plain)])
	s.plain = s.plain[:0]
}
