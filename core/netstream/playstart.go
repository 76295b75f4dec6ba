// Package netstream holds NetStream semantics that every transport shares, so that a direct RTMP
// connection, an edge client (whose session runs on the origin over the trunk) and any later
// transport send players the same thing: today the play-start sequence.
package netstream

import (
	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// Kind says what a play-start message is, and so how a transport sends it.
type Kind uint8

// The kinds of PlayStart's messages.
const (
	// StreamBegin is the user control event StreamBegin for the play's stream. It is sent by
	// whoever owns the client's connection (on an edge: the edge, before the first Play status it
	// relays).
	StreamBegin Kind = iota + 1
	// Status is an onStatus command: Level, Code and Description; its details are the stream
	// name, and it carries the client's id as FMS's do.
	Status
	// Data is a data message ready to send: Type (rtmpmsg.TypeDataAMF0) and Payload, a fresh
	// slice the sender may keep.
	Data
)

// Message is one message of the play-start sequence.
type Message struct {
	Kind                     Kind
	Level, Code, Description string // Status
	Type                     uint8  // Data
	Payload                  []byte // Data
}

// PlayStart is what a player gets, in FMS's order, when its play of name is accepted and before
// the stream's metadata and media (CLIENTS.md #16): StreamBegin; NetStream.Play.Reset when the
// play asked for a reset; NetStream.Play.Start; |RtmpSampleAccess(true, true), which lets a
// Flash player read the video into BitmapData and the sound through SoundMixer; then, for a
// client that connected with objectEncoding 3 (amf3), the data message onStatus {code:
// NetStream.Data.Start}.
//
// An AMF0 client does not get NetStream.Data.Start, as from nginx-rtmp, which Flash players
// (JW Player, Flowplayer) play from: AS3 Flash players connect with objectEncoding 3 by default,
// while ffmpeg, librtmp and the encoders' SDKs connect AMF0, and ffmpeg's FLV demuxer turns a
// data message named onStatus into an extra stream ("Data: none" in ffprobe, a -map surprise).
// As an AMF3 data message (type 15) ffmpeg would skip it, but other client libraries close the
// connection on type 15 (go-rtmp: "Not implemented: DataMessageAMF3"). |RtmpSampleAccess at
// timestamp 0 is read and skipped by that demuxer.
func PlayStart(name string, reset, amf3 bool) []Message {
	msgs := make([]Message, 0, 5)
	msgs = append(msgs, Message{Kind: StreamBegin})
	if reset {
		msgs = append(msgs, Message{Kind: Status, Level: "status", Code: "NetStream.Play.Reset", Description: "Playing and resetting " + name + "."})
	}
	msgs = append(msgs,
		Message{Kind: Status, Level: "status", Code: "NetStream.Play.Start", Description: "Started playing " + name + "."},
		dataMessage("|RtmpSampleAccess", true, true))
	if amf3 {
		msgs = append(msgs, dataMessage("onStatus", &amf.Object{Props: []amf.Prop{{Key: "code", Value: "NetStream.Data.Start"}}}))
	}
	return msgs
}

// dataMessage encodes an AMF0 data message of constant, encodable arguments.
func dataMessage(name string, args ...any) Message {
	var e amf.Encoder
	p, err := rtmpmsg.AppendData(nil, &e, name, args...)
	if err != nil {
		panic("netstream: play-start data message " + name + ": " + err.Error()) // constant input: a bug
	}
	return Message{Kind: Data, Type: rtmpmsg.TypeDataAMF0, Payload: p}
}
