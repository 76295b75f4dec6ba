package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// webhookConnectBench runs the connect bench (8 in flight) against origins with no events
// module, with events.webhook posting to a receiver that never answers, and with one posting to
// a receiver that answers at once, twice each, alternated: a receiver that hangs must not delay
// a connect (issue 11), and a working one must cost little CPU per connect.
func webhookConnectBench(dir string, d time.Duration) error {
	fmt.Printf("connect with events.webhook: 8 in flight, %s per run, none / hanging receiver / quick receiver alternated twice; load average %s\n", d, loadAverage())
	kinds := []string{"none", "hanging", "quick"}
	res := map[string][]connectResult{}
	for round := 0; round < 2; round++ {
		for _, kind := range kinds {
			r, err := webhookConnectRun(dir, kind, d)
			if err != nil {
				return err
			}
			res[kind] = append(res[kind], r)
		}
	}
	none := res["none"]
	for _, kind := range kinds[1:] {
		r := res[kind]
		fmt.Printf("connect webhook %-7s vs none: p50 %.2f/%.2f ms vs %.2f/%.2f ms, server cpu per connect %.0f/%.0f µs vs %.0f/%.0f µs\n", kind,
			ms(r[0].p50), ms(r[1].p50), ms(none[0].p50), ms(none[1].p50),
			float64(r[0].cpuPerConn)/1e3, float64(r[1].cpuPerConn)/1e3, float64(none[0].cpuPerConn)/1e3, float64(none[1].cpuPerConn)/1e3)
	}
	return nil
}

// webhookConnectRun is one connect run against a fresh origin; kind is none, hanging or quick.
func webhookConnectRun(dir, kind string, d time.Duration) (connectResult, error) {
	var extra []string
	release := func() {}
	if kind != "none" {
		url, rel, stop, err := startHookReceiver(kind == "hanging")
		if err != nil {
			return connectResult{}, err
		}
		defer stop()
		release = rel
		conf := filepath.Join(dir, "webhook-"+kind+".toml")
		text := fmt.Sprintf("[modules.\"events.webhook\"]\nurls = [%q]\ntimeout = \"5s\"\n", url)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return connectResult{}, err
		}
		extra = []string{"-config", conf}
	}
	srv, addr, err := startOrigin(dir, extra...)
	if err != nil {
		return connectResult{}, err
	}
	defer func() {
		release() // a receiver that hung answers from now on: the origin's shutdown is quick
		srv.Process.Signal(os.Interrupt)
		srv.Wait()
	}()
	if err := waitListening(addr); err != nil {
		return connectResult{}, err
	}
	return measureConnects(srv.Process.Pid, addr, "rpc", 8, d, fmt.Sprintf("connect webhook %-7s", kind))
}

// startHookReceiver serves webhook POSTs in the bench process: answered at once, or, when hang,
// held until release.
func startHookReceiver(hang bool) (url string, release, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	released := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hang {
			select {
			case <-released:
			case <-r.Context().Done():
			}
		}
		io.Copy(io.Discard, r.Body) // as a real receiver does: an unread body costs the connection
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/hook", func() { close(released) }, func() { srv.Close() }, nil
}
