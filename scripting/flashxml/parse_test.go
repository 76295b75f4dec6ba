package flashxml

import (
	"reflect"
	"strings"
	"testing"
)

// parseCases are Flash 5 XML behaviours (Flash's documentation of XML.status, nodeType,
// ignoreWhite, xmlDecl, docTypeDecl); their sources seed FuzzParse.
var parseCases = []struct {
	name, src   string
	ignoreWhite bool
	status      int
	out         string // Doc.String()
}{
	{"simple", `<a x="1" y='2'>hi</a>`, false, 0, `<a x="1" y="2">hi</a>`},
	{"empty", `<a/><b></b>`, false, 0, `<a /><b />`},
	{"entities", `<t a="&lt;&amp;&quot;">&lt;b&gt; &amp; &apos;q&apos; &#65;&#x42; &nbsp; &bogus</t>`, false, 0,
		`<t a="&lt;&amp;&quot;">&lt;b&gt; &amp; &apos;q&apos; AB &amp;nbsp; &amp;bogus</t>`},
	{"cdata", `<s><![CDATA[<b>raw & </b>]]></s>`, false, 0, `<s>&lt;b&gt;raw &amp; &lt;/b&gt;</s>`},
	{"namespaces", `<soap:Envelope xmlns:soap="urn:s"><soap:Body/></soap:Envelope>`, false, 0,
		`<soap:Envelope xmlns:soap="urn:s"><soap:Body /></soap:Envelope>`},
	{"comment dropped", `<a><!-- c --><b/></a>`, false, 0, `<a><b /></a>`},
	{"decls", `<?xml version="1.0"?><!DOCTYPE a [<!ELEMENT a (#PCDATA)>]><?pi x?><a/>`, false, 0,
		`<?xml version="1.0"?><!DOCTYPE a [<!ELEMENT a (#PCDATA)>]><a />`},
	{"white kept", "<a>\n  <b/>\n</a>", false, 0, "<a>\n  <b />\n</a>"},
	{"white ignored", "<a>\n  <b/> x \n</a>", true, 0, "<a><b /> x \n</a>"},
	{"top-level text", `hello <a/>`, false, 0, `hello <a />`},
	{"cdata open", `<a><![CDATA[x</a>`, false, StatusCDATA, `<a />`},
	{"xmldecl open", `<?xml version="1.0"`, false, StatusXMLDecl, ``},
	{"doctype open", `<!DOCTYPE a [ <!ELEMENT a> `, false, StatusDocType, ``},
	{"comment open", `<a/><!-- x`, false, StatusComment, `<a />`},
	{"malformed", `<a b></a>`, false, StatusMalformed, ``},
	{"malformed name", `< a/>`, false, StatusMalformed, ``},
	{"attr open", `<a b="x/>`, false, StatusAttribute, ``},
	{"unclosed", `<a><b></a>`, false, StatusUnclosed, `<a><b /></a>`},
	{"unclosed at end", `<a><b/>`, false, StatusUnclosed, `<a><b /></a>`},
	{"unexpected close", `<a/></b>`, false, StatusUnexpectedClose, `<a />`},
	{"binary junk", "\x00\xff<\x01", false, StatusMalformed, "\x00\xff"},
}

func TestParse(t *testing.T) {
	for _, c := range parseCases {
		d := Parse(c.src, c.ignoreWhite, Limits{})
		if d.Status != c.status || d.String() != c.out {
			t.Errorf("%s: status %d, %q; want %d, %q", c.name, d.Status, d.String(), c.status, c.out)
		}
	}
}

func TestParseTypes(t *testing.T) {
	d := Parse(`<a k="v">t<![CDATA[c]]></a>`, false, Limits{})
	want := []*Node{{Type: ElementNode, Name: "a", Attrs: []Attr{{"k", "v"}},
		Children: []*Node{{Type: TextNode, Value: "t"}, {Type: TextNode, Value: "c"}}}}
	if !reflect.DeepEqual(d.Nodes, want) {
		t.Errorf("got %+v", d.Nodes[0])
	}
}

// TestParseLimits: deep nesting and node floods stop at the limits with status -7, keeping what
// was read.
func TestParseLimits(t *testing.T) {
	deep := strings.Repeat("<a>", 10000)
	if d := Parse(deep, false, Limits{}); d.Status != StatusOutOfMemory || d.Count != DefaultMaxDepth {
		t.Errorf("deep: status %d, %d nodes", d.Status, d.Count)
	}
	flood := strings.Repeat("<b/>", 300_000)
	if d := Parse(flood, false, Limits{}); d.Status != StatusOutOfMemory || d.Count != DefaultMaxNodes {
		t.Errorf("flood: status %d, %d nodes", d.Status, d.Count)
	}
}

// FuzzParse: any input parses without panicking within the limits, and a document that parsed
// cleanly serialises to text that parses back to the same tree (adjacent text nodes merged:
// CDATA next to text is one text once written).
func FuzzParse(f *testing.F) {
	for _, c := range parseCases {
		f.Add(c.src, c.ignoreWhite)
	}
	f.Fuzz(func(t *testing.T, src string, ignoreWhite bool) {
		lim := Limits{MaxNodes: 1000, MaxDepth: 50}
		d := Parse(src, ignoreWhite, lim)
		if d.Count > lim.MaxNodes {
			t.Fatalf("%d nodes past the limit", d.Count)
		}
		if d.Status != StatusOK || ignoreWhite {
			return
		}
		again := Parse(d.String(), false, lim)
		if again.Status != StatusOK {
			t.Fatalf("%q serialised as %q, which parses with status %d", src, d.String(), again.Status)
		}
		if a, b := merged(d.Nodes), merged(again.Nodes); !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: round trip changed the tree:\n%q\n%q", src, d.String(), again.String())
		}
	})
}

// merged copies nodes with adjacent text nodes joined and empty ones dropped.
func merged(nodes []*Node) []*Node {
	var out []*Node
	for _, n := range nodes {
		if n.Type == TextNode {
			if len(out) > 0 && out[len(out)-1].Type == TextNode {
				out[len(out)-1].Value += n.Value
				continue
			}
			out = append(out, &Node{Type: TextNode, Value: n.Value})
			continue
		}
		out = append(out, &Node{Type: n.Type, Name: n.Name, Attrs: n.Attrs, Children: merged(n.Children)})
	}
	return out
}
