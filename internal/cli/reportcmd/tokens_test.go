package reportcmd

import (
	"encoding/json"
	"testing"
)

func TestTokenInventory(t *testing.T) {
	e := directoryEnv(t)
	wantOutput(t, "table", e.ok(t, "", "tokens"),
		`MANUFACTURER  MODEL        TOTAL  AVAILABLE  ASSIGNED  ACTIVATED  FAILED ACTIVATION  DISABLED  UNASSIGNED
Contoso       HardwareKey  4      1          2         1          0                  0         1
Fabrikam      C200         1      0          0         0          0                  1         1
TOTAL                      5      1          2         1          0                  1         2
`)
	wantOutput(t, "csv", e.ok(t, "csv", "tokens"),
		`manufacturer,model,total,available,assigned,activated,failed_activation,disabled,unassigned
Contoso,HardwareKey,4,1,2,1,0,0,1
Fabrikam,C200,1,0,0,0,0,1,1
`)
	wantOutput(t, "json", e.ok(t, "json", "tokens"), `[
  {
    "manufacturer": "Contoso",
    "model": "HardwareKey",
    "total": 4,
    "available": 1,
    "assigned": 2,
    "activated": 1,
    "failed_activation": 0,
    "disabled": 0,
    "unassigned": 1
  },
  {
    "manufacturer": "Fabrikam",
    "model": "C200",
    "total": 1,
    "available": 0,
    "assigned": 0,
    "activated": 0,
    "failed_activation": 0,
    "disabled": 1,
    "unassigned": 1
  }
]
`)
	wantOutput(t, "empty json", newEnv(t).ok(t, "json", "tokens"), "[]\n")
}

func TestUnusedTokens(t *testing.T) {
	e := directoryEnv(t)
	// The clock is 2026-11-22T12:00. SN1 was last used on 2026-11-10; SN2 and SN3 were assigned
	// just now (at import) and are not idle yet.
	wantOutput(t, "90d csv", e.ok(t, "csv", "tokens", "--unused-for", "90d"),
		`serial number,upn,status,manufacturer,model,time interval,hash,digits,drift,failed attempts,created at,activated at,last used at
`)
	wantOutput(t, "7d table", e.ok(t, "", "tokens", "--unused-for", "1w"),
		`SERIAL NUMBER  UPN                STATUS     MANUFACTURER  MODEL        TIME INTERVAL  HASH  DIGITS  DRIFT  FAILED ATTEMPTS  CREATED AT            ACTIVATED AT          LAST USED AT
SN1            helga@contoso.com  activated  Contoso       HardwareKey  30             SHA1  6       0      0                2026-11-22T12:00:00Z  2026-11-01T09:00:00Z  2026-11-10T08:00:00Z
`)
	var tokens []map[string]any
	if err := json.Unmarshal([]byte(e.ok(t, "json", "tokens", "--unused-for", "7d")), &tokens); err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 1 || tokens[0]["serial_number"] != "SN1" || tokens[0]["last_used_at"] != "2026-11-10T08:00:00Z" ||
		tokens[0]["time_interval"] != 30.0 || len(tokens[0]) != 13 {
		t.Errorf("json: %v", tokens)
	}
	wantOutput(t, "none", newEnv(t).ok(t, "json", "tokens", "--unused-for", "90d"), "[]\n")
	checkUsageError(t, e.run(t, false, "", "tokens", "--unused-for", "90"), `--unused-for: "90": want whole numbers with a unit (s, m, h, d, w), like 30d or 1d12h`)
	checkUsageError(t, e.run(t, false, "", "tokens", "--unused-for", "0d"), "--unused-for: want a positive age like 90d")
	checkUsageError(t, e.run(t, false, "", "tokens", "--unused-for", ""), "--unused-for: empty duration")
}
