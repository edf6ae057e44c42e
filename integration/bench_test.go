//go:build integration

package integration

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/extole-braze/extole-braze/braze"
)

// benchEvents is how many events each side of the benchmark syncs.
const benchEvents = 200

// benchPosters is how many webhooks are in flight at once, as Extole's
// deliveries overlap.
const benchPosters = 16

// BenchmarkThroughput measures the whole sync of a person known by external
// id, from the signed webhook to Braze, and, on the same Temporal server in
// the same run, the bare-Temporal ceiling: a workflow whose one activity
// sends the same /users/track request. Run it with `make bench`.
func BenchmarkThroughput(b *testing.B) {
	for b.Loop() {
		bare := benchBare(b)
		ours := benchOurs(b)
		b.ReportMetric(bare, "bare-events/s")
		b.ReportMetric(ours, "events/s")
		b.ReportMetric(ours/bare, "of-ceiling")
		b.Logf("FIGURES throughput, %d events: bare Temporal %.1f events/s, extole-braze %.1f "+
			"events/s (%.0f%% of the ceiling)", benchEvents, bare, ours, 100*ours/bare)
	}
}

// benchOurs posts benchEvents webhooks and waits for their syncs.
func benchOurs(b *testing.B) float64 {
	it.braze.Reset()
	bodies := make(chan []byte, benchEvents)
	var ids []string
	for i := range benchEvents {
		body := event(b, "converted", map[string]any{
			"partner_user_id": fmt.Sprintf("bench-%d-%d", i, time.Now().UnixNano()),
			"data":            map[string]any{"cart_value": 120},
		})
		bodies <- mustJSON(b, body)
		ids = append(ids, body["event_id"].(string))
	}
	close(bodies)

	began := time.Now()
	var wg sync.WaitGroup
	for range benchPosters {
		wg.Go(func() {
			for body := range bodies {
				if status, answer := postTo(b, it.endpoint, body); status != http.StatusOK {
					b.Errorf("%d %v", status, answer)
				}
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		if _, err := waitSyncIn(b, it.temporal, id, 5*time.Minute); err != nil {
			b.Fatalf("sync %s: %v", id, err)
		}
	}
	return benchEvents / time.Since(began).Seconds()
}

// benchBare runs benchEvents bare workflows, each sending one track request.
func benchBare(b *testing.B) float64 {
	bc, err := braze.New(it.brazeURL, brazeKey, nil)
	if err != nil {
		b.Fatal(err)
	}
	const queue = "bench-bare"
	w := worker.New(it.temporal, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(bareSync, workflow.RegisterOptions{Name: "BareSync"})
	w.RegisterActivityWithOptions(func(ctx context.Context, req braze.TrackRequest) error {
		_, err := bc.Track(ctx, req)
		return err
	}, activity.RegisterOptions{Name: "BareTrack"})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	began := time.Now()
	runs := make(chan client.WorkflowRun, benchEvents)
	var wg sync.WaitGroup
	starts := make(chan int, benchEvents)
	for i := range benchEvents {
		starts <- i
	}
	close(starts)
	for range benchPosters {
		wg.Go(func() {
			for i := range starts {
				req := braze.TrackRequest{Events: []braze.Event{{
					UserRef:    braze.UserRef{ExternalID: fmt.Sprintf("bare-%d", i)},
					Name:       "extole_converted",
					Time:       time.Now(),
					Properties: map[string]any{"cart_value": 120},
				}}}
				run, err := it.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
					ID: fmt.Sprintf("bare-%d-%d", i, began.UnixNano()), TaskQueue: queue,
				}, "BareSync", req)
				if err != nil {
					b.Error(err)
					continue
				}
				runs <- run
			}
		})
	}
	wg.Wait()
	close(runs)
	for run := range runs {
		if err := run.Get(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
	}
	return benchEvents / time.Since(began).Seconds()
}

// bareSync is the ceiling: one activity, nothing else.
func bareSync(ctx workflow.Context, req braze.TrackRequest) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	return workflow.ExecuteActivity(ctx, "BareTrack", req).Get(ctx, nil)
}
