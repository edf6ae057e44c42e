package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/extole-braze/extole-braze/codec"
	"github.com/extole-braze/extole-braze/person"
	"github.com/extole-braze/extole-braze/workflows"
)

// historiesGlob finds the histories a real Temporal server wrote for syncs
// and persons' workflows, as JSON (temporal workflow show --output json, or
// the integration tests with RECORD_HISTORIES set).
const historiesGlob = "testdata/histories/*.json"

// TestSyncEventReplaysRecordedHistories replays every recorded history
// against the workflow code as it is now: a change that would break the
// syncs, or the persons' workflows, running in production fails here with a
// nondeterminism error.
func TestSyncEventReplaysRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(historiesGlob)
	if err != nil {
		t.Fatalf("glob %s: %v", historiesGlob, err)
	}
	if len(files) == 0 {
		t.Fatalf("no history matches %s: record some from a real Temporal server, "+
			"since a replay test without histories proves nothing", historiesGlob)
	}

	replayer, err := worker.NewWorkflowReplayerWithOptions(replayerOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	replayer.RegisterWorkflowWithOptions(workflows.SyncEvent,
		workflow.RegisterOptions{Name: workflows.SyncEventName})
	replayer.RegisterWorkflowWithOptions(workflows.Person,
		workflow.RegisterOptions{Name: person.WorkflowName})
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatalf("replay %s: %v", file, err)
			}
		})
	}
}

// recordingKeys are the payload keys of the integration tests, which record
// the histories: payloads recorded encrypted decrypt with them, and those
// recorded before encryption read as they are.
const recordingKeys = "it-1:aW50ZWdyYXRpb24tcGF5bG9hZC1rZXktMzItYnl0ZXM="

func replayerOptions(t *testing.T) worker.WorkflowReplayerOptions {
	t.Helper()
	keys, err := codec.ParseKeys(recordingKeys)
	if err != nil {
		t.Fatal(err)
	}
	dc := codec.DataConverter(keys)
	return worker.WorkflowReplayerOptions{DataConverter: dc, FailureConverter: codec.FailureConverter(dc)}
}
