package flv

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/media"
)

// Reader limits: what an untrusted file may make the Reader allocate or do.
const (
	// DefaultMaxTagSize caps the payload of one tag: a 4K keyframe at a high bit rate is a few
	// MiB; the format allows 16 MiB, and a hostile size field must not make every player of a
	// file hold that much.
	DefaultMaxTagSize = 8 << 20
	// DefaultMaxMetadataSize caps the onMetaData tag that is decoded (an index of 100,000
	// keyframes is 1.8 MB).
	DefaultMaxMetadataSize = 4 << 20
	// DefaultMaxScanIndex caps an index built by scanning a file (16 bytes an entry); past it
	// the index is thinned like a recording's.
	DefaultMaxScanIndex = 1 << 16
	// maxDataOffset bounds the header's data offset (9 in every file seen).
	maxDataOffset = 1 << 16
	// metadataTags is how many tags at the start are searched for onMetaData.
	metadataTags = 8
	// cursorBuffer is the read buffer of a Cursor.
	cursorBuffer = 32 << 10
)

// ErrTruncated: the file ends inside a tag, as a recording cut short by a crash does. Players
// treat it as the end of the file.
var ErrTruncated = fmt.Errorf("%w: the file ends inside a tag", ErrCorrupt)

// ReaderOptions are the Reader's limits; zero values take the defaults.
type ReaderOptions struct {
	MaxTagSize      int
	MaxMetadataSize int
	MaxScanIndex    int
}

func (o ReaderOptions) withDefaults() ReaderOptions {
	if o.MaxTagSize <= 0 || o.MaxTagSize > MaxTagPayload {
		o.MaxTagSize = DefaultMaxTagSize
	}
	if o.MaxMetadataSize <= 0 {
		o.MaxMetadataSize = DefaultMaxMetadataSize
	}
	if o.MaxScanIndex <= 0 {
		o.MaxScanIndex = DefaultMaxScanIndex
	}
	return o
}

// Reader reads an FLV file of a known size. A Reader is used by one goroutine (its seek index
// is built lazily); Cursors made from it may each run on a goroutine of their own, as long as
// the io.ReaderAt allows concurrent reads (os.File does).
type Reader struct {
	r         io.ReaderAt
	size      int64
	opts      ReaderOptions
	flags     byte
	dataStart int64
	meta      *Metadata

	fileIndex *Index // from onMetaData; nil when absent or found wrong
	scanIndex *Index // built by a scan when needed
	audioOnly bool   // the scan found no video: sync points are audio tags
	lastTS    int64  // -1 until known
	scratch   [TagHeaderSize + headPeek]byte
}

// NewReader validates the header and reads onMetaData if the file has one near its start.
func NewReader(r io.ReaderAt, size int64, opts ReaderOptions) (*Reader, error) {
	rd := &Reader{r: r, size: size, opts: opts.withDefaults(), lastTS: -1}
	var h [HeaderSize]byte
	if size < HeaderSize+TrailerSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrNotFLV, size)
	}
	if err := rd.readAt(h[:], 0); err != nil {
		return nil, err
	}
	if h[0] != 'F' || h[1] != 'L' || h[2] != 'V' {
		return nil, ErrNotFLV
	}
	off := int64(h[5])<<24 | int64(h[6])<<16 | int64(h[7])<<8 | int64(h[8])
	if off < HeaderSize || off > maxDataOffset || off+TrailerSize > size {
		return nil, fmt.Errorf("%w: data offset %d", ErrNotFLV, off)
	}
	rd.flags, rd.dataStart = h[4], off+TrailerSize
	if err := rd.findMetadata(); err != nil {
		return nil, err
	}
	return rd, nil
}

// Size is the file size the Reader was given.
func (r *Reader) Size() int64 { return r.size }

// DataOffset is the offset of the first tag.
func (r *Reader) DataOffset() int64 { return r.dataStart }

// HasAudio and HasVideo report the header's flags (a hint: files lie).
func (r *Reader) HasAudio() bool { return r.flags&flagAudio != 0 }

// HasVideo reports the header's video flag.
func (r *Reader) HasVideo() bool { return r.flags&flagVideo != 0 }

// Metadata is the file's onMetaData, nil if it has none near its start.
func (r *Reader) Metadata() *Metadata { return r.meta }

func (r *Reader) readAt(b []byte, off int64) error {
	if off < 0 || off+int64(len(b)) > r.size {
		return ErrTruncated
	}
	n, err := r.r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = ErrTruncated
	}
	return fmt.Errorf("flv: read at %d: %w", off, err)
}

