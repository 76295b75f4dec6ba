package scripting

import "testing"

// TestReloadCarriesFileAndXML: a File and an XML document held in a changed global come through
// a hot reload as a File of the same path and the same document in the new runtime.
func TestReloadCarriesFileAndXML(t *testing.T) {
	src := `var doc = null, file = null, lv = null;
Client.prototype.set = function () { doc = new XML("<a b='1'><c/></a>"); file = new File("/keep.txt"); lv = new LoadVars(); lv.k = "v"; };
Client.prototype.get = function () { return [String(doc), doc instanceof XML, doc.firstChild.firstChild.parentNode === doc.firstChild,
	file.name, file instanceof File, file.exists, lv.k, lv.toString()].join("|"); };
`
	h := newHarness(t, map[string]string{"carry/main.js": src})
	f, c := h.accepted("carry")
	h.result(f, c, "set")
	h.write("carry/main.js", src+"// edited\n")
	if err := h.awaitReload(); err != nil {
		t.Fatal(err)
	}
	want := `<a b="1"><c /></a>|true|true|/keep.txt|true|false|v|k=v`
	if got := h.result(f, c, "get"); got != want {
		t.Errorf("after reload: %v, want %s\nlog:\n%s", got, want, h.log.String())
	}
}
