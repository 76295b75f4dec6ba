package session

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/live"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/core/vod"
)

// Playing recorded streams (VOD). The rules of play(name, start, len, reset), FMS's where it
// has one; start and len are in milliseconds on the wire (Flash sends the seconds of
// NetStream.play × 1000, ffmpeg −2000, librtmp −1000 for --live and its -A seconds × 1000):
//   - start −2 (−2000, and any negative other than −1 and −1000): the live stream if it is
//     published, else the recording from its start, else the live stream once it is published
//     (the play waits, NetStream.Play.PublishNotify then);
//   - start −1 (−1000): live only; the play waits for a publisher;
//   - start ≥ 0: the recording from the keyframe at or before start. Without a recording, the
//     live stream if it is published (rtmpdump and GStreamer's rtmp2src send 0 to play live, and
//     nginx-rtmp and Red5 answer them with it), else NetStream.Play.StreamNotFound at once;
//   - len: negative to the end, 0 the frame at start, N milliseconds from start;
//   - timestamps: a play from start > 0 sends its first keyframe at 0 and the rest relative to
//     it, the way librtmp reads it (it adds its start); after a seek, the file's own timestamps
//     (what librtmp and ffmpeg expect of a seek);
//   - the recording of NAME is where recording writes it (the naming modules' path,
//     APP/streams/INSTANCE/NAME.flv by default); FMS's flv: prefix is dropped; mp4:, f4v:, mp3:
//     and id3: names are refused with NetStream.Play.Failed (only FLV is built); a file that is
//     not FLV is NetStream.Play.FileStructureInvalid;
//   - reset: Play.Reset first when true; a false reset plays the stream alone (playlists are
//     not built);
//   - a recorded play starts with StreamIsRecorded, StreamBegin, Play.Reset, Play.Start and
//     ends with onPlayStatus NetStream.Play.Complete {duration, bytes}, StreamEOF, Play.Stop;
//     seek(ms) moves it (Seek.Notify, Play.Start), pause(flag) holds it where it is.

// startMode is what a play's start asks for.
type startMode uint8

const (
	liveOrRecorded startMode = iota
	liveOnly
	recordedOnly
)

// playArgs are a play command's start and len, read.
type playArgs struct {
	mode   startMode
	start  uint32 // ms, recordedOnly
	length int64  // ms; negative: to the end
}

func parsePlayArgs(args []any) playArgs {
	start := argNumber(args, 1, -2)
	a := playArgs{length: -1}
	switch {
	case start == -1 || start == -1000:
		a.mode = liveOnly
	case start >= 0:
		a.mode, a.start = recordedOnly, clampMs(start)
	}
	if l := argNumber(args, 2, -1); l >= 0 {
		a.length = int64(clampMs(l))
	}
	return a
}

// clampMs turns a client's millisecond count into a timestamp (NaN and negatives are 0).
func clampMs(ms float64) uint32 {
	if !(ms > 0) {
		return 0
	}
	return uint32(min(ms, math.MaxUint32))
}

// Why a recording cannot be opened, as the rules tell them apart.
var (
	errNoRecording = errors.New("no recording")
	errNotBuilt    = errors.New("only FLV recordings can be played")
)

// openRecording opens the recording of name, shared with its other players.
func (s *Session) openRecording(name string) (*vod.File, error) {
	file, ok := playFileName(name)
	if !ok {
		return nil, errNotBuilt
	}
	if s.env.Storage == nil || s.env.Library == nil {
		return nil, errNoRecording
	}
	path, err := s.physicalPath(file, plugin.ActPlay)
	if errors.Is(err, errBadPath) {
		return nil, errNoRecording
	}
	if err != nil {
		return nil, err
	}
	f, err := s.env.Library.Open(context.Background(), s.env.Storage, path)
	if errors.Is(err, vod.ErrNotFound) {
		return nil, errNoRecording
	}
	return f, err
}

// playFileName is the file name of a recorded stream: flv: is dropped; the prefixes of other
// formats are refused.
func playFileName(name string) (string, bool) {
	lower := strings.ToLower(name)
	for _, p := range []string{"mp3:", "id3:"} {
		if strings.HasPrefix(lower, p) {
			return "", false
		}
	}
	return flvName(name)
}

