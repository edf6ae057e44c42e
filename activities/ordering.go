package activities

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/extole-braze/extole-braze/person"
)

// Ordering holds the steps that let the syncs of one person take turns,
// through the person's workflow. They call Temporal, not Braze.
type Ordering struct {
	client client.Client
}

// NewOrdering returns the ordering steps, calling Temporal through c.
func NewOrdering(c client.Client) *Ordering {
	return &Ordering{client: c}
}

// RequestTurn asks the person's workflow for a turn, starting the workflow
// when the person has none running.
func (o *Ordering) RequestTurn(ctx context.Context, s person.Start) error {
	_, err := o.client.SignalWithStartWorkflow(ctx, s.PersonWorkflowID, person.RequestSignal,
		s.Request, client.StartWorkflowOptions{ID: s.PersonWorkflowID, TaskQueue: s.TaskQueue},
		person.WorkflowName, person.State{RememberFor: s.RememberFor})
	if err != nil {
		return fmt.Errorf("request a turn of %s: %w", s.PersonWorkflowID, err)
	}
	return nil
}

// SyncRunning reports whether the given run of a sync is still running.
func (o *Ordering) SyncRunning(ctx context.Context, workflowID, runID string) (bool, error) {
	resp, err := o.client.DescribeWorkflowExecution(ctx, workflowID, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe %s: %w", workflowID, err)
	}
	info := resp.GetWorkflowExecutionInfo()
	return info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING &&
		info.GetExecution().GetRunId() == runID, nil
}
