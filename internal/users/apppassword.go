package users

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/mfactl/mfactl/internal/directory"
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
	var buf [2 * AppPasswordLength]byte // rejection discards few bytes: one read nearly always does
	limit := 256 - 256%len(appPasswordAlphabet)
	for len(out) < AppPasswordLength {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("generating app password: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < AppPasswordLength {
				out = append(out, appPasswordAlphabet[int(b)%len(appPasswordAlphabet)])
			}
		}
		clear(buf[:])
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

// ErrBadHash means a stored app-password hash is not a PHC argon2id string this code reads,
// or asks for parameters beyond the bounds below.
var ErrBadHash = errors.New("unrecognised app-password hash")

// Bounds on the parameters VerifyAppPassword accepts from a stored hash, so a damaged or
// planted row cannot make a check take gigabytes of memory or minutes of CPU. They leave
// ample room above the parameters HashAppPassword writes.
const (
	maxArgonMemory  = 1 << 20 // KiB: 1 GiB
	maxArgonTime    = 16
	maxArgonThreads = 16
	minArgonKeyLen  = 16
	maxArgonKeyLen  = 64
	minArgonSaltLen = 8
	maxArgonSaltLen = 64
)

// VerifyAppPassword reports whether password matches the PHC hash, comparing in constant time.
func VerifyAppPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false, ErrBadHash
	}
	params := map[string]uint64{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil || (k != "m" && k != "t" && k != "p") {
			return false, ErrBadHash
		}
		params[k] = n
	}
	memory, time, threads := params["m"], params["t"], params["p"]
	if len(params) != 3 || memory == 0 || memory > maxArgonMemory || time == 0 || time > maxArgonTime ||
		threads == 0 || threads > maxArgonThreads || memory < 8*threads {
		return false, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < minArgonSaltLen || len(salt) > maxArgonSaltLen {
		return false, ErrBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < minArgonKeyLen || len(want) > maxArgonKeyLen {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(password), salt, uint32(time), uint32(memory), uint8(threads), uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// AppPasswordStore is what the app-password operations need of the directory.
type AppPasswordStore interface {
	AddAppPassword(ctx context.Context, upn, name, hash string) (directory.AppPassword, error)
	ListAppPasswords(ctx context.Context, upn string) ([]directory.AppPassword, error)
	RevokeAppPasswords(ctx context.Context, upn, id string) ([]directory.AppPassword, error)
}

// NewAppPassword is a created app password with the password itself, which exists only here:
// show it to the admin once and drop it.
type NewAppPassword struct {
	directory.AppPassword
	Password string
}

// DefaultAppPasswordName names app passwords created without a name.
const DefaultAppPasswordName = "app password"

// CreateAppPassword generates an app password for the user and stores only its argon2id
// hash. The password is in the result and nowhere else.
func CreateAppPassword(ctx context.Context, st AppPasswordStore, upn, name string) (NewAppPassword, error) {
	if name == "" {
		name = DefaultAppPasswordName
	}
	if err := CheckText("name", name); err != nil {
		return NewAppPassword{}, err
	}
	pw, err := GenerateAppPassword()
	if err != nil {
		return NewAppPassword{}, err
	}
	hash, err := HashAppPassword(pw)
	if err != nil {
		return NewAppPassword{}, err
	}
	p, err := st.AddAppPassword(ctx, upn, name, hash)
	if err != nil {
		return NewAppPassword{}, wrap("creating an app password for", upn, err)
	}
	return NewAppPassword{AppPassword: p, Password: pw}, nil
}

// ListAppPasswords returns the user's app passwords (everyone's when upn is empty), never the
// passwords or their hashes.
func ListAppPasswords(ctx context.Context, st AppPasswordStore, upn string) ([]directory.AppPassword, error) {
	ps, err := st.ListAppPasswords(ctx, upn)
	if err != nil {
		if upn == "" {
			return nil, fmt.Errorf("listing app passwords: %w", err)
		}
		return nil, wrap("listing app passwords of", upn, err)
	}
	return ps, nil
}

// RevokeAppPasswords deletes the user's app password with the id, or all of them when id is
// empty (the lost-phone case), and returns what it deleted.
func RevokeAppPasswords(ctx context.Context, st AppPasswordStore, upn, id string) ([]directory.AppPassword, error) {
	ps, err := st.RevokeAppPasswords(ctx, upn, id)
	if err != nil {
		return nil, wrap("revoking app passwords of", upn, err)
	}
	return ps, nil
}
