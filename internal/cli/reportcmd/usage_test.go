package reportcmd

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

func usageEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.db.AddUser(ctx, directory.User{UPN: "helga@contoso.com", DisplayName: "Helga Lindqvist"}); err != nil {
		t.Fatal(err)
	}
	at := func(day, h, m, s int) time.Time { return time.Date(2026, 11, day, h, m, s, 0, time.UTC) }
	helga := directory.AuthEvent{UPN: "helga@contoso.com", FirstName: "Helga", LastName: "Lindqvist", Email: "helga@contoso.com",
		Phone: "+1 4255550100", DeviceToken: "SN1", Mode: "oath-hardware", Result: "success", ResultCode: "SUCCESS_OATH_CODE_VERIFIED",
		ServerName: "mfa01", ServerIP: "10.0.0.5", ClientIP: "192.0.2.10"}
	with := func(e directory.AuthEvent, t time.Time, change func(*directory.AuthEvent)) directory.AuthEvent {
		e.Time = t
		if change != nil {
			change(&e)
		}
		return e
	}
	_, err := e.db.AddAuthEvents(ctx, seq(
		with(helga, at(20, 8, 0, 0), nil),
		with(helga, at(20, 8, 0, 30), func(e *directory.AuthEvent) {
			e.Result, e.ResultCode, e.Reason = "denied", "FAILED_OATH_CODE_DUPLICATE", "code already used"
		}),
		directory.AuthEvent{Time: at(20, 9, 0, 0), UPN: "=1+2@contoso.com", Mode: "oath", Result: "denied",
			ResultCode: "FAILED_USER_UNKNOWN", Reason: "-user not found", ServerName: "mfa01", ServerIP: "10.0.0.5"},
		directory.AuthEvent{Time: at(21, 10, 0, 0), UPN: "ivan@contoso.com", Mode: "app-password", Result: "success",
			ResultCode: "SUCCESS_OATH_CODE_VERIFIED", ServerName: "mfa01", ServerIP: "10.0.0.5"},
		directory.AuthEvent{Time: at(21, 11, 0, 0), UPN: "ivan@contoso.com", DeviceToken: "SN2", Mode: "oath-hardware", Result: "denied",
			ResultCode: "FAILED_USER_BLOCKED", Reason: "user is blocked: left", ServerName: "mfa01", ServerIP: "10.0.0.5"},
		with(helga, at(22, 7, 0, 0), nil),
	))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestUsageByDay(t *testing.T) {
	e := usageEnv(t)
	wantOutput(t, "table", e.ok(t, "", "usage", "--by", "day"), `GROUP       SUCCESS  DENIED  TOTAL
2026-11-20  1        2       3
2026-11-21  1        1       2
2026-11-22  1        0       1

DENIAL REASON               DENIED
FAILED_OATH_CODE_DUPLICATE  1
FAILED_USER_BLOCKED         1
FAILED_USER_UNKNOWN         1
`)
	wantOutput(t, "json", e.ok(t, "json", "usage", "--by", "day"), `[
  {
    "group": "2026-11-20",
    "success": 1,
    "denied": 2,
    "total": 3
  },
  {
    "group": "2026-11-21",
    "success": 1,
    "denied": 1,
    "total": 2
  },
  {
    "group": "2026-11-22",
    "success": 1,
    "denied": 0,
    "total": 1
  }
]
`)
	// Ages count back from the clock, 2026-11-22T12:00: "2d" leaves the 20th's morning out and
	// "1d" the 21st's.
	wantOutput(t, "csv", e.ok(t, "csv", "usage", "--by", "day", "--since", "2d"), `group,success,denied,total
2026-11-21,1,1,2
2026-11-22,1,0,1
`)
	wantOutput(t, "csv since 1d", e.ok(t, "csv", "usage", "--by", "day", "--since", "1d"), "group,success,denied,total\n2026-11-22,1,0,1\n")
}

