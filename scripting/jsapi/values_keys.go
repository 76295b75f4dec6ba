package jsapi

import "strings"

// Keys from peers and prototype pollution: a key "__proto__", "constructor" or "prototype"
// followed by any number of "$" gets one more "$" on its way into JS and loses it on the way
// out (the rule is on Converter). It is a bijection on the peers' keys, so every value
// round-trips, and no key a peer chose is one through which a JS property lookup on an app
// object (dst[k]) reaches a prototype.

// reservedKey reports whether k is "__proto__", "constructor" or "prototype" (the keys through
// which a JS property lookup reaches a prototype) followed by at least minDollars "$".
func reservedKey(k string, minDollars int) bool {
	if len(k) < len("__proto__") || (k[0] != '_' && k[0] != 'c' && k[0] != 'p') {
		return false
	}
	stem := strings.TrimRight(k, "$")
	if len(k)-len(stem) < minDollars {
		return false
	}
	switch stem {
	case "__proto__", "constructor", "prototype":
		return true
	}
	return false
}

// KeyToJS is the JS name of a key that came from a peer: an AMF property key (see Converter),
// a shared-object slot name as the script sees it (getPropertyNames, onSync).
func KeyToJS(k string) string {
	if reservedKey(k, 0) {
		return k + "$"
	}
	return k
}

// KeyFromJS is the peer's name of a JS key: KeyToJS undone (an AMF property key, the slot that
// getProperty/setProperty name). "__proto__" and "__proto__$" both name the slot "__proto__".
func KeyFromJS(k string) string {
	if reservedKey(k, 1) {
		return k[:len(k)-1]
	}
	return k
}
