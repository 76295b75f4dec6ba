package origin

import (
	"testing"
)

// TestShutdownReturnsAfterInstancesFlushed: a persistent object changed just before a clean stop
// (not flushed by the app) is on disk when Shutdown returns. Shutdown used to return before the
// engine had unloaded its instances, so the final flush raced the process exit (and the tests'
// folder clean-up).
func TestShutdownReturnsAfterInstancesFlushed(t *testing.T) {
	t.Parallel()
	apps, data := t.TempDir(), t.TempDir()
	o1, stop := startStoppable(t, apps, data)
	o1.writeApp(t, "so", "")
	o1.writeAppJSON(t, "so", persistConsent)
	ctx := ctx5(t)
	a := dialSO(t, o1, "so", "a", false)
	a.use(ctx, "late", true)
	a.send("late", true, change("v", 42.0))
	a.next(ctx)
	stop()

	o2, _ := startStoppable(t, apps, data)
	b := dialSO(t, o2, "so", "b", false)
	if got := b.use(ctx, "late", true).slots(); got["v"] != 42.0 {
		t.Fatalf("slots after a clean stop: %v, want v=42", got)
	}
}
