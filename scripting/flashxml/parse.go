// Package flashxml parses XML the way the Flash 5 / ActionScript 1 XML object does, for FMS's
// server-side XML: a lenient parser that keeps what it read up to an error and reports the
// error as the XML object's status code (0, -2 ... -10), element names as written (a namespace
// prefix stays in the name: "soap:Envelope"), CDATA sections as text nodes, comments and
// processing instructions other than the XML declaration dropped, entities decoded. Input is
// untrusted (a gateway's answer): the parse is iterative and bounded by Limits.
package flashxml

import (
	"strings"
)

// Node types (Flash's nodeType).
const (
	ElementNode = 1
	TextNode    = 3
)

// Status codes of XML.status (Flash 5).
const (
	StatusOK              = 0
	StatusCDATA           = -2  // a CDATA section was not terminated
	StatusXMLDecl         = -3  // the XML declaration was not terminated
	StatusDocType         = -4  // the DOCTYPE declaration was not terminated
	StatusComment         = -5  // a comment was not terminated
	StatusMalformed       = -6  // a malformed element
	StatusOutOfMemory     = -7  // out of memory: here, past Limits
	StatusAttribute       = -8  // an attribute value was not terminated
	StatusUnclosed        = -9  // a start-tag without its end-tag
	StatusUnexpectedClose = -10 // an end-tag without a start-tag
)

// Limits bound one parse; zero fields take the defaults.
type Limits struct {
	MaxNodes int // elements and text nodes in all (default 200,000)
	MaxDepth int // element nesting (default 512)
}

// Defaults for zero Limits fields.
const (
	DefaultMaxNodes = 200_000
	DefaultMaxDepth = 512
)

// Attr is one attribute, in document order.
type Attr struct{ Name, Value string }

// Node is an element (Name, Attrs, Children) or a text node (Value).
type Node struct {
	Type     int
	Name     string
	Value    string
	Attrs    []Attr
	Children []*Node
}

// Doc is a parse's result: the top-level nodes, the declarations, and the status (the nodes
// read before an error are kept, as Flash keeps them).
type Doc struct {
	Nodes       []*Node
	XMLDecl     string // "<?xml ...?>" as written, "" if none
	DocTypeDecl string // "<!DOCTYPE ...>" as written, "" if none
	Status      int
	Count       int // nodes made
}

// parser is one parse's state.
type parser struct {
	src         string
	i           int
	ignoreWhite bool
	lim         Limits
	doc         *Doc
	stack       []*Node
}

// Parse parses src; ignoreWhite drops text nodes made only of white space (XML.ignoreWhite).
func Parse(src string, ignoreWhite bool, lim Limits) *Doc {
	if lim.MaxNodes <= 0 {
		lim.MaxNodes = DefaultMaxNodes
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultMaxDepth
	}
	p := &parser{src: src, ignoreWhite: ignoreWhite, lim: lim, doc: &Doc{}}
	for p.i < len(p.src) && p.doc.Status == StatusOK {
		p.step()
	}
	if p.doc.Status == StatusOK && len(p.stack) > 0 {
		p.doc.Status = StatusUnclosed
	}
	return p.doc
}

// step reads one piece: text, or a markup construct.
func (p *parser) step() {
	rest := p.src[p.i:]
	switch {
	case rest[0] != '<':
		end := strings.IndexByte(rest, '<')
		if end < 0 {
			end = len(rest)
		}
		p.text(Unescape(rest[:end]), false)
		p.i += end
	case strings.HasPrefix(rest, "<!--"):
		p.skipTo("-->", 4, StatusComment)
	case strings.HasPrefix(rest, "<![CDATA["):
		end := strings.Index(rest[9:], "]]>")
		if end < 0 {
			p.doc.Status = StatusCDATA
			return
		}
		p.text(rest[9:9+end], true)
		p.i += 9 + end + 3
	case hasFoldPrefix(rest, "<!DOCTYPE"):
		p.docType(rest)
	case strings.HasPrefix(rest, "<?"):
		p.instruction(rest)
	case strings.HasPrefix(rest, "</"):
		p.endTag(rest)
	default:
		p.startTag()
	}
}

func hasFoldPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// skipTo moves past the next end (searched from off), or sets status if there is none.
func (p *parser) skipTo(end string, off, status int) {
	j := strings.Index(p.src[p.i+off:], end)
	if j < 0 {
		p.doc.Status = status
		return
	}
	p.i += off + j + len(end)
}

// add appends a node to the open element (or the top level), within the node limit.
func (p *parser) add(n *Node) bool {
	if p.doc.Count >= p.lim.MaxNodes {
		p.doc.Status = StatusOutOfMemory
		return false
	}
	p.doc.Count++
	if len(p.stack) == 0 {
		p.doc.Nodes = append(p.doc.Nodes, n)
	} else {
		top := p.stack[len(p.stack)-1]
		top.Children = append(top.Children, n)
	}
	return true
}

