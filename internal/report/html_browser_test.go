//go:build linux || darwin

package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHTMLInBrowser renders the HTML report in headless Chromium: the page as the browser
// builds it has every section and one pair of usage bars per day with events, the console
// stays silent (the page's Content-Security-Policy turns any outside reference into a console
// error), and printing to PDF works. Without chromium on PATH the test is skipped, except in
// CI (CI=true), where chromium must be installed.
func TestHTMLInBrowser(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not on PATH; CI must install it (apt-get install -y chromium)")
		}
		t.Skip("chromium is not on PATH: the HTML report is not checked in a browser")
	}
	r, clock := htmlScenario(t)
	d, err := r.HTMLData(context.Background(), HTMLQuery{Title: "Browser check", Since: clock.AddDate(0, 0, -30)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, []byte(renderHTML(t, d)), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page

	dom, console := runChromium(t, chromium, dir, "--dump-dom", url)
	for _, id := range []string{"registration", "inventory", "usage", "denials", "unused", "drift", "audit-chain"} {
		if !strings.Contains(dom, `<section id="`+id+`"`) {
			t.Errorf("rendered page has no section %s", id)
		}
	}
	for _, class := range []string{"bar-success", "bar-denied"} {
		if got := len(regexp.MustCompile(`<rect class="`+class+`"`).FindAllString(dom, -1)); got != len(d.Days) {
			t.Errorf("rendered page has %d %s rectangles, want %d (days with events)", got, class, len(d.Days))
		}
	}
	// The browser parsed the markup in the UPN as text: no script element came out of it.
	if strings.Contains(dom, "<script") || !strings.Contains(dom, "&lt;script&gt;alert(1)&lt;/script&gt;@contoso.com") {
		t.Error("the UPN with markup is not text in the rendered page")
	}
	checkConsole(t, console)

	pdf := filepath.Join(dir, "report.pdf")
	_, console = runChromium(t, chromium, dir, "--print-to-pdf="+pdf, "--no-pdf-header-footer", url)
	checkConsole(t, console)
	b, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatalf("no PDF: %v", err)
	}
	if len(b) < 1000 || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Errorf("PDF of %d bytes starting %q", len(b), b[:min(len(b), 8)])
	}
	// Each of the seven sections starts a page (the first one shares its page with the title).
	if pages := len(regexp.MustCompile(`/Type\s*/Page\b`).FindAll(b, -1)); pages < 7 {
		t.Errorf("PDF of %d pages, want at least one per section (7)", pages)
	}
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// runChromium runs headless Chromium with a fresh profile in dir and nothing that reaches the
// network by itself (no updates, sync or QUIC, and every host name unresolvable), and returns
// its stdout and stderr. Chromium starts helper processes: the whole process group is killed
// at the end, so none outlives the test.
func runChromium(t *testing.T, chromium, dir string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	profile, err := os.MkdirTemp(dir, "profile-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, chromium, append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND",
		"--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
	}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String()
}

// checkConsole fails on anything the page wrote to the console: the report has no script, so
// any message is an error (a refused outside reference, a parse error).
func checkConsole(t *testing.T, stderr string) {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Uncaught") || strings.Contains(line, "Content Security Policy") {
			t.Errorf("console: %s", line)
		}
	}
}
