package appfs

import (
	"sync"
	"sync/atomic"
)

// Quota is one application's disk budget for what its scripts write through File, shared by
// all its instances (the engine owns one per app). It counts the bytes of the files in the
// app's folders: those already there when it was made, plus what writes add, minus what
// removes, truncations and replacing renames free. Files changed by other means are counted
// again only when the quota is made anew (a restart).
type Quota struct {
	limit atomic.Int64 // 0: unlimited
	used  atomic.Int64
	once  sync.Once
	start func() int64 // what is taken already, counted at first use
}

// NewQuota returns a budget of limit bytes (0: unlimited) of which used are taken.
func NewQuota(limit, used int64) *Quota {
	q := &Quota{}
	q.limit.Store(limit)
	q.used.Store(used)
	return q
}

// NewLazyQuota returns a budget of limit bytes whose bytes already taken are counted by start
// at its first use (a walk of the app folder, done only for an app that writes files).
func NewLazyQuota(limit int64, start func() int64) *Quota {
	q := NewQuota(limit, 0)
	q.start = start
	return q
}

func (q *Quota) init() {
	q.once.Do(func() {
		if q.start != nil {
			q.used.Add(q.start())
		}
	})
}

// SetLimit changes the budget (an app.json edit); bytes already taken stay counted.
func (q *Quota) SetLimit(limit int64) { q.limit.Store(limit) }

// Used is the bytes counted now.
func (q *Quota) Used() int64 {
	if q == nil {
		return 0
	}
	q.init()
	return q.used.Load()
}

// Limit is the budget (0: unlimited).
func (q *Quota) Limit() int64 {
	if q == nil {
		return 0
	}
	return q.limit.Load()
}

// reserve takes n bytes if they fit.
func (q *Quota) reserve(n int64) bool {
	if q == nil {
		return true
	}
	q.init()
	for {
		used, limit := q.used.Load(), q.limit.Load()
		if limit > 0 && used+n > limit {
			return false
		}
		if q.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// release gives n bytes back (never below zero: files written by other means are not known).
func (q *Quota) release(n int64) {
	if q == nil || n <= 0 {
		return
	}
	q.init()
	for {
		used := q.used.Load()
		if q.used.CompareAndSwap(used, max(used-n, 0)) {
			return
		}
	}
}
