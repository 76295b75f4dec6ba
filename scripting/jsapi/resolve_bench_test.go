package jsapi

import (
	"testing"

	"github.com/dop251/goja"
)

// BenchmarkResolveMethod: the script-side cost of finding an RPC's function (Client.prototype,
// an own property, a dotted name through a plain object), which every client call pays.
func BenchmarkResolveMethod(b *testing.B) {
	a := newContainedApp(b)
	setup, err := a.RT.RunString(`
Client.prototype.echo = function (v) { return v; };
(function (c) { c.own = function () {}; c.app = { createStream: function () { return 1; } }; })`)
	if err != nil {
		b.Fatal(err)
	}
	c := a.NewClient(nil, ClientProps{ID: "1"})
	fn, _ := goja.AssertFunction(setup)
	if _, err := fn(goja.Undefined(), c.Obj); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"echo", "own", "app.createStream"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if f, _, err := a.ResolveMethod(c, name); f == nil || err != nil {
					b.Fatalf("%s not found: %v", name, err)
				}
			}
		})
	}
}
