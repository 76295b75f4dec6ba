package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// TokenEnv names the environment variable the commands read the admin bearer token from when
// -http-token is not given (a command line shows in ps).
const TokenEnv = "FMSGO_HTTP_TOKEN"

// TokenFromEnv returns value, or getenv(TokenEnv) when value is empty.
func TokenFromEnv(value string, getenv func(string) string) string {
	if value != "" {
		return value
	}
	return getenv(TokenEnv)
}

// RequireToken makes every path but /healthz answer 401 unless the request carries
// "Authorization: Bearer TOKEN". /healthz stays open because load balancers and orchestrators
// probe it without credentials and it tells nothing but "ok". An empty token returns h as is.
// The comparison is in constant time over digests, so neither the token nor its length leaks
// through timing.
func RequireToken(h http.Handler, token string) http.Handler {
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			h.ServeHTTP(w, r)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fmsgo"`)
			http.Error(w, "unauthorized: this listener needs an Authorization: Bearer token (-http-token)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
