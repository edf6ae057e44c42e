// Package worker runs the sync: it hosts the workflow and the Braze
// activities on the configured task queue until it is told to stop.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/extole-braze/extole-braze/activities"
	"github.com/extole-braze/extole-braze/braze"
	"github.com/extole-braze/extole-braze/config"
	"github.com/extole-braze/extole-braze/engine"
	"github.com/extole-braze/extole-braze/person"
	"github.com/extole-braze/extole-braze/workflows"
)

// Run connects to Temporal and Braze and runs the workers until ctx is done,
// then stops them, letting running activities finish for up to the
// configured stop timeout. It refuses to run on a namespace that forgets
// closed syncs before the dedupe window ends.
func Run(ctx context.Context, cfg config.Worker, logger *slog.Logger) error {
	c, err := client.Dial(engine.ClientOptions(cfg.Temporal, logger))
	if err != nil {
		return fmt.Errorf("worker: connect to Temporal at %s: %w", cfg.Temporal.Address, err)
	}
	defer c.Close()
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = engine.CheckRetention(checkCtx, c, cfg.Temporal.Namespace, cfg.Temporal.DedupeWindow)
	cancel()
	if err != nil {
		return fmt.Errorf("worker: refusing to run: %w", err)
	}

	workers, err := New(c, cfg)
	if err != nil {
		return err
	}
	for _, w := range workers {
		if err := w.Start(); err != nil {
			stopAll(workers)
			return fmt.Errorf("worker: start: %w", err)
		}
	}
	logger.Info("worker started", "task_queue", cfg.Temporal.TaskQueue,
		"namespace", cfg.Temporal.Namespace, "braze_endpoint", cfg.Braze.Endpoint)

	<-ctx.Done()
	logger.Info("worker stopping; running activities may finish", "timeout", cfg.StopTimeout)
	stopAll(workers)
	return nil
}

// New returns the two workers of a process, not yet started: one for the
// sync and person workflows and their steps, one for lookups by email on a
// queue of their own, which the server holds to the configured budget
// across every worker of the queue.
func New(c client.Client, cfg config.Worker) ([]worker.Worker, error) {
	hc := &http.Client{Timeout: cfg.Braze.RequestTimeout}
	bc, err := braze.New(cfg.Braze.Endpoint, cfg.Braze.APIKey, hc)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	acts := activities.New(bc, cfg.Braze.IdentityCacheTTL)

	sync := worker.New(c, cfg.Temporal.TaskQueue, worker.Options{
		WorkerStopTimeout: cfg.StopTimeout,
	})
	sync.RegisterWorkflowWithOptions(workflows.SyncEvent,
		workflow.RegisterOptions{Name: workflows.SyncEventName})
	sync.RegisterActivity(acts)
	sync.RegisterWorkflowWithOptions(workflows.Person,
		workflow.RegisterOptions{Name: person.WorkflowName})
	sync.RegisterActivity(activities.NewOrdering(c))

	lookups := worker.New(c, workflows.LookupQueue(cfg.Temporal.TaskQueue), worker.Options{
		WorkerStopTimeout:            cfg.StopTimeout,
		DisableWorkflowWorker:        true,
		TaskQueueActivitiesPerSecond: float64(cfg.Braze.LookupsPerMinute) / 60,
	})
	lookups.RegisterActivityWithOptions(acts.LookupUser,
		activity.RegisterOptions{Name: "LookupUser"})

	return []worker.Worker{sync, lookups}, nil
}

func stopAll(workers []worker.Worker) {
	for _, w := range workers {
		w.Stop()
	}
}
