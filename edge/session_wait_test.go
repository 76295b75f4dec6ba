package edge

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestOriginWait: the wait's context makes its timeout context only when something waits on
// it; made, it ends at the timeout or with the connection's context, and stop releases it.
func TestOriginWait(t *testing.T) {
	t.Parallel()
	t.Run("unused", func(t *testing.T) {
		t.Parallel()
		w := &originWait{Context: context.Background(), d: time.Hour}
		w.stop()
		if w.cancel != nil {
			t.Fatal("a wait nobody waited on made a timeout context")
		}
		if w.Done() != nil || w.Err() != nil {
			t.Fatal("after stop the wait should be the connection's context")
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		w := &originWait{Context: context.Background(), d: time.Millisecond}
		defer w.stop()
		if _, ok := w.Deadline(); !ok {
			t.Fatal("no deadline")
		}
		<-w.Done()
		if !errors.Is(w.Err(), context.DeadlineExceeded) {
			t.Fatalf("err %v", w.Err())
		}
	})
	t.Run("connection ends", func(t *testing.T) {
		t.Parallel()
		conn, cancel := context.WithCancel(context.Background())
		w := &originWait{Context: conn, d: time.Hour}
		done := w.Done()
		cancel()
		<-done
		if !errors.Is(w.Err(), context.Canceled) {
			t.Fatalf("err %v", w.Err())
		}
		w.stop()
	})
}
