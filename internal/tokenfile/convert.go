package tokenfile

import (
	"context"
	"errors"
	"io"
	"slices"

	"github.com/mfactl/mfactl/internal/tokens"
)

// ConvertOptions configure Convert.
type ConvertOptions struct {
	// Read says how to read the input. Convert sets RequireUPN: every Azure CSV row needs one.
	Read Options
	// SkipInvalid writes the valid rows of a file with invalid ones instead of none.
	SkipInvalid bool
	// KeepPerCode bounds how many problems of each code the result keeps (0 means 20); the
	// others are only counted, so a file with a million warnings does not fill memory.
	KeepPerCode int
}

// ConvertResult says what Convert made of a file.
type ConvertResult struct {
	Format string
	// Refused means the file as a whole is invalid (a CSV header without the required
	// columns, a PSKC file that is not XML, cannot be decrypted or fails a MAC check): no
	// row may be used, whatever SkipInvalid says.
	Refused bool
	Rows    int // records read
	Written int // rows written to the output
	Invalid int // rows with an error problem (not written)
	// Errors and Warnings count every problem, kept or not.
	Errors, Warnings int
	// Problems are the problems kept, file problems and row problems in line order.
	Problems []tokens.Problem
	// Omitted counts, per code, the problems not kept in Problems.
	Omitted map[string]int
}

// OK reports whether the output is to be kept: the file was not refused and either every
// row was valid, or SkipInvalid was given and at least one row was written.
func (r *ConvertResult) OK(skipInvalid bool) bool {
	if r.Refused {
		return false
	}
	if r.Invalid == 0 {
		return true
	}
	return skipInvalid && r.Written > 0
}

// Convert reads a token file (PSKC, or a CSV with hex or Base32 secrets) and writes its valid
// tokens to w as an Azure OATH CSV (the exact header, Base32 secrets). It writes rows as it
// reads them, so the caller must discard the output unless result.OK(opts.SkipInvalid): a
// PSKC file can be refused at its last KeyPackage. Without SkipInvalid no row is written
// once a row was invalid. The error is for failed reads and writes and a cancelled ctx;
// defects in the data are problems in the result.
func Convert(ctx context.Context, r io.Reader, w io.Writer, opts ConvertOptions) (*ConvertResult, error) {
	ro := opts.Read
	ro.RequireUPN = true
	keep := opts.KeepPerCode
	if keep <= 0 {
		keep = 20
	}
	res := &ConvertResult{Omitted: map[string]int{}}
	kept := map[string]int{}
	add := func(p tokens.Problem) {
		if p.IsError() {
			res.Errors++
		} else {
			res.Warnings++
		}
		if kept[p.Code] >= keep {
			res.Omitted[p.Code]++
			return
		}
		kept[p.Code]++
		res.Problems = append(res.Problems, p)
	}

	f, err := Open(r, ro)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res.Format = f.Format
	fileProblems := len(f.Problems)
	for _, p := range f.Problems {
		add(p)
		res.Refused = res.Refused || p.IsError()
	}
	keptFile := len(res.Problems)
	cw := tokens.NewCSVWriter(w)
	for !res.Refused {
		rec, err := f.Next()
		if err == io.EOF {
			break
		}
		var invalid *InvalidError
		if errors.As(err, &invalid) {
			// Keys read before a refusal are not to be trusted, and neither are their problems.
			res.Refused = true
			fileOnly := res.Problems[:keptFile]
			res.Problems, res.Omitted, kept = nil, map[string]int{}, map[string]int{}
			res.Errors, res.Warnings = 0, 0
			for _, p := range fileOnly {
				add(p)
			}
			for _, p := range invalid.Problems {
				add(p)
			}
			break
		}
		if err != nil {
			return nil, err
		}
		if res.Rows%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res.Rows++
		valid := true
		for _, p := range rec.Problems {
			add(p)
			valid = valid && !p.IsError()
		}
		if !valid {
			res.Invalid++
			continue
		}
		if res.Invalid > 0 && !opts.SkipInvalid {
			continue // the output will be discarded; keep reading only to report
		}
		if err := cw.Write(rec.Token); err != nil {
			return nil, err
		}
		res.Written++
	}
	// Warnings found at the end of a PSKC file (a container signature).
	for _, p := range f.Problems[fileProblems:] {
		add(p)
	}
	if err := cw.Flush(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(res.Problems, func(a, b tokens.Problem) int { return a.Line - b.Line })
	return res, nil
}
