package session

import (
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/fmsgo/fmsgo/scripting"
)

// onPlay starts a play once the app accepts it: the live stream or the recording, by the
// start rules (vodplay.go).
func (s *Session) onPlay(streamID uint32, cmd *rtmpmsg.Command) error {
	ns := s.stream(streamID)
	if ns == nil {
		return nil
	}
	name, query := SplitStreamName(argString(cmd.Args, 0))
	reset := argBool(cmd.Args, 3, true)
	ns.stopPlay(true)
	if name == "" {
		return s.refuse(streamID, nil, "NetStream.Play.StreamNotFound", "No stream name given.", name)
	}
	name, reason, ok := s.authorizeStream(plugin.ActPlay, name, query, "")
	if !ok {
		return s.refuse(streamID, nil, "NetStream.Play.Failed", reason, name)
	}
	args := parsePlayArgs(cmd.Args)
	file, code, desc := s.playSource(name, args)
	if code != "" {
		return s.refuse(streamID, nil, code, desc, name)
	}
	ref := scripting.StreamRef{Name: name, Query: query}
	if ok, info := s.askApp(func(v func(bool, *amf.Object)) { s.js.Play(ref, v) }); !ok {
		if file != nil {
			file.Close()
		}
		return s.refuse(streamID, info, "NetStream.Play.Failed", "The application refused to play "+name+".", name)
	}
	if file != nil {
		return s.startFilePlay(ns, name, reset, file, args)
	}
	return s.startLivePlay(ns, name, reset)
}

// startLivePlay starts the accepted play of the live stream name on ns.
func (s *Session) startLivePlay(ns *netStream, name string, reset bool) error {
	pl, err := s.t.StartPlay(ns.id, name, reset, s.hub)
	if err != nil {
		return s.refuse(ns.id, nil, "NetStream.Play.Failed", err.Error(), name)
	}
	ns.play, ns.playing, ns.playSince = pl, name, time.Now()
	s.t.Log().Info().Str("stream", name).Msg("play")
	s.emitStream(plugin.EvPlay, name, "NetStream.Play.Start", time.Time{}, 0, 0)
	return nil
}

func (ns *netStream) stopPlay(notify bool) {
	if ns.play == nil {
		return
	}
	var st *amf.Object
	if notify {
		st = ns.s.status("status", "NetStream.Play.Stop", "Stopped playing "+ns.playing+".", ns.playing)
	}
	var out uint64
	if ns.s.env.Plugins.HasEvents() {
		out = bytesOut(ns.play)
	}
	ns.play.Stop(st)
	ns.play = nil
	ns.s.emitStream(plugin.EvStop, ns.playing, "NetStream.Play.Stop", ns.playSince, 0, out)
}

// playing returns the NetStream's running play, or nil.
func (s *Session) playing(streamID uint32) *netStream {
	if ns := s.streams[streamID]; ns != nil && ns.play != nil {
		return ns
	}
	return nil
}

func (s *Session) onPause(streamID uint32, cmd *rtmpmsg.Command) error {
	ns := s.playing(streamID)
	if ns == nil {
		return nil
	}
	pause := argBool(cmd.Args, 0, true)
	ns.play.Pause(pause)
	if pause {
		return s.t.StreamStatus(streamID, s.status("status", "NetStream.Pause.Notify", "Pausing "+ns.playing+".", ns.playing))
	}
	return s.t.StreamStatus(streamID, s.status("status", "NetStream.Unpause.Notify", "Unpausing "+ns.playing+".", ns.playing))
}

func (s *Session) onSeek(streamID uint32, cmd *rtmpmsg.Command) error {
	ns := s.streams[streamID]
	if ns == nil {
		return nil
	}
	if _, reason, ok := s.authorizeStream(plugin.ActSeek, ns.playing, "", ""); !ok {
		return s.refuse(streamID, nil, "NetStream.Seek.Failed", reason, ns.playing)
	}
	if sk, ok := ns.play.(Seeker); ok {
		s.seekRecorded(ns, sk, argNumber(cmd.Args, 0, 0))
		return nil
	}
	return s.t.StreamStatus(streamID, s.status("status", "NetStream.Seek.Notify", "Seeking "+ns.playing+" (live: no effect).", ns.playing))
}

func (s *Session) onReceiveAudio(streamID uint32, cmd *rtmpmsg.Command) error {
	if ns := s.playing(streamID); ns != nil {
		ns.play.ReceiveAudio(argBool(cmd.Args, 0, true))
	}
	return nil
}

func (s *Session) onReceiveVideo(streamID uint32, cmd *rtmpmsg.Command) error {
	if ns := s.playing(streamID); ns != nil {
		ns.play.ReceiveVideo(argBool(cmd.Args, 0, true))
	}
	return nil
}
