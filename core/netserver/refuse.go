package netserver

import (
	"context"
	"net"
	"net/netip"
)

// Refuser answers a connection the limits refused in the listener's own protocol, with a status
// that says why (an RTMP client gets NetConnection.Connect.Rejected), then closes it. It must
// bound its own time: it holds one of a few refusal slots while it runs.
type Refuser func(ctx context.Context, c net.Conn, reason string)

// maxAnswering bounds the refused connections answered at once; the others are reset at accept,
// as is any refused connection from an address that is already being answered. So a user over a
// limit learns why, while a flood costs at most this many handshakes at a time (one per address).
const maxAnswering = 16

// SetRefuser makes the listener answer refused connections through r when it has room (see
// maxAnswering) instead of resetting every one. Call it before Serve.
func (s *Server) SetRefuser(r Refuser) {
	s.refuser = r
	s.answering = make(map[netip.Addr]struct{}, maxAnswering)
}

// RefusalDescription is what a refused client is told for each reason.
func RefusalDescription(reason string) string {
	switch reason {
	case ReasonPerAddress:
		return "too many connections from your address"
	case ReasonRate:
		return "too many new connections from your address: retry in a few seconds"
	}
	return "the server is full: retry later"
}

// answer hands a refused connection to the Refuser when a slot is free and its address is not
// being answered already; it reports whether it did (then c is the Refuser's to close).
func (s *Server) answer(ctx context.Context, c net.Conn, key netip.Addr, reason string) bool {
	if s.refuser == nil {
		return false
	}
	s.mu.Lock()
	_, busy := s.answering[key]
	if busy || len(s.answering) >= maxAnswering {
		s.mu.Unlock()
		return false
	}
	s.answering[key] = struct{}{}
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.answering, key)
			s.mu.Unlock()
		}()
		defer func() {
			if p := recover(); p != nil {
				s.log.Error().Interface("panic", p).Msg("refusing a connection panicked")
				_ = c.Close()
			}
		}()
		s.refuser(ctx, c, reason)
	}()
	return true
}
