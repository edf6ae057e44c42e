// Command starter serves the endpoint Extole posts its webhooks to, and
// starts one sync workflow per event. Configuration comes from the
// environment; see the README.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/extole-braze/extole-braze/config"
	"github.com/extole-braze/extole-braze/engine"
	"github.com/extole-braze/extole-braze/starter"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := config.LoadStarter(ctx, nil)
	if err != nil {
		logger.Error("refusing to start: bad configuration", "error", err)
		os.Exit(2)
	}
	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("starter failed", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config.Starter, logger *slog.Logger) error {
	// A lazy client connects on first use, so the endpoint answers 503, and
	// Extole retries, while Temporal is down, rather than not listening.
	c, err := client.NewLazyClient(engine.ClientOptions(cfg.Temporal, logger))
	if err != nil {
		return err
	}
	defer c.Close()

	srv, err := starter.New(c, cfg, logger)
	if err != nil {
		return err
	}
	if cfg.Extole.AuthScheme == "none" {
		logger.Warn("WEBHOOK AUTHENTICATION IS OFF (EXTOLE_AUTH_SCHEME=none): anyone who " +
			"reaches the endpoint can post events. Use it for local development only.")
	}
	ctx, refuse := context.WithCancelCause(ctx)
	go watchRetention(ctx, refuse, c, cfg.Temporal, logger)
	httpServer := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           srv.Routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- httpServer.ListenAndServe() }()
	logger.Info("starter listening", "addr", cfg.HTTPAddr, "auth_scheme", cfg.Extole.AuthScheme,
		"task_queue", cfg.Temporal.TaskQueue, "forwarded", cfg.Extole.Events)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		_ = httpServer.Close()
		return err
	}
	logger.Info("starter stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// watchRetention checks, as soon as Temporal answers, that the namespace keeps
// closed syncs for the dedupe window, and stops the starter if it does not:
// it would otherwise accept redeliveries it cannot recognise.
func watchRetention(ctx context.Context, refuse context.CancelCauseFunc, c client.Client,
	cfg config.Temporal, logger *slog.Logger) {
	for {
		checkCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := engine.CheckRetention(checkCtx, c, cfg.Namespace, cfg.DedupeWindow)
		cancel()
		switch {
		case err == nil:
			return
		case errors.Is(err, engine.ErrRetentionTooShort):
			refuse(fmt.Errorf("refusing to run: %w", err))
			return
		}
		logger.Warn("cannot check the namespace retention yet; will retry", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(15 * time.Second):
		}
	}
}
