// Command worker runs the extole-braze sync workflow and its Braze steps.
// Configuration comes from the environment; see the README.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/extole-braze/extole-braze/config"
	"github.com/extole-braze/extole-braze/worker"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := config.LoadWorker(ctx, nil)
	if err != nil {
		logger.Error("refusing to start: bad configuration", "error", err)
		os.Exit(2)
	}
	if err := worker.Run(ctx, cfg, logger); err != nil {
		logger.Error("worker failed", "error", err)
		os.Exit(1)
	}
}
