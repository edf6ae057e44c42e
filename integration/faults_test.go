//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/extole-braze/extole-braze/brazeemu"
	"github.com/extole-braze/extole-braze/workflows"
)

// tally counts, for a fault test, what happened to the events it posted.
type tally struct {
	accepted, delivered, duplicated, lost int
}

// count looks the events up in Braze by their extole_event_id.
func count(ids []string) tally {
	return countIn(it.braze, ids)
}

// countIn looks the events up in the emulator by their extole_event_id.
func countIn(emu *brazeemu.Server, ids []string) tally {
	seen := map[string]int{}
	for _, e := range emu.Events() {
		if id, ok := e.Properties["extole_event_id"].(string); ok {
			seen[id]++
		}
	}
	t := tally{accepted: len(ids)}
	for _, id := range ids {
		switch n := seen[id]; {
		case n == 0:
			t.lost++
		default:
			t.delivered++
			t.duplicated += n - 1
		}
	}
	return t
}

// report prints a fault test's figures, which the README quotes.
func report(t *testing.T, fault string, got tally) {
	t.Helper()
	t.Logf("FIGURES %s: accepted %d, delivered %d, duplicated %d, lost %d",
		fault, got.accepted, got.delivered, got.duplicated, got.lost)
}

// postEvents posts n events of distinct people to a starter's endpoint,
// expects each accepted, and returns their ids.
func postEvents(t *testing.T, endpoint string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		b := event(t, "converted", map[string]any{"partner_user_id": fmt.Sprintf("fault-%d-%s", i, newEventID(t))})
		if status, answer := postTo(t, endpoint, mustJSON(t, b)); status != http.StatusOK || answer["status"] != "accepted" {
			t.Fatalf("event %d: %d %v", i, status, answer)
		}
		ids = append(ids, b["event_id"].(string))
	}
	return ids
}

// waitAll waits, up to limit each, for the syncs in the Temporal c reaches.
func waitAll(t *testing.T, c client.Client, ids []string, limit time.Duration) {
	t.Helper()
	for _, id := range ids {
		if _, err := waitSyncIn(t, c, id, limit); err != nil {
			t.Fatalf("sync %s: %v", id, err)
		}
	}
}

// Braze answers 503 to every call for a while, then recovers: every
// accepted event arrives once.
func TestBrazeOutageLosesNothing(t *testing.T) {
	it.braze.Reset()
	it.braze.Inject(brazeemu.Fault{Path: brazeemu.PathTrack, Status: http.StatusServiceUnavailable})
	ids := postEvents(t, it.endpoint, 10)
	time.Sleep(8 * time.Second)
	failed := it.braze.RequestCount(brazeemu.PathTrack)
	it.braze.ClearFaults()
	waitAll(t, it.temporal, ids, time.Minute)

	got := count(ids)
	report(t, "Braze answering 503 for 8 s", got)
	if failed < len(ids) || got.delivered != len(ids) || got.duplicated != 0 {
		t.Fatalf("%d failed calls during the outage; %+v, want every event once", failed, got)
	}
}

// Connections reset and answers that never come (past the client's timeout,
// without Braze applying the call) are retried: every event arrives once.
func TestBrazeResetsAndTimeoutsAreRetried(t *testing.T) {
	it.braze.Reset()
	it.braze.Inject(brazeemu.Fault{Path: brazeemu.PathTrack, Status: brazeemu.DropConnection, Count: 3})
	it.braze.Inject(brazeemu.Fault{Path: brazeemu.PathTrack, Status: http.StatusGatewayTimeout,
		Delay: 3 * time.Second, Count: 3})
	defer it.braze.ClearFaults()
	ids := postEvents(t, it.endpoint, 6)
	waitAll(t, it.temporal, ids, time.Minute)

	got := count(ids)
	report(t, "connection resets and timeouts", got)
	if got.delivered != len(ids) || got.duplicated != 0 {
		t.Fatalf("%+v, want every event once", got)
	}
}

