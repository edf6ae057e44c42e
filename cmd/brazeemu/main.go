// Command brazeemu serves the Braze REST API emulator for the local stack:
// a stand-in for Braze, holding its profiles in memory, never real Braze.
//
// Environment:
//
//	BRAZEEMU_ADDR     listen address (default 127.0.0.1:9090)
//	BRAZEEMU_API_KEY  the REST API key callers must present (default dev-braze-key)
//
// It logs one line per request (path, status, object counts) and never a
// body, email or name. Its state can be read under /_emulator/ (see package
// brazeemu).
package main

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/extole-braze/extole-braze/brazeemu"
)

// Config is the program's configuration, read from the environment.
type Config struct {
	Addr   string
	APIKey string
}

const (
	defaultAddr   = "127.0.0.1:9090"
	defaultAPIKey = "dev-braze-key"
)

// loadConfig reads the configuration through getenv, with defaults.
func loadConfig(getenv func(string) string) Config {
	cfg := Config{Addr: getenv("BRAZEEMU_ADDR"), APIKey: getenv("BRAZEEMU_API_KEY")}
	if cfg.Addr == "" {
		cfg.Addr = defaultAddr
	}
	if cfg.APIKey == "" {
		cfg.APIKey = defaultAPIKey
	}
	return cfg
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, loadConfig(os.Getenv), logger); err != nil {
		logger.Error("brazeemu stopped", "err", err)
		os.Exit(1)
	}
}

// run serves the emulator until ctx ends, then shuts down, letting
// requests under way finish for a few seconds.
func run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	emu := brazeemu.New(brazeemu.Options{
		APIKey:    cfg.APIKey,
		OnRequest: func(r brazeemu.Request) { logRequest(logger, r) },
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("Braze EMULATOR listening on http://"+ln.Addr().String()+" (not real Braze)",
		"default_api_key", cfg.APIKey == defaultAPIKey, "admin", "/_emulator/")

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}

	logger.Info("brazeemu shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// logRequest writes one line for a request: never its body, so that no
// email or name reaches the log.
func logRequest(logger *slog.Logger, r brazeemu.Request) {
	args := []any{"method", r.Method, "path", r.Path, "status", r.Status}
	for _, array := range slices.Sorted(maps.Keys(r.Objects)) {
		args = append(args, array, r.Objects[array])
	}
	if len(r.Skipped) > 0 {
		args = append(args, "skipped", len(r.Skipped))
	}
	if r.Fault {
		args = append(args, "fault", true)
	}
	logger.Info("request", args...)
}
