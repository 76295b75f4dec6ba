package jsapi

import (
	"strconv"
	"strings"

	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/scripting/flashxml"
)

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// xmlNodeMethods defines XMLNode.prototype's methods and computed properties.
func (a *App) xmlNodeMethods(hc *hostClass) {
	rt := a.RT
	hc.method("appendChild", func(call goja.FunctionCall) goja.Value {
		parent := a.nodeArg(call.This, "XMLNode.appendChild")
		a.insert(parent, a.nodeArg(call.Argument(0), "XMLNode.appendChild"), nil)
		return goja.Undefined()
	})
	hc.method("insertBefore", func(call goja.FunctionCall) goja.Value {
		parent := a.nodeArg(call.This, "XMLNode.insertBefore")
		child := a.nodeArg(call.Argument(0), "XMLNode.insertBefore")
		before := a.nodeArg(call.Argument(1), "XMLNode.insertBefore")
		if p, _ := before.Get(pParent).(*goja.Object); p == parent && child != before {
			a.insert(parent, child, before)
		}
		return goja.Undefined()
	})
	hc.method("removeNode", func(call goja.FunctionCall) goja.Value {
		a.detach(a.nodeArg(call.This, "XMLNode.removeNode"))
		return goja.Undefined()
	})
	hc.method("hasChildNodes", func(call goja.FunctionCall) goja.Value {
		return rt.ToValue(length(a.kids(a.nodeArg(call.This, "XMLNode.hasChildNodes"))) > 0)
	})
	hc.method("cloneNode", func(call goja.FunctionCall) goja.Value {
		return a.cloneNode(a.nodeArg(call.This, "XMLNode.cloneNode"), call.Argument(0).ToBoolean())
	})
	hc.method("toString", func(call goja.FunctionCall) goja.Value {
		return rt.ToValue(a.serialize(a.nodeArg(call.This, "XMLNode.toString")))
	})
	hc.method("getNamespaceForPrefix", func(call goja.FunctionCall) goja.Value {
		return a.namespaceFor(a.nodeArg(call.This, "XMLNode.getNamespaceForPrefix"), call.Argument(0).String())
	})
	hc.method("getPrefixForNamespace", func(call goja.FunctionCall) goja.Value {
		return a.prefixFor(a.nodeArg(call.This, "XMLNode.getPrefixForNamespace"), call.Argument(0).String())
	})
	hc.accessor("prefix", func(this goja.Value) goja.Value { p, _ := a.splitName(this); return p }, nil)
	hc.accessor("localName", func(this goja.Value) goja.Value { _, l := a.splitName(this); return l }, nil)
	hc.accessor("namespaceURI", func(this goja.Value) goja.Value {
		n := a.nodeArg(this, "XMLNode.namespaceURI")
		p, _ := a.splitName(n)
		if goja.IsNull(p) {
			return goja.Null()
		}
		return a.namespaceFor(n, p.String())
	}, nil)
}

// xmlDocMethods defines XML.prototype's own members (the HTTP ones are in xml_web.go).
func (a *App) xmlDocMethods(hc *hostClass) {
	rt := a.RT
	hc.method("parseXML", func(call goja.FunctionCall) goja.Value {
		a.parseInto(a.nodeArg(call.This, "XML.parseXML"), call.Argument(0).String())
		return goja.Undefined()
	})
	hc.method("createElement", func(call goja.FunctionCall) goja.Value { return a.newNode(flashxml.ElementNode, call.Argument(0)) })
	hc.method("createTextNode", func(call goja.FunctionCall) goja.Value { return a.newNode(flashxml.TextNode, call.Argument(0)) })
	for k, v := range map[string]any{"ignoreWhite": false, "contentType": "application/x-www-form-urlencoded"} {
		rw(hc.proto, k, rt.ToValue(v))
	}
	a.xmlWebMethods(hc)
}

// newNode makes an unlinked XMLNode.
func (a *App) newNode(typ int, value goja.Value) *goja.Object {
	o := a.RT.NewObject()
	_ = o.SetPrototype(a.xml.node.proto)
	a.initNode(o, typ, value)
	return o
}

// insert puts child into parent's children before before (nil: at the end), taking it out of
// its current place first. A node cannot go inside itself or its own descendants.
func (a *App) insert(parent, child, before *goja.Object) {
	if child == parent {
		a.throwType("XMLNode: a node cannot be put inside itself")
	}
	if length(a.kids(child)) > 0 { // only a node with children can be an ancestor
		for p := parent; p != nil; p, _ = p.Get(pParent).(*goja.Object) {
			if p == child {
				a.throwType("XMLNode: a node cannot be put inside its descendants")
			}
		}
	}
	a.detach(child)
	kids := a.kids(parent)
	i := length(kids)
	if before != nil {
		i = indexOf(kids, before)
	}
	if _, err := a.xml.splice(kids, a.RT.ToValue(i), a.RT.ToValue(0), child); err != nil {
		panic(err)
	}
	ro(child, pParent, parent)
	a.relink(parent, kids, i)
}

