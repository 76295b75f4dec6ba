package rtmpconn

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// c1Kind says how a test C1 is built.
type c1Kind int

const (
	c1Plain     c1Kind = iota // zero version, random bytes (librtmp, go-rtmp)
	c1Digest0                 // version 9.0.124.2, digest at (sum 8..11)%728+12
	c1Digest1                 // version 9.0.124.2, digest at (sum 772..775)%728+776
	c1BadDigest               // non-zero version, no digest validates
)

// makeC0C1 builds a deterministic C0+C1 shaped like a real client's (ffmpeg writes 9.0.124.2 and
// a digest; librtmp writes zeros).
func makeC0C1(seed uint64, c0 byte, kind c1Kind) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, 1+hsSize)
	b[0] = c0
	c1 := b[1:]
	for i := 8; i < hsSize; i++ {
		c1[i] = byte(r.Uint32())
	}
	binary.BigEndian.PutUint32(c1, uint32(seed))
	if kind == c1Plain {
		return b
	}
	copy(c1[4:8], []byte{9, 0, 124, 2})
	scheme := 0
	if kind == c1Digest1 {
		scheme = 1
	}
	off := digestOffset(c1, scheme)
	copy(c1[off:], hmacSHA256(playerKey, c1[:off], c1[off+digestLen:]))
	if kind == c1BadDigest {
		c1[off] ^= 0xFF
		c1[digestOffset(c1, 1-scheme)] ^= 0x55 // and make sure the other position fails too
	}
	return b
}

// fakeConn serves fixed input and records output.
type fakeConn struct {
	io.Reader
	out bytes.Buffer
}

func (f *fakeConn) Write(p []byte) (int, error) { return f.out.Write(p) }

// checkAnswer verifies S0+S1+S2 the way clients do: ffmpeg validates S1's digest (both
// positions, 36-byte server key) and S2's signature when S1's version byte is >= 3; librtmp
// compares S2 with its C1 in the plain form.
func checkAnswer(c1, s []byte, digest bool) error {
	if len(s) != 1+2*hsSize || s[0] != 3 {
		return errors.New("bad S0 or length")
	}
	s1, s2 := s[1:1+hsSize], s[1+hsSize:]
	if !digest {
		if binary.BigEndian.Uint32(s1[4:8]) != 0 {
			return errors.New("plain S1 has a version")
		}
		if !bytes.Equal(s2, c1) {
			return errors.New("plain S2 is not an echo of C1")
		}
		return nil
	}
	if s1[4] < 3 {
		return errors.New("digest S1 version byte < 3: clients would not validate it")
	}
	found := false
	for scheme := range 2 {
		off := digestOffset(s1, scheme)
		if hmac.Equal(hmacSHA256(serverKey, s1[:off], s1[off+digestLen:]), s1[off:off+digestLen]) {
			found = true
		}
	}
	if !found {
		return errors.New("S1 digest does not validate (ffmpeg: Server response validating failed)")
	}
	_, cd := findClientDigest(c1)
	key := hmacSHA256(serverKeyLong, cd)
	if !hmac.Equal(hmacSHA256(key, s2[:hsSize-digestLen]), s2[hsSize-digestLen:]) {
		return errors.New("S2 signature mismatch (ffmpeg: Signature mismatch)")
	}
	return nil
}

type hsCase struct {
	name    string
	in      []byte // C0 + C1 (+ C2 appended by the test when withC2)
	withC2  bool
	digest  bool  // expected answer form
	wantErr error // nil, or a sentinel checked with errors.Is
	anyErr  bool  // some error expected
}

func handshakeCases() []hsCase {
	return []hsCase{
		{name: "plain librtmp-style", in: makeC0C1(1, 3, c1Plain), withC2: true},
		{name: "digest first layout", in: makeC0C1(2, 3, c1Digest0), withC2: true, digest: true},
		{name: "digest second layout", in: makeC0C1(3, 3, c1Digest1), withC2: true, digest: true},
		{name: "version but no valid digest falls back", in: makeC0C1(4, 3, c1BadDigest), withC2: true},
		{name: "RTMPE C0=6", in: makeC0C1(5, 6, c1Digest0), withC2: true, wantErr: ErrRTMPE},
		{name: "RTMPE XTEA C0=8", in: makeC0C1(6, 8, c1Plain), wantErr: ErrRTMPE},
		{name: "C0=0", in: makeC0C1(7, 0, c1Plain), anyErr: true},
		{name: "HTTP garbage", in: append([]byte("GET / HTTP/1.1\r\n"), make([]byte, hsSize)...), anyErr: true},
		{name: "truncated C1", in: makeC0C1(8, 3, c1Plain)[:700], wantErr: io.ErrUnexpectedEOF},
		{name: "no C2", in: makeC0C1(9, 3, c1Digest1), wantErr: io.EOF},
		{name: "empty", in: nil, wantErr: io.EOF},
	}
}

