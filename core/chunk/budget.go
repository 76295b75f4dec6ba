package chunk

import (
	"errors"
	"sync"
	"sync/atomic"
)

// ErrInboundBudget ends the connection chosen to bring a server's reassembly buffers back under
// its Budget: the one holding the most.
var ErrInboundBudget = errors.New("chunk: server-wide inbound buffer budget exhausted, closing its largest holder")

// Budget bounds the reassembly buffer capacity of every Reader that shares it, so that many
// connections, each within its own limits, cannot together hold more than a server can spare. A
// server makes one and gives it to all its connections (Reader.UseBudget). Each reader counts its
// own capacity (an atomic add when a buffer grows or is given back, never per message); only when
// the total passes the limit does a reader take the lock, to find and close the largest holder.
type Budget struct {
	limit     int64
	total     atomic.Int64
	evictions atomic.Uint64

	mu      sync.Mutex                // guards members
	members map[*budgetShare]struct{} // readers holding or having held buffers
}

// budgetShare is one reader's part of a budget.
type budgetShare struct {
	held    atomic.Int64 // written by its reader, read by whoever enforces the budget
	evicted atomic.Bool  // told to close; its bytes go when its reader is released
	evict   func(error)
	joined  bool // in members (the reader's goroutine only)
}

// NewBudget returns a budget of limit bytes, or nil (no budget) when limit <= 0.
func NewBudget(limit int64) *Budget {
	if limit <= 0 {
		return nil
	}
	return &Budget{limit: limit, members: make(map[*budgetShare]struct{})}
}

// Limit is the budget in bytes (0 for a nil budget).
func (b *Budget) Limit() int64 {
	if b == nil {
		return 0
	}
	return b.limit
}

// Held is the buffer capacity held now by the readers that share the budget.
func (b *Budget) Held() int64 {
	if b == nil {
		return 0
	}
	return b.total.Load()
}

// Evictions counts the connections closed to free the budget.
func (b *Budget) Evictions() uint64 {
	if b == nil {
		return 0
	}
	return b.evictions.Load()
}

// add counts delta bytes for s and reports whether the budget is now exceeded.
func (b *Budget) add(s *budgetShare, delta int) bool {
	if !s.joined {
		s.joined = true
		b.mu.Lock()
		b.members[s] = struct{}{}
		b.mu.Unlock()
	}
	s.held.Add(int64(delta))
	return b.total.Add(int64(delta)) > b.limit && delta > 0
}

// leave uncounts whatever s still holds.
func (b *Budget) leave(s *budgetShare) {
	if !s.joined {
		return
	}
	b.mu.Lock()
	delete(b.members, s)
	b.mu.Unlock()
	b.total.Add(-s.held.Swap(0))
	s.joined = false
}

// enforce closes the largest holders until what the others hold fits the budget again (the bytes
// of holders already told to close are counted as gone). It returns ErrInboundBudget when self is
// the one to close.
func (b *Budget) enforce(self *budgetShare) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		var leaving, most int64
		var victim *budgetShare
		for s := range b.members {
			h := s.held.Load()
			switch {
			case s.evicted.Load():
				leaving += h
			case victim == nil || h > most:
				victim, most = s, h
			}
		}
		if victim == nil || b.total.Load()-leaving <= b.limit {
			return nil
		}
		victim.evicted.Store(true)
		b.evictions.Add(1)
		if victim == self {
			return ErrInboundBudget
		}
		if victim.evict != nil {
			victim.evict(ErrInboundBudget)
		}
	}
}
