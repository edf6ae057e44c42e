//go:build integration

package integration

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/extole-braze/extole-braze/brazeemu"
	"github.com/extole-braze/extole-braze/person"
	"github.com/extole-braze/extole-braze/workflows"
)

// Histories written by a real server replay against the workflow code, each
// path of the sync at least once. With RECORD_HISTORIES=<dir> the histories
// are also written there, for the replay test of the workflows package.
func TestRealHistoriesReplay(t *testing.T) {
	scenarios := []struct {
		name    string
		prepare func()
		body    func(t *testing.T) map[string]any
	}{
		{"external-id", nil, func(t *testing.T) map[string]any {
			return event(t, "converted", map[string]any{"partner_user_id": "replay-1",
				"data": map[string]any{"cart_value": 10}})
		}},
		{"new-person-alias", nil, func(t *testing.T) map[string]any {
			return event(t, "subscribed", map[string]any{"email": "replay-new@example.com"})
		}},
		{"cached-person", nil, func(t *testing.T) map[string]any {
			return event(t, "unsubscribed", map[string]any{"email": "replay-new@example.com"})
		}},
		{"braze-outage-retried", func() {
			it.braze.Inject(brazeemu.Fault{Path: brazeemu.PathTrack, Status: http.StatusBadGateway, Count: 1})
		}, func(t *testing.T) map[string]any {
			return event(t, "shared", map[string]any{"partner_user_id": "replay-2"})
		}},
		{"superseded-subscription", nil, func(t *testing.T) map[string]any {
			// Older than the unsubscribe of the same person below.
			b := event(t, "subscribed", map[string]any{"email": "replay-new@example.com"})
			b["event_time"] = "2020-01-01T00:00:00Z"
			return b
		}},
		{"braze-refusal", func() {
			it.braze.Inject(brazeemu.Fault{Path: brazeemu.PathTrack, Status: http.StatusForbidden, Count: 1})
		}, func(t *testing.T) map[string]any {
			return event(t, "reward_fulfilled", map[string]any{"partner_user_id": "replay-3"})
		}},
	}
	opts := withCodec(client.Options{})
	replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
		DataConverter:    opts.DataConverter,
		FailureConverter: opts.FailureConverter,
	})
	if err != nil {
		t.Fatal(err)
	}
	replayer.RegisterWorkflowWithOptions(workflows.SyncEvent,
		workflow.RegisterOptions{Name: workflows.SyncEventName})
	replayer.RegisterWorkflowWithOptions(workflows.Person,
		workflow.RegisterOptions{Name: person.WorkflowName})
	record := os.Getenv("RECORD_HISTORIES")

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			it.braze.Reset()
			defer it.braze.ClearFaults()
			if sc.prepare != nil {
				sc.prepare()
			}
			body := sc.body(t)
			id := body["event_id"].(string)
			if status, answer := post(t, mustJSON(t, body)); status != http.StatusOK {
				t.Fatalf("%d %v", status, answer)
			}
			_, _ = waitSync(t, id)

			replay(t, replayer, workflows.ID(id), sc.name, record)
		})
	}
	// The person's workflow of the email used above, which has granted
	// several turns by now.
	personID := person.WorkflowID([]byte(personIDKey), "email", "replay-new@example.com")
	replay(t, replayer, personID, "person", record)
}

// replay replays a workflow's history, and records it when record names a
// folder.
func replay(t *testing.T, replayer worker.WorkflowReplayer, workflowID, name, record string) {
	t.Helper()
	hist := history(t, workflowID)
	if err := replayer.ReplayWorkflowHistory(nil, hist); err != nil {
		t.Fatalf("replay %s: %v", name, err)
	}
	if record == "" {
		return
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(record, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func history(t *testing.T, workflowID string) *historypb.History {
	t.Helper()
	iter := it.temporal.GetWorkflowHistory(context.Background(), workflowID, "", false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	return hist
}
