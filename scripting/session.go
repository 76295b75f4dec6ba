package scripting

import "github.com/fmsgo/fmsgo/core/amf"

// Session is one client connection as the app sees it (direct, or later through an edge). Its
// methods are called from the instance's loop goroutine and must not block (they queue).
type Session interface {
	ID() string
	Info() ClientInfo
	// Accept sends the connect _result (NetConnection.Connect.Success), followed by onBWDone
	// when sendBWDone (the app's application.sendBWDone, on by default).
	Accept(sendBWDone bool)
	// Reject sends _error with info, the whole status object (code NetConnection.Connect.Rejected,
	// description, and "application" when the app gave one), then closes.
	Reject(info *amf.Object)
	// Reply sends the _result of a client's call.
	Reply(txn float64, value any)
	// ReplyError sends the _error of a client's call.
	ReplyError(txn float64, info *amf.Object)
	// Call makes a server→client call; onAnswer may be nil (txn 0). onAnswer is called from the
	// connection's goroutine: the engine posts it to the loop itself.
	Call(method string, args []any, onAnswer func(value any, errInfo *amf.Object))
	// Close sends onStatus NetConnection.Connect.<code> (AppShutdown, Closed), then closes.
	Close(code, description string)
	Stats() ClientStats
}

// ClientInfo is what the connect request said, as the app's Client object shows it.
type ClientInfo struct {
	IP, Agent, Referrer, PageURL, Protocol, URI, Query string
	ObjectEncoding                                     int
	CommandObject                                      *amf.Object
	ConnectArgs                                        []any
	Edge                                               *EdgeInfo // nil for direct clients
	// ReadAccess and WriteAccess are the client's initial access lists when an auth module set
	// them at connect (nil: FMS's default "/", everything); the app may change them.
	ReadAccess, WriteAccess *string
}

// EdgeInfo names the edge that carries a client.
type EdgeInfo struct{ ID, Address string }

// ClientStats are a connection's counters.
type ClientStats struct {
	BytesIn, BytesOut, MsgIn, MsgOut uint64
	PingRTTMs                        float64
}

// StreamRef is a publish or play request: the stream name and the ?query appended to it.
// Takeover (publish only) says that the name is held by a silent publisher of another identity
// (live.HolderOther): onPublish sees stream.takeover === true, and the publish is accepted only
// if the handler also sets stream.acceptTakeover = true.
type StreamRef struct {
	Name, Query string
	Takeover    bool
	// Record (publish) says the publish records (record, append, appendWithGap): a stream
	// outside the client's writeAccess is then refused with NetStream.Record.NoAccess.
	Record bool
}

// status builds an FMS status object.
func status(level, code, description string) *amf.Object {
	return &amf.Object{Props: []amf.Prop{
		{Key: "level", Value: level}, {Key: "code", Value: code}, {Key: "description", Value: description},
	}}
}
