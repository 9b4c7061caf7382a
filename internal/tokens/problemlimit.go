package tokens

import "fmt"

// MaxProblemsPerCode is how many problems of one code a ProblemLimit lets through. A header of
// 900,000 empty columns is one mistake, not 900,000: listed in full it made 95 MB of output and
// took 500 MB of memory.
const MaxProblemsPerCode = 100

// ProblemLimit keeps a list of problems short when one code repeats: past MaxProblemsPerCode
// of a code it only counts them, and Summaries then says how many were not shown, one problem
// per code. Ask Allow before building a problem, so that the ones not shown cost nothing.
type ProblemLimit struct {
	counts map[string]int
	sev    map[string]Severity
	order  []string // codes over the limit, in the order they went over it
}

// Allow counts a problem of code with severity sev and reports whether it is to be kept.
func (l *ProblemLimit) Allow(code string, sev Severity) bool {
	if l.counts == nil {
		l.counts, l.sev = map[string]int{}, map[string]Severity{}
	}
	n := l.counts[code] + 1
	l.counts[code] = n
	if n <= MaxProblemsPerCode {
		return true
	}
	if n == MaxProblemsPerCode+1 {
		l.order = append(l.order, code)
	}
	if sev == SeverityError {
		l.sev[code] = SeverityError // one error among the hidden ones keeps the file invalid
	} else if _, ok := l.sev[code]; !ok {
		l.sev[code] = sev
	}
	return false
}

// Add appends p to ps when Allow lets it through.
func (l *ProblemLimit) Add(ps []Problem, p Problem) []Problem {
	if l.Allow(p.Code, p.Severity) {
		ps = append(ps, p)
	}
	return ps
}

// Summaries returns one problem per code that went over the limit, at line, with the code and
// severity of the problems it stands for: "899900 more csv.column-unknown problems not shown".
func (l *ProblemLimit) Summaries(line int) []Problem {
	var ps []Problem
	for _, code := range l.order {
		ps = append(ps, Problem{Line: line, Severity: l.sev[code], Code: code,
			Message: fmt.Sprintf("%d more %s problems not shown", l.counts[code]-MaxProblemsPerCode, code)})
	}
	return ps
}