// After a 429 the next attempt waits for X-RateLimit-Reset: no busy loop.
func TestRateLimitedCallWaitsForTheReset(t *testing.T) {
	it.braze.Reset()
	it.braze.Inject(brazeemu.Fault{Path: brazeemu.PathTrack, Status: http.StatusTooManyRequests,
		ResetAfter: 4 * time.Second, Count: 1})
	defer it.braze.ClearFaults()
	ids := postEvents(t, it.endpoint, 1)
	waitAll(t, it.temporal, ids, time.Minute)

	reqs := it.braze.Requests()
	if len(reqs) != 2 || reqs[0].Status != http.StatusTooManyRequests {
		t.Fatalf("Braze saw %d requests, want the 429 and one retry", len(reqs))
	}
	// X-RateLimit-Reset has whole seconds: the retry may come up to a second
	// before now+4s.
	if gap := reqs[1].Time.Sub(reqs[0].Time); gap < 3*time.Second {
		t.Fatalf("retried %s after the 429, before the reset", gap)
	}
	report(t, "a 429 with the reset 4 s ahead", count(ids))
}

// Braze applies the call but answers after our timeout: the retry sends the
// event again, and Braze, which never deduplicates, stores it twice. The
// figure is reported; extole_event_id makes such duplicates visible in Braze.
func TestSlowAnswerAfterApplyingDuplicates(t *testing.T) {
	it.braze.Reset()
	it.braze.Inject(brazeemu.Fault{Path: brazeemu.PathTrack, Delay: 3 * time.Second, Apply: true,
		Count: 5})
	defer it.braze.ClearFaults()
	ids := postEvents(t, it.endpoint, 5)
	waitAll(t, it.temporal, ids, time.Minute)

	got := count(ids)
	report(t, "answers 1 s past the 2 s request timeout, after applying", got)
	if got.lost != 0 || got.delivered != len(ids) {
		t.Fatalf("%+v, want nothing lost", got)
	}
	if got.duplicated > len(ids) {
		t.Fatalf("%+v: more than one duplicate per timed-out call", got)
	}
}

// Braze's permanent refusals stop the sync, marked with the refusal so that
// an operator finds it; once the cause is fixed, a reset runs it again
// without Extole posting anything, and the event arrives once.
func TestRefusedSyncIsFoundAndRepaired(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 413} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			it.braze.Reset()
			it.braze.Inject(brazeemu.Fault{Path: brazeemu.PathTrack, Status: status})
			defer it.braze.ClearFaults()
			ids := postEvents(t, it.endpoint, 1)
			id := workflows.ID(ids[0])
			_, err := waitSync(t, ids[0])
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.NonRetryable() == false {
				t.Fatalf("sync error = %v, want a non-retryable Braze refusal", err)
			}
			refusal := appErr.Type()

			// The operator's query finds it.
			query := fmt.Sprintf(`BrazeRefusal = %q AND ExecutionStatus = "Failed" AND ExtoleEventID = %q`,
				refusal, ids[0])
			if !listed(t, query, id) {
				t.Fatalf("%s does not list the sync", query)
			}

			// The cause is fixed; the operator resets the sync.
			it.braze.ClearFaults()
			resetToStart(t, id)
			if _, err := waitSync(t, ids[0]); err != nil {
				t.Fatalf("after the reset: %v", err)
			}
			got := count(ids)
			report(t, fmt.Sprintf("Braze refusing with %d, then reset", status), got)
			if got.delivered != 1 || got.duplicated != 0 {
				t.Fatalf("%+v, want the event once", got)
			}
		})
	}
}

// listed reports whether a visibility query lists the workflow, waiting a
// little for visibility to catch up.
func listed(t *testing.T, query, workflowID string) bool {
	t.Helper()
	for range 50 {
		resp, err := it.temporal.ListWorkflow(context.Background(), listRequest(query))
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range resp.GetExecutions() {
			if ex.GetExecution().GetWorkflowId() == workflowID {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func listRequest(query string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Query: query}
}

// resetToStart re-runs a sync from its start, as the README tells an
// operator to, with the Temporal CLI.
func resetToStart(t *testing.T, workflowID string) {
	t.Helper()
	out, err := exec.Command(it.cli, "workflow", "reset", "--address", it.temporalAddr,
		"--workflow-id", workflowID, "--type", "FirstWorkflowTask", "--reason", "cause fixed").
		CombinedOutput()
	if err != nil {
		t.Fatalf("temporal workflow reset: %v\n%s", err, out)
	}
}
