package jsapi

import (
	"github.com/dop251/goja"

	"github.com/fmsgo/fmsgo/scripting/flashxml"
)

// FMS's XML and XMLNode objects (the Flash 5 / ActionScript 1 XML API): nodes of nodeType 1
// (element) and 3 (text) with nodeName, nodeValue, attributes, childNodes, parentNode,
// firstChild, lastChild, previousSibling and nextSibling; XML is the document, a node whose
// parseXML fills it and sets status, xmlDecl and docTypeDecl. The structure is kept in each
// node's own properties, not enumerable (a for-in or JSON.stringify of a node shows what the
// script added, and never loops through parentNode); nodeName, nodeValue and attributes are
// writable as in Flash, the links are read-only and only the DOM methods change them. Parsing is
// flashxml's (bounded: a document past its node or depth limit stops with status -7), and
// toString and cloneNode are iterative, so neither a huge nor a deep tree can blow the stack
// or run unbounded inside one call.

// MaxXMLNodes bounds one parseXML: building the script nodes runs inside one Go call that no
// interrupt reaches (about 5 µs a node, 100,000 in under half a second; past it the document stops with
// status -7, "out of memory").
const MaxXMLNodes = 100_000

// Node property names.
const (
	pNodeType = "nodeType"
	pName     = "nodeName"
	pValue    = "nodeValue"
	pAttrs    = "attributes"
	pKids     = "childNodes"
	pParent   = "parentNode"
	pFirst    = "firstChild"
	pLast     = "lastChild"
	pPrev     = "previousSibling"
	pNext     = "nextSibling"
)

// xmlClass is the XMLNode and XML constructors of one runtime.
type xmlClass struct {
	node, doc *hostClass
	mark      *goja.Symbol
	splice    goja.Callable // Array.prototype.splice as it was before the app's code ran
}

// installXML defines XMLNode and XML (XML.prototype inherits XMLNode.prototype).
func (a *App) installXML() error {
	node, err := a.newHostClass("XMLNode", a.constructXMLNode)
	if err != nil {
		return err
	}
	doc, err := a.newHostClass("XML", a.constructXML)
	if err != nil {
		return err
	}
	_ = doc.proto.SetPrototype(node.proto)
	// The links of a node without them (and a text node's empty attributes and childNodes) are
	// read from the prototype: fewer properties per node make a big document faster to build.
	for _, k := range []string{pParent, pFirst, pLast, pPrev, pNext} {
		ro(node.proto, k, goja.Null())
	}
	for k, src := range map[string]string{pKids: "Object.freeze([])", pAttrs: "Object.freeze({})"} {
		v, err := a.RT.RunString(src)
		if err != nil {
			return err
		}
		ro(node.proto, k, v)
	}
	splice, _ := goja.AssertFunction(a.RT.GlobalObject().Get("Array").ToObject(a.RT).Get("prototype").ToObject(a.RT).Get("splice"))
	a.xml = xmlClass{node: node, doc: doc, mark: goja.NewSymbol("fmsgo.XMLNode"), splice: splice}
	a.xmlNodeMethods(node)
	a.xmlDocMethods(doc)
	a.Conv.host = a.amfHostValue
	return nil
}

// constructXMLNode is new XMLNode(type, value): an element named value (type 1) or a text node
// of value (type 3).
func (a *App) constructXMLNode(call goja.ConstructorCall) *goja.Object {
	typ := call.Argument(0).ToInteger()
	if typ != flashxml.ElementNode && typ != flashxml.TextNode {
		a.throwType("XMLNode: type must be 1 (element) or 3 (text)")
	}
	a.initNode(call.This, int(typ), call.Argument(1))
	return nil
}

// constructXML is new XML(source): an empty document, parsed from source when given.
func (a *App) constructXML(call goja.ConstructorCall) *goja.Object {
	a.initNode(call.This, flashxml.ElementNode, goja.Null())
	if src := call.Argument(0); !goja.IsUndefined(src) && !goja.IsNull(src) {
		a.parseInto(call.This, src.String())
	}
	return nil
}

// ro and rw define a node property (not enumerable; configurable so the DOM methods can move
// the links).
func ro(o *goja.Object, k string, v goja.Value) {
	_ = o.DefineDataProperty(k, v, goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE) // writable, configurable, enumerable
}

