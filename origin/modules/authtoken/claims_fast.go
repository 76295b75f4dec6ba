package authtoken

// The claims object is decoded on every protected connect, publish and play. encoding/json's
// reflection costs ~25 µs there (a third of a connect's own CPU, much of it growing the fresh
// connection goroutine's stack), so the common shape is read by hand: a flat object of the five
// known keys, strings without escapes, integers. Anything else (escapes, null, floats, a repeated
// key, odd whitespace) goes to encoding/json, which stays the definition of what is valid:
// FuzzFastClaims checks that whatever the fast path accepts, encoding/json decodes the same.

// fastClaims reads payload as the claims object; ok is false when the payload is not of the
// simple shape (the caller then decodes it with encoding/json).
func fastClaims(b []byte) (w wireClaims, ok bool) {
	p := fastParser{b: b}
	if !p.byte('{') {
		return w, false
	}
	var seen [5]bool
	for first := true; ; first = false {
		if p.byte('}') {
			return w, p.end()
		}
		if !first && !p.byte(',') {
			return w, false
		}
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return w, false
		}
		i := fieldIndex(key)
		if i < 0 || seen[i] {
			return w, false
		}
		seen[i] = true
		if !p.field(i, &w) {
			return w, false
		}
	}
}

func fieldIndex(key string) int {
	switch key {
	case "app":
		return 0
	case "stream":
		return 1
	case "act":
		return 2
	case "exp":
		return 3
	case "nbf":
		return 4
	}
	return -1
}

type fastParser struct {
	b []byte
	i int
}

// field reads the value of field i into w.
func (p *fastParser) field(i int, w *wireClaims) bool {
	var ok bool
	switch i {
	case 0:
		w.App, ok = p.str()
	case 1:
		w.Stream, ok = p.str()
	case 2:
		w.Act, ok = p.strings()
	case 3:
		w.Exp, ok = p.int()
	case 4:
		w.Nbf, ok = p.int()
	}
	return ok
}

// byte consumes c if it is next.
func (p *fastParser) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *fastParser) end() bool { return p.i == len(p.b) }

// str reads a string of printable ASCII without escapes.
func (p *fastParser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return "", false
		}
		p.i++
	}
	return "", false
}

// strings reads an array of such strings (at most 8: a token names three actions).
func (p *fastParser) strings() ([]string, bool) {
	if !p.byte('[') {
		return nil, false
	}
	out := []string{}
	if p.byte(']') {
		return out, true
	}
	for len(out) < 8 {
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if p.byte(']') {
			return out, true
		}
		if !p.byte(',') {
			return nil, false
		}
	}
	return nil, false
}

// int reads a decimal integer of at most 15 digits (no sign, no leading zero but "0"): Unix
// times, far within int64.
func (p *fastParser) int() (int64, bool) {
	start := p.i
	var n int64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' && p.i-start < 15 {
		n = n*10 + int64(p.b[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	if digits == 0 || (digits > 1 && p.b[start] == '0') {
		return 0, false
	}
	if p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		return 0, false // more than 15 digits
	}
	return n, true
}
