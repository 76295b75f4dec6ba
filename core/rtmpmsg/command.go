package rtmpmsg

import (
	"errors"
	"fmt"

	"github.com/fmsgo/fmsgo/core/amf"
)

// MaxArgs bounds the arguments of one command or data message: real calls have a handful (play
// has four), and a message of a million nulls should not become a million-element slice.
const MaxArgs = 64

// Command is a decoded command message: NetConnection/NetStream commands, calls and answers.
type Command struct {
	Name   string
	TxnID  float64
	Object any   // the command object (connect) or null
	Args   []any // every further argument
	AMF3   bool  // arrived as type 17
}

// Data is a decoded data message (@setDataFrame, onMetaData, |RtmpSampleAccess, ...).
type Data struct {
	Name string
	Args []any
}

// Errors of the command and data decoders (besides the AMF decoder's own).
var (
	ErrNotString   = errors.New("rtmpmsg: command or data name is not a string")
	ErrTooManyArgs = errors.New("rtmpmsg: too many arguments")
)

// DecodeCommand decodes a type 20 (AMF0) or 17 (AMF3: one format byte, then AMF0 values of which
// any may be 0x11-switched) command. d is reused across messages to avoid allocations.
func DecodeCommand(typeID uint8, payload []byte, d *amf.Decoder) (Command, error) {
	cmd := Command{AMF3: typeID == TypeCommandAMF3}
	if cmd.AMF3 {
		if len(payload) == 0 {
			return cmd, fmt.Errorf("%w: empty AMF3 command", ErrShort)
		}
		if payload[0] == 0 { // the format byte; a name cannot start with 0 (a number marker)
			payload = payload[1:]
		}
	}
	d.Reset(payload)
	name, err := d.DecodeAMF0()
	if err != nil {
		return cmd, fmt.Errorf("command name: %w", err)
	}
	var ok bool
	if cmd.Name, ok = name.(string); !ok {
		return cmd, ErrNotString
	}
	if d.Len() == 0 { // some clients send a bare name
		return cmd, nil
	}
	txn, err := d.DecodeAMF0()
	if err != nil {
		return cmd, fmt.Errorf("command %q transaction id: %w", cmd.Name, err)
	}
	cmd.TxnID, _ = txn.(float64)
	if d.Len() == 0 {
		return cmd, nil
	}
	if cmd.Object, err = d.DecodeAMF0(); err != nil {
		return cmd, fmt.Errorf("command %q object: %w", cmd.Name, err)
	}
	cmd.Args, err = decodeRest(d, cmd.Name)
	return cmd, err
}

func decodeRest(d *amf.Decoder, name string) ([]any, error) {
	var args []any
	for d.Len() > 0 {
		if len(args) >= MaxArgs {
			return nil, fmt.Errorf("%w: %q has more than %d", ErrTooManyArgs, name, MaxArgs)
		}
		v, err := d.DecodeAMF0()
		if err != nil {
			return nil, fmt.Errorf("%q argument %d: %w", name, len(args)+1, err)
		}
		args = append(args, v)
	}
	return args, nil
}

// DecodeData decodes a type 18 or 15 data message. Type 15 may or may not start with a format
// byte (Red5 always skips one, SRS never does): it is skipped only if it is 0x00, since a data
// message otherwise starts with 0x02 or 0x11.
func DecodeData(typeID uint8, payload []byte, d *amf.Decoder) (Data, error) {
	if typeID == TypeDataAMF3 && len(payload) > 0 && payload[0] == 0 {
		payload = payload[1:]
	}
	d.Reset(payload)
	name, err := d.DecodeAMF0()
	if err != nil {
		return Data{}, fmt.Errorf("data name: %w", err)
	}
	s, ok := name.(string)
	if !ok {
		return Data{}, ErrNotString
	}
	args, err := decodeRest(d, s)
	return Data{Name: s, Args: args}, err
}

// AppendCommand encodes a command. With amf3 (a client that connected with objectEncoding 3) it
// writes the type-17 layout Red5 and FMS use: the format byte 0, the name and transaction id as
// plain AMF0 (every AMF3 reader expects them there), then the object and each argument switched
// to AMF3 (0x11 + value) — except null, which stays AMF0 null (0x05) as Flash itself writes the
// command object of its calls, and which every decoder reads without a switch.
func AppendCommand(dst []byte, e *amf.Encoder, amf3 bool, name string, txn float64, obj any, args ...any) ([]byte, error) {
	e.Reset()
	if amf3 {
		dst = append(dst, 0)
	}
	dst = amf.AppendString0(dst, name)
	dst, err := e.AppendAMF0(dst, txn)
	if err != nil {
		return nil, fmt.Errorf("command %q: %w", name, err)
	}
	if dst, err = appendValue(dst, e, amf3, obj); err != nil {
		return nil, fmt.Errorf("command %q object: %w", name, err)
	}
	for i, v := range args {
		if dst, err = appendValue(dst, e, amf3, v); err != nil {
			return nil, fmt.Errorf("command %q argument %d: %w", name, i+1, err)
		}
	}
	return dst, nil
}

func appendValue(dst []byte, e *amf.Encoder, amf3 bool, v any) ([]byte, error) {
	if amf3 && v != nil {
		return e.AppendSwitched(dst, v)
	}
	return e.AppendAMF0(dst, v)
}

// AppendData encodes an AMF0 data message (type 18).
func AppendData(dst []byte, e *amf.Encoder, name string, args ...any) ([]byte, error) {
	e.Reset()
	dst = amf.AppendString0(dst, name)
	var err error
	for i, v := range args {
		if dst, err = e.AppendAMF0(dst, v); err != nil {
			return nil, fmt.Errorf("data %q argument %d: %w", name, i+1, err)
		}
	}
	return dst, nil
}
