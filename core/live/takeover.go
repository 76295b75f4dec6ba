package live

import (
	"fmt"
	"time"
)

// Claim is who asks to publish a name, for the takeover rule: a publisher that has been silent
// for TakeoverIdle (a frozen encoder whose TCP session stays open) may be replaced, but only by
// a publisher with the same non-empty Identity (the encoder reconnecting: the origin builds it
// from the client's address and its connect and publish queries), or when the application
// accepted the takeover (Takeover). Anyone else gets ErrBadName, however long the silence.
type Claim struct {
	Identity string
	Takeover bool
}

// Holder says what a publish of a name would meet, so that the application can be told before
// it decides.
type Holder int

// What a publish would meet.
const (
	HolderNone   Holder = iota // no publisher: a plain publish
	HolderActive               // a publisher that is not silent: ErrBadName for anyone
	HolderSame                 // a silent publisher with the same identity: replaced
	HolderOther                // a silent publisher with another identity: replaced only if the app accepts
)

// Holder reports what a publish of name claimed with identity would meet now.
func (h *Hub) Holder(name, identity string) Holder {
	h.mu.Lock()
	st := h.streams[name]
	h.mu.Unlock()
	if st == nil {
		return HolderNone
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.holder(h.cfg.Now(), identity)
}

func (st *stream) holder(now time.Time, identity string) Holder {
	switch old := st.pub; {
	case old == nil || st.removed:
		return HolderNone
	case now.Sub(st.lastWrite) < st.hub.cfg.TakeoverIdle:
		return HolderActive
	case identity != "" && old.identity == identity:
		return HolderSame
	default:
		return HolderOther
	}
}

// Publish makes pub the publisher of name with an anonymous claim: it never takes a name over.
func (h *Hub) Publish(name string, pub Publisher) (*Publication, error) {
	return h.PublishAs(name, pub, Claim{})
}

// PublishAs makes pub the publisher of name. While another publisher holds the name it fails
// with ErrBadName, unless the claim may take over (see Claim): then the old one is kicked with
// ErrReplaced and the stream's players carry on.
func (h *Hub) PublishAs(name string, pub Publisher, claim Claim) (*Publication, error) {
	st, err := h.lockStream(name)
	if err != nil {
		return nil, err
	}
	now := h.cfg.Now()
	old := st.pub
	held := st.holder(now, claim.Identity)
	switch held {
	case HolderActive:
		st.mu.Unlock()
		return nil, fmt.Errorf("publish %q: %w", name, ErrBadName)
	case HolderOther:
		if !claim.Takeover {
			st.mu.Unlock()
			return nil, fmt.Errorf("publish %q: held by a silent publisher of another identity: %w", name, ErrBadName)
		}
	}
	if old != nil {
		old.closed = true
		st.log.Info().Dur("silent_for", now.Sub(st.lastWrite)).Bool("same_identity", held == HolderSame).Msg("publisher taken over by a new one")
	}
	pb := &Publication{st: st, pub: pub, identity: claim.Identity}
	st.pub, st.lastWrite = pb, now
	st.clearCaches()
	for _, s := range st.subs {
		s.newEpoch()
		s.sub.Notify(Event{Kind: EventPublishNotify, Name: name})
		s.sub.Notify(Event{Kind: EventReset, Name: name})
	}
	st.mu.Unlock()
	if old != nil {
		old.pub.Kick(ErrReplaced)
	}
	return pb, nil
}
