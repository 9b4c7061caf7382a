package signin

import (
	"fmt"
	"regexp"
	"strings"
)

// Scheme starts a location that names a Microsoft Entra ID tenant.
const Scheme = "entra://"

// LocationError reports an entra:// location or tenant name that does not name one tenant.
// Location is empty when echoing it could leak something (a URL with a user name or password).
type LocationError struct {
	Location string
	Reason   string
}

func (e *LocationError) Error() string {
	if e.Location == "" {
		return "invalid Entra ID location: " + e.Reason
	}
	return fmt.Sprintf("invalid Entra ID location %q: %s", e.Location, e.Reason)
}

const wantTenant = "want entra://TENANT with a tenant id (a GUID) or a verified domain such as contoso.onmicrosoft.com"

var (
	guidRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	digitRE = regexp.MustCompile(`^[0-9]+$`)
)

// ParseTenant reads the tenant out of an entra:// location ("entra://contoso.onmicrosoft.com")
// or takes a bare tenant name, and returns it in lower case. A tenant is a GUID or a DNS domain;
// anything a URL could add (user name, password, port, path, query) is refused rather than
// ignored, because a location that silently drops part of itself may act on the wrong tenant.
func ParseTenant(urlOrName string) (string, error) {
	name := urlOrName
	if i := strings.Index(urlOrName, "://"); i >= 0 {
		if !strings.EqualFold(urlOrName[:i+3], Scheme) {
			return "", &LocationError{Location: urlOrName, Reason: "not an entra:// location"}
		}
		name = urlOrName[i+3:]
		// The user name and password part is checked first and the location is not echoed:
		// whatever stands before an "@" may be a secret somebody pasted.
		if host, _, _ := strings.Cut(name, "/"); strings.Contains(host, "@") {
			return "", &LocationError{Reason: "an entra:// location takes no user name or password: " +
				"sign-in uses the AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH variables"}
		}
		name = strings.TrimSuffix(name, "/")
	}
	bad := func(reason string) (string, error) {
		return "", &LocationError{Location: urlOrName, Reason: reason}
	}
	switch {
	case name == "":
		return bad("no tenant named: " + wantTenant)
	case strings.ContainsAny(name, "?#"):
		return bad("a query or fragment is not allowed: " + wantTenant)
	case strings.Contains(name, "/"):
		return bad("a path is not allowed: " + wantTenant)
	case strings.Contains(name, ":"):
		return bad("a port is not allowed: " + wantTenant)
	case strings.Contains(name, "@"):
		return bad("a user name is not allowed: " + wantTenant)
	}
	name = strings.ToLower(name)
	if guidRE.MatchString(name) {
		return name, nil
	}
	switch name {
	case "common", "organizations", "consumers":
		return bad(fmt.Sprintf("%q is not one tenant: mfactl acts on a single tenant; %s", name, wantTenant))
	}
	if err := checkDomain(name); err != "" {
		return bad(err + ": " + wantTenant)
	}
	return name, nil
}

// IsTenantID tells a tenant id (GUID) from a domain name.
func IsTenantID(tenant string) bool {
	return guidRE.MatchString(strings.ToLower(tenant))
}

// checkDomain returns why name is not a DNS domain, or "".
func checkDomain(name string) string {
	for _, r := range name {
		if r > 0x7f {
			return "a domain must be written in ASCII (use its xn-- form)"
		}
	}
	if len(name) > 253 {
		return "the domain is longer than 253 characters"
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return "not a tenant id or a domain name"
	}
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return "not a tenant id or a domain name"
		}
	}
	if digitRE.MatchString(labels[len(labels)-1]) {
		return "an IP address is not a tenant"
	}
	return ""
}
