package jsapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/token"
)

// TopLevel are the bindings a script declares in the global lexical scope. They are not
// properties of the global object, and goja offers no way to list them, so a hot reload learns
// them from the source: Lets are carried when changed, Fixed (const and class) never are but
// still name constructors.
type TopLevel struct {
	Lets, Fixed []string
}

// Add appends t's names that are not there yet.
func (tl *TopLevel) Add(t TopLevel) {
	for _, n := range t.Lets {
		if !slices.Contains(tl.Lets, n) {
			tl.Lets = append(tl.Lets, n)
		}
	}
	for _, n := range t.Fixed {
		if !slices.Contains(tl.Fixed, n) {
			tl.Fixed = append(tl.Fixed, n)
		}
	}
}

// TopLevelNames lists the top-level let, const and class declarations of a parsed script
// (destructuring patterns included).
func TopLevelNames(prg *ast.Program) TopLevel {
	var tl TopLevel
	for _, st := range prg.Body {
		switch d := st.(type) {
		case *ast.LexicalDeclaration:
			var names []string
			for _, b := range d.List {
				names = bindingNames(b.Target, names)
			}
			if d.Token == token.LET {
				tl.Add(TopLevel{Lets: names})
			} else {
				tl.Add(TopLevel{Fixed: names})
			}
		case *ast.ClassDeclaration:
			if d.Class != nil && d.Class.Name != nil {
				tl.Add(TopLevel{Fixed: []string{d.Class.Name.Name.String()}})
			}
		}
	}
	return tl
}

// bindingNames appends the identifiers a binding target declares.
func bindingNames(t ast.Expression, out []string) []string {
	switch x := t.(type) {
	case *ast.Identifier:
		out = append(out, x.Name.String())
	case *ast.ArrayPattern:
		for _, e := range x.Elements {
			out = bindingNames(e, out)
		}
		out = bindingNames(x.Rest, out)
	case *ast.ObjectPattern:
		for _, p := range x.Properties {
			switch p := p.(type) {
			case *ast.PropertyShort:
				out = append(out, p.Name.Name.String())
			case *ast.PropertyKeyed:
				out = bindingNames(p.Value, out)
			}
		}
		out = bindingNames(x.Rest, out)
	case *ast.AssignExpression: // a default: `[a = 1] = ...`
		out = bindingNames(x.Left, out)
	}
	return out
}

// Lexical reads and writes a runtime's top-level lexical bindings by name, through a small
// generated accessor script run in that runtime (a function defined at the top level sees them).
type Lexical struct {
	rt       *goja.Runtime
	get, set goja.Callable
	tl       TopLevel
}

// NewLexical compiles the accessor of tl's names in rt. A binding called "arguments" cannot be
// reached from a function and is dropped.
func NewLexical(rt *goja.Runtime, tl TopLevel) (*Lexical, error) {
	notArguments := func(n string) bool { return n == "arguments" }
	tl.Lets = slices.DeleteFunc(slices.Clone(tl.Lets), notArguments)
	tl.Fixed = slices.DeleteFunc(slices.Clone(tl.Fixed), notArguments)
	var get, set strings.Builder
	for _, n := range append(slices.Clone(tl.Lets), tl.Fixed...) {
		q, _ := json.Marshal(n)
		fmt.Fprintf(&get, "case %s: return %s;\n", q, n)
	}
	for _, n := range tl.Lets {
		q, _ := json.Marshal(n)
		fmt.Fprintf(&set, "case %s: %s = $fmsgo$v; return;\n", q, n)
	}
	// The parameters' names must not shadow a binding of the script.
	src := "[function ($fmsgo$n) { switch ($fmsgo$n) {\n" + get.String() +
		"} }, function ($fmsgo$n, $fmsgo$v) { switch ($fmsgo$n) {\n" + set.String() + "} }]"
	v, err := rt.RunScript("fmsgo:lexical", src)
	if err != nil {
		return nil, fmt.Errorf("top-level bindings accessor: %w", err)
	}
	pair := v.(*goja.Object)
	l := &Lexical{rt: rt, tl: tl}
	l.get, _ = goja.AssertFunction(pair.Get("0"))
	l.set, _ = goja.AssertFunction(pair.Get("1"))
	return l, nil
}

// Names are the bindings the accessor knows.
func (l *Lexical) Names() TopLevel { return l.tl }

// Get reads a binding; ok is false when it is unknown or not initialised yet.
func (l *Lexical) Get(name string) (v goja.Value, ok bool) {
	if !slices.Contains(l.tl.Lets, name) && !slices.Contains(l.tl.Fixed, name) {
		return nil, false
	}
	v, err := l.get(goja.Undefined(), l.rt.ToValue(name))
	return v, err == nil
}

// Values reads every initialised binding (lets and fixed).
func (l *Lexical) Values() map[string]goja.Value {
	out := map[string]goja.Value{}
	for _, n := range append(slices.Clone(l.tl.Lets), l.tl.Fixed...) {
		if v, ok := l.Get(n); ok {
			out[n] = v
		}
	}
	return out
}

// Set assigns a let binding; it reports false for a name that is not a let of this runtime.
func (l *Lexical) Set(name string, v goja.Value) bool {
	if !slices.Contains(l.tl.Lets, name) {
		return false
	}
	_, err := l.set(goja.Undefined(), l.rt.ToValue(name), v)
	return err == nil
}
