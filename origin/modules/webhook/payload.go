package webhook

import (
	"net/url"
	"strings"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
)

// Payload is one event as the receiver sees it: a POST's body is a JSON array of these. The
// field names are a contract: fields are added, never renamed or removed. Every field is present
// in every object ("" or 0 when it does not apply).
type Payload struct {
	// Kind is connect, disconnect, publish, unpublish, play, stop, record, recordStop, appLoad,
	// appReload, appError or appUnload.
	Kind string `json:"kind"`
	// Time is when it happened, RFC 3339 with nanoseconds, in UTC.
	Time time.Time `json:"time"`
	// Seq numbers the server's events from 1 in emission order (it restarts with the server).
	Seq uint64 `json:"seq"`
	// App and Instance are the application instance ("" for server-wide events).
	App      string `json:"app"`
	Instance string `json:"instance"`
	// ClientID is the session's id ("" for app events): it ties a session's events together.
	ClientID string `json:"client_id"`
	// IP is the client's address; Protocol its transport (rtmp, rtmps, ...); Agent its
	// flashVer; Referrer its swfUrl; PageURL its pageUrl. Query parameters whose names look
	// like credentials (token, secret, key, sig, pass, auth) are removed from these URLs.
	IP       string `json:"ip"`
	Protocol string `json:"protocol"`
	Agent    string `json:"agent"`
	Referrer string `json:"referrer"`
	PageURL  string `json:"page_url"`
	// Edge is the id of the edge the client came through ("" for a direct client).
	Edge string `json:"edge"`
	// Stream is the stream's name (publish, play, their ends, record), without its query.
	Stream string `json:"stream"`
	// Status is the FMS code the client was given (NetConnection.Connect.Success,
	// NetStream.Publish.BadName, ...); Reason the description or the error.
	Status string `json:"status"`
	Reason string `json:"reason"`
	// BytesIn and BytesOut are the session's bytes (disconnect) or the stream's (unpublish,
	// stop); DurationMS how long it lasted, in milliseconds.
	BytesIn    uint64 `json:"bytes_in"`
	BytesOut   uint64 `json:"bytes_out"`
	DurationMS int64  `json:"duration_ms"`
}

// NewPayload is ev as it is posted.
func NewPayload(ev *plugin.Event) Payload {
	return Payload{
		Kind: ev.Kind.String(), Time: ev.Time.UTC(), Seq: ev.Seq,
		App: ev.App, Instance: ev.Instance, ClientID: ev.ClientID,
		IP: ev.IP, Protocol: ev.Protocol, Agent: ev.Agent,
		Referrer: stripSecrets(ev.Referrer), PageURL: stripSecrets(ev.PageURL),
		Edge: ev.Edge, Stream: streamName(ev.Stream),
		Status: ev.Status, Reason: ev.Reason,
		BytesIn: ev.BytesIn, BytesOut: ev.BytesOut, DurationMS: ev.Duration.Milliseconds(),
	}
}

// streamName drops a query that rode on the stream name (a token is often there).
func streamName(s string) string {
	name, _, _ := strings.Cut(s, "?")
	return name
}

// secretWords are the parts of a query parameter's name that mark it as a credential.
var secretWords = [...]string{"token", "secret", "key", "sig", "pass", "auth"}

func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// hasSecretParam reports whether a parameter name of the query q looks like a credential.
func hasSecretParam(q string) bool {
	for q != "" {
		var p string
		p, q, _ = strings.Cut(q, "&")
		name, _, _ := strings.Cut(p, "=")
		if strings.ContainsAny(name, "%+") {
			return true // encoded: let the parser decide
		}
		if secretParam(name) {
			return true
		}
	}
	return false
}

// stripSecrets returns the URL raw without user information and without the query parameters
// that look like credentials; "" if it cannot be parsed (nothing unchecked goes out).
func stripSecrets(raw string) string {
	_, query, hasQuery := strings.Cut(raw, "?")
	if !strings.Contains(raw, "@") && (!hasQuery || !hasSecretParam(query)) {
		return raw // the common case, without parsing
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User = nil
	if u.RawQuery != "" {
		var kept []string
		for _, p := range strings.Split(u.RawQuery, "&") {
			name, _, _ := strings.Cut(p, "=")
			if n, err := url.QueryUnescape(name); err == nil && !secretParam(n) {
				kept = append(kept, p)
			}
		}
		u.RawQuery = strings.Join(kept, "&")
	}
	return u.String()
}

// redactURL is a webhook URL as it may be logged.
func redactURL(raw string) string {
	if s := stripSecrets(raw); s != "" {
		return s
	}
	return "(unparsable URL)"
}
