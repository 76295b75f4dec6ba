package edge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmsgo/fmsgo/core/config"
	"github.com/rs/zerolog"
)

// TestRoutesPinInstances: a route table overrides the hash for an instance or a whole app, the
// other instances keep their hash origin, and failover order continues in hash order.
func TestRoutesPinInstances(t *testing.T) {
	t.Parallel()
	origins := []string{"o1:19350", "o2:19350", "o3:19350"}
	// pick keys whose hash origin is not the one they are routed to
	var pinnedInst, pinnedApp string
	for i := 0; pinnedInst == "" || pinnedApp == ""; i++ {
		key := "chat/room" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		if rankOrigins(origins, key)[0] != 2 && pinnedInst == "" {
			pinnedInst = key
		} else if rankOrigins(origins, "vod/"+key[5:])[0] != 0 && pinnedApp == "" {
			pinnedApp = "vod/" + key[5:]
		}
	}
	s := &Server{cfg: Config{Origins: origins}}
	routes, err := compileRoutes(origins, map[string]string{pinnedInst: "o3:19350", "vod": "o1:19350"})
	if err != nil {
		t.Fatal(err)
	}
	s.routes.Store(&routes)
	if got := s.originOrder(pinnedInst); got[0] != 2 || len(got) != 3 {
		t.Fatalf("%s: order %v, want o3 first", pinnedInst, got)
	}
	if got := s.originOrder(pinnedApp); got[0] != 0 {
		t.Fatalf("%s: order %v, want o1 first (app route)", pinnedApp, got)
	}
	for _, key := range []string{"live/_definst_", "chat/other"} {
		if got, want := s.originOrder(key), rankOrigins(origins, key); !equalInts(got, want) {
			t.Fatalf("%s: order %v, want the hash's %v", key, got, want)
		}
	}
	hash := rankOrigins(origins, pinnedInst)
	rest := s.originOrder(pinnedInst)[1:]
	j := 0
	for _, i := range hash {
		if i != 2 {
			if rest[j] != i {
				t.Fatalf("failover order %v does not follow the hash %v", rest, hash)
			}
			j++
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRoutesConfig(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "edge.toml")
	toml := "origins = [\"o1:19350\", \"o2:19350\"]\n[routes]\n\"chat/room1\" = \"o2:19350\"\nvod = \"o1:19350\"\n"
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if err := config.Load(path, &cfg); err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if routes := *s.routes.Load(); routes["chat/room1"] != 1 || routes["vod"] != 0 {
		t.Fatalf("routes %v", routes)
	}
	for _, bad := range []map[string]string{{"chat/room1": "o9:1"}, {"": "o1:19350"}, {"/x": "o1:19350"}, {"a/": "o1:19350"}} {
		cfg.Routes = bad
		if _, err := New(cfg, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "route") {
			t.Errorf("routes %v: want a route error, got %v", bad, err)
		}
	}
}
