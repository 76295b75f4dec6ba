package session

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpconn"
	"github.com/fmsgo/fmsgo/core/sharedobject"
	"github.com/fmsgo/fmsgo/scripting"
)

// appSide is how the app engine sees the client (scripting.Session). Its methods run on the
// app instance's loop; they only use the transport's thread-safe sends and hand the connect
// verdict to the session's goroutine through a channel, so the Session's own state stays there.
type appSide struct {
	t       Transport
	txn     float64 // the connect transaction
	info    scripting.ClientInfo
	verdict chan bool
	decided atomic.Bool

	mu      sync.Mutex
	calls   map[float64]func(any, *amf.Object)
	nextTxn float64
	sos     []*sharedobject.Registry // registries this client used (the session's goroutine adds)
}

var _ scripting.Session = (*appSide)(nil)

func newAppSide(t Transport, txn float64, obj *amf.Object, args []any, target Target, b Base) *appSide {
	enc, _ := obj.Number("objectEncoding")
	if enc != 3 {
		enc = 0
	}
	info := scripting.ClientInfo{
		IP: b.IP, Agent: b.Agent, Referrer: b.Referrer, PageURL: b.PageURL, Protocol: b.Protocol,
		URI: obj.String("tcUrl"), Query: target.Query, ObjectEncoding: int(enc),
		CommandObject: obj, ConnectArgs: args, Edge: b.Edge,
	}
	if info.Agent == "" {
		info.Agent = obj.String("flashVer")
	}
	if info.Referrer == "" {
		info.Referrer = obj.String("swfUrl")
	}
	if info.PageURL == "" {
		info.PageURL = obj.String("pageUrl")
	}
	if info.Protocol == "" {
		info.Protocol = "rtmp"
	}
	return &appSide{t: t, txn: txn, info: info, verdict: make(chan bool, 1),
		calls: map[float64]func(any, *amf.Object){}, nextTxn: 1000}
}

func (a *appSide) ID() string                   { return a.t.ID() }
func (a *appSide) Info() scripting.ClientInfo   { return a.info }
func (a *appSide) Stats() scripting.ClientStats { return a.t.Stats() }

// Reply sends the _result of a client's call.
func (a *appSide) Reply(txn float64, value any) { _ = a.t.SendCommand(0, "_result", txn, value) }

// ReplyError sends the _error of a client's call.
func (a *appSide) ReplyError(txn float64, info *amf.Object) {
	_ = a.t.SendCommand(0, "_error", txn, info)
}

// Accept sends the connect answer from the app's loop (so that a client.call the app makes
// next goes out after it), then tells the session's goroutine.
func (a *appSide) Accept(sendBWDone bool) {
	if !a.decided.CompareAndSwap(false, true) {
		return
	}
	enc := a.info.ObjectEncoding
	a.t.AcceptConnect(a.txn, connectAccepted(enc), enc == 3, sendBWDone)
	a.verdict <- true
}

// Reject answers connect with the app's status object; the transport closes after it.
func (a *appSide) Reject(info *amf.Object) {
	if !a.decided.CompareAndSwap(false, true) {
		return
	}
	if info == nil {
		info = rtmpconn.StatusInfo("error", "NetConnection.Connect.Rejected", "Connection rejected.")
	}
	a.t.Log().Info().Str("code", info.String("code")).Str("description", info.String("description")).Msg("connect rejected by the app")
	a.t.RejectConnect(a.txn, info)
	a.verdict <- false
}

// Call makes a server→client call; the answer is matched by transaction id (answer).
func (a *appSide) Call(method string, args []any, onAnswer func(any, *amf.Object)) {
	txn := 0.0
	if onAnswer != nil {
		a.mu.Lock()
		a.nextTxn++
		txn = a.nextTxn
		a.calls[txn] = onAnswer
		a.mu.Unlock()
	}
	_ = a.t.SendCommand(0, method, txn, args...)
}

// answer delivers a client's _result/_error to the app; false if no call waits for it.
func (a *appSide) answer(txn float64, isError bool, v any) bool {
	a.mu.Lock()
	f := a.calls[txn]
	delete(a.calls, txn)
	a.mu.Unlock()
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

// Close tells the client why (AppShutdown, Closed, ...) and closes once that is written. The
// client's shared-object subscriptions are released first, so that the app's onDisconnect,
// which the engine runs next, sees the objects without it.
// A client still waiting for its connect verdict (the instance shuts down while it is pending)
// gets a connect rejection instead, the answer its connect call is waiting for.
func (a *appSide) Close(code, description string) {
	if a.decided.CompareAndSwap(false, true) {
		a.t.Log().Info().Str("code", code).Str("description", description).Msg("pending connect rejected: the application closed it")
		a.t.RejectConnect(a.txn, rtmpconn.StatusInfo("error", "NetConnection.Connect.Rejected", description))
		a.verdict <- false
		return
	}
	if !strings.HasPrefix(code, "NetConnection.") {
		code = "NetConnection.Connect." + code
	}
	a.releaseSharedObjects()
	a.t.CloseWithStatus(rtmpconn.StatusInfo("status", code, description))
}

// usedRegistry records that the client uses reg (on the session's goroutine).
func (a *appSide) usedRegistry(reg *sharedobject.Registry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.sos {
		if r == reg {
			return
		}
	}
	a.sos = append(a.sos, reg)
}

// releaseSharedObjects unsubscribes the client from every object it used (any goroutine;
// releasing twice is harmless).
func (a *appSide) releaseSharedObjects() {
	a.mu.Lock()
	regs := a.sos
	a.mu.Unlock()
	for _, reg := range regs {
		reg.Disconnect(a.t.SharedObjectSink(reg))
	}
}
