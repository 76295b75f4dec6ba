package vod

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fmsgo/fmsgo/core/flv"
	"github.com/fmsgo/fmsgo/core/media"
)

// Format is what a player needs of one recorded file, whatever its container: FLV (core/flv)
// is the only one built; MP4 would be another. Seek is called by one goroutine at a time (the
// File serialises it); ReadBlock may run on several at once.
type Format interface {
	// Duration is the file's playing time.
	Duration() time.Duration
	// Metadata is the onMetaData data message a player gets first; nil when the file has none.
	Metadata() *media.Packet
	// Headers are the decoder configurations (video, then audio sequence header) a player needs
	// before its first frame, wherever in the file it starts.
	Headers() []*media.Packet
	// Seek returns the position and timestamp (ms) of the sync point to start at for ms: the
	// last keyframe at or before it.
	Seek(ms uint32) (pos int64, ts uint32, err error)
	// ReadBlock reads the messages from pos (a sync point, or a block's next) up to the first
	// message that starts at or past limit, and returns them with the position after them; end
	// reports that nothing follows. A damaged tail ends the file with an error, after the
	// messages before it.
	ReadBlock(pos, limit int64) (pkts []*media.Packet, next int64, end bool, err error)
	// Close releases what the format holds (its Metadata and Headers).
	Close()
}

// headerTags bounds how many tags at the start of an FLV file are searched for its sequence
// headers (a recording has them right after onMetaData).
const headerTags = 16

// flvFormat is an FLV file through core/flv's Reader, which checks every length it reads.
type flvFormat struct {
	r       *flv.Reader
	dur     time.Duration
	meta    *media.Packet
	metaAt  int64 // offset of the file's onMetaData tag (-1: none), skipped in blocks
	headers []*media.Packet
}

// openFLV reads an FLV file's header, metadata, sequence headers and duration.
func openFLV(ra io.ReaderAt, size int64, opts flv.ReaderOptions) (Format, error) {
	r, err := flv.NewReader(ra, size, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	f := &flvFormat{r: r, dur: r.Duration(), metaAt: -1}
	if m := r.Metadata(); m != nil {
		f.metaAt = m.Offset
		if p, err := m.AppendPlayerData(nil); err == nil {
			f.meta = media.NewPacket(flv.TagScript, 0, p)
		}
	}
	f.findHeaders()
	return f, nil
}

// findHeaders keeps the first video and audio sequence headers near the start of the file.
func (f *flvFormat) findHeaders() {
	var video, audio *media.Packet
	c := f.r.Tags(f.r.DataOffset())
	for i := 0; i < headerTags && c.Next() && (video == nil || audio == nil); i++ {
		t := c.Tag()
		if !t.SeqHeader || t.Filtered {
			continue
		}
		switch {
		case t.Type == flv.TagVideo && video == nil:
			video = media.NewPacket(t.Type, t.Timestamp, t.Payload)
		case t.Type == flv.TagAudio && audio == nil:
			audio = media.NewPacket(t.Type, t.Timestamp, t.Payload)
		}
	}
	for _, p := range []*media.Packet{video, audio} {
		if p != nil {
			f.headers = append(f.headers, p)
		}
	}
}

func (f *flvFormat) Duration() time.Duration  { return f.dur }
func (f *flvFormat) Metadata() *media.Packet  { return f.meta }
func (f *flvFormat) Headers() []*media.Packet { return f.headers }

func (f *flvFormat) Seek(ms uint32) (int64, uint32, error) {
	k, err := f.r.SeekKeyframe(ms)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return k.Offset, k.Timestamp, nil
}

// ReadBlock implements Format. Sequence headers met on the way are kept (a recording appended
// with new codec settings has them mid-file); the file's own onMetaData and tags that are
// filtered (encrypted) or empty are left out.
func (f *flvFormat) ReadBlock(pos, limit int64) ([]*media.Packet, int64, bool, error) {
	var pkts []*media.Packet
	c := f.r.Tags(pos)
	for c.Offset() < limit && c.Next() {
		t := c.Tag()
		if t.Filtered || len(t.Payload) == 0 || t.Offset == f.metaAt || isMetadata(t) {
			continue
		}
		pkts = append(pkts, media.NewPacket(t.Type, t.Timestamp, t.Payload))
	}
	next := c.Offset()
	end := next >= f.r.Size() || c.Err() != nil
	err := c.Err()
	if errors.Is(err, flv.ErrTruncated) {
		err = nil // a recording cut short: its last whole tag is the end
	}
	return pkts, next, end, err
}

// onMetaData marks a script tag carrying metadata: players get the file's own, once, first.
var onMetaData = []byte{2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a'}

func isMetadata(t flv.Tag) bool {
	return t.Type == flv.TagScript && bytes.HasPrefix(t.Payload, onMetaData)
}

func (f *flvFormat) Close() {
	if f.meta != nil {
		f.meta.Release()
	}
	for _, p := range f.headers {
		p.Release()
	}
}
