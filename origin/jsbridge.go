package origin

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/scripting"
)

// jsSession is how the app engine sees one connection (scripting.Session). Its methods run on
// the app instance's loop goroutine; they only use the connection's thread-safe queue, and hand
// verdicts to the connection's read goroutine through a channel, so the session's own state
// stays owned by that goroutine.
type jsSession struct {
	s       *session
	txn     float64 // the connect transaction
	enc     float64
	info    scripting.ClientInfo
	verdict chan bool
	decided atomic.Bool

	mu      sync.Mutex
	calls   map[float64]func(any, *amf.Object)
	nextTxn float64
}

var _ scripting.Session = (*jsSession)(nil)

func newJSSession(s *session, txn, enc float64, obj *amf.Object, args []any, t Target) *jsSession {
	ip := ""
	if a, ok := s.conn.RemoteAddr().(*net.TCPAddr); ok {
		ip = a.IP.String()
	}
	return &jsSession{
		s: s, txn: txn, enc: enc, verdict: make(chan bool, 1), calls: map[float64]func(any, *amf.Object){}, nextTxn: 1000,
		info: scripting.ClientInfo{
			IP: ip, Agent: obj.String("flashVer"), Referrer: obj.String("swfUrl"), PageURL: obj.String("pageUrl"),
			Protocol: "rtmp", URI: obj.String("tcUrl"), Query: t.Query, ObjectEncoding: int(enc),
			CommandObject: obj, ConnectArgs: args,
		},
	}
}

func (j *jsSession) ID() string                 { return j.s.conn.ID() }
func (j *jsSession) Info() scripting.ClientInfo { return j.info }
func (j *jsSession) Reply(txn float64, value any) {
	_ = j.s.conn.SendCommand(0, "_result", txn, nil, value)
}
func (j *jsSession) ReplyError(txn float64, info *amf.Object) {
	_ = j.s.conn.SendCommand(0, "_error", txn, nil, info)
}

// Accept sends the connect answer right away (so that a client.call the app makes next goes out
// after it), then tells the read goroutine.
func (j *jsSession) Accept() {
	if !j.decided.CompareAndSwap(false, true) {
		return
	}
	// The answer stays queued until the reader has added onBWDone and uncorks (onConnect): one
	// write for both, made by the connection's goroutine rather than by the app's loop.
	j.s.conn.Cork()
	_ = j.s.acceptConnect(j.txn, j.enc)
	j.verdict <- true
}

// Reject answers connect with the app's status object and closes after it is written.
func (j *jsSession) Reject(info *amf.Object) {
	if !j.decided.CompareAndSwap(false, true) {
		return
	}
	if info == nil {
		info = rtmpconn.StatusInfo("error", "NetConnection.Connect.Rejected", "Connection rejected.")
	}
	j.s.conn.Log().Info().Str("code", info.String("code")).Str("description", info.String("description")).Msg("connect rejected by the app")
	_ = j.s.conn.SendConnectReject(j.txn, info)
	j.verdict <- false
}

// Call makes a server→client call; the answer is matched by transaction id on the read goroutine.
func (j *jsSession) Call(method string, args []any, onAnswer func(any, *amf.Object)) {
	txn := 0.0
	if onAnswer != nil {
		j.mu.Lock()
		j.nextTxn++
		txn = j.nextTxn
		j.calls[txn] = onAnswer
		j.mu.Unlock()
	}
	_ = j.s.conn.SendCommand(0, method, txn, nil, args...)
}

// answer delivers a client's _result/_error to the app; false if no call waits for it.
func (j *jsSession) answer(txn float64, isError bool, v any) bool {
	j.mu.Lock()
	f := j.calls[txn]
	delete(j.calls, txn)
	j.mu.Unlock()
	if f == nil {
		return false
	}
	if isError {
		info, _ := v.(*amf.Object)
		if info == nil {
			info = rtmpconn.StatusInfo("error", "NetConnection.Call.Failed", "call failed")
		}
		f(nil, info)
		return true
	}
	f(v, nil)
	return true
}

// Close tells the client why (AppShutdown, Closed, ...) and closes once that is written.
func (j *jsSession) Close(code, description string) {
	if !strings.HasPrefix(code, "NetConnection.") {
		code = "NetConnection.Connect." + code
	}
	_ = j.s.conn.SendStatus(0, rtmpconn.StatusInfo("status", code, description))
	_ = j.s.conn.CloseAfterFlush()
}

func (j *jsSession) Stats() scripting.ClientStats {
	st := &j.s.conn.Stats
	return scripting.ClientStats{BytesIn: st.BytesIn.Load(), BytesOut: st.BytesOut.Load(), MsgIn: st.MsgIn.Load(),
		MsgOut: st.MsgOut.Load(), PingRTTMs: float64(st.LastPingRTT.Load()) / 1e6}
}

// appVerdictWait bounds the wait for an app's publish/play verdict (its handler budget is far
// shorter; this only protects the connection from an engine that never answers).
const appVerdictWait = 30 * time.Second

// askApp asks the app about a publish or play and waits for the verdict on this connection's
// read goroutine. A connection without an app handle is allowed.
func (s *session) askApp(ask func(verdict func(bool, *amf.Object))) (bool, *amf.Object) {
	if s.js == nil {
		return true, nil
	}
	type answer struct {
		ok   bool
		info *amf.Object
	}
	ch := make(chan answer, 1)
	var once sync.Once
	ask(func(ok bool, info *amf.Object) { once.Do(func() { ch <- answer{ok, info} }) })
	select {
	case a := <-ch:
		return a.ok, a.info
	case <-s.conn.Context().Done():
		return false, nil
	case <-time.After(appVerdictWait):
		return false, rtmpconn.StatusInfo("error", "NetStream.Failed", "the application gave no decision in time")
	}
}

// statusFrom sends the app's own status object when it gave one, else the default.
func (s *session) statusFrom(streamID uint32, info *amf.Object, code, desc, name string) error {
	if info != nil && info.String("code") != "" {
		return s.conn.SendStatus(streamID, info)
	}
	return s.status(streamID, "error", code, desc, name)
}
