package media

// Flusher is a writer whose queued packets can be written later, once per batch.
type Flusher interface{ Flush() }

// FlushBatch collects the writers that were handed packets while one producer (a publisher's
// read goroutine) worked through the bytes of one socket read, so that each writer is flushed
// once per batch — one writev carrying several messages — instead of once per message. It is
// owned by that producer's goroutine.
type FlushBatch struct{ pending []Flusher }

// Add schedules f for the next Run.
func (b *FlushBatch) Add(f Flusher) { b.pending = append(b.pending, f) }

// Len is the number of writers waiting.
func (b *FlushBatch) Len() int { return len(b.pending) }

// Run flushes every writer added since the last Run.
func (b *FlushBatch) Run() {
	for i, f := range b.pending {
		f.Flush()
		b.pending[i] = nil
	}
	b.pending = b.pending[:0]
}
