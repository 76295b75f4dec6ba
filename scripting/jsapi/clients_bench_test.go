package jsapi

import (
	"fmt"
	"testing"

	"github.com/dop251/goja"
	"github.com/rs/zerolog"
)

// newContainedApp is the FMS object model in a fresh runtime with containment installed, as an
// instance runs it.
func newContainedApp(t testing.TB) *App {
	t.Helper()
	rt := goja.New()
	if err := InstallContainment(rt, 0); err != nil {
		t.Fatal(err)
	}
	a, err := NewApp(rt, AppOptions{Name: "t/_definst_", Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// BenchmarkAddRemoveClient: the script-side cost of a client arriving and leaving
// (application.clients kept in order) with 100 other clients connected, in a contained runtime.
func BenchmarkAddRemoveClient(b *testing.B) {
	a := newContainedApp(b)
	for range 100 {
		a.AddClient(a.NewClient(nil, ClientProps{}))
	}
	b.ReportAllocs()
	for b.Loop() {
		c := a.NewClient(nil, ClientProps{})
		a.AddClient(c)
		a.RemoveClient(c)
	}
}

// TestRemoveClientKeepsOrder: a client leaving from any place (near the end, handled from Go,
// or further back, handled by the script's splice) leaves the others in order; a client that is
// not in the list changes nothing.
func TestRemoveClientKeepsOrder(t *testing.T) {
	t.Parallel()
	a := newContainedApp(t)
	rt := a.RT
	var all []*Client
	const n = 200 // more than unlistFromGo: both ways of taking a client out are used
	for i := range n {
		c := a.NewClient(nil, ClientProps{ID: fmt.Sprint(i)})
		a.AddClient(c)
		all = append(all, c)
	}
	ids := func() string {
		v, err := rt.RunString("application.clients.map(function (c) { return c.id; }).join(',')")
		if err != nil {
			t.Fatal(err)
		}
		return v.String()
	}
	a.RemoveClient(all[n-1])  // last
	a.RemoveClient(all[n-10]) // near the end
	a.RemoveClient(all[0])    // far back
	a.RemoveClient(all[12])
	a.RemoveClient(all[n-10]) // already gone
	a.RemoveClient(a.NewClient(nil, ClientProps{ID: "stranger"}))
	want := ""
	for i := range n - 1 {
		if i == 0 || i == 12 || i == n-10 {
			continue
		}
		if want != "" {
			want += ","
		}
		want += fmt.Sprint(i)
	}
	if got := ids(); got != want {
		t.Fatalf("application.clients ids\n got %s\nwant %s", got, want)
	}
}
