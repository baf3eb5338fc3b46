package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/credentials"
	"github.com/seed2ac2593f/wxpay/notify"
)

// Size limits of what the command reads. A path is whatever the user typed,
// /dev/zero included, so every read stops one byte past its limit instead of
// filling memory.
const (
	// maxPEMBytes bounds a key or certificate file, as package credentials does.
	maxPEMBytes = credentials.MaxFileBytes
	// maxConfigBytes bounds a --config file, a few dozen settings.
	maxConfigBytes = 64 << 10
	// maxDataBytes bounds a request body (--data): WeChat Pay's JSON bodies
	// are a few KiB, and the sandbox refuses more than 1 MiB.
	maxDataBytes = 1 << 20
	// maxNotificationBytes bounds --body: what notify.Parser accepts.
	maxNotificationBytes = notify.DefaultMaxBodyBytes
)

// readLimited reads r to its end, or fails once it passes limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, withoutPath(err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %s, the limit", sizeText(limit))
	}
	return b, nil
}

// readFileLimited reads the file at path, or fails once it passes limit bytes.
func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, withoutPath(err)
	}
	defer f.Close()
	return readLimited(f, limit)
}

// readFile reads a key or certificate file of the sandbox's; the error
// names the flag and the file.
func readFile(flagName, path string) ([]byte, error) {
	b, err := readFileLimited(path, maxPEMBytes)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", flagName, path, err)
	}
	return b, nil
}

func loadCert(flagName, path string) (*x509.Certificate, error) {
	pemBytes, err := readFile(flagName, path)
	if err != nil {
		return nil, err
	}
	cert, err := wxpay.LoadCertificate(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", flagName, path, err)
	}
	return cert, nil
}

// readData returns the bytes of a --data value: JSON as given, @FILE or @-.
func readData(v string, stdin io.Reader) ([]byte, error) {
	var b []byte
	var err error
	switch {
	case v == "@-":
		b, err = readLimited(stdin, maxDataBytes)
	case strings.HasPrefix(v, "@"):
		b, err = readFileLimited(v[1:], maxDataBytes)
	default:
		b = []byte(v)
	}
	if err != nil {
		return nil, fmt.Errorf("--data %s: %v", v, err)
	}
	return b, nil
}

// withoutPath drops the file name an *os.PathError repeats.
func withoutPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// sizeText writes a byte count the way the limits above are chosen.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
