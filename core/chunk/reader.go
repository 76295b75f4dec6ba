// Package chunk is the RTMP chunk codec: it reassembles messages from interleaved chunks of up
// to 65599 chunk streams and splits outbound messages into chunks. The reader is written for
// hostile input and for speed: fixed per-stream state, payload buffers reused across messages (no
// allocation per message in steady state) that grow only as bytes arrive, so that no length field
// from the wire can make it allocate more than about what actually arrived, and hard limits on
// message size, the peer's chunk size, the number of chunk streams and the capacity of the buffers
// one connection holds, with an optional Budget that bounds the buffers of all connections.
package chunk

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Header describes one message as the chunk layer sees it; Timestamp is absolute (deltas
// already applied).
type Header struct {
	CSID      uint32
	Timestamp uint32
	Length    uint32
	TypeID    uint8
	StreamID  uint32
}

// Limits bound what one connection's reader may hold.
type Limits struct {
	MaxMessageSize   uint32 // largest message accepted (the wire allows up to 16 MiB - 1)
	MaxChunkStreams  int    // distinct chunk stream ids one connection may use
	MaxBufferedBytes int    // capacity of the reassembly buffers held at once, over all chunk streams
}

// DefaultLimits are a connection's limits once its application accepted it. 4 MiB holds a
// keyframe of a high-bitrate 1080p or 4K stream (nginx-rtmp stops at 1 MiB); real clients use a
// handful of chunk streams (2..10), so 64 leaves room while refusing a 100k-id flood; 8 MiB of
// buffers is two maximal messages in flight. The peer's chunk size needs no limit: buffers grow
// with the bytes that arrive, never with an announced size, so a huge chunk size (legitimate:
// some senders use it to never split a message) costs nothing.
func DefaultLimits() Limits {
	return Limits{MaxMessageSize: 4 << 20, MaxChunkStreams: 64, MaxBufferedBytes: 8 << 20}
}

// PreConnectLimits are a connection's limits from the end of the handshake until its application
// accepts it: before that it is anonymous, and all it needs to send is Set Chunk Size, Window
// Ack Size and connect (a few hundred bytes from every client we know, on chunk streams 2 and 3),
// so that a socket that only shook hands costs at most 64 KiB of reassembly buffers.
func PreConnectLimits() Limits {
	return Limits{MaxMessageSize: 64 << 10, MaxChunkStreams: 8, MaxBufferedBytes: 64 << 10}
}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	def := DefaultLimits()
	if l.MaxMessageSize == 0 {
		l.MaxMessageSize = def.MaxMessageSize
	}
	if l.MaxChunkStreams <= 0 {
		l.MaxChunkStreams = def.MaxChunkStreams
	}
	if l.MaxBufferedBytes <= 0 {
		l.MaxBufferedBytes = def.MaxBufferedBytes
	}
	return l
}

// Errors the reader returns; each ends the connection.
var (
	ErrMessageTooLarge     = errors.New("chunk: message larger than the limit")
	ErrTooManyChunkStreams = errors.New("chunk: too many chunk streams")
	ErrBufferLimit         = errors.New("chunk: reassembly buffers over the connection's limit")
	ErrBadChunkSize        = errors.New("chunk: invalid chunk size")
	ErrNoPreviousHeader    = errors.New("chunk: continuation header on a chunk stream with no previous message")
)

const maxChunkSize = 1<<31 - 1

// streamState is what the reader remembers about one chunk stream.
type streamState struct {
	hdr      Header  // header of the current or last message
	delta    uint32  // delta a fmt-3 chunk starting a new message repeats
	extended bool    // the last fmt 0/1/2 header carried an extended timestamp
	extField uint32  // ... and this was its 4-byte field
	seen     bool    // a message header arrived on this chunk stream
	inMsg    bool    // a partial message is being assembled
	have     uint32  // payload bytes received of the current message
	buf      []byte  // reassembly buffer: *box, or nil
	box      *[]byte // what buf travels in through the pool
}

// Reader reassembles messages from a byte stream.
type Reader struct {
	br        *bufio.Reader
	lim       Limits
	chunkSize uint32
	streams   streamTable
	held      int // capacity of the reassembly buffers held, counted against MaxBufferedBytes
	budget    *Budget
	share     *budgetShare // this reader's part of budget (nil without one)
	bytesRead uint64
	oddStarts int
	scratch   [11]byte
}

