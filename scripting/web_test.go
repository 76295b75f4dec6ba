package scripting

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// webApp drives LoadVars and XML against a test server; each method answers through a Promise
// that onLoad (or onData) settles.
const webApp = `
function settle(start) { return new Promise(function (resolve) { if (!start(resolve)) resolve("not started"); }); }
Client.prototype.lvLoad = function (url) {
	return settle(function (done) {
		var lv = new LoadVars();
		lv.onHTTPStatus = function (s) { this.status = s; };
		lv.onLoad = function (ok) { done(JSON.stringify({ok: ok, a: this.a, b: this.b, c: this.c, p: this["__proto__"], status: this.status,
			loaded: this.loaded, keys: Object.keys(this).join(), bytes: this.getBytesLoaded()})); };
		return lv.load(url);
	});
};
Client.prototype.lvSend = function (url, method) {
	return settle(function (done) {
		var lv = new LoadVars(), back = new LoadVars();
		lv.name = "J\u00f6rg & co"; lv.n = 5; lv.f = function () {};
		lv.addRequestHeader("X-Test", "yes");
		back.onLoad = function (ok) { done(JSON.stringify({ok: ok, echo: this.echo, method: this.method, ct: this.ct, h: this.h})); };
		return lv.sendAndLoad(url, back, method);
	});
};
Client.prototype.lvData = function (url) {
	return settle(function (done) {
		var lv = new LoadVars();
		lv.onData = function (src) { done(src === undefined ? "undefined" : "raw:" + src); };
		return lv.load(url);
	});
};
Client.prototype.xmlLoad = function (url) {
	return settle(function (done) {
		var x = new XML();
		x.ignoreWhite = true;
		x.onLoad = function (ok) { done(JSON.stringify({ok: ok, status: this.status, loaded: this.loaded,
			first: this.firstChild && this.firstChild.nodeName, text: String(this)})); };
		return x.load(url);
	});
};
Client.prototype.xmlSend = function (url) {
	return settle(function (done) {
		var q = new XML("<q id='1'>hi</q>"), r = new XML();
		r.onLoad = function (ok) { done(ok + ":" + r.firstChild.firstChild.nodeValue); };
		return q.sendAndLoad(url, r);
	});
};
Client.prototype.statics = function () {
	var lv = new LoadVars(), keys = [];
	for (var k in lv) keys.push(k);
	lv.decode("x=1&y=a+b%21&bad=%zz&empty&=v");
	return JSON.stringify({keys: keys, x: lv.x, y: lv.y, bad: lv.bad, empty: lv.empty, str: lv.toString(),
		noURL: lv.load(), ftp: lv.load("ftp://127.0.0.1/x"), rel: lv.load("/relative")});
};
Client.prototype.ping = function () { return "pong"; };
`

