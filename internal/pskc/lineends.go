package pskc

import (
	"bytes"
	"io"
)

// crReader normalises line ends as XML 1.0 section 2.11 does before parsing: CR LF and a
// lone CR both become LF. The scanner counts lines by LF, so without it a file with classic
// Mac line ends (CR only) reported every problem on line 1. Reads without a CR pass through
// after one vectorised search.
type crReader struct {
	r      io.Reader
	lastCR bool // the previous read ended with a CR, so a leading LF belongs to it
}

func (c *crReader) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		start := 0
		if n > 0 && c.lastCR && p[0] == '\n' {
			start = 1
		}
		if n > 0 {
			c.lastCR = false
		}
		if bytes.IndexByte(p[start:n], '\r') < 0 {
			if start > 0 {
				n = copy(p, p[1:n])
			}
		} else {
			w, prevCR := 0, false
			for _, b := range p[start:n] {
				switch {
				case b == '\r':
					p[w] = '\n'
					w++
					prevCR = true
					continue
				case b == '\n' && prevCR:
				default:
					p[w] = b
					w++
				}
				prevCR = false
			}
			n, c.lastCR = w, prevCR
		}
		if n > 0 || err != nil || len(p) == 0 {
			return n, err
		}
	}
}
