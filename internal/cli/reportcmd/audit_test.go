package reportcmd

import (
	"context"
	"testing"
	"time"

	"github.com/mfactl/mfactl/internal/directory"
)

func auditEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newEnv(t)
	for _, a := range []directory.AuditEvent{
		{Time: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC), Actor: "helpdesk", Host: "admin01", Command: "tokens assign",
			Target: "SN1", Result: "success", Detail: "assigned to helga@contoso.com"},
		{Time: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), Actor: "helpdesk", Host: "admin01", Command: "tokens import",
			Target: "tokens.csv", Result: "success", Detail: "rows=5 imported=5"},
		{Time: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), Actor: "=cmd", Host: "admin01", Command: "users block",
			Target: "+ivan@contoso.com", Result: "failure", Detail: "@SUM(A1)"},
	} {
		if err := e.db.AddAudit(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func TestAudit(t *testing.T) {
	e := auditEnv(t)
	wantOutput(t, "table", e.ok(t, "", "audit"), `TIME                  ACTOR     HOST     COMMAND        TARGET             RESULT   DETAIL
2026-11-20T09:00:00Z  helpdesk  admin01  tokens import  tokens.csv         success  rows=5 imported=5
2026-11-21T09:00:00Z  helpdesk  admin01  tokens assign  SN1                success  assigned to helga@contoso.com
2026-11-22T08:00:00Z  =cmd      admin01  users block    +ivan@contoso.com  failure  @SUM(A1)
`)
	wantOutput(t, "csv", e.ok(t, "csv", "audit", "--since", "1d"), `time,actor,host,command,target,result,detail
2026-11-22T08:00:00Z,'=cmd,admin01,users block,'+ivan@contoso.com,failure,'@SUM(A1)
`)
	wantOutput(t, "json", e.ok(t, "json", "audit", "--since", "2026-11-21", "--until", "2026-11-22"), `[
  {
    "time": "2026-11-21T09:00:00Z",
    "actor": "helpdesk",
    "host": "admin01",
    "command": "tokens assign",
    "target": "SN1",
    "result": "success",
    "detail": "assigned to helga@contoso.com"
  }
]
`)
	wantOutput(t, "future", e.ok(t, "json", "audit", "--since", "2030-01-01T00:00:00Z"), "[]\n")
	checkUsageError(t, e.run(t, false, "", "audit", "--until", "tomorrow"),
		`--until: "tomorrow" is neither an RFC 3339 date or time (2026-11-01, 2026-11-01T08:00:00Z) nor an age like 30d or 12h`)
}

func TestAuditFilters(t *testing.T) {
	e := auditEnv(t)
	if err := e.db.AddAudit(context.Background(), directory.AuditEvent{Time: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
		Actor: "helpdesk", Host: "admin01", Command: "users block", Target: "Helga@Contoso.com", Result: "success",
		Detail: "blocked: on leave"}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddAudit(context.Background(), directory.AuditEvent{Time: time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC),
		Actor: "helpdesk", Host: "admin01", Command: "tokens assign", Target: "SN9", Result: "success",
		Detail: "assigned to olga.helga@contoso.com.au"}); err != nil {
		t.Fatal(err)
	}
	// --user: the target in any letter case, or the UPN named as a whole in the detail (not
	// inside another UPN).
	wantOutput(t, "user", e.ok(t, "csv", "audit", "--user", "HELGA@contoso.com"), `time,actor,host,command,target,result,detail
2026-11-21T09:00:00Z,helpdesk,admin01,tokens assign,SN1,success,assigned to helga@contoso.com
2026-11-21T10:00:00Z,helpdesk,admin01,users block,Helga@Contoso.com,success,blocked: on leave
`)
	wantOutput(t, "user and window", e.ok(t, "csv", "audit", "--user", "helga@contoso.com", "--since", "2026-11-21T09:30:00Z"),
		`time,actor,host,command,target,result,detail
2026-11-21T10:00:00Z,helpdesk,admin01,users block,Helga@Contoso.com,success,blocked: on leave
`)
	wantOutput(t, "result", e.ok(t, "json", "audit", "--result", "failure"), `[
  {
    "time": "2026-11-22T08:00:00Z",
    "actor": "=cmd",
    "host": "admin01",
    "command": "users block",
    "target": "+ivan@contoso.com",
    "result": "failure",
    "detail": "@SUM(A1)"
  }
]
`)
	wantOutput(t, "no match", e.ok(t, "json", "audit", "--user", "ivan@contoso.com", "--result", "success"), "[]\n")
	checkUsageError(t, e.run(t, false, "", "audit", "--result", "denied"), `--result: "denied" is not success or failure`)
}
