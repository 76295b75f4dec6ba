// Package daemon is what both binaries (origin, edge) do around their server: run it until
// SIGINT/SIGTERM, then drain; turn SIGHUP into a reload; write optional CPU and heap profiles for
// diagnosing a live process.
package daemon

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/rs/zerolog"
)

// Server is a server with the project's lifecycle: Start binds and returns, Shutdown drains.
type Server interface {
	Start(ctx context.Context) error
	Shutdown()
}

// Reloader is a server that can re-read what it was started from (its config file, its apps
// folder) without a restart; Run calls Reload on SIGHUP.
type Reloader interface {
	Reload() error
}

// Profiles names files to write diagnostics to ("" = none): a CPU profile for the whole run,
// a heap profile when shutdown begins (while the connections are still there).
type Profiles struct {
	CPU  string
	Heap string
}

// Run starts srv, waits for SIGINT or SIGTERM, and drains it. Each SIGHUP meanwhile calls
// srv.Reload when srv is a Reloader (its error is logged; the server keeps running), and is
// logged and ignored otherwise (instead of ending the process, SIGHUP's default).
func Run(srv Server, log zerolog.Logger, prof Profiles) error {
	if prof.CPU != "" {
		f, err := os.Create(prof.CPU)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := srv.Start(ctx); err != nil {
		return err
	}
	waitReloading(ctx, srv, hup, log)
	if prof.Heap != "" {
		writeHeapProfile(prof.Heap, log)
	}
	log.Info().Msg("shutting down: draining connections")
	srv.Shutdown()
	log.Info().Msg("stopped")
	return nil
}

// waitReloading waits for ctx to end, reloading srv on each signal from hup.
func waitReloading(ctx context.Context, srv Server, hup <-chan os.Signal, log zerolog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r, ok := srv.(Reloader)
			if !ok {
				log.Warn().Msg("SIGHUP ignored: this server cannot reload")
				continue
			}
			log.Info().Msg("SIGHUP: reloading")
			if err := r.Reload(); err != nil {
				log.Error().Err(err).Msg("reload failed; the running configuration stays")
			}
		}
	}
}

func writeHeapProfile(path string, log zerolog.Logger) {
	f, err := os.Create(path)
	if err != nil {
		log.Error().Err(err).Msg("heap profile")
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		log.Error().Err(err).Msg("heap profile")
	}
}
