package report

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// The charts of the HTML report are SVG drawn here as geometry (positions and sizes in the
// units of the chart's viewBox); html_template.html writes the elements, so that every label
// taken from the directory (models, result codes) goes through html/template's escaping and
// this file never builds markup. No chart needs a script, a font or an image: the browser (or
// its print to PDF) scales the viewBox to the page.

// columnChart is a chart of stacked vertical columns over a time axis: the usage per day.
type columnChart struct {
	Width, Height float64
	PlotX, PlotY  float64 // top left corner of the plot area
	PlotW, PlotH  float64
	Columns       []column // one per day with events, in day order
	YTicks        []tick   // horizontal grid lines, bottom up
	XTicks        []tick   // day labels under the axis
}

// column is one day: its segments stacked from the axis up.
type column struct {
	Label    string // the day, YYYY-MM-DD
	X, W     float64
	Segments []segment
}

// segment is one rectangle of a column or of a horizontal bar; Class names its series (a CSS
// class such as bar-success), Value is what it counts.
type segment struct {
	Class      string
	Name       string // the series, as the rectangle's tooltip says it
	X, Y, W, H float64
	Value      int64
}

// tick is a labelled position on an axis.
type tick struct {
	Pos   float64
	Label string
}

// Geometry of the charts, in viewBox units (about CSS pixels at the usual page width).
const (
	chartWidth   = 720.0
	columnHeight = 240.0
	axisLeft     = 48.0 // room for the y labels
	axisBottom   = 24.0 // room for the day labels
	chartTop     = 8.0
	chartRight   = 8.0
	maxXTicks    = 10
)

// usageChart draws the auth events per day from first to last (UTC days, inclusive) as stacked
// columns, successes at the bottom and denials on top. A day without events is a gap: only days
// with events have a column, and each such column has exactly one bar-success and one
// bar-denied rectangle (a zero count is a rectangle of height 0), so the columns can be counted
// in the rendered page.
func usageChart(days []Group, first, last time.Time) columnChart {
	c := columnChart{Width: chartWidth, Height: columnHeight + axisBottom + chartTop,
		PlotX: axisLeft, PlotY: chartTop, PlotW: chartWidth - axisLeft - chartRight, PlotH: columnHeight}
	n := int(last.Sub(first)/(24*time.Hour)) + 1
	if n < 1 {
		n = 1
	}
	slot := c.PlotW / float64(n)
	var peak int64
	for _, d := range days {
		peak = max(peak, d.Success+d.Denied)
	}
	top, step := niceScale(peak)
	y := func(v int64) float64 { return c.PlotY + c.PlotH - float64(v)/float64(top)*c.PlotH }
	for v := int64(0); v <= top; v += step {
		c.YTicks = append(c.YTicks, tick{Pos: y(v), Label: strconv.FormatInt(v, 10)})
	}
	every := (n + maxXTicks - 1) / maxXTicks
	for i := 0; i < n; i += every {
		c.XTicks = append(c.XTicks, tick{Pos: c.PlotX + (float64(i)+0.5)*slot, Label: first.AddDate(0, 0, i).Format("01-02")})
	}
	for _, d := range days {
		day, err := time.Parse(time.DateOnly, d.Group)
		if err != nil {
			continue // not a day: the store groups by day, so this does not happen
		}
		i := int(day.Sub(first) / (24 * time.Hour))
		gap := math.Min(slot*0.2, 4)
		col := column{Label: d.Group, X: c.PlotX + float64(i)*slot + gap/2, W: slot - gap}
		sy := y(d.Success)
		dy := y(d.Success + d.Denied)
		col.Segments = []segment{
			{Class: "bar-success", Name: "successes", X: col.X, Y: sy, W: col.W, H: c.PlotY + c.PlotH - sy, Value: d.Success},
			{Class: "bar-denied", Name: "denials", X: col.X, Y: dy, W: col.W, H: sy - dy, Value: d.Denied},
		}
		c.Columns = append(c.Columns, col)
	}
	return c
}

// hbarChart is a chart of horizontal stacked bars, one per row, sharing one scale.
type hbarChart struct {
	Width, Height float64
	LabelW        float64 // room for the row labels, left of the bars
	Rows          []hbarRow
}

// hbarRow is one bar: its label (cut short if long, the tooltip has it whole) and segments
// from left to right, then its total written after the bar.
type hbarRow struct {
	Label, FullLabel string
	Y, H             float64
	Segments         []segment
	Total            int64
	TotalX           float64
}

// hbarSeries is one series of a horizontal bar chart.
type hbarSeries struct {
	Class, Name string
}

const (
	hbarLabelW   = 210.0
	hbarRowH     = 22.0
	hbarBarH     = 16.0
	hbarTotalW   = 64.0 // room for the total after the longest bar
	maxLabelRune = 30
)

// hbars draws one bar per label; values[i][j] is the value of series j in row i.
func hbars(labels []string, series []hbarSeries, values [][]int64) hbarChart {
	c := hbarChart{Width: chartWidth, Height: float64(len(labels))*hbarRowH + 4, LabelW: hbarLabelW}
	var peak int64
	for _, row := range values {
		var sum int64
		for _, v := range row {
			sum += v
		}
		peak = max(peak, sum)
	}
	plotW := chartWidth - hbarLabelW - hbarTotalW
	for i, label := range labels {
		r := hbarRow{Label: shorten(label, maxLabelRune), FullLabel: label,
			Y: 2 + float64(i)*hbarRowH + (hbarRowH-hbarBarH)/2, H: hbarBarH}
		x := hbarLabelW
		for j, s := range series {
			v := values[i][j]
			w := 0.0
			if peak > 0 {
				w = float64(v) / float64(peak) * plotW
			}
			r.Segments = append(r.Segments, segment{Class: s.Class, Name: s.Name, X: x, Y: r.Y, W: w, H: r.H, Value: v})
			x += w
			r.Total += v
		}
		r.TotalX = x + 6
		c.Rows = append(c.Rows, r)
	}
	return c
}

// niceScale returns the top of an axis showing max and the step of its grid: 1, 2 or 5 times a
// power of ten, with at most five steps. An empty chart has an axis of 0 to 1.
func niceScale(peak int64) (top, step int64) {
	if peak <= 0 {
		return 1, 1
	}
	step = 1
	for {
		for _, m := range []int64{1, 2, 5} {
			if s := step * m; (peak+s-1)/s <= 5 {
				return (peak + s - 1) / s * s, s
			}
		}
		step *= 10
	}
}

// shorten cuts s to n runes, ending with an ellipsis when it cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
