package tokenfile

import (
	"cmp"
	"slices"

	"github.com/mfactl/mfactl/internal/tokens"
)

// problemList keeps the first max problems by line of an import, in memory proportional to
// max however many there are: the file's problems arrive in line order, the directory's a
// batch later, so the list is sorted when it is read.
type problemList struct {
	max   int
	items []tokens.Problem
	total int
}

func (l *problemList) add(p tokens.Problem) {
	l.total++
	l.items = append(l.items, p)
	if len(l.items) >= 2*l.max {
		l.trim()
	}
}

// trim sorts by line (stable: a row's own problems keep their column order) and keeps max.
func (l *problemList) trim() {
	slices.SortStableFunc(l.items, func(a, b tokens.Problem) int { return cmp.Compare(a.Line, b.Line) })
	if len(l.items) > l.max {
		clear(l.items[l.max:])
		l.items = l.items[:l.max]
	}
}

// list returns the kept problems in line order; never nil.
func (l *problemList) list() []tokens.Problem {
	l.trim()
	if l.items == nil {
		return []tokens.Problem{}
	}
	return l.items
}

// mergeProblems combines the file's and the directory's problems in line order, the file's
// first on the same line, keeping the first max.
func mergeProblems(file, dir *problemList) []tokens.Problem {
	all := problemList{max: file.max}
	all.items = append(slices.Clone(file.list()), dir.list()...)
	return all.list()
}