// detach takes n out of its parent's children.
func (a *App) detach(n *goja.Object) {
	parent, ok := n.Get(pParent).(*goja.Object)
	if !ok {
		return
	}
	kids := a.kids(parent)
	if i := indexOf(kids, n); i >= 0 {
		if _, err := a.xml.splice(kids, a.RT.ToValue(i), a.RT.ToValue(1)); err != nil {
			panic(err)
		}
		a.relink(parent, kids, i-1)
		a.relink(parent, kids, i)
	}
	for _, k := range []string{pParent, pPrev, pNext} {
		ro(n, k, goja.Null())
	}
}

// indexOf finds n among kids (-1 if absent).
func indexOf(kids, n *goja.Object) int64 {
	for i, l := int64(0), length(kids); i < l; i++ {
		if o, ok := kids.Get(itoa(i)).(*goja.Object); ok && o == n {
			return i
		}
	}
	return -1
}

// relink sets the sibling links around index i and the parent's first and last child.
func (a *App) relink(parent, kids *goja.Object, i int64) {
	l := length(kids)
	at := func(j int64) goja.Value {
		if j < 0 || j >= l {
			return goja.Null()
		}
		return kids.Get(itoa(j))
	}
	for j := i - 1; j <= i+1; j++ {
		if o, ok := a.isNode(at(j)); ok && j >= 0 && j < l {
			ro(o, pPrev, at(j-1))
			ro(o, pNext, at(j+1))
		}
	}
	ro(parent, pFirst, at(0))
	ro(parent, pLast, at(l-1))
}

// cloneNode copies n (and, when deep, its descendants, iteratively): same type, name, value
// and attributes, unlinked.
func (a *App) cloneNode(n *goja.Object, deep bool) goja.Value {
	type job struct{ src, dst *goja.Object }
	root := a.copyNode(n)
	work := []job{{n, root}}
	for deep && len(work) > 0 {
		j := work[len(work)-1]
		work = work[:len(work)-1]
		kids := a.kids(j.src)
		for i, l := int64(0), length(kids); i < l; i++ {
			if c, ok := a.isNode(kids.Get(itoa(i))); ok {
				cc := a.copyNode(c)
				a.insert(j.dst, cc, nil)
				work = append(work, job{c, cc})
			}
		}
	}
	return root
}

// copyNode is a node's unlinked copy with a copy of its attributes, of the same prototype.
func (a *App) copyNode(n *goja.Object) *goja.Object {
	o := a.RT.NewObject()
	_ = o.SetPrototype(n.Prototype())
	typ := int(n.Get(pNodeType).ToInteger())
	value := n.Get(pName)
	if typ == flashxml.TextNode {
		value = n.Get(pValue)
	}
	a.initNode(o, typ, value)
	attrs := a.RT.NewObject()
	if src, ok := n.Get(pAttrs).(*goja.Object); ok {
		for _, k := range src.Keys() {
			_ = attrs.DefineDataProperty(k, src.Get(k), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
		}
	}
	rw(o, pAttrs, attrs)
	return o
}

// splitName is an element name's prefix and local part (null prefix without a colon).
func (a *App) splitName(this goja.Value) (prefix, local goja.Value) {
	n := a.nodeArg(this, "XMLNode")
	name := n.Get(pName)
	if name == nil || goja.IsNull(name) || goja.IsUndefined(name) {
		return goja.Null(), goja.Null()
	}
	p, l, ok := strings.Cut(name.String(), ":")
	if !ok {
		return a.RT.ToValue(""), a.RT.ToValue(p)
	}
	return a.RT.ToValue(p), a.RT.ToValue(l)
}

// namespaceFor looks up the xmlns (or xmlns:prefix) attribute on n and its ancestors.
func (a *App) namespaceFor(n *goja.Object, prefix string) goja.Value {
	attr := "xmlns"
	if prefix != "" {
		attr += ":" + prefix
	}
	for p := n; p != nil; p, _ = p.Get(pParent).(*goja.Object) {
		if attrs, ok := p.Get(pAttrs).(*goja.Object); ok {
			if v := attrs.Get(attr); v != nil && !goja.IsUndefined(v) {
				return v
			}
		}
	}
	return goja.Null()
}

// prefixFor finds the prefix bound to uri on n or its ancestors ("" for a default namespace).
func (a *App) prefixFor(n *goja.Object, uri string) goja.Value {
	for p := n; p != nil; p, _ = p.Get(pParent).(*goja.Object) {
		attrs, ok := p.Get(pAttrs).(*goja.Object)
		if !ok {
			continue
		}
		for _, k := range attrs.Keys() {
			if rest, ok := strings.CutPrefix(k, "xmlns"); ok && attrs.Get(k).String() == uri && (rest == "" || rest[0] == ':') {
				return a.RT.ToValue(strings.TrimPrefix(rest, ":"))
			}
		}
	}
	return goja.Null()
}

// amfHostValue sends an XML node as an AMF XML document (its text), as FMS does.
func (a *App) amfHostValue(obj *goja.Object) (any, bool) {
	if _, ok := a.isNode(obj); !ok {
		return nil, false
	}
	return amf.XMLDocument(a.serialize(obj)), true
}
