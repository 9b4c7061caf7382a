package reportcmd

import "testing"

func TestSparkline(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{[]int{0, 1, 2, 3, 4, 5, 6, 7}, "▁▂▃▄▅▆▇█"},
		{[]int{-7, 0}, "▁█"},
		{[]int{2, 2}, "▁▁"},
		{[]int{0, 3, 1}, "▁█▃"},
	} {
		if got := sparkline(tc.in); got != tc.want {
			t.Errorf("sparkline(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := make([]int, 40)
	long[39] = 9
	if got := []rune(sparkline(long)); len(got) != maxSpark || got[len(got)-1] != '█' {
		t.Errorf("long history: %q", string(got))
	}
}