// NewReader reads chunks from br with the default chunk size of 128. Zero fields of lim take
// the values of DefaultLimits.
func NewReader(br *bufio.Reader, lim Limits) *Reader {
	return &Reader{br: br, lim: lim.withDefaults(), chunkSize: 128}
}

// SetLimits replaces the limits for what follows (a connection raises them once its application
// accepted it). Zero fields take the values of DefaultLimits. Call it between ReadMessage calls.
func (r *Reader) SetLimits(lim Limits) { r.lim = lim.withDefaults() }

// UseBudget makes the reader's reassembly buffers count against b, shared with other readers.
// When b is exhausted the largest holder is closed through its evict function (called from
// another reader's goroutine, with ErrInboundBudget), or this reader's ReadMessage fails with
// ErrInboundBudget if it is the largest. Call it before the first ReadMessage; nil b does nothing.
func (r *Reader) UseBudget(b *Budget, evict func(error)) {
	if b == nil {
		return
	}
	r.budget, r.share = b, &budgetShare{evict: evict}
}

// OddStarts counts chunk streams whose first chunk was fmt 1 or 2 (FMLE, librtmp). They are
// accepted; the count lets the connection log the quirk once instead of per chunk.
func (r *Reader) OddStarts() int { return r.oddStarts }

// Release returns the reassembly buffers to the shared pools and leaves the budget; call it once
// the connection is done with the reader (no payload returned earlier may be used afterwards).
func (r *Reader) Release() {
	r.streams.each(func(cs *streamState) {
		r.dropBuf(cs)
		cs.inMsg, cs.have = false, 0
	})
	if r.share != nil {
		r.budget.leave(r.share)
	}
}

// SetSource replaces the buffered reader the chunks come from, so that a connection can hand its
// read buffer back while it waits idle and take one again when bytes arrive. Call it only between
// ReadMessage calls and only when the old reader has nothing buffered (bytes still buffered there
// would be lost). Partial messages of other chunk streams survive: they live in the Reader.
func (r *Reader) SetSource(br *bufio.Reader) { r.br = br }

// ReleaseIdle returns to the shared pools the reassembly buffers of the chunk streams that are
// not in the middle of a message, so that an idle connection holds none; they are taken back
// as messages arrive. The payload of the last ReadMessage is invalid afterwards.
func (r *Reader) ReleaseIdle() { r.reclaim(nil) }

// SetChunkSize applies a peer's Set Chunk Size to the chunks that follow: any 31-bit size but 0.
// It decides only where chunk headers fall; what is buffered follows the bytes that arrive.
func (r *Reader) SetChunkSize(n uint32) error {
	if n == 0 || n > maxChunkSize {
		return fmt.Errorf("%w: %d", ErrBadChunkSize, n)
	}
	r.chunkSize = n
	return nil
}

// Abort drops the partial message of csid (Abort Message, type 2).
func (r *Reader) Abort(csid uint32) {
	if cs := r.streams.get(csid); cs != nil && cs.inMsg {
		cs.inMsg, cs.have = false, 0
	}
}

// BytesRead counts every byte consumed, for acknowledgements.
func (r *Reader) BytesRead() uint64 { return r.bytesRead }

func (r *Reader) readFull(b []byte) error {
	n, err := io.ReadFull(r.br, b)
	r.bytesRead += uint64(n)
	return err
}

// ReadMessage returns the next complete message. The payload is valid until the next call.
func (r *Reader) ReadMessage() (Header, []byte, error) {
	for {
		cs, err := r.readChunkHeader()
		if err != nil {
			return Header{}, nil, err
		}
		if err := r.readChunkPayload(cs); err != nil {
			return Header{}, nil, err
		}
		if cs.have == cs.hdr.Length {
			cs.inMsg = false
			return cs.hdr, cs.buf[:cs.have], nil
		}
	}
}

func (r *Reader) basicHeader() (fmtType byte, csid uint32, err error) {
	b, err := r.br.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	r.bytesRead++
	fmtType, csid = b>>6, uint32(b&0x3F)
	switch csid {
	case 0:
		err = r.readFull(r.scratch[:1])
		csid = 64 + uint32(r.scratch[0])
	case 1:
		err = r.readFull(r.scratch[:2])
		csid = 64 + uint32(r.scratch[0]) + 256*uint32(r.scratch[1])
	}
	return fmtType, csid, err
}