// On a terminal, --by day draws a bar per day (colour is off in tests, as with NO_COLOR).
func TestUsageByDayOnTerminal(t *testing.T) {
	e := usageEnv(t)
	r := e.run(t, true, "", "usage", "--by", "day", "--until", "2026-11-22")
	if r.err != nil {
		t.Fatal(r.err)
	}
	bar := func(ok, denied int) string { return strings.Repeat("█", ok) + strings.Repeat("░", denied) }
	wantOutput(t, "tty table", r.stdout, `GROUP       SUCCESS  DENIED  TOTAL
2026-11-20  1        2       3      `+bar(13, 27)+`
2026-11-21  1        1       2      `+bar(13, 13)+`

DENIAL REASON               DENIED
FAILED_OATH_CODE_DUPLICATE  1
FAILED_USER_BLOCKED         1
FAILED_USER_UNKNOWN         1
`)
	// No bars when stdout is not a terminal, nor in other formats on a terminal.
	if out := e.ok(t, "", "usage", "--by", "day"); strings.Contains(out, "█") {
		t.Errorf("bars without a terminal:\n%s", out)
	}
	if r := e.run(t, true, "csv", "usage", "--by", "day"); strings.Contains(r.stdout, "█") || r.err != nil {
		t.Errorf("bars in CSV: %v\n%s", r.err, r.stdout)
	}
}

func TestUsageGroupedByOthers(t *testing.T) {
	e := usageEnv(t)
	wantOutput(t, "by user", e.ok(t, "csv", "usage", "--by", "user"), `group,success,denied,total
helga@contoso.com,2,1,3
ivan@contoso.com,1,1,2
'=1+2@contoso.com,0,1,1
`)
	wantOutput(t, "by method", e.ok(t, "", "usage", "--by", "method", "--result", "denied"), `GROUP          SUCCESS  DENIED  TOTAL
oath-hardware  0        2       2
oath           0        1       1

DENIAL REASON               DENIED
FAILED_OATH_CODE_DUPLICATE  1
FAILED_USER_BLOCKED         1
FAILED_USER_UNKNOWN         1
`)
	// --by result: result codes are the groups, so the denial reasons need no second section.
	wantOutput(t, "by result", e.ok(t, "", "usage", "--by", "result"), `GROUP                       SUCCESS  DENIED  TOTAL
SUCCESS_OATH_CODE_VERIFIED  3        0       3
FAILED_OATH_CODE_DUPLICATE  0        1       1
FAILED_USER_BLOCKED         0        1       1
FAILED_USER_UNKNOWN         0        1       1
`)
	var groups []map[string]any
	if err := json.Unmarshal([]byte(e.ok(t, "json", "usage", "--by", "result", "--result", "denied")), &groups); err != nil {
		t.Fatal(err)
	}
	if len(groups) != 3 || groups[0]["group"] != "FAILED_OATH_CODE_DUPLICATE" || groups[0]["denied"] != 1.0 || len(groups[0]) != 4 {
		t.Errorf("denial reasons as JSON groups: %v", groups)
	}
}

func TestUsageListing(t *testing.T) {
	e := usageEnv(t)
	// The user filter matches the directory's UPN in any letter case.
	wantOutput(t, "json", e.ok(t, "json", "usage", "--user", "HELGA@contoso.com", "--result", "denied"), `[
  {
    "time": "2026-11-20T08:00:30Z",
    "upn": "helga@contoso.com",
    "first_name": "Helga",
    "last_name": "Lindqvist",
    "email": "helga@contoso.com",
    "phone": "+1 4255550100",
    "device_token": "SN1",
    "mode": "oath-hardware",
    "result": "denied",
    "result_code": "FAILED_OATH_CODE_DUPLICATE",
    "reason": "code already used",
    "server_name": "mfa01",
    "server_ip": "10.0.0.5",
    "client_ip": "192.0.2.10"
  }
]
`)
	// Cells a spreadsheet would run as formulas are neutralised.
	wantOutput(t, "csv", e.ok(t, "csv", "usage", "--since", "2026-11-20T09:00:00Z", "--until", "2026-11-21T10:00:01Z"),
		`time,upn,first_name,last_name,email,phone,device_token,mode,result,result_code,reason,server_name,server_ip,client_ip
2026-11-20T09:00:00Z,'=1+2@contoso.com,,,,,,oath,denied,FAILED_USER_UNKNOWN,'-user not found,mfa01,10.0.0.5,
2026-11-21T10:00:00Z,ivan@contoso.com,,,,,,app-password,success,SUCCESS_OATH_CODE_VERIFIED,,mfa01,10.0.0.5,
`)
	wantOutput(t, "table", e.ok(t, "", "usage", "--mode", "app-password"),
		`TIME                  UPN               FIRST NAME  LAST NAME  EMAIL  PHONE  DEVICE TOKEN  MODE          RESULT   RESULT CODE                 REASON  SERVER NAME  SERVER IP  CLIENT IP
2026-11-21T10:00:00Z  ivan@contoso.com                                                     app-password  success  SUCCESS_OATH_CODE_VERIFIED          mfa01        10.0.0.5
`)
	// On a terminal the table shows times for people, and the denial reasons follow.
	r := e.run(t, true, "", "usage", "--user", "ivan@contoso.com")
	wantOutput(t, "tty", r.stdout,
		`TIME                 UPN               FIRST NAME  LAST NAME  EMAIL  PHONE  DEVICE TOKEN  MODE           RESULT   RESULT CODE                 REASON                 SERVER NAME  SERVER IP  CLIENT IP
2026-11-21 10:00:00  ivan@contoso.com                                                     app-password   success  SUCCESS_OATH_CODE_VERIFIED                         mfa01        10.0.0.5
2026-11-21 11:00:00  ivan@contoso.com                                       SN2           oath-hardware  denied   FAILED_USER_BLOCKED         user is blocked: left  mfa01        10.0.0.5

DENIAL REASON        DENIED
FAILED_USER_BLOCKED  1
`)
}

