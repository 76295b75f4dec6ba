package scripting

import (
	"strings"
	"sync/atomic"
)

// accessLists are a client's readAccess and writeAccess, shared by every generation's object of
// that client. They are atomics because they are read off the instance loop: by the
// shared-object registry's hook on connection goroutines, and by the stream verdicts.
type accessLists struct {
	readAccess, writeAccess atomic.Pointer[string]
}

// mayAccess is the one FMS access rule for everything a client names inside its instance:
// shared objects (read = use and receive, write = change) and streams (read = play,
// write = publish). A list never set is FMS's default "/" (everything).
func (c *Client) mayAccess(path string, write bool) bool {
	list := c.readAccess.Load()
	if write {
		list = c.writeAccess.Load()
	}
	if list == nil {
		return true
	}
	return accessAllows(*list, path)
}

// accessAllows reports whether path is under one of list's ";"-separated prefixes. A prefix
// matches whole path segments ("/" is everything, "" is nothing; "room" matches "room" and
// "room/a", not "roomy"); leading slashes are ignored on both sides.
func accessAllows(list, path string) bool {
	path = strings.TrimLeft(path, "/")
	for p := range strings.SplitSeq(list, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		p = strings.Trim(p, "/")
		if p == "" || path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}