func (r *Reader) stream(csid uint32) (*streamState, error) {
	if cs := r.streams.get(csid); cs != nil {
		return cs, nil
	}
	if r.streams.n >= r.lim.MaxChunkStreams {
		return nil, fmt.Errorf("%w (%d)", ErrTooManyChunkStreams, r.lim.MaxChunkStreams)
	}
	return r.streams.add(csid), nil
}

func u24(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }

// readChunkHeader reads a basic and message header and updates the chunk stream's state.
func (r *Reader) readChunkHeader() (*streamState, error) {
	fmtType, csid, err := r.basicHeader()
	if err != nil {
		return nil, err
	}
	cs, err := r.stream(csid)
	if err != nil {
		return nil, err
	}
	if !cs.seen && fmtType != 0 {
		if fmtType == 3 { // no length to repeat: nothing sensible to assume
			return nil, fmt.Errorf("%w (csid %d)", ErrNoPreviousHeader, csid)
		}
		r.oddStarts++ // missing fields read as zero: message stream 0, time base 0
	}
	if fmtType == 3 {
		return cs, r.continuation(cs)
	}
	return cs, r.messageHeader(cs, fmtType)
}

var headerSizes = [3]int{11, 7, 3}

func (r *Reader) messageHeader(cs *streamState, fmtType byte) error {
	b := r.scratch[:headerSizes[fmtType]]
	if err := r.readFull(b); err != nil {
		return err
	}
	ts := u24(b)
	if fmtType <= 1 {
		cs.hdr.Length = u24(b[3:])
		cs.hdr.TypeID = b[6]
	}
	if fmtType == 0 {
		cs.hdr.StreamID = binary.LittleEndian.Uint32(b[7:])
	}
	cs.extended = ts == 0xFFFFFF
	if cs.extended {
		if err := r.readFull(r.scratch[:4]); err != nil {
			return err
		}
		ts = binary.BigEndian.Uint32(r.scratch[:4])
		cs.extField = ts
	}
	if fmtType == 0 {
		cs.hdr.Timestamp = ts
	} else {
		cs.hdr.Timestamp += ts
	}
	cs.delta = ts
	cs.seen = true
	if cs.inMsg { // a new header in the middle of a message: the partial one is abandoned
		cs.inMsg, cs.have = false, 0
	}
	return r.startMessage(cs)
}

// continuation handles a fmt-3 chunk: the tolerant extended-timestamp read, and, when it starts a
// new message, the repeated delta.
func (r *Reader) continuation(cs *streamState) error {
	if cs.extended {
		// Read tolerantly: ffmpeg and Flash repeat the 4-byte field here, some encoders don't.
		// A payload that happens to start with the same 4 bytes is indistinguishable; that is the
		// accepted price (SRS and nginx-rtmp make the same trade). Peek may wait for the next
		// chunk when fewer than 4 payload bytes remain and the field was omitted: for media that
		// only delays by one chunk; a command ending that way and followed by silence would
		// stall (it needs a timestamp past 4.6 hours and an encoder that omits the field).
		p, err := r.br.Peek(4)
		if err == nil && binary.BigEndian.Uint32(p) == cs.extField {
			_, _ = r.br.Discard(4)
			r.bytesRead += 4
		}
	}
	if cs.inMsg {
		return nil
	}
	cs.hdr.Timestamp += cs.delta
	return r.startMessage(cs)
}

func (r *Reader) startMessage(cs *streamState) error {
	if cs.hdr.Length > r.lim.MaxMessageSize {
		return fmt.Errorf("%w: %d bytes (limit %d)", ErrMessageTooLarge, cs.hdr.Length, r.lim.MaxMessageSize)
	}
	cs.inMsg, cs.have = true, 0
	return nil
}

// readChunkPayload reads one chunk's worth of payload. The buffer grows only when it is full, by
// at most doubling (see grow): what the reader holds follows the bytes that arrived, never the
// length a header or a chunk size announced.
func (r *Reader) readChunkPayload(cs *streamState) error {
	n := min(cs.hdr.Length-cs.have, r.chunkSize)
	for n > 0 {
		if uint32(cap(cs.buf)) == cs.have {
			if err := r.grow(cs, n); err != nil {
				return err
			}
		}
		k := min(n, uint32(cap(cs.buf))-cs.have)
		if err := r.readFull(cs.buf[cs.have : cs.have+k]); err != nil {
			return err
		}
		cs.have += k
		n -= k
	}
	return nil
}
