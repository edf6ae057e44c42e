// Package engine is what our processes require of Temporal, the engine that
// runs the syncs: how they connect to it, and that its namespace keeps
// closed syncs long enough to recognise Extole's redeliveries.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/extole-braze/extole-braze/codec"
	"github.com/extole-braze/extole-braze/config"
)

// ClientOptions are the options our processes connect to Temporal with:
// the configured address and namespace, logs through logger, and every
// payload and error message encrypted with the payload keys, so that
// Temporal stores no personal data in the clear.
func ClientOptions(cfg config.Temporal, logger *slog.Logger) client.Options {
	opts := client.Options{
		HostPort:  cfg.Address,
		Namespace: cfg.Namespace,
		Logger:    sdklog.NewStructuredLogger(logger),
	}
	codec.Apply(&opts, cfg.PayloadKeys)
	return opts
}

// ErrRetentionTooShort is wrapped by CheckRetention's error when the
// namespace forgets closed workflows before the dedupe window ends.
var ErrRetentionTooShort = errors.New("namespace retention is shorter than DEDUPE_WINDOW")

// Retention returns how long the namespace keeps closed workflows.
func Retention(ctx context.Context, c client.Client, namespace string) (time.Duration, error) {
	resp, err := c.WorkflowService().DescribeNamespace(ctx,
		&workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		return 0, fmt.Errorf("describe namespace %s: %w", namespace, err)
	}
	return resp.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(), nil
}

// CheckRetention fails unless the namespace keeps closed workflows for at
// least the dedupe window: a redelivered event is recognised by its
// workflow id only while the first sync is kept.
func CheckRetention(ctx context.Context, c client.Client, namespace string, window time.Duration) error {
	kept, err := Retention(ctx, c, namespace)
	if err != nil {
		return err
	}
	if kept < window {
		return fmt.Errorf("%w: namespace %s keeps closed workflows %s, DEDUPE_WINDOW is %s; "+
			"raise it with `temporal operator namespace update --retention %s -n %s`",
			ErrRetentionTooShort, namespace, kept, window, hours(window), namespace)
	}
	return nil
}

func hours(d time.Duration) string {
	return fmt.Sprintf("%dh", int((d+time.Hour-1)/time.Hour))
}
