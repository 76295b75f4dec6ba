package origin

import "github.com/fmsgo/fmsgo/origin/session"

// DefaultInstance is the instance a client gets when its URL names only the app (FMS).
const DefaultInstance = session.DefaultInstance

// Target is where a connect asks to go (session.Target).
type Target = session.Target

// ParseConnectTarget reads a connect's app field and tcUrl (session.ParseConnectTarget).
func ParseConnectTarget(appField, tcURL string) (Target, error) {
	return session.ParseConnectTarget(appField, tcURL)
}

// SplitStreamName separates a stream name from its ?query (session.SplitStreamName).
func SplitStreamName(s string) (name, query string) { return session.SplitStreamName(s) }
