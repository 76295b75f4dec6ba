package scripting

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fileApp exercises FMS's File object from a client method per case; each returns what it saw.
const fileApp = `
Client.prototype.json = function (name) { return JSON.stringify(this[name]()); };
Client.prototype.lines = function () {
	var d = new File("/data");
	var made = d.mkdir("sub");
	var f = new File("/data/sub/lines.txt");
	var opened = f.open("text", "create");
	var w = f.write("one\r\ntwo\rthree\n", "four") && f.writeln("") && f.writeAll(["five", "six"]);
	f.close();
	var r = new File("data/sub/lines.txt");
	r.open("text", "read");
	var got = [];
	while (!r.eof()) got.push(r.readln());
	var atEnd = r.readln();
	r.position = 0;
	var first = r.read(3);
	var pos = r.position;
	r.seek(2);
	var rest = r.readAll();
	var state = [r.isOpen, r.canRead, r.canWrite, r.type, r.mode].join();
	r.close();
	return {made: made, opened: opened, w: w, got: got, atEnd: atEnd, first: first, pos: pos, rest: rest,
		state: state, closed: r.isOpen, len: r.length, name: r.name, str: String(r), dirLen: d.length,
		isDir: d.isDirectory, isFile: r.isFile, mtime: r.lastModified instanceof Date, ctime: r.creationTime instanceof Date};
};
Client.prototype.unicode = function () {
	var f = new File("/u.txt");
	f.open("utf8", "create");
	f.write("h\u00e9llo \u4e16\u754c \ud83d\ude00!");
	f.close();
	f.open("utf8", "read");
	var a = f.read(2), b = f.read(6), c = f.read(100);
	f.close();
	var b2 = new File("/b.bin");
	b2.open("binary", "create");
	b2.writeByte(255); b2.writeByte(0); b2.write("\u00e9A");
	var bad = b2.write("\u4e16");
	b2.close();
	b2.open("binary", "read");
	var bytes = [b2.readByte(), b2.readByte(), b2.readByte(), b2.readByte(), b2.readByte()];
	b2.close();
	return {a: a, b: b, c: c, bad: bad, bytes: bytes, len: b2.length};
};
Client.prototype.listing = function () {
	var root = new File("/");
	root.mkdir("vid");
	["a.flv", "b.txt", "c.flv"].forEach(function (n) { var f = new File("/vid/" + n); f.open("text", "write"); f.write(n); f.close(); });
	return null;
};
Client.prototype.listing2 = function () {
	var dir = new File("/vid");
	var all = dir.list();
	var flv = dir.list(function (name) { return /\.flv$/.test(name); });
	var names = flv.map(function (f) { return f.name; });
	var isFile = all[0] instanceof File;
	var copied = new File("/vid/a.flv").copyTo("/vid/copy.flv");
	var moved = new File("/vid/b.txt");
	var renamed = moved.renameTo("/vid/moved.txt");
	var after = dir.list().map(function (f) { return f.name; });
	var noRemoveDir = dir.remove();
	var removed = dir.remove(true);
	return {all: all.length, names: names, isFile: isFile, copied: copied, renamed: renamed, movedName: moved.name,
		after: after, noRemoveDir: noRemoveDir, removed: removed, gone: dir.exists, rootRemove: new File("/").remove(true)};
};
Client.prototype.sandbox = function () {
	var out = {};
	["../outside.txt", "/a/../../x", "a\\b", "/link-out/secret", "/abs-link"].forEach(function (p) {
		var f = new File(p);
		out[p] = [f.name, f.exists, f.open("text", "read"), f.open("text", "create")].join();
	});
	return out;
};
Client.prototype.errors = function () {
	var out = {};
	try { new File("/").list(5); } catch (e) { out.list = e.name; }
	try { File.prototype.open.call({}, "text", "read"); } catch (e) { out.notFile = e.name; }
	try { new File("/x").writeAll("nope"); } catch (e) { out.writeAll = e.name; }
	out.badType = new File("/t.txt").open("latin9", "create");
	out.badMode = new File("/t.txt").open("text", "sideways");
	out.missing = new File("/missing.txt").open("text", "read");
	out.closedRead = new File("/missing.txt").read(5);
	out.closedWrite = new File("/missing.txt").write("x");
	out.closeTwice = new File("/missing.txt").close();
	var big = new File("/big.bin");
	big.open("text", "read");
	try { big.readAll(); } catch (e) { out.readAll = e.name; }
	try { big.read(1e9); } catch (e) { out.read = e.name; }
	big.close();
	return out;
};
Client.prototype.quota = function () {
	var f = new File("/fill.bin");
	f.open("binary", "create");
	var chunk = "x".repeat(256 * 1024), ok = 0;
	for (var i = 0; i < 8; i++) if (f.write(chunk)) ok++;
	var len = f.length;
	f.close();
	var freed = f.remove();
	var g = new File("/again.bin");
	g.open("binary", "create");
	var again = g.write(chunk);
	g.close();
	return {ok: ok, len: len, freed: freed, again: again};
};
Client.prototype.openMany = function () {
	var n = 0, files = [];
	for (var i = 0; i < 200; i++) {
		var f = new File("/many" + i + ".txt");
		if (f.open("text", "create")) n++;
		files.push(f);
	}
	files.forEach(function (f) { f.close(); });
	return n;
};
`

