package report

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

// evilUPN and evilModel would run a script if the report did not escape directory text.
const (
	evilUPN   = "<script>alert(1)</script>@contoso.com"
	evilModel = `<img src=x onerror="alert(2)">`
)

// htmlScenario builds a directory whose report runs 100 days after the tokens were imported:
// three users (one of them with a UPN full of markup, one blocked, one to register again), four
// tokens of two models, and auth events on three days of the last 30 plus one older day that
// the default window leaves out.
func htmlScenario(t *testing.T) (*Reporter, time.Time) {
	t.Helper()
	db := openStore(t)
	ctx := context.Background()
	for _, u := range []directory.User{{UPN: evilUPN}, {UPN: "b@contoso.com", State: directory.UserBlocked}, {UPN: "c@contoso.com", MustRegister: true}} {
		if _, err := db.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	rows := []directory.ImportRow{
		{Serial: "S1", UPN: evilUPN, Secret: []byte("12345678901234567890"), Manufacturer: "Contoso", Model: evilModel},
		{Serial: "S2", Secret: []byte("22345678901234567890"), Manufacturer: "Contoso", Model: evilModel},
		{Serial: "S3", UPN: "b@contoso.com", Secret: []byte("32345678901234567890"), Manufacturer: "Fabrikam", Model: "C200"},
		{Serial: "S4", Secret: []byte("42345678901234567890"), Manufacturer: "Fabrikam", Model: "C200"},
	}
	if _, err := db.ImportTokens(ctx, seq(rows...), directory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	clock := now.AddDate(0, 0, 100)
	at := func(daysAgo, hour int) time.Time {
		return day(clock).AddDate(0, 0, -daysAgo).Add(time.Duration(hour) * time.Hour)
	}
	_, err := db.AddAuthEvents(ctx, seq(
		event(at(40, 9), evilUPN, "oath-hardware", "SUCCESS_OATH_CODE_VERIFIED"), // outside 30 days
		event(at(10, 9), evilUPN, "oath-hardware", "SUCCESS_OATH_CODE_VERIFIED"),
		event(at(10, 10), evilUPN, "oath-hardware", "FAILED_OATH_CODE_INCORRECT"),
		event(at(3, 8), "b@contoso.com", "oath-hardware", "FAILED_USER_BLOCKED"),
		event(at(3, 9), "<b>nobody</b>@contoso.com", "oath", "FAILED_USER_UNKNOWN"),
		event(at(1, 7), "c@contoso.com", "oath-hardware", "FAILED_NO_METHOD"),
		event(at(1, 8), evilUPN, "oath-hardware", "SUCCESS_OATH_CODE_VERIFIED"),
	))
	if err != nil {
		t.Fatal(err)
	}
	return New(db, func() time.Time { return clock }), clock
}

func renderHTML(t *testing.T, d *HTMLData) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestHTMLData(t *testing.T) {
	r, clock := htmlScenario(t)
	d, err := r.HTMLData(context.Background(), HTMLQuery{Title: "Q4", Since: clock.AddDate(0, 0, -30)})
	if err != nil {
		t.Fatal(err)
	}
	wantReg := RegistrationTotals{Users: 3, NoMethod: 1, MustRegister: 1, Blocked: 1, Methods: 2, TokensPending: 2}
	if d.Registration != wantReg {
		t.Errorf("registration %+v, want %+v", d.Registration, wantReg)
	}
	if len(d.Inventory) != 2 || d.InventoryTotal.Total != 4 || d.InventoryTotal.Available != 2 {
		t.Errorf("inventory %+v, total %+v", d.Inventory, d.InventoryTotal)
	}
	days := func(n int) string { return day(clock).AddDate(0, 0, -n).Format(time.DateOnly) }
	wantDays := []Group{{days(10), 1, 1, 2}, {days(3), 0, 2, 2}, {days(1), 1, 1, 2}}
	if fmt.Sprint(d.Days) != fmt.Sprint(wantDays) {
		t.Errorf("days %v, want %v", d.Days, wantDays)
	}
	wantReasons := []Reason{{"FAILED_NO_METHOD", 1}, {"FAILED_OATH_CODE_INCORRECT", 1}, {"FAILED_USER_BLOCKED", 1}, {"FAILED_USER_UNKNOWN", 1}}
	if fmt.Sprint(d.Reasons) != fmt.Sprint(wantReasons) {
		t.Errorf("reasons %v, want %v", d.Reasons, wantReasons)
	}
	// S1 and S3 were assigned at import 100 days ago and never activated.
	if d.UnusedCount != 2 || len(d.Unused) != 2 || !d.UnusedCutoff.Equal(clock.AddDate(0, 0, -90)) {
		t.Errorf("unused %d %v, cutoff %v", d.UnusedCount, d.Unused, d.UnusedCutoff)
	}
	// No token verified a code, so no drift moved: an empty list (the section says so); the
	// audit chain is the command's to check, with the key.
	if d.Drift == nil || len(d.Drift) != 0 || d.AuditChain != nil {
		t.Errorf("drift %v (want empty, not nil) and audit chain %v (want nil)", d.Drift, d.AuditChain)
	}

	page := renderHTML(t, d)
	checkWellFormed(t, page)
	checkSelfContained(t, page)
	if got := countRects(t, page, "bar-success"); got != len(wantDays) {
		t.Errorf("%d bar-success rectangles, want one per day with events (%d)", got, len(wantDays))
	}
	if got := countRects(t, page, "bar-denied"); got != len(wantDays) {
		t.Errorf("%d bar-denied rectangles, want one per day with events (%d)", got, len(wantDays))
	}
	for _, s := range []string{
		"<title>Q4</title>", "<h1>Q4</h1>",
		`<h2>Registration coverage</h2>`, `<h2>Token stock by model and status</h2>`, `<h2>Usage per day</h2>`,
		`<h2>Denial reasons</h2>`, `<h2>Tokens unused for 90 days</h2>`, `<h2>Drift outliers</h2>`, `<h2>Audit chain</h2>`,
		"2 successful and 4 denied authentications",
		"&lt;script&gt;alert(1)&lt;/script&gt;@contoso.com",
		"&lt;img src=x onerror=&#34;alert(2)&#34;&gt;",
		"<td class=\"code\">FAILED_USER_BLOCKED</td>",
	} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %s", s)
		}
	}
	for _, s := range []string{"<script", "<img", "<b>nobody"} {
		if strings.Contains(page, s) {
			t.Errorf("page holds unescaped %s", s)
		}
	}
	if n := strings.Count(page, "Not available in this directory."); n != 1 {
		t.Errorf("%d sections not available, want the audit chain only", n)
	}
	if !strings.Contains(page, "No token's drift stands out.") {
		t.Error("the drift section does not say that no drift stands out")
	}
	// No secret in any form: the seeds are ASCII digits here.
	for _, r := range []string{"12345678901234567890", "22345678901234567890", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"} {
		if strings.Contains(page, r) {
			t.Errorf("page holds a token secret")
		}
	}
}

