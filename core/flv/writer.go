package flv

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/media"
)

// File is where a Writer writes; os.File (opened read-write, without O_APPEND) is one. Writes
// go to explicit offsets because the reserved onMetaData at the start is rewritten while tags
// are appended at the end, so there is no shared seek position to keep straight.
type File interface {
	io.WriterAt
	Sync() error
}

// SyncPolicy says when the Writer asks the storage to make what it wrote durable (fsync).
//
// A crash of the process (kill -9) loses nothing the Writer has written: written bytes are the
// kernel's. What it has not written yet is the buffer of whole tags, flushed before every video
// keyframe, whenever it holds FlushEvery of media, and before each metadata rewrite; so a
// killed recording is readable up to its last keyframe or so. fsync only matters when the
// machine itself goes down, and it costs a disk flush each time: the policy trades the media
// lost in a power cut against disk load with many recordings at once.
type SyncPolicy int

// Sync policies.
const (
	// SyncInterval: every SyncEvery of media time (default 10 s), before the metadata rewrite
	// that follows, and on Close.
	SyncInterval SyncPolicy = iota
	// SyncKeyframe: after each flush before a video keyframe, so a power cut loses at most
	// one GOP (one fsync per GOP and recording).
	SyncKeyframe
	// SyncClose: on Close only.
	SyncClose
)

// Options of a Writer; zero values take the defaults.
type Options struct {
	// MaxDuration and MaxSize end the recording (ErrLimit): the file's duration and size,
	// including what an appended-to file already held. 0 means no limit.
	MaxDuration time.Duration
	MaxSize     int64
	// IndexEntries caps the keyframe index, and so the space reserved for onMetaData (18 bytes
	// an entry, plus 4.5 KiB): DefaultIndexEntries, or with a MaxDuration one entry per half
	// second of it (at least 64). A longer recording thins its index (see Index).
	IndexEntries int
	// MetadataEvery is how often (media time) onMetaData is rewritten; default 10 s.
	MetadataEvery time.Duration
	Sync          SyncPolicy
	SyncEvery     time.Duration // SyncInterval's interval; default 10 s
	// FlushEvery is the most media time a tag waits in the buffer; default 1 s.
	FlushEvery time.Duration
	// BufferSize is the write buffer; default 64 KiB. A larger tag is written by itself.
	BufferSize int
	// AppendGap (OpenAppend only) is the gap left between the existing recording and the new
	// part, FMS's appendWithGap (the caller knows how long the stream was away); 0 continues
	// right after the last frame (append).
	AppendGap time.Duration
}

func (o Options) withDefaults() Options {
	if o.IndexEntries <= 0 {
		o.IndexEntries = DefaultIndexEntries
		if o.MaxDuration > 0 {
			o.IndexEntries = int(min(max(o.MaxDuration/(500*time.Millisecond), 64), DefaultIndexEntries))
		}
	}
	o.MetadataEvery = defaultDuration(o.MetadataEvery, 10*time.Second)
	o.SyncEvery = defaultDuration(o.SyncEvery, 10*time.Second)
	o.FlushEvery = defaultDuration(o.FlushEvery, time.Second)
	if o.BufferSize <= 0 {
		o.BufferSize = 64 << 10
	}
	return o
}

func defaultDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Writer records one live stream into one FLV file. It is used by one goroutine (the one that
// takes the stream's messages, typically a hub subscriber's writer) and has none of its own:
// flushes, fsyncs and metadata rewrites are paced by the media timestamps, not by timers.
//
// Layout: header, a reserved onMetaData tag of a fixed size (rewritten in place with the
// current duration, size and index, its slack filled by a padding property), then the tags.
type Writer struct {
	f    File
	opts Options

	buf    []byte // whole tags not yet written
	bufOff int64  // file offset of buf[0]
	bufTS  int64  // timestamp of buf's first tag
	size   int64  // file size, buffered tags included
	flags  byte   // header flags in the file
	seen   byte   // header flags the tags call for

	slotOff  int64 // file offset of the reserved onMetaData payload; 0: none to rewrite
	slotSize int
	foreign  []byte // the slot's payload when another tool wrote it (see rewriteMetadata)
	metaBuf  []byte
	// metaHead is how much of the slot may differ from the zeros that end every encoding of
	// it (and its end marker): a rewrite writes up to the longer of that and the new head, not
	// the whole reservation.
	metaHead int
	fields   metaFields
	idx      *Index
	dec      amf.Decoder

	tl           timeline
	audio, video track
	lastData     int64
	nextMeta     int64
	nextSync     int64

	ioErr  error // sticky: the file is not to be written any more
	limit  bool
	closed bool
}

func newWriter(f File, opts Options) *Writer {
	w := &Writer{f: f, opts: opts.withDefaults()}
	w.idx = NewIndex(w.opts.IndexEntries)
	return w
}

// NewWriter starts a recording in an empty file: the header and the reserved onMetaData are
// written at once, so the file is valid from its first byte.
func NewWriter(f File, opts Options) (*Writer, error) {
	w := newWriter(f, opts)
	w.slotSize = reservedSize(w.opts.IndexEntries)
	hdr := appendFileHeader(make([]byte, 0, HeaderSize+TrailerSize+TagHeaderSize+w.slotSize+TrailerSize), flagAudio|flagVideo)
	w.flags = hdr[4]
	w.slotOff = int64(len(hdr)) + TagHeaderSize
	w.metaBuf = make([]byte, 0, w.slotSize)
	meta, head, _ := w.encodeMeta()
	w.metaHead = head
	b := appendTag(hdr, TagScript, 0, meta)
	if _, err := f.WriteAt(b, 0); err != nil {
		return nil, fmt.Errorf("flv: write header: %w", err)
	}
	w.size, w.bufOff = int64(len(b)), int64(len(b))
	w.nextMeta = w.tl.start + 1000 // early, so that a short recording soon says what it holds
	return w, nil
}

// WritePacket records a message of the live stream (audio 8, video 9, data 18; others are
// ignored). The packet stays the caller's.
func (w *Writer) WritePacket(p *media.Packet) error {
	return w.write(p.TypeID, p.Timestamp, p.Payload, p.Info)
}

// WriteTag records a message given as its parts.
func (w *Writer) WriteTag(typeID uint8, ts uint32, payload []byte) error {
	return w.write(typeID, ts, payload, media.Classify(typeID, payload))
}

func (w *Writer) write(typ uint8, ts uint32, payload []byte, info media.Info) error {
	if err := w.stopped(); err != nil {
		return err
	}
	if typ == TagScript {
		var keep bool
		if payload, keep = w.script(payload); !keep {
			w.periodic(w.tl.at(ts, false))
			return w.ioErr
		}
	} else if typ != TagAudio && typ != TagVideo {
		return nil
	}
	if len(payload) > MaxTagPayload {
		return fmt.Errorf("flv: a %d-byte payload does not fit a tag", len(payload))
	}
	t := w.tl.at(ts, typ != TagScript && !info.SeqHeader)
	if w.overLimit(t, len(payload)) {
		w.limit = true
		return ErrLimit
	}
	key := typ == TagVideo && info.Keyframe
	if key {
		w.flush()
		if w.opts.Sync == SyncKeyframe {
			w.sync()
		}
	}
	off := w.size
	w.put(typ, uint32(t), payload)
	w.track(typ, t, off, key, payload)
	w.periodic(t)
	return w.ioErr
}

func (w *Writer) stopped() error {
	switch {
	case w.closed:
		return ErrClosed
	case w.ioErr != nil:
		return w.ioErr
	case w.limit:
		return ErrLimit
	}
	return nil
}

func (w *Writer) overLimit(t int64, n int) bool {
	maxMS := int64(w.opts.MaxDuration / time.Millisecond)
	return t > maxTimestamp || (maxMS > 0 && t > maxMS) ||
		(w.opts.MaxSize > 0 && w.size+int64(TagHeaderSize+n+TrailerSize) > w.opts.MaxSize)
}

// put appends a whole tag to the buffer, or writes it by itself if it is larger.
func (w *Writer) put(typ uint8, ts uint32, payload []byte) {
	n := TagHeaderSize + len(payload) + TrailerSize
	if len(w.buf)+n > w.opts.BufferSize {
		w.flush()
	}
	if n > w.opts.BufferSize {
		var h [TagHeaderSize]byte
		putTagHeader(h[:], typ, len(payload), ts)
		var t [TrailerSize]byte
		binary.BigEndian.PutUint32(t[:], uint32(n-TrailerSize))
		w.writeAt(h[:], w.size)
		w.writeAt(payload, w.size+TagHeaderSize)
		w.writeAt(t[:], w.size+int64(n-TrailerSize))
		w.size += int64(n)
		w.bufOff = w.size
		return
	}
	if w.buf == nil {
		w.buf = make([]byte, 0, w.opts.BufferSize)
	}
	if len(w.buf) == 0 {
		w.bufTS = int64(ts)
	}
	w.buf = appendTag(w.buf, typ, ts, payload)
	w.size += int64(n)
}

func (w *Writer) writeAt(b []byte, off int64) {
	if w.ioErr != nil {
		return
	}
	if _, err := w.f.WriteAt(b, off); err != nil {
		w.ioErr = fmt.Errorf("flv: write at %d: %w", off, err)
	}
}

// flush writes the buffered tags.
func (w *Writer) flush() {
	if len(w.buf) == 0 {
		return
	}
	w.writeAt(w.buf, w.bufOff)
	w.bufOff += int64(len(w.buf))
	w.buf = w.buf[:0]
}

func (w *Writer) sync() {
	if w.ioErr != nil {
		return
	}
	if err := w.f.Sync(); err != nil {
		w.ioErr = fmt.Errorf("flv: sync: %w", err)
	}
}

// periodic flushes, fsyncs and rewrites the metadata when their time (media time) has come.
func (w *Writer) periodic(t int64) {
	if len(w.buf) > 0 && t-w.bufTS >= int64(w.opts.FlushEvery/time.Millisecond) {
		w.flush()
	}
	if w.opts.Sync == SyncInterval && t >= w.nextSync {
		w.flush()
		w.sync()
		w.nextSync = t + int64(w.opts.SyncEvery/time.Millisecond)
	}
	if t >= w.nextMeta {
		w.rewriteMetadata()
		w.nextMeta = t + int64(w.opts.MetadataEvery/time.Millisecond)
	}
}

// Close writes what is buffered and the final metadata, and fsyncs. It does not close the
// File. After ErrLimit, Close is how the recording ends well.
func (w *Writer) Close() error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	w.rewriteMetadata()
	w.sync()
	return w.ioErr
}

// Duration is the recording's duration so far.
func (w *Writer) Duration() time.Duration { return time.Duration(w.durationMS()) * time.Millisecond }

// Size is the file's size so far, buffered tags included.
func (w *Writer) Size() int64 { return w.size }

// Keyframes is the keyframe index so far (owned by the Writer).
func (w *Writer) Keyframes() []Keyframe { return w.idx.Entries() }