// ReadTagHeader reads and checks the header of the tag at off: its payload must fit the file
// and the size cap (the trailer may be missing, as at the end of a cut recording).
func (r *Reader) ReadTagHeader(off int64) (TagHeader, error) {
	b := r.scratch[:TagHeaderSize]
	if err := r.readAt(b, off); err != nil {
		return TagHeader{}, err
	}
	h := parseTagHeader(b, off)
	return h, r.checkTag(h)
}

func (r *Reader) checkTag(h TagHeader) error {
	if h.PayloadOffset()+int64(h.Size) > r.size {
		return ErrTruncated
	}
	if int(h.Size) > r.opts.MaxTagSize {
		return fmt.Errorf("%w: tag at %d of %d bytes", ErrCorrupt, h.Offset, h.Size)
	}
	return nil
}

// ReadPayload reads the payload of h into buf (grown if too small) and returns it.
func (r *Reader) ReadPayload(h TagHeader, buf []byte) ([]byte, error) {
	if err := r.checkTag(h); err != nil {
		return nil, err
	}
	if cap(buf) < int(h.Size) {
		buf = make([]byte, h.Size)
	}
	buf = buf[:h.Size]
	return buf, r.readAt(buf, h.PayloadOffset())
}

// findMetadata looks for onMetaData among the first tags.
func (r *Reader) findMetadata() error {
	off := r.dataStart
	var d amf.Decoder
	for i := 0; i < metadataTags && off+TagHeaderSize <= r.size; i++ {
		h, err := r.ReadTagHeader(off)
		if err != nil {
			return nil // a short or broken file: no metadata; tag reads report the damage
		}
		if h.Type == TagScript && !h.Filtered && int(h.Size) <= r.opts.MaxMetadataSize {
			p, err := r.ReadPayload(h, nil)
			if err != nil {
				return err
			}
			if m, ok := parseMetadata(p, &d, r); ok {
				m.Offset, m.Size = h.Offset, int(h.Size)
				r.meta = m
				r.fileIndex = m.index(r.opts.MaxScanIndex)
				return nil
			}
		}
		off = h.End()
	}
	return nil
}

// Tag is one tag read by a Cursor: its header, its payload (valid until the next call to
// Next) and what the payload is.
type Tag struct {
	TagHeader
	Payload []byte
	media.Info
}

// Cursor reads tags one after the other from an offset, through a read buffer.
type Cursor struct {
	r   *Reader
	br  *bufio.Reader
	off int64
	hdr [TagHeaderSize]byte
	buf []byte
	tag Tag
	err error
}

// Tags returns a Cursor at off (DataOffset for the first tag, a Keyframe's Offset after a
// seek).
func (r *Reader) Tags(off int64) *Cursor {
	c := &Cursor{r: r, off: off}
	if off < r.dataStart || off > r.size {
		c.err = fmt.Errorf("%w: offset %d outside the tags", ErrCorrupt, off)
		return c
	}
	c.br = bufio.NewReaderSize(io.NewSectionReader(r.r, off, r.size-off), cursorBuffer)
	return c
}

// Next reads the next tag; false at the end of the file or on an error (see Err).
func (c *Cursor) Next() bool {
	if c.err != nil || c.off >= c.r.size {
		return false
	}
	if c.r.size-c.off < TagHeaderSize {
		c.err = ErrTruncated
		return false
	}
	if _, err := io.ReadFull(c.br, c.hdr[:]); err != nil {
		c.err = fmt.Errorf("flv: read at %d: %w", c.off, err)
		return false
	}
	h := parseTagHeader(c.hdr[:], c.off)
	if c.err = c.r.checkTag(h); c.err != nil {
		return false
	}
	if cap(c.buf) < int(h.Size) {
		c.buf = make([]byte, h.Size)
	}
	c.buf = c.buf[:h.Size]
	if _, err := io.ReadFull(c.br, c.buf); err != nil {
		c.err = fmt.Errorf("flv: read at %d: %w", h.PayloadOffset(), err)
		return false
	}
	c.off = min(h.End(), c.r.size)
	if _, err := c.br.Discard(int(c.off - h.PayloadOffset() - int64(h.Size))); err != nil {
		c.err = fmt.Errorf("flv: read at %d: %w", h.PayloadOffset()+int64(h.Size), err)
		return false
	}
	c.tag = Tag{TagHeader: h, Payload: c.buf, Info: media.Classify(h.Type, c.buf)}
	return true
}

// Tag is the tag Next read.
func (c *Cursor) Tag() Tag { return c.tag }

// Err is the error that ended the Cursor, nil at the end of the file. ErrTruncated means the
// file ends inside a tag.
func (c *Cursor) Err() error { return c.err }

// Offset is where the next tag starts.
func (c *Cursor) Offset() int64 { return c.off }
