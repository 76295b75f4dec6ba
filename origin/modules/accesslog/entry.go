package accesslog

import (
	"strconv"
	"time"

	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/origin/modules/internal/jsonw"
)

// Entry is one access-log line. Its JSON names are a contract (added to, never renamed); in
// the w3c format the same values appear under the names of w3cFields.
type Entry struct {
	// Time is when the connection or stream session ended (UTC, RFC 3339 with nanoseconds).
	Time time.Time `json:"time"`
	// Event is disconnect (category connection), unpublish or stop (category stream).
	Event    string `json:"event"`
	Category string `json:"category"`
	// IP is the client's address; App, Instance and Stream what it used (Stream is "" on a
	// connection line, and never has its query).
	IP       string `json:"ip"`
	App      string `json:"app"`
	Instance string `json:"instance"`
	Stream   string `json:"stream"`
	// Status is the FMS code of the end (or of the refusal).
	Status string `json:"status"`
	// BytesIn and BytesOut are what the client sent and received (the connection's, or the
	// stream's); DurationMS how long it lasted, in milliseconds.
	BytesIn    uint64 `json:"bytes_in"`
	BytesOut   uint64 `json:"bytes_out"`
	DurationMS int64  `json:"duration_ms"`
	// ClientID ties a connection's lines together; Edge is the edge it came through ("" when
	// direct); Protocol its transport; Agent its flashVer.
	ClientID string `json:"client_id"`
	Edge     string `json:"edge"`
	Protocol string `json:"protocol"`
	Agent    string `json:"agent"`
}

// w3cFields is the #Fields directive: FMS's names where it has one. x-duration is in seconds
// with milliseconds, as FMS writes it.
const w3cFields = "date time x-event x-category c-ip x-app x-appinst x-sname x-status cs-bytes sc-bytes " +
	"x-duration c-client-id x-edge c-proto c-user-agent"

func newEntry(ev *plugin.Event, cat string) Entry {
	return Entry{
		Time: ev.Time.UTC(), Event: ev.Kind.String(), Category: cat,
		IP: ev.IP, App: ev.App, Instance: ev.Instance, Stream: streamName(ev.Stream),
		Status: ev.Status, BytesIn: ev.BytesIn, BytesOut: ev.BytesOut, DurationMS: ev.Duration.Milliseconds(),
		ClientID: ev.ClientID, Edge: ev.Edge, Protocol: ev.Protocol, Agent: ev.Agent,
	}
}

// appendJSON appends e as one JSON line, newline included: what encoding/json writes for an
// Entry (TestJSONLineIsEncodingJSON), field by field, since a connect storm writes a line per
// connect.
func (e *Entry) appendJSON(b []byte) []byte {
	b = append(b, `{"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	for _, f := range [...]struct{ name, v string }{
		{`,"event":`, e.Event}, {`,"category":`, e.Category}, {`,"ip":`, e.IP}, {`,"app":`, e.App},
		{`,"instance":`, e.Instance}, {`,"stream":`, e.Stream}, {`,"status":`, e.Status},
	} {
		b = jsonw.AppendString(append(b, f.name...), f.v)
	}
	b = strconv.AppendUint(append(b, `,"bytes_in":`...), e.BytesIn, 10)
	b = strconv.AppendUint(append(b, `,"bytes_out":`...), e.BytesOut, 10)
	b = strconv.AppendInt(append(b, `,"duration_ms":`...), e.DurationMS, 10)
	for _, f := range [...]struct{ name, v string }{
		{`,"client_id":`, e.ClientID}, {`,"edge":`, e.Edge}, {`,"protocol":`, e.Protocol}, {`,"agent":`, e.Agent},
	} {
		b = jsonw.AppendString(append(b, f.name...), f.v)
	}
	return append(b, "}\n"...)
}

// appendW3C appends e as one w3c line, newline included.
func (e *Entry) appendW3C(b []byte) []byte {
	b = e.Time.AppendFormat(b, "2006-01-02 15:04:05.000")
	for _, s := range [...]string{e.Event, e.Category, e.IP, e.App, e.Instance, e.Stream, e.Status} {
		b = appendField(append(b, ' '), s)
	}
	b = strconv.AppendUint(append(b, ' '), e.BytesIn, 10)
	b = strconv.AppendUint(append(b, ' '), e.BytesOut, 10)
	b = strconv.AppendFloat(append(b, ' '), float64(e.DurationMS)/1000, 'f', 3, 64)
	for _, s := range [...]string{e.ClientID, e.Edge, e.Protocol, e.Agent} {
		b = appendField(append(b, ' '), s)
	}
	return append(b, '\n')
}

// appendField appends one w3c value: "-" when empty ("%2D" when it is "-"), else with every
// byte outside printable ASCII, and ' ', '"', '%', percent-encoded.
func appendField(b []byte, s string) []byte {
	switch s {
	case "":
		return append(b, '-')
	case "-":
		return append(b, "%2D"...)
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '%' {
			b = append(b, '%', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}
