package plugin

import (
	"context"
	"net/url"
	"time"
)

// Action is what a client asks the auth extension point about.
type Action uint8

// The actions auth modules decide (FMS Authorization plug-in's E_CONNECT, E_PUBLISH, E_PLAY,
// E_SEEK, E_RECORD, and the use of a shared object).
const (
	ActConnect Action = iota + 1
	ActPublish
	ActPlay
	ActSeek
	ActRecord
	ActSharedObject
)

var actionNames = [...]string{ActConnect: "connect", ActPublish: "publish", ActPlay: "play",
	ActSeek: "seek", ActRecord: "record", ActSharedObject: "sharedobject"}

// String is the action's name as events, logs and JS hooks spell it.
func (a Action) String() string {
	if int(a) < len(actionNames) && actionNames[a] != "" {
		return actionNames[a]
	}
	return "unknown"
}

// Request is everything known about a client's request. The fields marked writable may be
// changed by an auth module (modules run in config order; the last writer wins); the others are
// context.
type Request struct {
	Action Action
	// App and Instance are the client's application instance.
	App, Instance string
	// ClientID is the session's id (client.id in the app).
	ClientID string
	// IP is the client's address (the player's, also through an edge); Protocol is "rtmp",
	// "rtmpt", "ws"...; Agent, Referrer and PageURL are the connect's flashVer, swfUrl, pageUrl.
	IP, Protocol, Agent, Referrer, PageURL string
	// TcURL is the URL the client connected to; ConnectQuery its ?query (raw).
	TcURL, ConnectQuery string
	// Edge is the id of the edge the client came through ("" for a direct client).
	Edge string

	// Stream is the stream name without its query (publish, play, seek, record). Writable for
	// publish and play: the name the stream then has, in the app and on the wire.
	Stream string
	// StreamQuery is the ?query of the stream name (raw); Query parses it.
	StreamQuery string
	// PublishType is publish's type argument: "live", "record" or "append".
	PublishType string
	// SharedObject and Persistent name the object a client starts to use.
	SharedObject string
	Persistent   bool

	// ReadAccess and WriteAccess (connect, writable) are the client's initial access lists
	// ("/" for everything, "" for nothing; ';'-separated prefixes), which the app can still
	// change.
	ReadAccess, WriteAccess string
	// RecordMaxKB and RecordMaxSeconds (record, writable) cap a recording (0: no cap).
	RecordMaxKB, RecordMaxSeconds int64
}

// Query returns the stream query's parameters, or the connect query's when the stream has none
// (a token may ride on either: rtmp://host/app/stream?token=... or rtmp://host/app?token=...).
func (r *Request) Query() url.Values {
	q := r.StreamQuery
	if q == "" {
		q = r.ConnectQuery
	}
	v, _ := url.ParseQuery(q)
	return v
}

// Verdict is an auth module's answer.
type Verdict uint8

// Verdicts. Abstain (the zero value) leaves the decision to the other modules and the app.
const (
	Abstain Verdict = iota
	Accept
	Reject
	Redirect
	Pending
)

// Decision is an auth module's verdict on a Request.
type Decision struct {
	Verdict Verdict
	// Reason is what the client is told (its status description) and what the log says.
	Reason string
	// RedirectURL (Redirect, connect only) is where the client is sent: FMS's rejection with
	// ex.code 302 and ex.redirect.
	RedirectURL string
	// Later (Pending) delivers the decision when it is known; it is awaited within the
	// module's budget.
	Later <-chan Decision
}

// Authorizer is the auth extension point. Authorize is called on the session's goroutine,
// never on an app's JS loop, before the app's own handler (onConnect, onPublish, onPlay...), for
// every transport. It must honour ctx: its deadline is the module's budget (AuthBudget, else
// DefaultAuthBudget). A module that returns an error-free Abstain or Accept lets the request go
// on; a Reject, a Redirect, a timeout or a panic refuses it (fail closed).
type Authorizer interface {
	Authorize(ctx context.Context, req *Request) Decision
}

// Budgeted is implemented by a module with its own time budget per call.
type Budgeted interface {
	Budget() time.Duration
}

// DefaultAuthBudget is an auth module's time per request unless it says otherwise.
const DefaultAuthBudget = 3 * time.Second
