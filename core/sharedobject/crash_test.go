package sharedobject

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

const crashEnv = "FMSGO_SO_CRASH_DIR"

// TestCrashSafety runs a child process that updates and flushes one persistent object in a loop,
// kills it with SIGKILL at random points, and checks that the file always decodes to one of the
// states written (version == n, check == 7n, pad of n%500 bytes) and never loses an acknowledged
// flush. Versions continue from round to round.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	last := 0
	for round := range 5 {
		acked := runAndKill(t, dir)
		st, _ := NewStore(dir, "app", "inst")
		snap, err := st.Load("crash/obj")
		if err != nil || snap == nil {
			t.Fatalf("round %d: %v %v", round, snap, err)
		}
		n := checkState(t, snap)
		if n < acked || n < last {
			t.Fatalf("round %d: file holds n=%d, acknowledged %d, previous %d", round, n, acked, last)
		}
		last = n
	}
}

func checkState(t *testing.T, snap *snapshot) int {
	t.Helper()
	vals := map[string]any{}
	for _, s := range snap.slots {
		vals[s.key] = s.value
	}
	n, _ := vals["n"].(float64)
	pad, _ := vals["pad"].(string)
	if float64(snap.version) != n || vals["check"] != 7*n || len(pad) != int(n)%500 {
		t.Fatalf("inconsistent state: version %d, %v", snap.version, vals)
	}
	return int(n)
}

// runAndKill starts the writer, lets it acknowledge at least one flush, kills it at a random
// moment, and returns the last n it acknowledged.
func runAndKill(t *testing.T, dir string) int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acks := make(chan int, 1<<16)
	go func() {
		defer close(acks)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack ")); err == nil {
				acks <- n
			}
		}
	}()
	acked, ok := <-acks
	if !ok {
		t.Fatal("writer acknowledged nothing")
	}
	time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond) // the random kill point
	cmd.Process.Kill()
	for n := range acks {
		acked = n
	}
	cmd.Wait()
	return acked
}

// TestCrashChild is the writer process of TestCrashSafety.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("only run as TestCrashSafety's child")
	}
	st, err := NewStore(dir, "app", "inst")
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{ClientPersistence: true, Store: st})
	so, err := r.Get("crash/obj", true)
	if err != nil {
		t.Fatal(err)
	}
	for n := int(so.Version()) + 1; ; n++ {
		so.Lock()
		so.SetProperty("n", float64(n))
		so.SetProperty("pad", strings.Repeat("p", n%500))
		so.SetProperty("check", float64(7*n))
		so.Unlock()
		if err := so.Flush(); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("ack %d\n", n)
	}
}
