package signin

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTenantAccepts(t *testing.T) {
	for in, want := range map[string]string{
		"entra://contoso.onmicrosoft.com":              "contoso.onmicrosoft.com",
		"ENTRA://Contoso.OnMicrosoft.com/":             "contoso.onmicrosoft.com",
		"entra://72F988BF-86F1-41AF-91AB-2D7CD011DB47": "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"contoso.com":                                     "contoso.com",
		"72f988bf-86f1-41af-91ab-2d7cd011db47":            "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"entra://xn--bcher-kva.example":                   "xn--bcher-kva.example",
		"entra://mfa-test-01.contoso-labs.onmicrosoft.us": "mfa-test-01.contoso-labs.onmicrosoft.us",
	} {
		got, err := ParseTenant(in)
		if err != nil || got != want {
			t.Errorf("ParseTenant(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseTenantRefuses(t *testing.T) {
	const want = `want entra://TENANT with a tenant id (a GUID) or a verified domain such as contoso.onmicrosoft.com`
	for in, msg := range map[string]string{
		"entra://":                        `invalid Entra ID location "entra://": no tenant named: ` + want,
		"entra://contoso.com/beta":        `invalid Entra ID location "entra://contoso.com/beta": a path is not allowed: ` + want,
		"entra://contoso.com:443":         `invalid Entra ID location "entra://contoso.com:443": a port is not allowed: ` + want,
		"entra://contoso.com?tenant=x":    `invalid Entra ID location "entra://contoso.com?tenant=x": a query or fragment is not allowed: ` + want,
		"entra://contoso.com#x":           `invalid Entra ID location "entra://contoso.com#x": a query or fragment is not allowed: ` + want,
		"entra://contoso":                 `invalid Entra ID location "entra://contoso": not a tenant id or a domain name: ` + want,
		"entra://common":                  `invalid Entra ID location "entra://common": "common" is not one tenant: mfactl acts on a single tenant; ` + want,
		"entra://organizations":           `invalid Entra ID location "entra://organizations": "organizations" is not one tenant: mfactl acts on a single tenant; ` + want,
		"entra://127.0.0.1":               `invalid Entra ID location "entra://127.0.0.1": an IP address is not a tenant: ` + want,
		"entra://con_toso.com":            `invalid Entra ID location "entra://con_toso.com": not a tenant id or a domain name: ` + want,
		"entra://-contoso.com":            `invalid Entra ID location "entra://-contoso.com": not a tenant id or a domain name: ` + want,
		"entra://bücher.example":          `invalid Entra ID location "entra://bücher.example": a domain must be written in ASCII (use its xn-- form): ` + want,
		"entra://72f988bf-86f1-41af-91ab": `invalid Entra ID location "entra://72f988bf-86f1-41af-91ab": not a tenant id or a domain name: ` + want,
		"postgres://contoso.com":          `invalid Entra ID location "postgres://contoso.com": not an entra:// location`,
		"":                                `invalid Entra ID location: no tenant named: ` + want,
		"contoso .com":                    `invalid Entra ID location "contoso .com": not a tenant id or a domain name: ` + want,
	} {
		_, err := ParseTenant(in)
		var le *LocationError
		if !errors.As(err, &le) || err.Error() != msg {
			t.Errorf("ParseTenant(%q) error:\n got %v\nwant %s", in, err, msg)
		}
	}
}

// A URL with a user name or password is refused without echoing any of it: whatever stands
// before the "@" may be a secret.
func TestParseTenantRefusesCredentialsWithoutEchoing(t *testing.T) {
	for _, in := range []string{
		"entra://app:S3cr3t-Value@contoso.com",
		"entra://S3cr3t-Value@contoso.com/",
		"entra://app:S3cr3t-Value@contoso.com/path?x=1",
	} {
		_, err := ParseTenant(in)
		const msg = "invalid Entra ID location: an entra:// location takes no user name or password: " +
			"sign-in uses the AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH variables"
		if err == nil || err.Error() != msg {
			t.Errorf("ParseTenant(%q) error:\n got %v\nwant %s", in, err, msg)
		}
		if err != nil && strings.Contains(err.Error(), "S3cr3t") {
			t.Errorf("the error echoes the password: %v", err)
		}
	}
}
