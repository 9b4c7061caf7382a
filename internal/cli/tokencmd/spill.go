package tokencmd

import (
	"bufio"
	"io"
	"os"
)

// spillFile holds data that has outgrown memory until the run knows what to do with it (the
// problems of validate, the CSV of convert on standard output): a temporary file readable by
// the owner only (os.CreateTemp creates it 0600), written through a buffer, read back from its
// start, and removed by remove.
type spillFile struct {
	f *os.File
	w *bufio.Writer
}

func newSpillFile(pattern string) (*spillFile, error) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return nil, err
	}
	return &spillFile{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (s *spillFile) Write(p []byte) (int, error) { return s.w.Write(p) }

// reader returns everything written, from the start.
func (s *spillFile) reader() (io.Reader, error) {
	if err := s.w.Flush(); err != nil {
		return nil, err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return bufio.NewReaderSize(s.f, 64<<10), nil
}

// remove closes and deletes the file.
func (s *spillFile) remove() {
	s.f.Close()
	os.Remove(s.f.Name())
}
