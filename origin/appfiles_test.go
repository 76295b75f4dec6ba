package origin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fmsgo/fmsgo/core/rtmpclient"
)

// TestConfigVirtualDirectories: the config's virtual_directories reach the apps' File objects
// (a relative folder against the config file's folder), and app_file_quota_mb bounds them.
func TestConfigVirtualDirectories(t *testing.T) {
	t.Parallel()
	cfgDir := t.TempDir()
	o := startOriginWith(t, func(c *Config) {
		c.ConfigDir = cfgDir
		c.VirtualDirectories = map[string]string{"/shared": "exchange"}
		c.Limits.AppFileQuotaMB = 1
	}, "files")
	if err := os.MkdirAll(filepath.Join(cfgDir, "exchange"), 0o755); err != nil {
		t.Fatal(err)
	}
	o.writeApp(t, "files", `
Client.prototype.put = function (name, size) {
	var f = new File("/shared/" + name);
	if (!f.open("text", "write")) return "open failed";
	var s = "0123456789";
	while (s.length < size) s += s;
	var ok = f.write(s);
	f.close();
	return ok;
};`)
	c := dial(t, o.url("files"), rtmpclient.Options{})
	if v, err := c.Call(ctx5(t), "put", "a.txt", 10.0); err != nil || v != true {
		t.Fatalf("write into the virtual directory: %v %v", v, err)
	}
	if b, err := os.ReadFile(filepath.Join(cfgDir, "exchange", "a.txt")); err != nil || string(b) != "0123456789" {
		t.Fatalf("the host folder holds %q %v", b, err)
	}
	// the quota refuses the write (FMS's File.write answers false), the call itself succeeds
	if v, err := c.Call(ctx5(t), "put", "big.txt", float64(2<<20)); err != nil || v != false {
		t.Fatalf("a 2 MiB write under a 1 MiB app_file_quota_mb: %v %v, want false", v, err)
	}
}
