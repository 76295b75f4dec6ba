package trunk

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSecretFromEnv(t *testing.T) {
	t.Parallel()
	env := func(k string) string {
		if k == SecretEnv {
			return "from-the-environment"
		}
		return ""
	}
	for _, c := range []struct{ value, file, want string }{
		{"", "", "from-the-environment"},
		{"given", "", "given"},
		{"", "/some/file", ""}, // the file wins over the environment; LoadSecret reads it
	} {
		if got := SecretFromEnv(c.value, c.file, env); got != c.want {
			t.Errorf("SecretFromEnv(%q, %q) = %q, want %q", c.value, c.file, got, c.want)
		}
	}
}

func TestLoadSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	_ = os.WriteFile(good, []byte("  0123456789abcdef\r\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	if s, err := LoadSecret("", good); err != nil || string(s) != "0123456789abcdef" {
		t.Errorf("file: %q %v", s, err)
	}
	if s, err := LoadSecret("0123456789abcdef", ""); err != nil || string(s) != "0123456789abcdef" {
		t.Errorf("value: %q %v", s, err)
	}
	if s, err := LoadSecret("", ""); err != nil || s != nil {
		t.Errorf("none: %q %v", s, err)
	}
	for name, c := range map[string][2]string{
		"short": {"change-me", ""}, "both": {"0123456789abcdef", good},
		"empty file": {"", empty}, "missing file": {"", filepath.Join(dir, "nope")},
	} {
		if _, err := LoadSecret(c[0], c[1]); !errors.Is(err, ErrSecret) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestListensBeyondLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:19350": false, "[::1]:19350": false, "localhost:19350": false, "127.0.0.2:1": false,
		":19350": true, "0.0.0.0:19350": true, "[::]:1": true, "10.0.0.5:1": true, "example.com:1": true, "junk": true,
	} {
		if got := ListensBeyondLoopback(addr); got != want {
			t.Errorf("%s: %v, want %v", addr, got, want)
		}
	}
}

// TestHandshakeBuffersSmallUntilAuthenticated (issue 9 item 6): a connection that has not
// authenticated reads through a small buffer; the link's 64 KiB one exists only after the
// hello exchange, and it still yields the frames the peer sent in the same packet as its hello
// (the small buffer already holds them).
func TestHandshakeBuffersSmallUntilAuthenticated(t *testing.T) {
	t.Parallel()
	h, err := newHandshakeIO(&bytesConn{r: bytes.NewReader(nil)}, 0)
	if err != nil || h.br.Size() > 1024 {
		t.Fatalf("handshake reader buffers %d bytes before authentication (%v)", h.br.Size(), err)
	}
	wire := AppendFrame(nil, 0, Hello{Magic: Magic, Version: ProtocolVersion, EdgeID: "e"})
	wire = AppendFrame(wire, 7, Ping{Time: 42})
	link, err := ServerHandshake(&bytesConn{r: bytes.NewReader(wire)}, HandshakeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if link.Reader.Size() != linkBufSize {
		t.Fatalf("link reader %d bytes", link.Reader.Size())
	}
	f, err := NewReader(link.Reader, 0).ReadFrame()
	if err != nil || f.Kind != KindPing || f.ID != 7 {
		t.Fatalf("frame after the handshake: %+v %v", f, err)
	}
}