// The drift and audit-chain sections render whatever the other parts of mfactl put in, with
// the same escaping.
func TestHTMLOptionalSections(t *testing.T) {
	when := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	d := &HTMLData{
		Title: "<i>Report</i>", GeneratedAt: when, Since: when.AddDate(0, 0, -30), UnusedFor: DefaultUnusedFor,
		Drift: []DriftRow{{Serial: "S9", UPN: evilUPN, FirstDrift: -1, LastDrift: -4, StepsPer30Days: -1.5,
			LastUsed: when, LeavesWindow: when.AddDate(0, 0, 20)}},
		AuditChain: &ChainStatus{Intact: false, Events: 1234, CheckedAt: when, FirstBad: 77, Detail: "hash of <event 77> does not match"},
	}
	page := renderHTML(t, d)
	checkWellFormed(t, page)
	checkSelfContained(t, page)
	for _, s := range []string{
		"<title>&lt;i&gt;Report&lt;/i&gt;</title>",
		`<td class="upn">&lt;script&gt;alert(1)&lt;/script&gt;@contoso.com</td>`,
		`<td class="n">-1</td><td class="n">-4</td><td class="n">-1.5</td><td>2026-11-22 12:00 UTC</td><td>2026-12-12 12:00 UTC</td>`,
		`<span class="status-bad">Broken</span>: 1,234 audit events checked at 2026-11-22 12:00 UTC. The first event that breaks the chain is number 77.`,
		"hash of &lt;event 77&gt; does not match",
		"No users in this directory.", "No hardware tokens in this directory.", "No authentication events in this period.",
	} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %s", s)
		}
	}
	if strings.Contains(page, "Not available in this directory.") {
		t.Error("a section with data says it is not available")
	}
	d2 := *d
	d2.AuditChain, d2.AuditChainNote = nil, "Not checked: <needs the key>."
	if p2 := renderHTML(t, &d2); !strings.Contains(p2, `<p class="na">Not checked: &lt;needs the key&gt;.</p>`) {
		t.Error("a chain left unchecked does not say why")
	}
	if got := countRects(t, page, "bar-success"); got != 0 {
		t.Errorf("%d usage bars without events", got)
	}

	// An empty, non-nil drift list is "none", not "not available".
	d.Drift, d.AuditChain = []DriftRow{}, &ChainStatus{Intact: true, Events: 1}
	page = renderHTML(t, d)
	for _, s := range []string{"No token's drift stands out.", `<span class="status-ok">Intact</span>: 1 audit event checked.`} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %s", s)
		}
	}
}

