// Command codec-server decrypts, for an operator's Temporal UI or CLI, the
// payloads the worker and the starter encrypt, so that the sync's inputs and
// results read in the clear there and nowhere else. Start the UI with its
// codec endpoint pointing here (`temporal server start-dev
// --ui-codec-endpoint`, or TEMPORAL_CODEC_ENDPOINT for the UI server).
// Configuration comes from the environment; see the README.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/extole-braze/extole-braze/codec"
	"github.com/extole-braze/extole-braze/config"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := config.LoadCodecServer(ctx, nil)
	if err != nil {
		logger.Error("refusing to start: bad configuration", "error", err)
		os.Exit(2)
	}
	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("codec server failed", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config.CodecServer, logger *slog.Logger) error {
	handler := codec.Handler(cfg.PayloadKeys, codec.HandlerOptions{
		AllowOrigin: cfg.AllowOrigin,
		Token:       cfg.Token,
	})
	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           logRequests(handler, logger),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	if cfg.Token == "" {
		logger.Warn("CODEC_TOKEN is not set: whoever reaches " + cfg.HTTPAddr +
			" can decrypt payloads; keep it on a private address")
	}
	logger.Info("codec server listening", "addr", cfg.HTTPAddr, "allow_origin", cfg.AllowOrigin,
		"keys", cfg.PayloadKeys.String())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// logRequests logs one line per request: never a body, a payload or a
// header value.
func logRequests(next http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		logger.Info("http", "method", r.Method, "path", r.URL.Path, "status", ww.Status())
	})
}
