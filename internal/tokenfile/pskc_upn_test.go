package tokenfile

import (
	"strings"
	"testing"
)

// Key/UserId and DeviceInfo/UserId are both places a vendor names the owner; when the Key's
// is not a UPN (a login name, an LDAP DN), the device's UPN is still the token's owner.
func TestPSKCDeviceUserIDUPN(t *testing.T) {
	tests := []struct{ keyUser, deviceUser, want string }{
		{"CN=Bob Smith,OU=Users,DC=corp", "bob@contoso.com", "bob@contoso.com"},
		{"bsmith", " bob@contoso.com ", "bob@contoso.com"},
		{"", "bob@contoso.com", "bob@contoso.com"},
		{"alice@contoso.com", "bob@contoso.com", "alice@contoso.com"}, // the Key's own UserId first
		{"bsmith", "CN=Bob Smith", ""},
	}
	for _, tc := range tests {
		doc := container(keyPackage{serial: "S", suite: "SHA1", user: tc.keyUser})
		if tc.deviceUser != "" {
			doc = strings.Replace(doc, "<Model>c200</Model>", "<Model>c200</Model><UserId>"+tc.deviceUser+"</UserId>", 1)
		}
		_, recs, err := readAll(t, doc, pskcOpts())
		if err != nil || len(recs) != 1 {
			t.Fatalf("%q/%q: %d records, %v", tc.keyUser, tc.deviceUser, len(recs), err)
		}
		if recs[0].Token.UPN != tc.want {
			t.Errorf("Key UserId %q, DeviceInfo UserId %q gave UPN %q, want %q", tc.keyUser, tc.deviceUser, recs[0].Token.UPN, tc.want)
		}
	}
}
