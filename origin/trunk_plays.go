package origin

import "sync"

// playKey names a stream of an app instance as a play and a stream-subscribe both name it.
type playKey struct{ app, instance, stream string }

// trunkPlays counts, per stream, the plays the app accepted for the sessions of one trunk that
// are still playing. A stream-subscribe is served only for a stream counted here: the edge
// subscribes once per stream after relaying a Play.Start the app decided, so a peer cannot pull
// what onPlay (or readAccess) refused, or what no session of its own asked to play. The sessions'
// goroutines write it (a verdict, closeStream, the session's end) and the read goroutine reads it
// (subscribe), hence the lock, taken once per play and per subscribe.
type trunkPlays struct {
	mu    sync.Mutex
	count map[playKey]int
}

func (tp *trunkPlays) add(k playKey) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.count == nil {
		tp.count = map[playKey]int{}
	}
	tp.count[k]++
}

func (tp *trunkPlays) remove(k playKey) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.count[k]--; tp.count[k] <= 0 {
		delete(tp.count, k)
	}
}

func (tp *trunkPlays) accepted(k playKey) bool {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.count[k] > 0
}

// notePlay records the app's accepted play on one of the session's NetStreams (replacing what
// that NetStream played before). It runs on the session's goroutine before Play.Start is sent,
// so the edge's subscribe, which follows Play.Start, finds it.
func (ts *trunkSession) notePlay(streamID uint32, name string) {
	ts.dropPlay(streamID)
	t := ts.core.Target()
	k := playKey{app: t.App, instance: t.Instance, stream: name}
	if ts.plays == nil {
		ts.plays = map[uint32]playKey{}
	}
	ts.plays[streamID] = k
	ts.p.plays.add(k)
}

// dropPlay forgets a NetStream's play (a new play, closeStream, deleteStream).
func (ts *trunkSession) dropPlay(streamID uint32) {
	k, ok := ts.plays[streamID]
	if !ok {
		return
	}
	delete(ts.plays, streamID)
	ts.p.plays.remove(k)
}

// dropAllPlays runs when the session ends.
func (ts *trunkSession) dropAllPlays() {
	for id := range ts.plays {
		ts.dropPlay(id)
	}
}
