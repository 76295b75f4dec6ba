package wsmsg

import (
	"fmt"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/sharedobject"
)

// persistentFlags is what a persistent request carries (PROTOCOL.md: write 2).
const persistentFlags = 2

// SharedObjectRequest is the RTMP shared-object message (type 16, AMF3 values) that a client's
// so.* message stands for, so that the registry handles a browser's request exactly as an RTMP
// client's: so.use is Use, so.set RequestChange, so.delete RequestRemove, so.send SendMessage,
// so.release Release.
func SharedObjectRequest(m *Message) (*rtmpmsg.SharedObjectMessage, error) {
	ev := sharedobject.Event{}
	switch m.Type {
	case TypeSOUse:
		ev.Type = sharedobject.EventUse
	case TypeSORelease:
		ev.Type = sharedobject.EventRelease
	case TypeSOSet:
		ev.Type, ev.Pairs = sharedobject.EventRequestChange, []sharedobject.Pair{{Key: m.Key, Value: m.Value}}
	case TypeSODelete:
		ev.Type, ev.Key = sharedobject.EventRequestRemove, m.Key
	case TypeSOSend:
		ev.Type, ev.Method, ev.Args = sharedobject.EventSendMessage, m.Method, m.Args
	default:
		return nil, fmt.Errorf("wsmsg: %s is not a shared-object request", m.Type)
	}
	var enc amf.Encoder
	raw, err := sharedobject.EncodeEvent(&enc, &ev, true)
	if err != nil {
		return nil, fmt.Errorf("wsmsg: %s of %q: %w", m.Type, m.Name, err)
	}
	msg := &rtmpmsg.SharedObjectMessage{Name: m.Name, Version: m.Version, Events: []rtmpmsg.SharedObjectEvent{raw}}
	if m.Persistent {
		msg.Flags = persistentFlags
	}
	return msg, nil
}

// SharedObjectMessages translates a shared-object message the registry sends a client into
// fmsgo.v1 messages, in order: slot events become the changes of one so.sync (UseSuccess alone
// makes an empty one: the answer to so.use), a SendMessage a so.send, a Status a so.status. The
// slot events that follow an error Status in the same message revert a refused write: they are
// "reject" changes.
func SharedObjectMessages(msg *rtmpmsg.SharedObjectMessage) ([]Message, error) {
	evs, err := sharedobject.DecodeEvents(msg)
	if err != nil {
		return nil, err
	}
	t := soTranslation{msg: msg}
	for i := range evs {
		t.event(&evs[i])
	}
	t.flush()
	return t.out, nil
}

// soTranslation collects the messages of one shared-object message.
type soTranslation struct {
	msg       *rtmpmsg.SharedObjectMessage
	out       []Message
	sync      *Message // the so.sync being filled
	rejecting bool     // after an error Status: slot events are reverts
}

func (t *soTranslation) event(ev *sharedobject.Event) {
	switch ev.Type {
	case sharedobject.EventUseSuccess:
		t.syncMsg()
	case sharedobject.EventClear:
		t.change(Change{Code: CodeClear})
	case sharedobject.EventChange:
		for _, p := range ev.Pairs {
			t.change(Change{Code: t.code(CodeChange), Name: p.Key, Value: p.Value, HasValue: true})
		}
	case sharedobject.EventSuccess:
		t.change(Change{Code: CodeSuccess, Name: ev.Key})
	case sharedobject.EventRemove:
		t.change(Change{Code: t.code(CodeDelete), Name: ev.Key})
	case sharedobject.EventSendMessage:
		t.flush()
		t.out = append(t.out, Message{Type: TypeSOSend, Name: t.msg.Name, Method: ev.Method, Args: ev.Args})
	case sharedobject.EventStatus:
		t.flush()
		info := &amf.Object{Props: []amf.Prop{{Key: "level", Value: ev.Level}, {Key: "code", Value: ev.Code}}}
		t.out = append(t.out, Message{Type: TypeSOStatus, Name: t.msg.Name, Info: info})
		t.rejecting = ev.Level == "error"
	}
}

// code is c, or reject while the message reverts a refused write.
func (t *soTranslation) code(c string) string {
	if t.rejecting {
		return CodeReject
	}
	return c
}

func (t *soTranslation) syncMsg() *Message {
	if t.sync == nil {
		t.sync = &Message{Type: TypeSOSync, Name: t.msg.Name, Version: t.msg.Version, Changes: []Change{}}
	}
	return t.sync
}

func (t *soTranslation) change(c Change) {
	s := t.syncMsg()
	s.Changes = append(s.Changes, c)
}

func (t *soTranslation) flush() {
	if t.sync != nil {
		t.out = append(t.out, *t.sync)
		t.sync = nil
	}
}

// SharedObjectFrames is a shared-object message the registry sends a client, as the frames of
// its fmsgo.v1 messages (SharedObjectMessages).
func SharedObjectFrames(msg *rtmpmsg.SharedObjectMessage) ([][]byte, error) {
	ms, err := SharedObjectMessages(msg)
	if err != nil {
		return nil, err
	}
	frames := make([][]byte, 0, len(ms))
	for i := range ms {
		b, err := Append(nil, &ms[i])
		if err != nil {
			return nil, err
		}
		frames = append(frames, b)
	}
	return frames, nil
}

// EstimateFrames is what a shared-object message's frames count against a client's outbound
// bound until they are made: twice its AMF size (JSON numbers and escapes are longer).
func EstimateFrames(msg *rtmpmsg.SharedObjectMessage) int {
	n := 16 + len(msg.Name)
	for _, ev := range msg.Events {
		n += 5 + len(ev.Data)
	}
	return 2 * n
}
