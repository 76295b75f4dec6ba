package session

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"time"

	"github.com/fmsgo/fmsgo/core/flv"
	"github.com/fmsgo/fmsgo/core/plugin"
	"github.com/fmsgo/fmsgo/core/record"
)

// Recording a client's publish (record, append, appendWithGap). The rules, FMS's where it has
// one:
//   - a recording publish is a publish first: the auth modules' ActPublish, then their
//     ActRecord (whose RecordMaxKB/RecordMaxSeconds become the file's limits), then the app's
//     onPublish with the client's writeAccess;
//   - what can be known before the publish refuses it whole, nothing published: ActRecord
//     refused or the stream outside writeAccess is NetStream.Record.NoAccess; no storage, or
//     a path (after the naming modules) that is not a clean relative path, or an mp4:/f4v:
//     name (MP4 recording is not built), is NetStream.Record.Failed;
//   - after Publish.Start, the recording's own goroutine opens the file and sends
//     Record.Start, or Record.Failed when the storage fails (then or later): the live publish
//     goes on, players are not hurt by a full disk. A limit reached sends Record.Stop, the
//     publish goes on. A path another stream records is Record.NoAccess, live goes on;
//   - unpublish sends Record.Stop before Unpublish.Success; the file is closed behind it, and
//     the server's shutdown waits for it (Env.Recordings).

// recordTypeOf is the record type of a publish: its own (record, append, appendWithGap), else,
// for a live publish, the app's recordPublishes (app.json), so that encoders that only publish
// live (ffmpeg, OBS) are recorded without code; "" records nothing.
func (s *Session) recordTypeOf(publishType string) string {
	if _, ok := record.ModeOf(publishType); ok {
		return publishType
	}
	return s.js.RecordPublishes()
}

// recordPlan is what a recording publish was granted before it is published.
type recordPlan struct {
	mode record.Mode
	path string
	opts flv.Options
}

// planRecording applies the record rules that precede the publish; on refusal it returns the
// status code and description.
func (s *Session) planRecording(name, query, publishType string) (*recordPlan, string, string) {
	mode, ok := record.ModeOf(publishType)
	if !ok {
		return nil, "", ""
	}
	plan := &recordPlan{mode: mode}
	if s.env.Plugins.HasAuth() {
		req := s.streamRequest(plugin.ActRecord, name, query)
		req.PublishType = publishType
		d, ok := s.authorize(req)
		if !ok {
			return nil, "NetStream.Record.NoAccess", d.Reason
		}
		plan.opts.MaxSize = req.RecordMaxKB << 10
		plan.opts.MaxDuration = time.Duration(req.RecordMaxSeconds) * time.Second
	}
	if s.env.Storage == nil || s.env.Recordings == nil {
		return nil, "NetStream.Record.Failed", "This server has no storage for recordings."
	}
	file, ok := flvName(name)
	if !ok {
		return nil, "NetStream.Record.Failed", "Cannot record " + name + ": only FLV recording is built (MP4 is not yet)."
	}
	path, err := s.physicalPath(file, plugin.ActRecord)
	switch {
	case errors.Is(err, errBadPath):
		return nil, "NetStream.Record.Failed", "Cannot record " + name + ": not a valid file name."
	case err != nil:
		return nil, "NetStream.Record.Failed", "Could not name the recording of " + name + ": " + err.Error()
	}
	plan.path = path
	return plan, "", ""
}

// errBadPath: the naming modules gave a path that is not a clean relative path.
var errBadPath = errors.New("not a valid file name")

// physicalPath is where the recording of file (a stream name without its prefix) lives for
// act: what the naming modules say, APP/streams/INSTANCE/FILE.flv by default. Recording and
// playing a name find the same file.
func (s *Session) physicalPath(file string, act plugin.Action) (string, error) {
	req := &plugin.NameRequest{App: s.target.App, Instance: s.target.Instance, Stream: file, Action: act}
	if err := s.env.Plugins.Name(context.Background(), req); err != nil {
		return "", err
	}
	if !validPath(req.Path) {
		return "", errBadPath
	}
	return req.Path, nil
}

// flvName is the file name of a recorded stream: FMS's "flv:" prefix is dropped; "mp4:" and
// "f4v:" (F4V/MP4 recording) are refused, not recorded as FLV under a misleading name.
func flvName(name string) (string, bool) {
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lower, "flv:"):
		return name[4:], true
	case strings.HasPrefix(lower, "mp4:"), strings.HasPrefix(lower, "f4v:"):
		return "", false
	}
	return name, true
}

// validPath is the storage's name rule (plugin.Storage): relative, slash-separated, no "." or
// ".." segments, no backslash or NUL.
func validPath(p string) bool {
	return fs.ValidPath(p) && p != "." && !strings.ContainsAny(p, "\\\x00")
}

// startRecording subscribes the recorder of a publish that was just made; its goroutine starts
// with run, once Publish.Start is on its way. A refusal (the path is recorded by another
// stream) is a status after Publish.Start; the live publish goes on.
func (s *Session) startRecording(streamID uint32, p *publishing, plan *recordPlan) (run func()) {
	log := s.t.Log().With().Str("stream", p.name).Str("path", plan.path).Logger()
	send := func(level, code, desc string) {
		_ = s.t.SendCommand(streamID, "onStatus", 0, s.status(level, code, desc, p.name))
	}
	cfg := record.Config{Hub: s.hub, Stream: p.name, Storage: s.env.Storage, Path: plan.path, Mode: plan.mode,
		Options: plan.opts, Log: log, Status: send}
	s.recordEvents(&cfg, p.name)
	rec, err := s.env.Recordings.Start(cfg)
	if err != nil {
		code := "NetStream.Record.Failed"
		if errors.Is(err, record.ErrBusy) {
			code = "NetStream.Record.NoAccess"
		}
		log.Warn().Err(err).Msg("recording refused")
		return func() { send("error", code, "Cannot record "+p.name+": "+err.Error()) }
	}
	p.rec = rec
	log.Info().Msg("recording")
	return rec.Run
}

// recordEvents makes the recorder log its end and emit record and recordStop (on its
// goroutine) with what the session knows now.
func (s *Session) recordEvents(cfg *record.Config, name string) {
	log := cfg.Log
	emit := s.env.Plugins.HasEvents() && s.app != nil
	var ev plugin.Event
	if emit {
		ev = s.event(plugin.EvRecord, s.target, &s.app.info)
		ev.Stream = name
	}
	host := s.env.Plugins
	cfg.Started = func() {
		if emit {
			e := ev
			e.Status = record.CodeStart
			host.Emit(e)
		}
	}
	cfg.Ended = func(r record.Result) {
		log.Info().Str("status", r.Code).Int64("bytes", r.Bytes).Dur("duration", r.Duration).
			Int64("size", r.Size).Uint64("dropped", r.Drops).AnErr("why", r.Err).Msg("recording ended")
		if !emit {
			return
		}
		e := ev
		e.Kind, e.Status = plugin.EvRecordStop, r.Code
		e.BytesIn, e.Duration = uint64(max(r.Bytes, 0)), r.Duration
		if r.Err != nil {
			e.Reason = r.Err.Error()
		}
		host.Emit(e)
	}
}
