package trunk

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// SecretEnv names the environment variable the commands read the trunk secret from when neither
// -trunk-secret nor -trunk-secret-file is given: a command line shows in ps, the environment of
// another user's process does not.
const SecretEnv = "FMSGO_TRUNK_SECRET"

// MinSecretLen is the shortest secret accepted. A recorded hello lets anyone on the path test
// guesses offline, so a short secret falls to a dictionary in seconds; 16 bytes of random text
// (e.g. `openssl rand -hex 16`) do not.
const MinSecretLen = 16

// ErrSecret is wrapped by every secret configuration error.
var ErrSecret = errors.New("trunk: bad secret configuration")

// SecretFromEnv returns value unless no secret source is set (value and file empty), in which
// case it returns getenv(SecretEnv). The commands call it with os.Getenv before New.
func SecretFromEnv(value, file string, getenv func(string) string) string {
	if value != "" || file != "" {
		return value
	}
	return getenv(SecretEnv)
}

// LoadSecret resolves the configured secret: value (-trunk-secret, or the environment), or the
// content of file (-trunk-secret-file; surrounding white space, e.g. the final newline, is
// dropped), never both. Empty means no secret. A secret shorter than MinSecretLen is an error.
func LoadSecret(value, file string) ([]byte, error) {
	if value != "" && file != "" {
		return nil, fmt.Errorf("%w: give -trunk-secret or -trunk-secret-file, not both", ErrSecret)
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%w: read -trunk-secret-file: %w", ErrSecret, err)
		}
		value = strings.TrimSpace(string(b))
		if value == "" {
			return nil, fmt.Errorf("%w: -trunk-secret-file %s is empty", ErrSecret, file)
		}
	}
	if value == "" {
		return nil, nil
	}
	if len(value) < MinSecretLen {
		return nil, fmt.Errorf("%w: the trunk secret has %d bytes, at least %d are required (e.g. `openssl rand -hex 16`)",
			ErrSecret, len(value), MinSecretLen)
	}
	return []byte(value), nil
}

// ListensBeyondLoopback reports whether a listen address ("host:port") may accept connections
// from other machines: an empty host, an unspecified address (0.0.0.0, ::) or any host that is
// not "localhost" or a loopback IP.
func ListensBeyondLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return true
	}
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
