// Package session is the one place where FMS's NetConnection and NetStream semantics live:
// connect verdicts, calls both ways, createStream, publish/play verdicts and their status
// sequences, shared-object messages and disconnect. A transport (a direct RTMP connection, an
// edge client carried by the trunk, later a WebSocket or HTTP player) only moves messages: it
// implements Transport, and the app sees one kind of client whatever carries it.
package session

import (
	"errors"
	"net/url"
	"strings"

	"github.com/fmsgo/fmsgo/scripting"
)

// DefaultInstance is the instance a client gets when its URL names only the app (FMS).
const DefaultInstance = "_definst_"

// Target is where a connect asks to go: app, instance, and the ?query carried by the app field or
// tcUrl (keys, tokens, Adobe auth parameters), which belongs to the app and never to the name.
type Target struct {
	App      string
	Instance string
	Query    string
}

// Name is "APP/INSTANCE", as FMS's application.name gives it.
func (t Target) Name() string { return t.App + "/" + t.Instance }

var errInvalidApp = errors.New("invalid application name")

// ParseConnectTarget reads the app field of connect (e.g. "live", "live/room1",
// "live?authmod=adobe&user=x", "live/room1?key=k"), falling back to tcUrl's path when the app
// field is empty. The first segment is the app, the rest the instance; "APP/INSTANCE" is at most
// scripting.MaxNameLen bytes.
func ParseConnectTarget(appField, tcURL string) (Target, error) {
	path := appField
	if strings.TrimSpace(path) == "" && tcURL != "" {
		if u, err := url.Parse(tcURL); err == nil {
			path = strings.TrimPrefix(u.Path, "/")
			if u.RawQuery != "" {
				path += "?" + u.RawQuery
			}
		}
	}
	path, query, _ := strings.Cut(path, "?")
	path = strings.Trim(path, "/")
	app, inst, _ := strings.Cut(path, "/")
	if inst == "" {
		inst = DefaultInstance
	}
	if len(app)+1+len(inst) > scripting.MaxNameLen || !validSegment(app) || !validInstance(inst) {
		return Target{}, errInvalidApp
	}
	return Target{App: app, Instance: inst, Query: query}, nil
}

func validSegment(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 128 {
		return false
	}
	for _, r := range s {
		ok := r == '_' || r == '-' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func validInstance(s string) bool {
	for _, seg := range strings.Split(s, "/") {
		if !validSegment(seg) {
			return false
		}
	}
	return true
}

// SplitStreamName separates a stream name from its ?query ("test?key=abc" → "test", "key=abc").
// Some clients also prefix a type ("mp4:", "flv:"): that is kept as part of the name.
func SplitStreamName(s string) (name, query string) {
	name, query, _ = strings.Cut(s, "?")
	return name, query
}

// ParseInstanceName reads "APP" or "APP/INSTANCE" as a trunk stream subscription names an app
// instance; the rules are those of a connect's app field, without a query.
func ParseInstanceName(name string) (Target, error) {
	app, inst, _ := strings.Cut(name, "/")
	if inst == "" {
		inst = DefaultInstance
	}
	if !validSegment(app) || !validInstance(inst) {
		return Target{}, errInvalidApp
	}
	return Target{App: app, Instance: inst}, nil
}
