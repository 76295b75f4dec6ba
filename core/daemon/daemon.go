// Package daemon is what both binaries (origin, edge) do around their server: run it until
// SIGINT/SIGTERM, then drain, with optional CPU and heap profiles for diagnosing a live process.
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

// Profiles names files to write diagnostics to ("" = none): a CPU profile for the whole run,
// a heap profile when shutdown begins (while the connections are still there).
type Profiles struct {
	CPU  string
	Heap string
}

// Run starts srv, waits for SIGINT or SIGTERM, and drains it.
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
	if err := srv.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	if prof.Heap != "" {
		writeHeapProfile(prof.Heap, log)
	}
	log.Info().Msg("shutting down: draining connections")
	srv.Shutdown()
	log.Info().Msg("stopped")
	return nil
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