func rw(o *goja.Object, k string, v goja.Value) {
	_ = o.DefineDataProperty(k, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// initNode gives obj a node's properties, unlinked: value is an element's name or a text's value.
func (a *App) initNode(obj *goja.Object, typ int, value goja.Value) {
	rt := a.RT
	if value == nil || goja.IsUndefined(value) {
		value = goja.Null()
	} else if !goja.IsNull(value) {
		value = rt.ToValue(value.String())
	}
	_ = obj.DefineDataPropertySymbol(a.xml.mark, rt.ToValue(true), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	ro(obj, pNodeType, rt.ToValue(typ))
	if typ == flashxml.TextNode {
		rw(obj, pName, goja.Null())
		rw(obj, pValue, value)
	} else {
		rw(obj, pName, value)
		rw(obj, pValue, goja.Null())
	}
	if typ == flashxml.ElementNode {
		rw(obj, pAttrs, rt.NewObject())
		ro(obj, pKids, rt.NewArray())
	}
}

// isNode reports whether v is an XMLNode (or XML) of this runtime.
func (a *App) isNode(v goja.Value) (*goja.Object, bool) {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil, false
	}
	m := o.GetSymbol(a.xml.mark)
	return o, m != nil && m.ToBoolean()
}

// nodeArg returns v as a node or throws TypeError naming the method.
func (a *App) nodeArg(v goja.Value, what string) *goja.Object {
	o, ok := a.isNode(v)
	if !ok {
		a.throwType(what + ": not an XMLNode")
	}
	return o
}

// parseInto replaces doc's children by the nodes parsed from src (XML.parseXML).
func (a *App) parseInto(doc *goja.Object, src string) {
	rt := a.RT
	ignore := doc.Get("ignoreWhite")
	d := flashxml.Parse(src, ignore != nil && ignore.ToBoolean(), flashxml.Limits{MaxNodes: MaxXMLNodes})
	a.clearChildren(doc)
	a.buildChildren(doc, d.Nodes)
	rw(doc, "status", rt.ToValue(d.Status))
	declValue := func(s string) goja.Value {
		if s == "" {
			return goja.Undefined()
		}
		return rt.ToValue(s)
	}
	rw(doc, "xmlDecl", declValue(d.XMLDecl))
	rw(doc, "docTypeDecl", declValue(d.DocTypeDecl))
}

// clearChildren unlinks every child of parent.
func (a *App) clearChildren(parent *goja.Object) {
	kids := a.kids(parent)
	for i := int64(0); i < length(kids); i++ {
		if c, ok := a.isNode(kids.Get(itoa(i))); ok {
			for _, k := range []string{pParent, pPrev, pNext} {
				ro(c, k, goja.Null())
			}
		}
	}
	ro(parent, pKids, a.RT.NewArray())
	ro(parent, pFirst, goja.Null())
	ro(parent, pLast, goja.Null())
}

// buildChildren makes the script nodes of parsed nodes under parent (depth bounded by the
// parser's limit).
func (a *App) buildChildren(parent *goja.Object, nodes []*flashxml.Node) {
	rt := a.RT
	objs := make([]any, len(nodes))
	var prev goja.Value = goja.Null()
	for i, n := range nodes {
		o := rt.NewObject()
		_ = o.SetPrototype(a.xml.node.proto)
		_ = o.DefineDataPropertySymbol(a.xml.mark, rt.ToValue(true), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
		ro(o, pNodeType, rt.ToValue(n.Type))
		if n.Type == flashxml.TextNode {
			rw(o, pName, goja.Null())
			rw(o, pValue, rt.ToValue(n.Value))
		} else {
			rw(o, pName, rt.ToValue(n.Name))
			rw(o, pValue, goja.Null())
			attrs := rt.NewObject()
			for _, at := range n.Attrs {
				_ = attrs.DefineDataProperty(at.Name, rt.ToValue(at.Value), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
			}
			rw(o, pAttrs, attrs)
			a.buildChildren(o, n.Children)
		}
		ro(o, pParent, parent)
		if p, ok := prev.(*goja.Object); ok {
			ro(o, pPrev, p)
			ro(p, pNext, o)
		}
		prev = o
		objs[i] = o
	}
	ro(parent, pKids, rt.NewArray(objs...))
	if len(objs) > 0 && prev != nil {
		ro(parent, pFirst, objs[0].(*goja.Object))
		ro(parent, pLast, objs[len(objs)-1].(*goja.Object))
	}
}

// kids is a node's childNodes array.
func (a *App) kids(n *goja.Object) *goja.Object {
	if o, ok := n.Get(pKids).(*goja.Object); ok {
		return o
	}
	arr := a.RT.NewArray()
	ro(n, pKids, arr)
	return arr
}

func length(arr *goja.Object) int64 { return arr.Get("length").ToInteger() }
