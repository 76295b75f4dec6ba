package origin

import (
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// TestOBSPublishSequence replays OBS's publish sequence byte for byte (CLIENTS.md #1, #2, #3,
// #4, #12, #20, #22): Set Chunk Size → connect (nonprivate, no objectEncoding) → releaseStream →
// FCPublish → createStream → publish "key?query" → @setDataFrame → media.
func TestOBSPublishSequence(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	s := newRaw(t, o.addr)
	s.send(chunk.Header{CSID: 2, TypeID: rtmpmsg.TypeSetChunkSize}, rtmpmsg.AppendSetChunkSize(nil, 4096))
	s.cmd(3, 0, "connect", 1, obsConnectObject("live", "rtmp://127.0.0.1/live"))

	res, before := s.until(isCommand("_result"))
	// #22: the chunk size comes with the connect answer, before _result
	var sawChunkSize, sawWindow, sawBW bool
	for _, m := range before {
		sawChunkSize = sawChunkSize || m.h.TypeID == rtmpmsg.TypeSetChunkSize
		sawWindow = sawWindow || m.h.TypeID == rtmpmsg.TypeWindowAckSize
		sawBW = sawBW || m.h.TypeID == rtmpmsg.TypeSetPeerBandwidth
	}
	if !sawChunkSize || !sawWindow || !sawBW {
		t.Fatalf("connect answer missing control messages before _result: chunk=%v window=%v bw=%v", sawChunkSize, sawWindow, sawBW)
	}
	props, _ := res.cmd.Object.(*amf.Object)
	if v := props.String("fmsVer"); !strings.HasPrefix(v, "FMS/") { // #4
		t.Fatalf("fmsVer %q", v)
	}
	if res.code() != "NetConnection.Connect.Success" {
		t.Fatalf("connect: %s", res.code())
	}
	info := res.cmd.Args[0].(*amf.Object)
	if enc, _ := info.Number("objectEncoding"); enc != 0 { // #1: absent means 0
		t.Fatalf("objectEncoding %v", enc)
	}
	s.until(isCommand("onBWDone")) // #12

	s.cmd(3, 0, "releaseStream", 2, nil, "obs?key=secret")
	if m, _ := s.until(isCommand("_result")); m.cmd.TxnID != 2 { // #2
		t.Fatalf("releaseStream answered txn %v", m.cmd.TxnID)
	}
	s.cmd(3, 0, "FCPublish", 3, nil, "obs?key=secret")
	s.until(func(m rawMsg) bool { return m.cmd != nil && m.cmd.Name == "_result" && m.cmd.TxnID == 3 })
	fc, _ := s.until(isCommand("onFCPublish")) // #3
	if fc.code() != "NetStream.Publish.Start" {
		t.Fatalf("onFCPublish %s", fc.code())
	}
	s.cmd(3, 0, "createStream", 4, nil)
	cs, _ := s.until(isCommand("_result"))
	sid := uint32(cs.cmd.Args[0].(float64))
	s.cmd(4, sid, "publish", 0, nil, "obs?key=secret", "live") // #20: the query is not part of the name
	s.until(isStatus("NetStream.Publish.Start"))
	s.cmd(4, sid, "publish", 0, nil, "obs?key=secret", "live") // #4: Wirecast publishes twice
	s.until(isStatus("NetStream.Publish.Start"))
	if !o.srv.hasPublisher("live", DefaultInstance, "obs") {
		t.Fatal("stream not published under its bare name")
	}
	var e amf.Encoder
	meta, _ := rtmpmsg.AppendData(nil, &e, "@setDataFrame", "onMetaData", &amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "width", Value: 1280.0}}})
	s.send(chunk.Header{CSID: 4, TypeID: rtmpmsg.TypeDataAMF0, StreamID: sid}, meta)
	s.send(chunk.Header{CSID: 6, TypeID: 9, StreamID: sid}, avcSeqHeader)
	s.send(chunk.Header{CSID: 6, TypeID: 9, StreamID: sid, Timestamp: 33}, videoFrame(0, true, 5000))

	p := newRaw(t, o.addr)
	p.cmd(3, 0, "connect", 1, obsConnectObject("live", "rtmp://127.0.0.1/live"))
	p.until(isCommand("_result"))
	p.cmd(3, 0, "FCSubscribe", 2, nil, "obs") // #13
	if m, _ := p.until(isCommand("onFCSubscribe")); m.code() != "NetStream.Play.Start" {
		t.Fatalf("onFCSubscribe %s", m.code())
	}
	p.cmd(3, 0, "createStream", 3, nil)
	cs, _ = p.until(func(m rawMsg) bool { return m.cmd != nil && m.cmd.Name == "_result" && m.cmd.TxnID == 3 })
	psid := uint32(cs.cmd.Args[0].(float64))
	p.cmd(8, psid, "play", 0, nil, "obs", -2.0)
	m, _ := p.until(func(m rawMsg) bool { return m.data != nil && m.data.Name == "onMetaData" })
	if a, _ := m.data.Args[0].(*amf.Array); a == nil || len(a.Assoc) == 0 || a.Assoc[0].Key != "width" {
		t.Fatalf("metadata %#v", m.data.Args)
	}
}

