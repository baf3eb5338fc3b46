package accounts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2id's parameters, OWASP's Password Storage Cheat Sheet's first
// choice for argon2id: 19 MiB of memory, 2 iterations, 1 thread. A hash
// takes tens of milliseconds of one core (BenchmarkHashPassword: 72 to 130
// ms on a 2-core machine under other load). Stored hashes
// carry their own parameters, so raising these later leaves old passwords
// valid.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Bounds on the parameters a stored hash may name, so that a damaged row
// cannot make a sign-in take the machine's memory.
const (
	maxArgonMemory = 1 << 20 // KiB: 1 GiB
	maxArgonTime   = 10
)

// errBadHash is a stored hash that is not argon2id in the PHC form.
var errBadHash = errors.New("accounts: the stored password hash is not argon2id")

// hashPassword hashes password with a fresh salt, in the PHC string form
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded base64).
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key, err := s.argon(ctx, password, salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// checkPassword reports whether password hashes to encoded, comparing in
// constant time.
func (s *Service) checkPassword(ctx context.Context, password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false, errBadHash
	}
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil ||
		memory < 8 || memory > maxArgonMemory || time < 1 || time > maxArgonTime || threads < 1 {
		return false, errBadHash
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(want) < 16 || len(want) > 64 {
		return false, errBadHash
	}
	got, err := s.argon(ctx, password, salt, time, memory, threads, uint32(len(want)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// argon computes argon2id once a hashing slot is free: the slots bound the
// memory and the cores sign-ins take, however many arrive at once.
func (s *Service) argon(ctx context.Context, password string, salt []byte, time, memory uint32, threads uint8, keyLen uint32) ([]byte, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.hashing }()
	return argon2.IDKey([]byte(password), salt, time, memory, threads, keyLen), nil
}
