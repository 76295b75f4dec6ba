package jsapi

import (
	"strings"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
)

// xmlCases are behaviours of the Flash 5 XML object as FMS scripts use it; each expression
// must evaluate to want (as a string).
var xmlCases = []struct{ name, js, want string }{
	{"parse and walk", `var x = new XML("<a k='v'><b>t</b><c/></a>"); var a = x.firstChild;
		[a.nodeType, a.nodeName, a.attributes.k, a.childNodes.length, a.firstChild.firstChild.nodeValue,
		 a.firstChild.firstChild.nodeType, a.firstChild.nextSibling.nodeName, a.lastChild.previousSibling.nodeName,
		 a.parentNode === x, x.status, a.nodeValue, a.firstChild.firstChild.nodeName].join()`,
		"1,a,v,2,t,3,c,b,true,0,,"},
	{"toString", `new XML("<a k=\"1\"><b/>x &amp; y<c>&lt;</c></a>").toString()`, `<a k="1"><b />x &amp; y<c>&lt;</c></a>`},
	{"cdata", `var x = new XML("<s><![CDATA[<i>&amp;</i>]]></s>"); [x.firstChild.firstChild.nodeValue, x.firstChild.firstChild.nodeType, x].join("|")`,
		`<i>&amp;</i>|3|<s>&lt;i&gt;&amp;amp;&lt;/i&gt;</s>`},
	{"entities", `new XML("<e a='&quot;&#x41;'>&#233;&apos;&bogus;</e>").firstChild.attributes.a + new XML("<e>&#233;&apos;&bogus;</e>").firstChild.firstChild.nodeValue`,
		`"Aé'&bogus;`},
	{"namespaces", `var x = new XML("<soap:Envelope xmlns:soap='urn:s' xmlns='urn:d'><soap:Body><m/></soap:Body></soap:Envelope>");
		var e = x.firstChild, b = e.firstChild, m = b.firstChild;
		[e.nodeName, e.prefix, e.localName, e.namespaceURI, b.namespaceURI, m.prefix, m.namespaceURI, m.getPrefixForNamespace("urn:s"), e.getNamespaceForPrefix("soap")].join()`,
		"soap:Envelope,soap,Envelope,urn:s,urn:s,,urn:d,soap,urn:s"},
	{"comments dropped", `new XML("<a><!-- no --><b/></a>").firstChild.childNodes.length`, "1"},
	{"decls", `var x = new XML("<?xml version='1.0'?><!DOCTYPE a SYSTEM 'a.dtd'><a/>"); [x.xmlDecl, x.docTypeDecl, x].join("|")`,
		`<?xml version='1.0'?>|<!DOCTYPE a SYSTEM 'a.dtd'>|<?xml version='1.0'?><!DOCTYPE a SYSTEM 'a.dtd'><a />`},
	{"ignoreWhite", `var x = new XML(); x.ignoreWhite = true; x.parseXML("<a>\n <b/>\n</a>"); var y = new XML("<a>\n <b/>\n</a>");
		[x.firstChild.childNodes.length, y.firstChild.childNodes.length].join()`, "1,3"},
	{"ignoreWhite on the prototype", `XML.prototype.ignoreWhite = true; var n = new XML("<a> <b/> </a>").firstChild.childNodes.length; XML.prototype.ignoreWhite = false; n`, "1"},
	{"status codes", `["<a><![CDATA[x", "<?xml v", "<!DOCTYPE a [", "<a><!-- x", "<a b>", "<a b='x", "<a><b></a>", "<a></b>", "</a>", "<a>"].map(function (s) { return new XML(s).status; }).join()`,
		"-2,-3,-4,-5,-6,-8,-9,-9,-10,-9"},
	{"partial tree kept", `var x = new XML("<a><b/><c>"); [x.status, x.firstChild.firstChild.nodeName].join()`, "-9,b"},
	{"build", `var x = new XML(); var r = x.createElement("root"); r.attributes.id = "7"; x.appendChild(r);
		var t = x.createTextNode("a<b"); r.appendChild(t); var n = new XMLNode(1, "n"); r.insertBefore(n, t);
		[x, r.firstChild === n, n.nextSibling === t, t.previousSibling === n, r.lastChild === t, r.hasChildNodes()].join()`,
		`<root id="7"><n />a&lt;b</root>,true,true,true,true,true`},
	{"move and remove", `var x = new XML("<a><b/><c/></a><d/>"); var a = x.firstChild, b = a.firstChild, d = x.lastChild;
		d.appendChild(b); var moved = [x, a.firstChild.nodeName, b.parentNode === d].join("|"); a.firstChild.removeNode();
		[moved, x, a.firstChild, a.lastChild].join("|")`, `<a><c /></a><d><b /></d>|c|true|<a /><d><b /></d>||`},
	{"clone", `var x = new XML("<a k='1'><b>t</b></a>"); var a = x.firstChild; var s = a.cloneNode(false), d = a.cloneNode(true);
		d.attributes.k = "2"; [s, d, a, d.parentNode, d.firstChild.parentNode === d].join("|")`, `<a k="1" />|<a k="2"><b>t</b></a>|<a k="1"><b>t</b></a>||true`},
	{"enumeration shows nothing of the structure", `var x = new XML("<a/>"); var k = []; for (var p in x.firstChild) k.push(p); JSON.stringify(x.firstChild) + k.length`, "{}0"},
	{"links are read-only", `var x = new XML("<a><b/></a>"); var a = x.firstChild; a.firstChild = null; a.parentNode = 5; [a.firstChild.nodeName, a.parentNode === x].join()`, "b,true"},
	{"nodeValue writable", `var x = new XML("<a>t</a>"); x.firstChild.firstChild.nodeValue = "u&"; x.toString()`, "<a>u&amp;</a>"},
	{"wrong arguments", `var out = []; var x = new XML("<a/>");
		try { x.appendChild("str"); } catch (e) { out.push(e.name); }
		try { x.firstChild.appendChild(x); } catch (e) { out.push(e.name); }
		try { new XMLNode(2, "x"); } catch (e) { out.push(e.name); }
		try { XML.prototype.parseXML.call({}, "<a/>"); } catch (e) { out.push(e.name); }
		out.join()`, "TypeError,TypeError,TypeError,TypeError"},
	{"script junk in childNodes", `var x = new XML("<a><b/></a>"); x.firstChild.childNodes.push(5, x.firstChild); x.toString()`, "<a><b /></a>"},
	{"subclass", `function My() { XML.call(this, "<q/>"); } My.prototype = new XML(); var m = new My(); [m instanceof XML, m.firstChild.nodeName].join()`, "true,q"},
}