// playSource applies the start rules: the recording to play, or nil for the live stream; a
// non-empty code refuses the play with that status.
func (s *Session) playSource(name string, a playArgs) (f *vod.File, code, desc string) {
	published := s.hub.Holder(name, "") != live.HolderNone
	if a.mode == liveOnly || a.mode == liveOrRecorded && published {
		return nil, "", ""
	}
	f, err := s.openRecording(name)
	switch {
	case err == nil:
		return f, "", ""
	case errors.Is(err, errNoRecording) && (a.mode == liveOrRecorded || published):
		return nil, "", ""
	case errors.Is(err, errNoRecording):
		return nil, "NetStream.Play.StreamNotFound", "Failed to play " + name + "; stream not found."
	case errors.Is(err, errNotBuilt):
		return nil, "NetStream.Play.Failed", "Cannot play " + name + ": only FLV recordings can be played on this server (MP4, F4V and MP3 are not built)."
	case errors.Is(err, vod.ErrFormat):
		return nil, "NetStream.Play.FileStructureInvalid", "Cannot play " + name + ": the recording is not a readable FLV file."
	}
	s.t.Log().Warn().Err(err).Str("stream", name).Msg("recording cannot be opened")
	return nil, "NetStream.Play.Failed", "Cannot play " + name + ": " + err.Error()
}

// startFilePlay starts the accepted play of a recording on ns; f is closed on failure.
func (s *Session) startFilePlay(ns *netStream, name string, reset bool, f *vod.File, a playArgs) error {
	log := s.t.Log().With().Str("stream", name).Str("path", f.Path()).Logger()
	stop := s.status("status", "NetStream.Play.Stop", "Stopped playing "+name+".", name)
	rebase := a.mode == recordedOnly && a.start > 0
	p, err := vod.NewPlayer(f, vod.Request{Start: a.start, Len: a.length, Stop: stop, Rebase: rebase, Log: log})
	if err != nil {
		f.Close()
		return s.refuse(ns.id, nil, "NetStream.Play.FileStructureInvalid", "Cannot play "+name+": "+err.Error(), name)
	}
	pl, err := s.t.StartFilePlay(ns.id, name, reset, p)
	if err != nil {
		p.Stop()
		return s.refuse(ns.id, nil, "NetStream.Play.Failed", err.Error(), name)
	}
	ns.play, ns.playing, ns.playSince = pl, name, time.Now()
	log.Info().Uint32("start", a.start).Int64("len", a.length).Uint32("from", p.StartTimestamp()).Msg("play recorded")
	s.emitStream(plugin.EvPlay, name, "NetStream.Play.Start", time.Time{}, 0, 0)
	return nil
}

// Seeker is a Play that can move (a recorded one): the transport's play of a vod.Player.
type Seeker interface {
	Seek(ms uint32, notify, start *amf.Object)
}

// seekRecorded moves a recorded play; the statuses travel with its media (vod.Player.Seek).
func (s *Session) seekRecorded(ns *netStream, sk Seeker, ms float64) {
	at := clampMs(ms)
	notify := s.status("status", "NetStream.Seek.Notify", "Seeking "+strconv.FormatUint(uint64(at), 10)+
		" (stream ID: "+strconv.FormatUint(uint64(ns.id), 10)+").", ns.playing)
	start := s.status("status", "NetStream.Play.Start", "Started playing "+ns.playing+".", ns.playing)
	sk.Seek(at, notify, start)
}

// onGetStreamLength answers the length in seconds of name's recording (0 for a live stream or
// none), as FMS does; clients ask it before a play to show a duration.
func (s *Session) onGetStreamLength(streamID uint32, cmd *rtmpmsg.Command) error {
	name, _ := SplitStreamName(argString(cmd.Args, 0))
	secs := 0.0
	if name != "" {
		if f, err := s.openRecording(name); err == nil {
			secs = f.Duration().Seconds()
			f.Close()
		}
	}
	return s.answer(streamID, cmd, secs)
}