func TestFileObject(t *testing.T) {
	h := newHarness(t, map[string]string{"files/main.js": fileApp, "files/data/.keep": ""},
		func(c *EngineConfig) { c.FileQuotaMB = 64 })
	appDir := filepath.Join(h.apps, "files")
	outside := filepath.Join(filepath.Dir(h.apps), "secret")
	must(t, os.MkdirAll(outside, 0o755))
	must(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600))
	must(t, os.Symlink(outside, filepath.Join(appDir, "link-out")))
	must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(appDir, "abs-link")))
	big, err := os.Create(filepath.Join(appDir, "big.bin"))
	must(t, err)
	must(t, big.Truncate(17<<20))
	_ = big.Close()
	f, c := h.accepted("files")

	t.Run("lines", func(t *testing.T) {
		got := h.jsonResult(f, c, "lines").(map[string]any)
		want := map[string]any{"made": true, "opened": true, "w": true,
			"got":   []any{"one", "two", "three", "four", "five", "six"},
			"atEnd": nil, "first": "one", "pos": 3.0, "rest": []any{"two", "three", "four", "five", "six"},
			"state": "true,true,false,text,read", "closed": false, "len": 29.0, "name": "/data/sub/lines.txt",
			"str": "/data/sub/lines.txt", "dirLen": 2.0, "isDir": true, "isFile": true, "mtime": true, "ctime": true}
		for k, w := range want {
			if !reflect.DeepEqual(got[k], w) {
				t.Errorf("%s = %#v, want %#v", k, got[k], w)
			}
		}
		b, _ := os.ReadFile(filepath.Join(appDir, "data/sub/lines.txt"))
		if string(b) != "one\r\ntwo\rthree\nfour\nfive\nsix\n" {
			t.Errorf("file holds %q", b)
		}
	})
	t.Run("unicode", func(t *testing.T) {
		got := h.jsonResult(f, c, "unicode").(map[string]any)
		want := map[string]any{"a": "hé", "b": "llo 世界", "c": " 😀!", "bad": false,
			"bytes": []any{255.0, 0.0, 233.0, 65.0, -1.0}, "len": 4.0}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %#v\nwant %#v", got, want)
		}
	})
	t.Run("list", func(t *testing.T) {
		h.result(f, c, "listing")
		got := h.jsonResult(f, c, "listing2").(map[string]any)
		want := map[string]any{"all": 3.0, "names": []any{"/vid/a.flv", "/vid/c.flv"}, "isFile": true, "copied": true,
			"renamed": true, "movedName": "/vid/moved.txt", "after": []any{"/vid/a.flv", "/vid/c.flv", "/vid/copy.flv", "/vid/moved.txt"},
			"noRemoveDir": false, "removed": true, "gone": false, "rootRemove": false}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %#v\nwant %#v", got, want)
		}
	})
	t.Run("sandbox", func(t *testing.T) {
		got := h.jsonResult(f, c, "sandbox").(map[string]any)
		for p, v := range got {
			if !strings.HasSuffix(v.(string), "false,false,false") {
				t.Errorf("%s: %v (name,exists,open read,open create), want no access", p, v)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "s" {
			t.Errorf("the file outside was changed: %q", b)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(h.apps), "outside.txt")); err == nil {
			t.Error("a file was made outside the app folder")
		}
	})
	t.Run("errors", func(t *testing.T) {
		got := h.jsonResult(f, c, "errors").(map[string]any)
		want := map[string]any{"list": "TypeError", "notFile": "TypeError", "writeAll": "TypeError", "badType": false,
			"badMode": false, "missing": false, "closedRead": "", "closedWrite": false, "closeTwice": false,
			"readAll": "RangeError", "read": "RangeError"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %#v\nwant %#v", got, want)
		}
	})
	t.Run("openMany", func(t *testing.T) {
		if n := h.result(f, c, "openMany"); n != 128.0 {
			t.Errorf("opened %v files at once, want 128", n)
		}
	})
}

// jsonResult calls the app's client method name through its json wrapper and decodes the answer.
func (h *harness) jsonResult(f *fakeSession, c *Client, name string) any {
	h.t.Helper()
	s, _ := h.result(f, c, "json", name).(string)
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		h.t.Fatalf("%s: %q: %v", name, s, err)
	}
	return v
}

// TestFileQuota: an app's writes stop at its quota (false, nothing written past it); a remove
// gives the room back.
func TestFileQuota(t *testing.T) {
	h := newHarness(t, map[string]string{"files/main.js": fileApp}, func(c *EngineConfig) { c.FileQuotaMB = 1 })
	f, c := h.accepted("files")
	got := h.jsonResult(f, c, "quota").(map[string]any)
	if got["ok"].(float64) >= 4 || got["ok"].(float64) < 3 || got["freed"] != true || got["again"] != true {
		t.Errorf("quota: %v (1 MiB quota, 256 KiB writes: 3 fit, then none; a remove frees room)", got)
	}
	if st, err := os.Stat(filepath.Join(h.apps, "files", "again.bin")); err != nil || st.Size() != 256<<10 {
		t.Errorf("again.bin: %v %v", st, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
