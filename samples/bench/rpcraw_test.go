package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/chunk"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
)

// TestRawCallPatchesTxn checks that the raw caller's prebuilt message, with a transaction id
// patched in, is the command a full encoder would write: a server decodes its name, id and
// arguments.
func TestRawCallPatchesTxn(t *testing.T) {
	for _, method := range []string{"echo", "createStream"} {
		msg, at, err := rawCall(method, []any{1.0})
		if err != nil {
			t.Fatal(err)
		}
		binary.BigEndian.PutUint64(msg[at:], math.Float64bits(42))
		rd := chunk.NewReader(bufio.NewReader(bytes.NewReader(msg)), chunk.DefaultLimits())
		h, p, err := rd.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var d amf.Decoder
		cmd, err := rtmpmsg.DecodeCommand(h.TypeID, p, &d)
		if err != nil {
			t.Fatal(err)
		}
		if cmd.Name != method || cmd.TxnID != 42 || cmd.Object != nil || len(cmd.Args) != 1 || cmd.Args[0] != 1.0 {
			t.Errorf("%s: decoded %+v", method, cmd)
		}
	}
}

// TestCommandHead checks the answer's name and transaction id read without decoding it, and
// that a payload too short for them is refused.
func TestCommandHead(t *testing.T) {
	var e amf.Encoder
	p, err := rtmpmsg.AppendCommand(nil, &e, false, "_result", 7, nil, 1.0)
	if err != nil {
		t.Fatal(err)
	}
	name, txn, ok := commandHead(p)
	if !ok || string(name) != "_result" || txn != 7 {
		t.Errorf("got %q %v %v", name, txn, ok)
	}
	for n := range len("_result") + 12 {
		if _, _, ok := commandHead(p[:n]); ok {
			t.Errorf("%d bytes read as a command head", n)
		}
	}
}