// handshakers are the two ways a server handshake reads: ServerHandshake from any reader, and
// serverHandshakeBuffered from a connection's read buffer (what Conn uses). Both must give the
// same verdicts. Each returns what was written.
var handshakers = []struct {
	name string
	run  func(in []byte) ([]byte, error)
}{
	{"reader", func(in []byte) ([]byte, error) {
		fc := &fakeConn{Reader: bytes.NewReader(in)}
		err := ServerHandshake(fc)
		return fc.out.Bytes(), err
	}},
	{"buffered", func(in []byte) ([]byte, error) {
		var out bytes.Buffer
		br := bufio.NewReaderSize(bytes.NewReader(in), 4096)
		hb := newRuntime(1).handshakeBuffer()
		err := serverHandshakeBuffered(br, &out, hb.out[:], hb.random)
		return out.Bytes(), err
	}},
}

func TestServerHandshakeFixtures(t *testing.T) {
	t.Parallel()
	for _, tc := range handshakeCases() {
		for _, hs := range handshakers {
			t.Run(tc.name+"/"+hs.name, func(t *testing.T) {
				t.Parallel()
				tc.check(t, hs.run)
			})
		}
	}
}

func (tc hsCase) check(t *testing.T, run func([]byte) ([]byte, error)) {
	t.Helper()
	in := tc.in
	if tc.withC2 {
		in = append(append([]byte(nil), in...), make([]byte, hsSize)...)
	}
	out, err := run(in)
	switch {
	case tc.wantErr != nil:
		if !errors.Is(err, tc.wantErr) {
			t.Fatalf("err = %v, want %v", err, tc.wantErr)
		}
	case tc.anyErr:
		if err == nil {
			t.Fatal("want an error")
		}
	case err != nil:
		t.Fatalf("unexpected error: %v", err)
	default:
		if err := checkAnswer(tc.in[1:], out, tc.digest); err != nil {
			t.Fatal(err)
		}
	}
}

func TestServerHandshakeRefusesBeforeAnswering(t *testing.T) {
	t.Parallel()
	fc := &fakeConn{Reader: bytes.NewReader(makeC0C1(1, 6, c1Plain))}
	if err := ServerHandshake(fc); !errors.Is(err, ErrRTMPE) {
		t.Fatalf("err = %v", err)
	}
	if fc.out.Len() != 0 {
		t.Fatalf("wrote %d bytes to an RTMPE client", fc.out.Len())
	}
}

func FuzzServerHandshake(f *testing.F) {
	for _, tc := range handshakeCases() {
		f.Add(tc.in)
		f.Add(append(append([]byte(nil), tc.in...), make([]byte, hsSize)...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var accepted int
		for _, hs := range handshakers {
			out, err := hs.run(in)
			if err != nil {
				continue
			}
			accepted++
			if len(in) < 1+2*hsSize || in[0] != 3 {
				t.Fatalf("%s: accepted %d bytes starting with %d", hs.name, len(in), in[0])
			}
			c1 := in[1 : 1+hsSize]
			_, d := findClientDigest(c1)
			digest := d != nil && binary.BigEndian.Uint32(c1[4:8]) != 0
			if err := checkAnswer(c1, out, digest); err != nil {
				t.Fatalf("%s: %v", hs.name, err)
			}
		}
		if accepted == 1 {
			t.Fatal("the reader and the buffered handshakes disagree")
		}
	})
}

func BenchmarkServerHandshakeDigest(b *testing.B) {
	in := append(makeC0C1(2, 3, c1Digest0), make([]byte, hsSize)...)
	r := bytes.NewReader(in)
	fc := &fakeConn{Reader: r}
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		fc.out.Reset()
		if err := ServerHandshake(fc); err != nil {
			b.Fatal(err)
		}
	}
}

// tinyServer accepts connections, runs ServerHandshake, and reports the C1 it saw and the first
// n bytes that followed the handshake (or the error).
type hsResult struct {
	c1    []byte
	after []byte
	err   error
}