func TestXML(t *testing.T) {
	for _, c := range xmlCases {
		a := newContainedApp(t)
		v, err := a.RT.RunString(c.js)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := v.String(); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// TestXMLBounds: a document past the node limit stops with status -7 in bounded time, deep
// nesting is bounded too, and toString of a deep tree built by script does not recurse.
func TestXMLBounds(t *testing.T) {
	a := newContainedApp(t)
	start := time.Now()
	v, err := a.RT.RunString(`var big = new XML("<r>" + "<i/>".repeat(300000) + "</r>"); [big.status, big.firstChild.childNodes.length].join()`)
	if err != nil || v.String() != "-7,99999" {
		t.Fatalf("flood: %v %v", v, err)
	}
	t.Logf("100k-node parse: %v", time.Since(start))
	v, err = a.RT.RunString(`new XML("<a>".repeat(5000)).status`)
	if err != nil || v.String() != "-7" {
		t.Fatalf("deep: %v %v", v, err)
	}
	v, err = a.RT.RunString(`var root = new XML(), n = root; for (var i = 0; i < 20000; i++) { var c = new XMLNode(1, "d"); n.appendChild(c); n = c; }
		var s = root.toString(); [s.length, root.cloneNode(true).toString() === s].join()`)
	want := len("<d>")*19999 + len("<d />") + len("</d>")*19999
	if err != nil || v.String() != itoa(int64(want))+",true" {
		t.Fatalf("deep script tree: %v %v", v, err)
	}
}

// TestXMLToAMF: an XML object crossing to a client is an AMF XML document (its text).
func TestXMLToAMF(t *testing.T) {
	a := newContainedApp(t)
	v, err := a.RT.RunString(`({doc: new XML("<a b='1'/>")})`)
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Conv.FromJS(v)
	if err != nil {
		t.Fatal(err)
	}
	got := m.(*amf.Object).Props
	if len(got) != 1 || got[0].Value != amf.XMLDocument(`<a b="1" />`) {
		t.Errorf("got %#v", got)
	}
}

func TestXMLTextWithQuotesRoundTrip(t *testing.T) {
	a := newContainedApp(t)
	v, _ := a.RT.RunString(`new XML("<a t=\"it's\">\"q\"</a>").toString()`)
	if !strings.Contains(v.String(), "&apos;") || !strings.Contains(v.String(), "&quot;q&quot;") {
		t.Errorf("got %s", v)
	}
}