// text adds a text node; white-space-only text is dropped under ignoreWhite (not CDATA).
func (p *parser) text(s string, cdata bool) {
	if s == "" || (p.ignoreWhite && !cdata && strings.TrimLeft(s, " \t\r\n") == "") {
		return
	}
	p.add(&Node{Type: TextNode, Value: s})
}

// docType keeps "<!DOCTYPE ...>", whose internal subset may hold '>' inside [...] and quotes.
func (p *parser) docType(rest string) {
	depth, quote := 0, byte(0)
	for j := 9; j < len(rest); j++ {
		c := rest[j]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '>' && depth <= 0:
			if p.doc.DocTypeDecl == "" {
				p.doc.DocTypeDecl = rest[:j+1]
			}
			p.i += j + 1
			return
		}
	}
	p.doc.Status = StatusDocType
}

// instruction keeps the first "<?xml ...?>" as the declaration and drops other instructions.
func (p *parser) instruction(rest string) {
	end := strings.Index(rest, "?>")
	if end < 0 {
		p.doc.Status = StatusXMLDecl
		return
	}
	decl := rest[:end+2]
	if p.doc.XMLDecl == "" && hasFoldPrefix(decl, "<?xml") && (len(decl) == 7 || isSpace(decl[5])) {
		p.doc.XMLDecl = decl
	}
	p.i += end + 2
}

// endTag closes the open element of the same name.
func (p *parser) endTag(rest string) {
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		p.doc.Status = StatusMalformed
		return
	}
	name := strings.TrimRight(rest[2:end], " \t\r\n")
	switch {
	case len(p.stack) == 0:
		p.doc.Status = StatusUnexpectedClose
	case p.stack[len(p.stack)-1].Name != name:
		p.doc.Status = StatusUnclosed
	default:
		p.stack = p.stack[:len(p.stack)-1]
		p.i += end + 1
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// nameEnd is the length of the name at the start of s.
func nameEnd(s string) int {
	for j := 0; j < len(s); j++ {
		if c := s[j]; isSpace(c) || c == '/' || c == '>' || c == '=' || c == '<' || c == '"' || c == '\'' {
			return j
		}
	}
	return len(s)
}

// startTag reads "<name attr='v' ...>" or "<name .../>".
func (p *parser) startTag() {
	j := p.i + 1
	n := nameEnd(p.src[j:])
	if n == 0 {
		p.doc.Status = StatusMalformed
		return
	}
	el := &Node{Type: ElementNode, Name: p.src[j : j+n]}
	j += n
	for {
		j = p.skipSpace(j)
		if j >= len(p.src) {
			p.doc.Status = StatusMalformed
			return
		}
		switch {
		case p.src[j] == '>':
			p.open(el, j+1, false)
			return
		case strings.HasPrefix(p.src[j:], "/>"):
			p.open(el, j+2, true)
			return
		}
		var ok bool
		if j, ok = p.attribute(el, j); !ok {
			return
		}
	}
}

func (p *parser) skipSpace(j int) int {
	for j < len(p.src) && isSpace(p.src[j]) {
		j++
	}
	return j
}

// attribute reads name="value" at j; a repeated name keeps the last value.
func (p *parser) attribute(el *Node, j int) (int, bool) {
	n := nameEnd(p.src[j:])
	if n == 0 {
		p.doc.Status = StatusMalformed
		return j, false
	}
	name := p.src[j : j+n]
	j = p.skipSpace(j + n)
	if j >= len(p.src) || p.src[j] != '=' {
		p.doc.Status = StatusMalformed
		return j, false
	}
	j = p.skipSpace(j + 1)
	if j >= len(p.src) || (p.src[j] != '"' && p.src[j] != '\'') {
		p.doc.Status = StatusMalformed
		return j, false
	}
	end := strings.IndexByte(p.src[j+1:], p.src[j])
	if end < 0 {
		p.doc.Status = StatusAttribute
		return j, false
	}
	value := Unescape(p.src[j+1 : j+1+end])
	for k := range el.Attrs {
		if el.Attrs[k].Name == name {
			el.Attrs[k].Value = value
			return j + end + 2, true
		}
	}
	el.Attrs = append(el.Attrs, Attr{Name: name, Value: value})
	return j + end + 2, true
}

// open adds el and, unless it is empty, makes it the element that takes the next nodes.
func (p *parser) open(el *Node, next int, empty bool) {
	if !empty && len(p.stack) >= p.lim.MaxDepth {
		p.doc.Status = StatusOutOfMemory
		return
	}
	if !p.add(el) {
		return
	}
	p.i = next
	if !empty {
		p.stack = append(p.stack, el)
	}
}