// TestClientQuirks covers the connect-level rows of CLIENTS.md with one raw session each.
func TestClientQuirks(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	t.Run("adobe auth query on app (#5)", func(t *testing.T) {
		t.Parallel()
		s := newRaw(t, o.addr)
		s.cmd(3, 0, "connect", 1, obsConnectObject("live?authmod=adobe&user=bob", "rtmp://h/live?authmod=adobe&user=bob"))
		if m, _ := s.until(isCommand("_result")); m.code() != "NetConnection.Connect.Success" {
			t.Fatal(m.code())
		}
	})
	t.Run("fresh connection starts at chunk size 128 (#8)", func(t *testing.T) {
		t.Parallel()
		s := newRaw(t, o.addr) // sends a 300-byte connect in 128-byte chunks without Set Chunk Size
		obj := obsConnectObject("live", "rtmp://h/live")
		obj.Set("padding", strings.Repeat("x", 200))
		s.cmd(3, 0, "connect", 1, obj)
		s.until(isCommand("_result"))
	})
	t.Run("chunk stream ids 45, 64 and 320 (#9)", func(t *testing.T) {
		t.Parallel()
		s := newRaw(t, o.addr)
		s.cmd(45, 0, "connect", 1, obsConnectObject("live", "rtmp://h/live"))
		s.until(isCommand("_result"))
		s.cmd(64, 0, "createStream", 2, nil)
		s.until(isCommand("_result"))
		s.cmd(320, 0, "_checkbw", 3, nil) // #11
		if m, _ := s.until(isCommand("_result")); m.cmd.TxnID != 3 {
			t.Fatal(m.cmd.TxnID)
		}
	})
	t.Run("first chunk of a chunk stream with fmt 1 (#10)", func(t *testing.T) {
		t.Parallel()
		s := newRaw(t, o.addr)
		var e amf.Encoder
		p, _ := rtmpmsg.AppendCommand(nil, &e, false, "connect", 1, obsConnectObject("live", "rtmp://h/live"))
		// fmt 1 header: delta 0, length, type 20; continuation chunks fmt 3
		raw := []byte{0x43, 0, 0, 0, byte(len(p) >> 16), byte(len(p) >> 8), byte(len(p)), 20}
		for off := 0; off < len(p); off += 128 {
			if off > 0 {
				raw = append(raw, 0xC3)
			}
			raw = append(raw, p[off:min(len(p), off+128)]...)
		}
		s.c.Write(raw)
		s.until(isCommand("_result"))
	})
	t.Run("unknown flashVer and vendor commands (#21, #23)", func(t *testing.T) {
		t.Parallel()
		s := newRaw(t, o.addr)
		obj := obsConnectObject("live", "rtmp://h/live")
		obj.Set("flashVer", "RootEncoder/2.4 something odd")
		s.cmd(3, 0, "connect", 1, obj)
		s.until(isCommand("_result"))
		s.cmd(3, 0, "getStreamLength", 2, nil, "x")
		s.until(func(m rawMsg) bool { return m.cmd != nil && m.cmd.Name == "_result" && m.cmd.TxnID == 2 })
		s.cmd(3, 0, "vendorThing", 3, nil, 1.0)
		m, _ := s.until(func(m rawMsg) bool { return m.cmd != nil && m.cmd.TxnID == 3 })
		if m.cmd.Name != "_error" || m.code() != "NetConnection.Call.Failed" {
			t.Fatalf("vendor command: %s %s", m.cmd.Name, m.code())
		}
		s.cmd(3, 0, "FCUnpublish", 4, nil, "x")
		s.until(func(m rawMsg) bool { return m.cmd != nil && m.cmd.Name == "_result" && m.cmd.TxnID == 4 })
	})
	t.Run("rejected connect is answered before the close (#18)", func(t *testing.T) {
		t.Parallel()
		s := newRaw(t, o.addr)
		s.cmd(3, 0, "connect", 1, obsConnectObject("nope", "rtmp://h/nope"))
		if m, _ := s.until(isCommand("_error")); m.code() != "NetConnection.Connect.Rejected" {
			t.Fatal(m.code())
		}
		expectClosed(t, s.c, 5e9)
	})
}