func TestLoadVarsAndXMLOverHTTP(t *testing.T) {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/vars", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a=1&b=hello+world&c=%E2%9C%93&__proto__=x")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		q := r.URL.RawQuery
		io.WriteString(w, "echo="+flashEsc(string(b)+q)+"&method="+r.Method+"&ct="+flashEsc(r.Header.Get("Content-Type"))+"&h="+r.Header.Get("X-Test"))
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusNotFound) })
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("z", 5000)) })
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("\x00\xff=\xfe&&=&%%%\x01")) })
	mux.HandleFunc("/doc.xml", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<r:list xmlns:r=\"urn:r\">\n <item><![CDATA[a<b]]></item>\n</r:list>")
	})
	mux.HandleFunc("/bad.xml", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<a><b></a>") })
	mux.HandleFunc("/xml-echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, "<got>"+strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(string(b))+"</got>")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release)
	h := newHarness(t, map[string]string{"web/main.js": webApp}, func(c *EngineConfig) {
		c.HTTP.Timeout = 300 * time.Millisecond
		c.HTTP.MaxBody = 4096
		c.HTTP.MaxInFlight = 3
	})
	f, c := h.accepted("web")
	u := srv.URL

	check := func(name string, got any, want string) {
		t.Helper()
		if s, _ := got.(string); s != want {
			t.Errorf("%s:\n got %v\nwant %s", name, got, want)
		}
	}
	check("load", h.result(f, c, "lvLoad", u+"/vars"),
		`{"ok":true,"a":"1","b":"hello world","c":"✓","p":"x","status":200,"loaded":true,"keys":"onHTTPStatus,onLoad,status,a,b,c,__proto__","bytes":41}`)
	check("sendAndLoad POST", h.result(f, c, "lvSend", u+"/echo"),
		`{"ok":true,"echo":"name=J%C3%B6rg%20%26%20co&n=5","method":"POST","ct":"application/x-www-form-urlencoded","h":"yes"}`)
	check("sendAndLoad GET", h.result(f, c, "lvSend", u+"/echo", "GET"),
		`{"ok":true,"echo":"name=J%C3%B6rg%20%26%20co&n=5","method":"GET","ct":"","h":"yes"}`)
	check("onData raw", h.result(f, c, "lvData", u+"/vars"), "raw:a=1&b=hello+world&c=%E2%9C%93&__proto__=x")
	check("404", h.result(f, c, "lvLoad", u+"/missing"), `{"ok":false,"p":{},"status":404,"loaded":false,"keys":"onHTTPStatus,onLoad,status","bytes":0}`)
	check("huge", h.result(f, c, "lvData", u+"/huge"), "undefined")
	if got, _ := h.result(f, c, "lvLoad", u+"/garbage").(string); !strings.Contains(got, `"ok":true`) {
		t.Errorf("garbage: %v", got)
	}

	// A server that never answers: the loop keeps serving, the load ends at the time limit.
	hung := make(chan any, 1)
	h.txn++
	hangTxn := h.txn
	c.Call("lvData", hangTxn, []any{u + "/hang"})
	start := time.Now()
	check("loop free while a request hangs", h.result(f, c, "ping"), "pong")
	for ev := f.next(t); ; ev = f.next(t) {
		if ev.kind == "reply" && ev.txn == hangTxn {
			hung <- ev.value
			break
		}
	}
	check("hang", <-hung, "undefined")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("hanging request ended after %v (limit 300 ms)", d)
	}

	check("xml load", h.result(f, c, "xmlLoad", u+"/doc.xml"),
		`{"ok":true,"status":0,"loaded":true,"first":"r:list","text":"<?xml version=\"1.0\"?><r:list xmlns:r=\"urn:r\"><item>a&lt;b</item></r:list>"}`)
	check("xml malformed", h.result(f, c, "xmlLoad", u+"/bad.xml"),
		`{"ok":true,"status":-9,"loaded":true,"first":"a","text":"<a><b /></a>"}`)
	check("xml sendAndLoad", h.result(f, c, "xmlSend", u+"/xml-echo"), `true:<q id="1">hi</q>`)
	check("statics", h.result(f, c, "statics"),
		`{"keys":[],"x":"1","y":"a b!","bad":"%zz","empty":"","str":"x=1&y=a%20b%21&bad=%25zz&empty=&=v","noURL":false,"ftp":false,"rel":false}`)
}

// TestLoadVarsBusy: past MaxInFlight requests a load returns false at once.
func TestLoadVarsBusy(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	h := newHarness(t, map[string]string{"web/main.js": webApp + `
Client.prototype.flood = function (url) { var n = 0; for (var i = 0; i < 5; i++) if (new LoadVars().load(url)) n++; return n; };`},
		func(c *EngineConfig) { c.HTTP.MaxInFlight = 2; c.HTTP.Timeout = 5 * time.Second })
	f, c := h.accepted("web")
	if n := h.result(f, c, "flood", srv.URL); n != 2.0 {
		t.Errorf("%v loads started, want 2", n)
	}
}

// flashEsc is the test server's escape of what it echoes (letters and digits kept).
func flashEsc(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}
