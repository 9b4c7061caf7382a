package tokencmd

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/mfactl/mfactl/internal/tokens"
)

// problemsInMemory is how many problems of one file validate keeps in memory. Validate reports
// every problem, and a million-row file that is wrong on every row has a million of them
// (about 250 MB as Go values): past this many they go to a temporary file and are read back
// for the report, so memory stays flat whatever the file.
const problemsInMemory = 10_000

// problemLog holds the problems of one file until its report is written: in memory up to
// problemsInMemory, then in a temporary file (JSON lines; problems never contain secrets).
type problemLog struct {
	limit int // problems kept in memory; 0 means problemsInMemory
	mem   []tokens.Problem
	spill *spillFile
	enc   *json.Encoder
	err   error // the first spill error, returned by each
}

func (l *problemLog) add(p tokens.Problem) {
	if l.err != nil {
		return
	}
	if l.spill == nil && len(l.mem) < cmp.Or(l.limit, problemsInMemory) {
		l.mem = append(l.mem, p)
		return
	}
	if l.spill == nil {
		if l.spill, l.err = newSpillFile("mfactl-validate-*.jsonl"); l.err != nil {
			l.err = fmt.Errorf("keeping problems in a temporary file: %w", l.err)
			return
		}
		l.enc = json.NewEncoder(l.spill)
	}
	if err := l.enc.Encode(p); err != nil {
		l.err = fmt.Errorf("keeping problems in a temporary file: %w", err)
	}
}

// sortByLine puts the problems in line order (stable: a row's own problems keep their column
// order) when they are all in memory; spilled problems stay in the order they were found,
// which for a CSV file is line order already.
func (l *problemLog) sortByLine() {
	if l.spill == nil {
		slices.SortStableFunc(l.mem, func(a, b tokens.Problem) int { return cmp.Compare(a.Line, b.Line) })
	}
}

// each calls fn with every problem in order.
func (l *problemLog) each(fn func(tokens.Problem) error) error {
	if l.err != nil {
		return l.err
	}
	for _, p := range l.mem {
		if err := fn(p); err != nil {
			return err
		}
	}
	if l.spill == nil {
		return nil
	}
	r, err := l.spill.reader()
	if err != nil {
		return fmt.Errorf("reading problems back: %w", err)
	}
	dec := json.NewDecoder(r)
	for {
		var p tokens.Problem
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading problems back: %w", err)
		}
		if err := fn(p); err != nil {
			return err
		}
	}
}

// close removes the temporary file, if any.
func (l *problemLog) close() {
	if l.spill != nil {
		l.spill.remove()
		l.spill = nil
	}
	l.mem = nil
}

// jsonReport writes the -o json report (docs/formats.md) one file at a time, and each file's
// problems one at a time, byte for byte as render.JSON writes the whole validateReport value.
type jsonReport struct {
	w     io.Writer
	files int
}

// file writes one file's object.
func (r *jsonReport) file(fr *fileReport) error {
	sep := "{\n  \"files\": [\n    "
	if r.files > 0 {
		sep = ",\n    "
	}
	r.files++
	head := *fr
	head.Problems = []tokens.Problem{}
	obj, err := indentJSON(head, "    ")
	if err != nil {
		return err
	}
	const empty = `"problems": []`
	i := bytes.LastIndex(obj, []byte(empty))
	if i < 0 {
		return errors.New("validate: unexpected JSON layout")
	}
	bw := bufio.NewWriterSize(r.w, 64<<10)
	bw.WriteString(sep)
	bw.Write(obj[:i+len(empty)-1]) // up to and including "["
	n := 0
	err = fr.log.each(func(p tokens.Problem) error {
		b, err := indentJSON(p, "        ")
		if err != nil {
			return err
		}
		if n > 0 {
			bw.WriteString(",")
		}
		n++
		bw.WriteString("\n        ")
		_, err = bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	if n > 0 {
		bw.WriteString("\n      ")
	}
	bw.Write(obj[i+len(empty)-1:]) // "]" and the rest of the object
	return bw.Flush()
}

// end closes the report with the verdict for all files.
func (r *jsonReport) end(valid bool) error {
	_, err := fmt.Fprintf(r.w, "\n  ],\n  \"valid\": %t\n}\n", valid)
	return err
}

// indentJSON marshals v as render.JSON does (two-space indent, no HTML escaping), for a value
// nested at prefix, without the trailing newline.
func indentJSON(v any, prefix string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
