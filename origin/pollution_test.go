package origin

import (
	"reflect"
	"testing"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// ppApp merges whatever clients send (connect arguments, call arguments, shared-object slots)
// into its own objects with the classic recursive merge, the pattern issue 9 found polluting
// Object.prototype.
const ppApp = `
var config = {}, mirror = {}, synced = 0;
function merge(dst, src) { for (var k in src) { if (typeof src[k] === 'object') { if (!dst[k]) dst[k] = {}; merge(dst[k], src[k]); } else dst[k] = src[k]; } }
application.onConnect = function (c, opts) { if (opts && typeof opts === 'object') merge(config, opts); return true; };
Client.prototype.mergeit = function (o) { merge(config, o); return true; };
Client.prototype.check = function () { return ({}).polluted === undefined && ({}).isAdmin === undefined; };
Client.prototype.synced = function () { return synced; };
Client.prototype.slot = function (n) { return so.getProperty(n); };
Client.prototype.configKeys = function () { return Object.keys(config).join(); };
Client.prototype.slotNames = function () { return so.getPropertyNames().join(); };
var so = SharedObject.get("state");
so.onSync = function (list) {
  for (var i = 0; i < list.length; i++) {
    var name = list[i].name, v = so.getProperty(name);
    if (typeof v === 'object' && v !== null) { if (!mirror[name]) mirror[name] = {}; merge(mirror[name], v); synced++; }
  }
};
`

// amfObj is an anonymous AMF object of key, value pairs.
func amfObj(kv ...any) *amf.Object {
	out := &amf.Object{}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Props = append(out.Props, amf.Prop{Key: kv[i].(string), Value: kv[i+1]})
	}
	return out
}

// TestClientDataCannotPollute: a hostile client's __proto__ / constructor keys, in connect
// arguments, call arguments (objects, ECMA arrays, AMF3 typed objects) and shared-object slots,
// do not reach Object.prototype through the app's merge: a fresh client sees ({}).polluted and
// ({}).isAdmin undefined. The data is kept: a slot named __proto__ is stored and read back.
func TestClientDataCannotPollute(t *testing.T) {
	t.Parallel()
	srv := startOrigin(t)
	srv.writeApp(t, "pp", ppApp)
	evil := amfObj("polluted", true, "isAdmin", true)
	hostile := dial(t, srv.url("pp"), rtmpclient.Options{ConnectArgs: []any{amfObj("__proto__", evil)}})
	hostile3 := dial(t, srv.url("pp"), rtmpclient.Options{ObjectEncoding: 3, ConnectArgs: []any{amfObj("constructor", amfObj("prototype", evil))}})
	for _, c := range []*rtmpclient.Client{hostile, hostile3} {
		for _, arg := range []any{
			amfObj("__proto__", evil),
			amfObj("constructor", amfObj("prototype", evil)),
			&amf.Array{ECMA: true, Assoc: []amf.Prop{{Key: "__proto__", Value: evil}}},
			&amf.Object{Class: "x.T", Props: []amf.Prop{{Key: "__proto__", Value: evil}}},
		} {
			if _, err := c.Call(ctx5(t), "mergeit", arg); err != nil {
				t.Fatal(err)
			}
		}
	}
	p := &soPeer{t: t, name: "hostile", c: hostile3, amf3: true}
	p.use(ctx5(t), "state", false)
	p.send("state", false, change("__proto__", evil, "constructor", amfObj("prototype", evil)))
	waitFor(t, 10*time.Second, "the app's onSync of both slots", func() bool {
		n, err := hostile.Call(ctx5(t), "synced")
		return err == nil && n == 2.0
	})

	fresh := dial(t, srv.url("pp"), rtmpclient.Options{})
	if ok, err := fresh.Call(ctx5(t), "check"); err != nil || ok != true {
		t.Fatalf("({}).polluted / ({}).isAdmin after hostile data: check() = %v %v", ok, err)
	}
	if keys, err := fresh.Call(ctx5(t), "configKeys"); err != nil || keys != "__proto__$,constructor$" {
		t.Errorf("config keys %v %v, want the data under the renamed keys", keys, err)
	}
	if names, err := fresh.Call(ctx5(t), "slotNames"); err != nil || names != "__proto__$,constructor$" {
		t.Errorf("so.getPropertyNames() = %v %v, want the renamed slot names", names, err)
	}
	for _, name := range []string{"__proto__", "__proto__$"} {
		v, err := fresh.Call(ctx5(t), "slot", name)
		if got, _ := v.(*amf.Object); err != nil || !reflect.DeepEqual(got, evil) {
			t.Errorf("so.getProperty(%q) = %#v %v, want the slot's object", name, v, err)
		}
	}
	viewer := &soPeer{t: t, name: "viewer", c: dial(t, srv.url("pp"), rtmpclient.Options{})}
	slots := viewer.use(ctx5(t), "state", false).slots()
	if got, _ := slots["__proto__"].(*amf.Object); got == nil || !reflect.DeepEqual(got, evil) {
		t.Errorf("a client reading the object got slots %#v, want __proto__ as data", slots)
	}
}
