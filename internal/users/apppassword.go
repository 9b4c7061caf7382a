// Package users is the domain of directory users: registration state and its reset, blocking,
// app passwords and authenticator-app enrolment.
package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters for app-password hashes: OWASP's recommendation (19 MiB, 2 passes, 1
// lane). They are stored in each hash, so raising them later keeps old hashes verifiable.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// AppPasswordLength is the length of generated app passwords.
const AppPasswordLength = 16

// appPasswordAlphabet has no characters that are easily confused (0/O, 1/l/I), since app
// passwords are typed by hand; 56 symbols give 16 characters about 93 bits.
const appPasswordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GenerateAppPassword returns a new random app password of AppPasswordLength characters,
// drawn from crypto/rand without modulo bias.
func GenerateAppPassword() (string, error) {
	out := make([]byte, 0, AppPasswordLength)
	buf := make([]byte, 1)
	limit := 256 - 256%len(appPasswordAlphabet)
	for len(out) < AppPasswordLength {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generating app password: %w", err)
		}
		if int(buf[0]) < limit {
			out = append(out, appPasswordAlphabet[int(buf[0])%len(appPasswordAlphabet)])
		}
	}
	return string(out), nil
}

// HashAppPassword returns the argon2id hash of password as a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded standard Base64).
func HashAppPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hashing app password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrBadHash means a stored app-password hash is not a PHC argon2id string this code reads.
var ErrBadHash = errors.New("unrecognised app-password hash")

// VerifyAppPassword reports whether password matches the PHC hash, comparing in constant time.
func VerifyAppPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var version int
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil || threads == 0 || time == 0 {
		return false, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(password), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