// A month of events every day but weekends draws one column per day with events, and the
// columns stay inside the plot.
func TestUsageChart(t *testing.T) {
	first := time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 0, 29)
	var days []Group
	for i := 0; i < 30; i++ {
		d := first.AddDate(0, 0, i)
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		days = append(days, Group{Group: d.Format(time.DateOnly), Success: int64(100 + i), Denied: int64(i % 7), Total: int64(100 + i + i%7)})
	}
	c := usageChart(days, first, last)
	if len(c.Columns) != len(days) {
		t.Fatalf("%d columns, want %d", len(c.Columns), len(days))
	}
	for _, col := range c.Columns {
		s, d := col.Segments[0], col.Segments[1]
		if col.X < c.PlotX || col.X+col.W > c.PlotX+c.PlotW+0.01 || s.Y+s.H > c.PlotY+c.PlotH+0.01 || d.Y < c.PlotY-0.01 || d.Y+d.H-s.Y > 0.01 {
			t.Errorf("column %s outside the plot or not stacked: %+v", col.Label, col)
		}
	}
	if top, step := niceScale(136); top != 150 || step != 50 {
		t.Errorf("scale of 136: %d by %d, want 150 by 50", top, step)
	}
	if top, step := niceScale(0); top != 1 || step != 1 {
		t.Errorf("scale of 0: %d by %d", top, step)
	}
}

// checkWellFormed parses the page as XML: every element closed and nested, every entity
// known. The template writes XHTML-compatible markup so that this strict check can stand in for
// an HTML parser (the module has none); the browser test checks the rendering itself.
func checkWellFormed(t *testing.T, page string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(page))
	dec.Strict = true
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 {
		t.Fatalf("unbalanced elements: depth %d at the end", depth)
	}
}

// checkSelfContained fails on anything that would make the browser fetch or run something:
// scripts, links, images, frames, external references in attributes or in the style sheet.
// Text may mention addresses; markup may not.
func checkSelfContained(t *testing.T, page string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(page))
	var inStyle bool
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch x := tok.(type) {
		case xml.StartElement:
			switch x.Name.Local {
			case "script", "link", "img", "image", "iframe", "object", "embed", "use", "base", "foreignObject", "audio", "video", "source":
				t.Errorf("element <%s>", x.Name.Local)
			case "style":
				inStyle = true
			}
			for _, a := range x.Attr {
				v := strings.ToLower(a.Value)
				switch name := strings.ToLower(a.Name.Local); {
				case name == "src" || name == "href" || name == "srcset" || name == "action" || strings.HasPrefix(name, "on"):
					t.Errorf("attribute %s=%q on <%s>", a.Name.Local, a.Value, x.Name.Local)
				case strings.Contains(v, "http:") || strings.Contains(v, "https:") || strings.Contains(v, "url(") || strings.HasPrefix(v, "//") || strings.Contains(v, "javascript:"):
					t.Errorf("external reference %s=%q on <%s>", a.Name.Local, a.Value, x.Name.Local)
				}
			}
		case xml.EndElement:
			inStyle = false
		case xml.CharData:
			if inStyle {
				css := strings.ToLower(string(x))
				for _, bad := range []string{"@import", "url(", "http:", "https:", "@font-face"} {
					if strings.Contains(css, bad) {
						t.Errorf("style sheet holds %s", bad)
					}
				}
			}
		}
	}
	for _, bad := range []string{"http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %s", bad)
		}
	}
}

// countRects counts the <rect> elements of a class.
func countRects(t *testing.T, page, class string) int {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(page))
	n := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if x, ok := tok.(xml.StartElement); ok && x.Name.Local == "rect" {
			for _, a := range x.Attr {
				if a.Name.Local == "class" && a.Value == class {
					n++
				}
			}
		}
	}
	return n
}
