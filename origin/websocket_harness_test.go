package origin

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/wsmsg"
	"github.com/fmsgo/fmsgo/core/wsmsg/wsmsgtest"
)

// startWebOrigin starts an origin with -web on 127.0.0.1:0 too.
func startWebOrigin(t testing.TB, adjust func(*Config), apps ...string) *testOrigin {
	t.Helper()
	return startOriginWith(t, func(c *Config) {
		c.Web = "127.0.0.1:0"
		if adjust != nil {
			adjust(c)
		}
	}, apps...)
}

func (o *testOrigin) wsURL(path string) string {
	return "ws://" + o.srv.WebAddr().String() + "/fms/" + path
}

// wsPeer is a Go client speaking fmsgo.v1 (wsmsgtest.Peer).
type wsPeer = wsmsgtest.Peer

// dialWS opens a WebSocket to url with the fmsgo.v1 subprotocol.
func dialWS(t testing.TB, url string, header http.Header) *wsPeer {
	t.Helper()
	return wsmsgtest.Dial(t, url, header)
}

// connectWS dials path and connects with args, failing unless the app accepts.
func connectWS(t testing.TB, o *testOrigin, path string, args ...any) *wsPeer {
	t.Helper()
	return wsmsgtest.Connect(t, o.wsURL(path), args...)
}

// show prints a message as its JSON, for failures.
func show(m wsmsg.Message) string { return wsmsgtest.Show(m) }

// infoString is a member of a status object.
func infoString(info any, key string) string {
	o, _ := info.(*amf.Object)
	if o == nil {
		return ""
	}
	if v, ok := o.Get(key); ok {
		if s, ok := v.(string); ok {
			return s
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	return ""
}
