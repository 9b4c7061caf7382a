package tokencmd

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Converted CSV for standard output is held until the run succeeds: in memory up to the limit,
// then in a temporary file, which is gone after Commit and after Abort.
func TestStdoutSinkHoldsThenSpills(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, commit := range []bool{true, false} {
		for _, limit := range []int{0, 10} {
			var out strings.Builder
			s := &stdoutSink{w: &out, heldOutput: heldOutput{limit: limit}}
			want := ""
			for i := range 5 {
				line := fmt.Sprintf("user%d@contoso.com,SN%d\n", i, i)
				if _, err := s.Write([]byte(line)); err != nil {
					t.Fatal(err)
				}
				want += line
			}
			if out.Len() != 0 {
				t.Fatalf("limit %d: %q written before Commit", limit, out.String())
			}
			if spilled := s.spill != nil; spilled != (limit == 10) {
				t.Errorf("limit %d: spilled %t", limit, spilled)
			}
			if commit {
				if err := s.Commit(); err != nil {
					t.Fatal(err)
				}
			} else {
				s.Abort()
				want = ""
			}
			if out.String() != want {
				t.Errorf("limit %d, commit %t: wrote %q, want %q", limit, commit, out.String(), want)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("limit %d, commit %t: temporary files left: %v", limit, commit, left)
			}
		}
	}
}
