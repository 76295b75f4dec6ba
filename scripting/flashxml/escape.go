package flashxml

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

var named = map[string]string{"lt": "<", "gt": ">", "amp": "&", "quot": "\"", "apos": "'"}

// Unescape decodes the five predefined entities and character references (&#65; &#x41;);
// anything else, an unknown entity included, stays as written.
func Unescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		end := strings.IndexByte(s, ';')
		if end < 0 || end > 12 {
			b.WriteByte('&')
			s = s[1:]
			continue
		}
		if r, ok := entity(s[1:end]); ok {
			b.WriteString(r)
			s = s[end+1:]
			continue
		}
		b.WriteByte('&')
		s = s[1:]
	}
}

// entity decodes the name between '&' and ';'.
func entity(name string) (string, bool) {
	if v, ok := named[name]; ok {
		return v, true
	}
	if len(name) < 2 || name[0] != '#' {
		return "", false
	}
	var n uint64
	var err error
	if name[1] == 'x' || name[1] == 'X' {
		n, err = strconv.ParseUint(name[2:], 16, 32)
	} else {
		n, err = strconv.ParseUint(name[1:], 10, 32)
	}
	if err != nil || n == 0 || n > utf8.MaxRune || !utf8.ValidRune(rune(n)) {
		return "", false
	}
	return string(rune(n)), true
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;", "'", "&apos;")

// Escape writes s for a text node or an attribute value (Flash escapes & < > " ' in both).
func Escape(s string) string { return escaper.Replace(s) }

// String serialises a parsed document the way XML.toString does (the declarations, then the
// nodes); the fuzz target checks that it parses back to the same tree.
func (d *Doc) String() string {
	var b strings.Builder
	b.WriteString(d.XMLDecl)
	b.WriteString(d.DocTypeDecl)
	for _, n := range d.Nodes {
		n.write(&b)
	}
	return b.String()
}

// write serialises n: an element with no children is "<name />" (Flash's form).
func (n *Node) write(b *strings.Builder) {
	if n.Type == TextNode {
		b.WriteString(Escape(n.Value))
		return
	}
	b.WriteByte('<')
	b.WriteString(n.Name)
	for _, a := range n.Attrs {
		b.WriteString(" " + a.Name + "=\"" + Escape(a.Value) + "\"")
	}
	if len(n.Children) == 0 {
		b.WriteString(" />")
		return
	}
	b.WriteByte('>')
	for _, c := range n.Children {
		c.write(b)
	}
	b.WriteString("</" + n.Name + ">")
}
