package scripting

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var appConfigCases = []struct {
	name, in string
	check    func(AppConfig) bool
	errHas   string
}{
	{"empty object", `{}`, func(c AppConfig) bool { return reflect.DeepEqual(c, DefaultAppConfig()) }, ""},
	{"overrides", `{"handlerTimeoutMs": 250, "maxClients": 10, "sendBWDone": false, "idleUnloadSeconds": 0}`,
		func(c AppConfig) bool {
			return c.HandlerTimeoutMs == 250 && c.MaxClients == 10 && !c.SendBWDone && c.IdleUnloadSeconds == 0 && c.MemoryLimitMB == 256
		}, ""},
	{"partial shared objects", `{"sharedObjects": {"maxSlots": 5}}`,
		func(c AppConfig) bool {
			return c.SharedObjects == SharedObjectLimits{MaxSlots: 5, MaxBytes: 16777216, MaxObjects: 1000}
		}, ""},
	{"config kept raw", `{"config": {"z": 1, "a": [true]}}`,
		func(c AppConfig) bool { return string(c.Config) == `{"z": 1, "a": [true]}` }, ""},
	{"unknown key", `{"handlerTimeoutMS": 5}`, nil, `unknown key "handlerTimeoutMS"`},
	{"unknown nested key", `{"sharedObjects": {"maxSlot": 5}}`, nil, `unknown key "maxSlot"`},
	{"syntax", "{\n  \"maxClients\": 1,\n  oops\n}", nil, "app.json:3:3: "},
	{"type", `{"maxClients": "ten"}`, nil, `key "maxClients"`},
	{"negative", `{"memoryLimitMB": -1}`, nil, "positive"},
	{"config not object", `{"config": 3}`, nil, "must be an object"},
	{"trailing", `{} {}`, nil, "after the top-level"},
}

func TestParseAppConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range appConfigCases {
		cfg, err := ParseAppConfig("apps/x/app.json", []byte(tc.in))
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), "apps/x/app.json") {
				t.Errorf("%s: error %v, want one containing %q and the file", tc.name, err, tc.errHas)
			}
			continue
		}
		if err != nil || !tc.check(cfg) {
			t.Errorf("%s: %+v, %v", tc.name, cfg, err)
		}
	}
	if d := DefaultAppConfig(); d.HandlerTimeout().Milliseconds() != 1000 || d.IdleUnload().Seconds() != 300 || d.PendingConnectTimeout().Seconds() != 30 {
		t.Error("default durations")
	}
}

func FuzzParseAppConfig(f *testing.F) {
	for _, tc := range appConfigCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseAppConfig("app.json", b)
		if err != nil && !reflect.DeepEqual(cfg, DefaultAppConfig()) {
			t.Fatal("an error must come with the defaults")
		}
		if err == nil && (cfg.HandlerTimeoutMs <= 0 || cfg.MaxClients < 0) {
			t.Fatalf("invalid limits accepted: %+v", cfg)
		}
	})
}

func TestValidAppName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"live": true, "chat-2.v_1": true, "A9": true, "": false, ".hidden": false,
		"a b": false, "a/b": false, "é": false, "..": false, strings.Repeat("a", 256): false,
	} {
		if ValidAppName(name) != want {
			t.Errorf("ValidAppName(%q) != %v", name, want)
		}
	}
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "live", "main.asc"), "//")
	writeFile(t, filepath.Join(root, "empty", ".keep"), "")
	writeFile(t, filepath.Join(root, "conf", "app.json"), `{"maxClients": 3, "config": {"k": "v"}}`)
	writeFile(t, filepath.Join(root, "broken", "app.json"), `{"nope": 1}`)
	writeFile(t, filepath.Join(root, ".git", "main.js"), "//")
	writeFile(t, filepath.Join(root, "bad name", "main.js"), "//")
	writeFile(t, filepath.Join(root, "file.js"), "//")
	if err := os.Symlink(filepath.Join(root, "live"), filepath.Join(root, "alias")); err != nil {
		t.Fatal(err)
	}
	apps, errs := Discover(root)
	var names []string
	for n := range apps {
		names = append(names, n)
	}
	if len(apps) != 4 || apps["live"] == nil || apps["empty"] == nil || apps["conf"] == nil || apps["alias"] == nil {
		t.Fatalf("apps = %v", names)
	}
	if apps["live"].Entry != filepath.Join(root, "live", "main.asc") || apps["empty"].Entry != "" {
		t.Errorf("entries: %q %q", apps["live"].Entry, apps["empty"].Entry)
	}
	if apps["conf"].Config.MaxClients != 3 || string(apps["conf"].Config.Config) != `{"k": "v"}` {
		t.Errorf("conf: %+v", apps["conf"].Config)
	}
	joined := ""
	for _, e := range errs {
		joined += e.Error() + "\n"
	}
	if len(errs) != 2 || !strings.Contains(joined, `"nope"`) || !strings.Contains(joined, `"bad name"`) {
		t.Errorf("errors:\n%s", joined)
	}
}

func TestRecordPublishesValues(t *testing.T) {
	for _, v := range []string{"record", "append", "appendWithGap"} {
		if c, err := ParseAppConfig("app.json", []byte(`{"recordPublishes":"`+v+`"}`)); err != nil || c.RecordPublishes != v {
			t.Fatalf("%s: %+v %v", v, c.RecordPublishes, err)
		}
	}
	if _, err := ParseAppConfig("app.json", []byte(`{"recordPublishes":"live"}`)); err == nil || !strings.Contains(err.Error(), "recordPublishes") {
		t.Fatalf("a bad recordPublishes: %v", err)
	}
}
