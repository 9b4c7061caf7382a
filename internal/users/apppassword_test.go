package users

import (
	"strings"
	"testing"
)

func TestAppPasswordHashRoundTrip(t *testing.T) {
	pw, err := GenerateAppPassword()
	if err != nil {
		t.Fatal(err)
	}
	if len(pw) != AppPasswordLength || strings.Trim(pw, appPasswordAlphabet) != "" {
		t.Fatalf("bad password %q", pw)
	}
	hash, err := HashAppPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(hash, pw) {
		t.Fatalf("unexpected hash %q", hash)
	}
	if ok, err := VerifyAppPassword(hash, pw); !ok || err != nil {
		t.Errorf("right password: %v %v", ok, err)
	}
	// The last character changed to another one of the alphabet (the password may end in any).
	last := strings.IndexByte(appPasswordAlphabet, pw[len(pw)-1])
	wrong := pw[:len(pw)-1] + string(appPasswordAlphabet[(last+1)%len(appPasswordAlphabet)])
	if ok, err := VerifyAppPassword(hash, wrong); ok || err != nil {
		t.Errorf("wrong password: %v %v", ok, err)
	}
	if _, err := VerifyAppPassword("$2y$10$abc", pw); err != ErrBadHash {
		t.Errorf("bcrypt-looking hash: %v", err)
	}
	other, _ := HashAppPassword(pw)
	if other == hash {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestGeneratedPasswordsDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		pw, err := GenerateAppPassword()
		if err != nil {
			t.Fatal(err)
		}
		if seen[pw] {
			t.Fatalf("repeated password")
		}
		seen[pw] = true
	}
}
