package authtoken

import "sync"

// maxVerified bounds the tokens whose claims are kept: at most ~4 MiB (tokens are at most
// MaxTokenLen bytes).
const maxVerified = 4096

// verifiedTokens keeps the claims of tokens whose signature and form checked out, by the whole
// token (the MAC is part of it, so a different token never finds another's claims). A token is
// often shown again: every viewer of a page holds the same play token, and a client's connect and
// publish carry the same one. The keys never change while the module runs, so a kept result
// stays true; the expiry and not-before are still checked at every use. Only valid tokens are
// kept: a flood of forged ones cannot push them out, and when the table is full it starts over.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[string]Claims
}

func (v *verifiedTokens) get(token string) (Claims, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.m[token]
	return c, ok
}

func (v *verifiedTokens) put(token string, c Claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= maxVerified {
		v.m = make(map[string]Claims, 64)
	}
	v.m[token] = c
}
