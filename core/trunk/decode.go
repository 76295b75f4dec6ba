package trunk

// Decoders for each frame body. Byte-slice fields alias the body (valid as long as the frame is);
// strings are copied. Each checks every length against the bytes left and rejects trailing bytes.

// DecodePing decodes a Ping body.
func DecodePing(b []byte) (Ping, error) {
	r := body{b: b, kind: KindPing}
	m := Ping{Time: r.u64("time")}
	return m, r.end()
}

// DecodePong decodes a Pong body.
func DecodePong(b []byte) (Pong, error) {
	r := body{b: b, kind: KindPong}
	m := Pong{Time: r.u64("time")}
	return m, r.end()
}

// DecodeError decodes an ErrorMsg body.
func DecodeError(b []byte) (ErrorMsg, error) {
	r := body{b: b, kind: KindError}
	m := ErrorMsg{Code: r.u16("code"), Message: r.str("message")}
	return m, r.end()
}

// DecodeSessionOpen decodes a SessionOpen body.
func DecodeSessionOpen(b []byte) (SessionOpen, error) {
	r := body{b: b, kind: KindSessionOpen}
	m := SessionOpen{Window: r.u32("window")}
	m.EdgeID = r.str("edge id")
	m.ClientAddr = r.str("client address")
	m.Protocol = r.str("protocol")
	m.Agent = r.str("agent")
	m.Referrer = r.str("referrer")
	m.PageURL = r.str("page url")
	m.Command = r.blob("command")
	if r.err == nil {
		m.Args = r.rest()
	}
	return m, r.end()
}

// DecodeSessionVerdict decodes a SessionVerdict body.
func DecodeSessionVerdict(b []byte) (SessionVerdict, error) {
	r := body{b: b, kind: KindSessionVerdict}
	m := SessionVerdict{Window: r.u32("window"), Status: r.u8("status"), Flags: r.u8("flags")}
	if r.err == nil {
		m.Info = r.rest()
	}
	return m, r.end()
}

// DecodeSessionClose decodes a SessionClose body.
func DecodeSessionClose(b []byte) (SessionClose, error) {
	r := body{b: b, kind: KindSessionClose}
	m := SessionClose{Code: r.u16("code"), Reason: r.str("reason")}
	return m, r.end()
}

// DecodeSessionMessage decodes a SessionMessage body without allocating.
func DecodeSessionMessage(b []byte) (SessionMessage, error) {
	r := body{b: b, kind: KindSessionMessage}
	m := SessionMessage{Type: r.u8("type"), StreamID: r.u32("stream id"), Timestamp: r.u32("timestamp")}
	if r.err == nil {
		m.Payload = r.rest()
	}
	return m, r.end()
}

// DecodeSessionAck decodes a SessionAck body.
func DecodeSessionAck(b []byte) (SessionAck, error) {
	r := body{b: b, kind: KindSessionAck}
	m := SessionAck{Bytes: r.u32("bytes")}
	return m, r.end()
}

// DecodeStreamSubscribe decodes a StreamSubscribe body.
func DecodeStreamSubscribe(b []byte) (StreamSubscribe, error) {
	r := body{b: b, kind: KindStreamSubscribe}
	m := StreamSubscribe{App: r.str("app"), Stream: r.str("stream")}
	return m, r.end()
}

// DecodeStreamUnsubscribe checks a StreamUnsubscribe body (empty).
func DecodeStreamUnsubscribe(b []byte) (StreamUnsubscribe, error) {
	r := body{b: b, kind: KindStreamUnsubscribe}
	return StreamUnsubscribe{}, r.end()
}

// DecodeStreamStatus decodes a StreamStatus body.
func DecodeStreamStatus(b []byte) (StreamStatus, error) {
	r := body{b: b, kind: KindStreamStatus}
	m := StreamStatus{Code: r.u16("code"), Description: r.str("description")}
	return m, r.end()
}

// DecodeStreamMedia decodes a StreamMedia body without allocating: Payload aliases b.
func DecodeStreamMedia(b []byte) (StreamMedia, error) {
	r := body{b: b, kind: KindStreamMedia}
	m := StreamMedia{Type: r.u8("type"), Timestamp: r.u32("timestamp")}
	if r.err == nil {
		m.Payload = r.rest()
	}
	return m, r.end()
}

// DecodeStreamPublish decodes a StreamPublish body.
func DecodeStreamPublish(b []byte) (StreamPublish, error) {
	r := body{b: b, kind: KindStreamPublish}
	m := StreamPublish{Session: r.u32("session"), StreamID: r.u32("stream id")}
	m.App = r.str("app")
	m.Stream = r.str("stream")
	m.Mode = r.str("mode")
	return m, r.end()
}

// DecodeStreamGap decodes a StreamGap body.
func DecodeStreamGap(b []byte) (StreamGap, error) {
	r := body{b: b, kind: KindStreamGap}
	m := StreamGap{Dropped: r.u32("dropped")}
	return m, r.end()
}

// DecodeMessage decodes any known frame into its typed message (hello kinds included). Unknown
// kinds return (nil, nil): receivers skip them.
func DecodeMessage(f Frame) (Message, error) {
	switch f.Kind {
	case KindServerHello:
		return DecodeServerHello(f.Body)
	case KindHello:
		return DecodeHello(f.Body)
	case KindHelloAck:
		return DecodeHelloAck(f.Body)
	case KindPing:
		return DecodePing(f.Body)
	case KindPong:
		return DecodePong(f.Body)
	case KindError:
		return DecodeError(f.Body)
	}
	return decodeSessionOrStream(f)
}

func decodeSessionOrStream(f Frame) (Message, error) {
	switch f.Kind {
	case KindSessionOpen:
		return DecodeSessionOpen(f.Body)
	case KindSessionVerdict:
		return DecodeSessionVerdict(f.Body)
	case KindSessionClose:
		return DecodeSessionClose(f.Body)
	case KindSessionMessage:
		return DecodeSessionMessage(f.Body)
	case KindSessionAck:
		return DecodeSessionAck(f.Body)
	case KindStreamSubscribe:
		return DecodeStreamSubscribe(f.Body)
	case KindStreamUnsubscribe:
		return DecodeStreamUnsubscribe(f.Body)
	case KindStreamStatus:
		return DecodeStreamStatus(f.Body)
	case KindStreamMedia:
		return DecodeStreamMedia(f.Body)
	case KindStreamPublish:
		return DecodeStreamPublish(f.Body)
	case KindStreamVerdict:
		return DecodeStreamVerdict(f.Body)
	case KindStreamGap:
		return DecodeStreamGap(f.Body)
	}
	return nil, nil
}