func tinyServer(t *testing.T, n int) (string, <-chan hsResult) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	results := make(chan hsResult, 4)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go serveOne(nc, n, results)
		}
	}()
	return ln.Addr().String(), results
}

// teeConn keeps the first bytes read, to see which C1 the client sent.
type teeConn struct {
	net.Conn
	seen []byte
}

func (c *teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if len(c.seen) < 1+hsSize {
		c.seen = append(c.seen, p[:min(n, 1+hsSize-len(c.seen))]...)
	}
	return n, err
}

func serveOne(nc net.Conn, n int, results chan<- hsResult) {
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	tc := &teeConn{Conn: nc}
	res := hsResult{}
	if res.err = ServerHandshake(tc); res.err == nil {
		res.after = make([]byte, n)
		_, res.err = io.ReadFull(nc, res.after)
	}
	if len(tc.seen) > 1 {
		res.c1 = tc.seen[1:]
	}
	results <- res
}

func TestHandshakeOverTCP(t *testing.T) {
	t.Parallel()
	addr, results := tinyServer(t, 5)
	for _, kind := range []c1Kind{c1Plain, c1Digest0, c1Digest1, c1BadDigest} {
		// Our own client (go-rtmp, plain) and hand-made digest clients.
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		if kind == c1Plain {
			err = ClientHandshake(nc)
		} else {
			err = digestClient(nc, makeC0C1(uint64(kind)+10, 3, kind), kind != c1BadDigest)
		}
		if err != nil {
			t.Fatalf("kind %d: %v", kind, err)
		}
		if _, err := nc.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		res := <-results
		nc.Close()
		if res.err != nil || string(res.after) != "hello" {
			t.Fatalf("kind %d: server got %q, %v", kind, res.after, res.err)
		}
	}
}

// digestClient sends C0C1, checks the answer like ffmpeg does and sends C2 = S1.
func digestClient(nc net.Conn, c0c1 []byte, wantDigest bool) error {
	if _, err := nc.Write(c0c1); err != nil {
		return err
	}
	s := make([]byte, 1+2*hsSize)
	if _, err := io.ReadFull(nc, s); err != nil {
		return err
	}
	if err := checkAnswer(c0c1[1:], s, wantDigest); err != nil {
		return err
	}
	_, err := nc.Write(s[1 : 1+hsSize])
	return err
}

// needTool finds a real client; under CI=true its absence fails the test.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// TestHandshakeFFmpegPlayer: ffmpeg as a player uses the digest handshake and validates our S1
// digest and S2 signature (S1 version >= 3); if it rejected them it would close without sending
// anything, so the first chunk arriving after the handshake proves acceptance.
func TestHandshakeFFmpegPlayer(t *testing.T) {
	t.Parallel()
	ff := needTool(t, "ffmpeg")
	addr, results := tinyServer(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ff, "-nostdin", "-hide_banner", "-rw_timeout", "5000000",
		"-i", "rtmp://"+addr+"/live/x", "-t", "1", "-f", "null", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var res hsResult
	select {
	case res = <-results:
	case <-ctx.Done():
		t.Fatal("ffmpeg never connected")
	}
	cancel()
	_ = cmd.Wait()
	if res.err != nil {
		t.Fatalf("no chunk after the handshake: %v\nffmpeg: %s", res.err, stderr.String())
	}
	if _, d := findClientDigest(res.c1); d == nil {
		t.Fatal("ffmpeg's C1 carried no digest: the digest path was not exercised")
	}
	if fmt := res.after[0] >> 6; fmt != 0 {
		t.Fatalf("first chunk has fmt %d, want 0", fmt)
	}
	for _, bad := range []string{"validating failed", "Signature mismatch"} {
		if strings.Contains(stderr.String(), bad) {
			t.Fatalf("ffmpeg rejected the handshake: %s", stderr.String())
		}
	}
}

// BenchmarkServerHandshakeBuffered is a connection's plain handshake without its system calls:
// answered from the read buffer, written from the runtime's pooled buffer (0 allocations).
func BenchmarkServerHandshakeBuffered(b *testing.B) {
	in := append(makeC0C1(1, 3, c1Plain), make([]byte, hsSize)...)
	r := bytes.NewReader(in)
	br := bufio.NewReaderSize(r, 4096)
	rt := newRuntime(1)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		br.Reset(r)
		hb := rt.handshakeBuffer()
		if err := serverHandshakeBuffered(br, io.Discard, hb.out[:], hb.random); err != nil {
			b.Fatal(err)
		}
		rt.putHandshakeBuffer(hb)
	}
}
