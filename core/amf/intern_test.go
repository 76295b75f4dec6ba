package amf

import "testing"

// TestInternCommonKeys: the connect object's keys and the common command names decode without
// an allocation each; anything else is still a faithful copy. Not parallel: AllocsPerRun.
func TestInternCommonKeys(t *testing.T) {
	for _, k := range []string{"app", "tcUrl", "flashVer", "objectEncoding", "code", "onStatus", "_result", "createStream"} {
		b := []byte(k)
		if got := intern(b); got != k {
			t.Fatalf("intern(%q) = %q", k, got)
		}
		if n := testing.AllocsPerRun(100, func() { _ = intern(b) }); n != 0 {
			t.Errorf("intern(%q) allocates %v times", k, n)
		}
	}
	other := []byte("myCustomMethod")
	s := intern(other)
	other[0] = 'X' // the decoder's buffer is reused: the string must not alias it
	if s != "myCustomMethod" {
		t.Fatalf("an uncommon string aliases its buffer: %q", s)
	}
}
