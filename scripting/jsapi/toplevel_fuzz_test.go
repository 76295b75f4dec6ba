package jsapi

import (
	"testing"

	"github.com/dop251/goja"
)

// topLevelSeeds are scripts whose top-level declarations TestTopLevelNames-style checks cover.
var topLevelSeeds = []string{
	`let a = 1, {b, c: [d = 2, ...e], ...f} = {}; const g = 1; class H {} var v; function fn() { let inner; }`,
	`let \u0061b = 1; let $x, _y; const [z] = [1];`,
	`let n = 1, v = 2, arguments = 3; class K extends Object {}`,
	`{ let block; } if (1) { const c = 1; } for (let i = 0; i < 1; i++) {}`,
	`let π = 3.14, ünï = "x";`,
}

// FuzzTopLevelNames: whatever a script that parses declares, the names are found without a
// panic and the accessor over them compiles.
func FuzzTopLevelNames(f *testing.F) {
	for _, s := range topLevelSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tree, err := goja.Parse("fuzz.js", src)
		if err != nil {
			return
		}
		tl := TopLevelNames(tree)
		if _, err := NewLexical(goja.New(), tl); err != nil {
			t.Fatalf("accessor of %v / %v: %v", tl.Lets, tl.Fixed, err)
		}
	})
}
