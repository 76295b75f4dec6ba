package jsapi

import (
	"strings"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/scripting/flashxml"
)

// serializer writes a node tree as XML.toString does, iteratively, within the result cap. A
// script can put anything into childNodes (it is an ordinary array): elements that are not
// nodes are skipped, and a node met twice on the way down (a cycle) is written once.
type serializer struct {
	a    *App
	b    strings.Builder
	open map[*goja.Object]bool
}

// serialize renders n: a document's declarations first, an element with no children as
// "<name />", text escaped; an element without a name (a document) is its children only.
func (a *App) serialize(n *goja.Object) string {
	s := &serializer{a: a, open: map[*goja.Object]bool{}}
	for _, k := range []string{"xmlDecl", "docTypeDecl"} {
		if v := n.Get(k); v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
			s.write(v.String())
		}
	}
	type frame struct {
		n     *goja.Object
		i     int64
		close string
	}
	stack := []frame{{n: n, i: -1}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.i < 0 {
			f.i = 0
			f.close = s.start(f.n)
			if f.close == "" {
				stack = stack[:len(stack)-1]
				continue
			}
		}
		kids := a.kids(f.n)
		if f.i >= length(kids) {
			if f.close != "\x00" {
				s.write(f.close)
			}
			delete(s.open, f.n)
			stack = stack[:len(stack)-1]
			continue
		}
		c, ok := a.isNode(kids.Get(itoa(f.i)))
		f.i++
		if ok && !s.open[c] {
			stack = append(stack, frame{n: c, i: -1})
		}
	}
	return s.b.String()
}

// write appends text within the result cap.
func (s *serializer) write(t string) {
	if s.b.Len()+len(t) > DefaultResultCap {
		s.a.throwRange("XMLNode.toString: result too large")
	}
	s.b.WriteString(t)
}

// start writes a node's opening (a text node whole) and returns what closes it: "" when it is
// complete already.
func (s *serializer) start(n *goja.Object) string {
	if n.Get(pNodeType).ToInteger() == flashxml.TextNode {
		if v := n.Get(pValue); v != nil && !goja.IsNull(v) && !goja.IsUndefined(v) {
			s.write(flashxml.Escape(v.String()))
		}
		return ""
	}
	s.open[n] = true
	name := n.Get(pName)
	unnamed := name == nil || goja.IsNull(name) || goja.IsUndefined(name)
	if unnamed {
		return "\x00" // children only; the marker writes nothing at the end
	}
	s.write("<" + name.String())
	if attrs, ok := n.Get(pAttrs).(*goja.Object); ok {
		for _, k := range attrs.Keys() {
			s.write(" " + k + "=\"" + flashxml.Escape(attrs.Get(k).String()) + "\"")
		}
	}
	if length(s.a.kids(n)) == 0 {
		s.write(" />")
		delete(s.open, n)
		return ""
	}
	s.write(">")
	return "</" + name.String() + ">"
}