// TestAMF3MetadataAndEnhancedRTMP: an AS3 publisher's @setDataFrame as type 15 (#15) and an
// enhanced-RTMP HEVC stream (#19) reach a late joiner with the sequence start and a keyframe.
func TestAMF3MetadataAndEnhancedRTMP(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	s := newRaw(t, o.addr)
	s.cmd(3, 0, "connect", 1, obsConnectObject("live", "rtmp://h/live"))
	s.until(isCommand("_result"))
	s.cmd(3, 0, "createStream", 2, nil)
	cs, _ := s.until(func(m rawMsg) bool { return m.cmd != nil && m.cmd.Name == "_result" && m.cmd.TxnID == 2 })
	sid := uint32(cs.cmd.Args[0].(float64))
	s.cmd(4, sid, "publish", 0, nil, "hevc", "live")
	s.until(isStatus("NetStream.Publish.Start"))
	var e amf.Encoder
	meta := []byte{0}
	meta = amf.AppendString0(meta, "@setDataFrame")
	meta = amf.AppendString0(meta, "onMetaData")
	meta, _ = e.AppendSwitched(meta, &amf.Object{Props: []amf.Prop{{Key: "videocodecid", Value: "hvc1"}}})
	s.send(chunk.Header{CSID: 4, TypeID: rtmpmsg.TypeDataAMF3, StreamID: sid}, meta)
	seqStart := append([]byte{0x90}, "hvc1\x01\x02\x03"...)
	key := append([]byte{0x93}, "hvc1KEYFRAME"...)
	inter := append([]byte{0xA3}, "hvc1inter"...)
	s.send(chunk.Header{CSID: 6, TypeID: 9, StreamID: sid}, seqStart)
	s.send(chunk.Header{CSID: 6, TypeID: 9, StreamID: sid, Timestamp: 40}, inter) // before any keyframe
	s.send(chunk.Header{CSID: 6, TypeID: 9, StreamID: sid, Timestamp: 80}, key)
	s.send(chunk.Header{CSID: 6, TypeID: 9, StreamID: sid, Timestamp: 120}, inter)
	waitFor(t, 5e9, "media in", func() bool { return o.srv.streamBytes("live", "hevc") > 30 })

	p := newRaw(t, o.addr)
	p.cmd(3, 0, "connect", 1, obsConnectObject("live", "rtmp://h/live"))
	p.until(isCommand("_result"))
	p.cmd(3, 0, "createStream", 2, nil)
	cs, _ = p.until(func(m rawMsg) bool { return m.cmd != nil && m.cmd.Name == "_result" && m.cmd.TxnID == 2 })
	p.cmd(8, uint32(cs.cmd.Args[0].(float64)), "play", 0, nil, "hevc", -1.0)
	md, _ := p.until(func(m rawMsg) bool { return m.data != nil && m.data.Name == "onMetaData" })
	if o, _ := md.data.Args[0].(*amf.Object); o == nil || o.String("videocodecid") != "hvc1" {
		t.Fatalf("metadata %#v", md.data.Args)
	}
	var video [][]byte
	for len(video) < 3 {
		if m := p.next(); m.h.TypeID == 9 {
			video = append(video, m.p)
		}
	}
	if string(video[0]) != string(seqStart) || string(video[1]) != string(key) || string(video[2]) != string(inter) {
		t.Fatalf("late joiner video: %q", video)
	}
}
