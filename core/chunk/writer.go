package chunk

import (
	"encoding/binary"
	"net"
	"sync"
)

// Writer splits messages into chunks for one connection. Each message goes out as one fmt-0
// chunk followed by fmt-3 continuations (simple, and every client reads it); payloads are
// referenced, never copied, so a media payload shared by a thousand players is written from one
// buffer. Header bytes live in a scratch buffer taken from a pool shared by every writer on the
// first Append and given back by Reset: a connection holds one only while its buffers are being
// written, so thousands of idle connections hold none.
type Writer struct {
	chunkSize uint32
	sb        *scratchBuf // nil between Reset and the next Append
}

// scratchBuf is a pooled header scratch (a pointer, so that pooling it does not allocate).
type scratchBuf struct{ b []byte }

var scratchPool = sync.Pool{New: func() any { return &scratchBuf{b: make([]byte, 0, 256)} }}

// maxPooledScratch: a scratch grown past this by a burst is dropped rather than pooled.
const maxPooledScratch = 4096

// NewWriter starts at RTMP's default chunk size of 128.
func NewWriter() *Writer {
	return &Writer{chunkSize: 128}
}

// SetChunkSize applies to messages appended after it (send Set Chunk Size first).
func (w *Writer) SetChunkSize(n uint32) {
	if n > 0 && n <= maxChunkSize {
		w.chunkSize = n
	}
}

// ChunkSize is the current outbound chunk size.
func (w *Writer) ChunkSize() uint32 { return w.chunkSize }

// Reset gives the header scratch back once the buffers returned by Append have been written
// (they must not be used afterwards: the scratch serves other connections next).
func (w *Writer) Reset() {
	sb := w.sb
	if sb == nil {
		return
	}
	w.sb = nil
	if cap(sb.b) > maxPooledScratch {
		return
	}
	sb.b = sb.b[:0]
	scratchPool.Put(sb)
}

func appendBasic(dst []byte, fmtType byte, csid uint32) []byte {
	switch {
	case csid < 64:
		return append(dst, fmtType<<6|byte(csid))
	case csid < 320:
		return append(dst, fmtType<<6, byte(csid-64))
	}
	v := csid - 64
	return append(dst, fmtType<<6|1, byte(v), byte(v>>8))
}

// Append adds the chunks of one message to bufs. The extended timestamp, when needed, is
// repeated on every continuation: Debian's librtmp reads it unconditionally.
func (w *Writer) Append(bufs net.Buffers, h Header, payload []byte) net.Buffers {
	ext := h.Timestamp >= 0xFFFFFF
	ts3 := h.Timestamp
	if ext {
		ts3 = 0xFFFFFF
	}
	if w.sb == nil {
		w.sb = scratchPool.Get().(*scratchBuf)
	}
	start := len(w.sb.b)
	s := appendBasic(w.sb.b, 0, h.CSID)
	s = append(s, byte(ts3>>16), byte(ts3>>8), byte(ts3))
	n := uint32(len(payload))
	s = append(s, byte(n>>16), byte(n>>8), byte(n), h.TypeID)
	s = binary.LittleEndian.AppendUint32(s, h.StreamID)
	if ext {
		s = binary.BigEndian.AppendUint32(s, h.Timestamp)
	}
	first := min(n, w.chunkSize)
	bufs = append(bufs, s[start:len(s):len(s)])
	if first > 0 {
		bufs = append(bufs, payload[:first])
	}
	for off := first; off < n; off += w.chunkSize {
		hs := len(s)
		s = appendBasic(s, 3, h.CSID)
		if ext {
			s = binary.BigEndian.AppendUint32(s, h.Timestamp)
		}
		bufs = append(bufs, s[hs:len(s):len(s)], payload[off:min(n, off+w.chunkSize)])
	}
	w.sb.b = s
	return bufs
}