func TestUsageEmptyWindow(t *testing.T) {
	e := usageEnv(t)
	for _, args := range [][]string{{"usage", "--since", "2027-01-01"}, {"usage", "--since", "2027-01-01", "--by", "day"}} {
		wantOutput(t, "json", e.ok(t, "json", args...), "[]\n")
	}
	wantOutput(t, "csv", e.ok(t, "csv", "usage", "--since", "2027-01-01"), strings.Join(eventColumns, ",")+"\n")
	wantOutput(t, "csv grouped", e.ok(t, "csv", "usage", "--by", "user", "--until", "2026-01-01"), "group,success,denied,total\n")
	wantOutput(t, "table", e.ok(t, "", "usage", "--by", "day", "--since", "2027-01-01"), "GROUP  SUCCESS  DENIED  TOTAL\n")
	wantOutput(t, "empty directory", newEnv(t).ok(t, "json", "usage", "--by", "day"), "[]\n")
}

func TestUsageUsageErrors(t *testing.T) {
	e := usageEnv(t)
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"usage", "--by", "week"}, `--by: "week" is not day, user, method or result`},
		{[]string{"usage", "--result", "ok"}, `--result: "ok" is not success or denied`},
		{[]string{"usage", "--since", "last week"}, `--since: "last week" is neither an RFC 3339 date or time (2026-11-01, 2026-11-01T08:00:00Z) nor an age like 30d or 12h`},
		{[]string{"usage", "--since", "1d", "--until", "2d"}, "--since: 2026-11-21T12:00:00Z is after --until 2026-11-20T12:00:00Z"},
		{[]string{"usage", "extra"}, `unknown command "extra" for "report usage"`},
	} {
		checkUsageError(t, e.run(t, false, "", tt.args...), tt.msg)
	}
	checkUsageError(t, e.run(t, false, "yaml", "usage"), `report usage: unknown output format "yaml" (want table, json, csv)`)
}

// Every report's table has the columns of its CSV, named alike (upper case, spaces for
// underscores): --by day, user, method and result included, whose first column is "group".
func TestTableColumnsAreCSVColumns(t *testing.T) {
	e := usageEnv(t)
	split := regexp.MustCompile(`\s{2,}`)
	for _, args := range [][]string{
		{"usage"}, {"usage", "--by", "day"}, {"usage", "--by", "user"}, {"usage", "--by", "method"},
		{"usage", "--by", "result"}, {"registration"}, {"tokens"}, {"tokens", "--unused-for", "1d"}, {"audit"},
	} {
		csvHeader := strings.SplitN(e.ok(t, "csv", args...), "\n", 2)[0]
		tableHeader := strings.SplitN(e.ok(t, "", args...), "\n", 2)[0]
		want := strings.Split(strings.ToUpper(strings.ReplaceAll(csvHeader, "_", " ")), ",")
		if got := split.Split(tableHeader, -1); !slices.Equal(got, want) {
			t.Errorf("report %s: table columns %q, CSV columns %q", strings.Join(args, " "), got, want)
		}
	}
}
