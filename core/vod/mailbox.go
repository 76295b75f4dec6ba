package vod

import (
	"sync"

	"github.com/fmsgo/fmsgo/core/amf"
)

// mailbox carries the session's commands to a Player's goroutine without ever blocking the
// session: each command overwrites the pending one of its kind (the latest seek wins), and a
// one-slot channel wakes the player.
type mailbox struct {
	mu   sync.Mutex
	wake chan struct{}
	m    commands
}

// commands are what the session asked since the player last looked.
type commands struct {
	stop         bool
	seek         *seekRequest
	pause        *bool
	audio, video *bool
}

// seekRequest is a seek and the statuses the session built for it.
type seekRequest struct {
	ms            uint32
	notify, start *amf.Object
}

func newMailbox() *mailbox { return &mailbox{wake: make(chan struct{}, 1)} }

// post applies set to the pending commands and wakes the player.
func (b *mailbox) post(set func(*commands)) {
	b.mu.Lock()
	set(&b.m)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// take returns the pending commands and clears them.
func (b *mailbox) take() commands {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.m
	b.m = commands{stop: m.stop}
	return m
}

func boolPtr(v bool) *bool { return &v }
