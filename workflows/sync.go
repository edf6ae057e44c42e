// Package workflows holds the sync workflow: one execution per Extole event,
// whose history is the audit trail of what was looked up and sent to Braze.
package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/extole-braze/extole-braze/activities"
	"github.com/extole-braze/extole-braze/braze"
	"github.com/extole-braze/extole-braze/config"
	"github.com/extole-braze/extole-braze/extole"
	"github.com/extole-braze/extole-braze/person"
)

// Search attributes set on every sync, so that an operator finds a sync by
// what Extole reported. None holds personal data.
var (
	EventTypeKey = temporal.NewSearchAttributeKeyKeyword("ExtoleEventType")
	EventIDKey   = temporal.NewSearchAttributeKeyKeyword("ExtoleEventID")
	ProgramKey   = temporal.NewSearchAttributeKeyKeyword("ExtoleProgram")
)

// SyncEventName is the workflow type of SyncEvent, as the Temporal UI shows it.
const SyncEventName = "SyncEvent"

// ID is the workflow id of the sync of an Extole event. It depends on the
// event id alone, so that a redelivered event finds the sync already there.
func ID(eventID string) string {
	return "extole-event-" + eventID
}

// LookupQueue is the task queue of LookupUser activities, next to the sync's
// own queue: a queue of its own lets the server hold lookups to Braze's
// budget across all workers.
func LookupQueue(taskQueue string) string {
	return taskQueue + "-lookups"
}

// RefusalKey is set on a sync that Braze refused, to the error type (such as
// BrazeUnauthorized), so that an operator finds every sync a cause stopped.
var RefusalKey = temporal.NewSearchAttributeKeyKeyword("BrazeRefusal")

// Result is what a sync did, without personal data.
type Result struct {
	// Person says how the person was addressed: external_id, braze_id or
	// user_alias; empty when nothing had to be sent.
	Person       string `json:"person,omitempty"`
	AliasCreated bool   `json:"alias_created,omitempty"`
	Events       int    `json:"events"`
	Attributes   int    `json:"attributes"`
	// Superseded lists what the sync did not apply because a newer Extole
	// event had already set it: "subscription", "profile".
	Superseded []string `json:"superseded,omitempty"`
}

// brazeStep is how every Braze step runs: a timeout above the longest
// request a worker may make, after which the step is tried again (by
// another worker, when this one crashed), and retries with backoff for as
// long as Braze is down. Braze's refusals are non-retryable errors, so they
// end the retries at once.
var brazeStep = workflow.ActivityOptions{
	StartToCloseTimeout: config.MaxRequestTimeout + 10*time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    5 * time.Minute,
	},
}

// quickStep is how steps that only read this worker's memory or call
// Temporal run: as local activities, retried briefly.
var quickStep = workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second}

// SyncEvent applies one Extole event to Braze. It waits for its turn among
// the syncs of the same person, so that a person's events apply in Extole
// event-time order; drops what a newer event already set; resolves the
// person, creating an alias for a person Braze does not know; then tracks
// the events and attributes, or the subscription change, in one request.
func SyncEvent(ctx workflow.Context, in extole.Sync) (Result, error) {
	ctx = workflow.WithActivityOptions(ctx, brazeStep)

	applied, err := awaitTurn(ctx, in)
	if err != nil {
		return Result{}, err
	}

	plan, superseded := withoutSuperseded(in, applied)
	res, err := apply(ctx, plan)
	res.Superseded = superseded
	endTurn(ctx, in, plan, err == nil)
	if err != nil {
		recordRefusal(ctx, err)
		return Result{}, err
	}
	return res, nil
}

// apply sends the plan to Braze: resolve the person, then one track request.
func apply(ctx workflow.Context, plan extole.Sync) (Result, error) {
	if len(plan.Events) == 0 && len(plan.Attributes) == 0 {
		return Result{}, nil
	}
	logger := workflow.GetLogger(ctx)

	who, aliasCreated, err := resolvePerson(ctx, plan)
	if err != nil {
		return Result{}, err
	}
	logger.Info("person resolved", "person", who.Kind(), "alias_created", aliasCreated)

	var a *activities.Activities
	step := a.TrackEvents
	if plan.Subscription {
		step = a.UpdateSubscription
	}
	var tracked activities.TrackResult
	err = workflow.ExecuteActivity(ctx, step, trackRequest(plan, who)).Get(ctx, &tracked)
	if err != nil {
		return Result{}, err
	}
	return Result{
		Person:       who.Kind(),
		AliasCreated: aliasCreated,
		Events:       tracked.Events,
		Attributes:   tracked.Attributes,
	}, nil
}

// awaitTurn asks the person's workflow for this sync's turn and waits for
// it. The turn says what newer events have already applied.
func awaitTurn(ctx workflow.Context, in extole.Sync) (person.Turn, error) {
	info := workflow.GetInfo(ctx)
	start := person.Start{
		PersonWorkflowID: in.PersonWorkflowID,
		TaskQueue:        info.TaskQueueName,
		RememberFor:      in.RememberFor,
		Request: person.Request{
			WorkflowID: info.WorkflowExecution.ID,
			RunID:      info.WorkflowExecution.RunID,
			EventID:    in.EventID,
			EventTime:  in.EventTime,
		},
	}
	var o *activities.Ordering
	lctx := workflow.WithLocalActivityOptions(ctx, quickStep)
	request := func() error {
		return workflow.ExecuteLocalActivity(lctx, o.RequestTurn, start).Get(ctx, nil)
	}
	if err := request(); err != nil {
		return person.Turn{}, err
	}
	turns := workflow.GetSignalChannel(ctx, person.TurnSignal)
	var turn person.Turn
	if workflow.GetVersion(ctx, askAgainChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		turns.Receive(ctx, &turn)
		return turn, nil
	}
	for {
		if ok, _ := turns.ReceiveWithTimeout(ctx, askAgainEvery, &turn); ok {
			return turn, nil
		}
		if err := ctx.Err(); err != nil {
			return person.Turn{}, temporal.NewCanceledError()
		}
		// The person's workflow may be gone (an operator terminated it):
		// asking again starts a new one. A live one keeps its place in line.
		workflow.GetLogger(ctx).Info("still waiting for the turn; asking again",
			"person_workflow_id", in.PersonWorkflowID)
		if err := request(); err != nil {
			return person.Turn{}, err
		}
	}
}

// askAgainEvery is how often a sync that waits for its turn asks for it
// again, so that it never waits on a person's workflow that is gone.
const askAgainEvery = 10 * time.Minute

// askAgainChange marks, for Temporal's versioning, the syncs that ask again
// while they wait; syncs started before it wait as they did.
const askAgainChange = "ask-again-for-turn"

// endTurn tells the person's workflow that this sync is over, and which
// event times it applied. It runs even when the sync was canceled.
func endTurn(ctx workflow.Context, in, plan extole.Sync, ok bool) {
	info := workflow.GetInfo(ctx)
	done := person.Done{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID}
	if ok {
		if hasSubscription(plan.Attributes) {
			done.Subscription = in.EventTime
		}
		if hasProfile(plan.Attributes) {
			done.Profile = in.EventTime
		}
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	err := workflow.SignalExternalWorkflow(dctx, in.PersonWorkflowID, "", person.DoneSignal, done).
		Get(dctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("could not end the turn; the person's workflow frees it "+
			"once it sees this sync has ended", "error", err)
	}
}

// recordRefusal marks the sync with the type of the error that stopped it.
func recordRefusal(ctx workflow.Context, err error) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, RefusalKey.ValueSet(appErr.Type())); err != nil {
		workflow.GetLogger(ctx).Warn("could not record the refusal", "error", err)
	}
}

// Subscription attributes, ordered apart from the rest of the profile: an
// unsubscribe must not be undone by an older subscribe that arrives late.
var subscriptionFields = []string{"email_subscribe", "subscription_groups"}

func hasSubscription(attrs map[string]any) bool {
	for _, f := range subscriptionFields {
		if _, ok := attrs[f]; ok {
			return true
		}
	}
	return false
}

func hasProfile(attrs map[string]any) bool {
	n := 0
	for _, f := range subscriptionFields {
		if _, ok := attrs[f]; ok {
			n++
		}
	}
	return len(attrs) > n
}

// withoutSuperseded drops the attributes that an event with a later Extole
// time has already applied. Events are kept: Braze files each at its own
// time.
func withoutSuperseded(in extole.Sync, applied person.Turn) (extole.Sync, []string) {
	t := in.EventTime
	oldSubscription := hasSubscription(in.Attributes) && t.Before(applied.Subscription)
	oldProfile := hasProfile(in.Attributes) && t.Before(applied.Profile)
	if !oldSubscription && !oldProfile {
		return in, nil
	}
	var superseded []string
	attrs := make(map[string]any, len(in.Attributes))
	for k, v := range in.Attributes {
		isSubscription := slices.Contains(subscriptionFields, k)
		if isSubscription && oldSubscription || !isSubscription && oldProfile {
			continue
		}
		attrs[k] = v
	}
	if oldSubscription {
		superseded = append(superseded, "subscription")
	}
	if oldProfile {
		superseded = append(superseded, "profile")
	}
	if len(attrs) == 0 {
		attrs = nil
	}
	in.Attributes = attrs
	return in, superseded
}

// resolvePerson finds how to address the person in Braze: by the external id
// the event carries, else by the profile their email finds (remembered by
// this worker, or looked up in Braze), else by a new alias named by their
// email.
func resolvePerson(ctx workflow.Context, in extole.Sync) (braze.UserRef, bool, error) {
	if in.ExternalID != "" {
		return braze.UserRef{ExternalID: in.ExternalID}, false, nil
	}
	var a *activities.Activities

	var found activities.LookupResult
	cacheCtx := workflow.WithLocalActivityOptions(ctx, quickStep)
	if err := workflow.ExecuteLocalActivity(cacheCtx, a.CachedPerson, in.Email).Get(ctx, &found); err != nil {
		return braze.UserRef{}, false, err
	}
	if found.Found {
		return found.Person, false, nil
	}

	lookupCtx := workflow.WithTaskQueue(ctx, LookupQueue(workflow.GetInfo(ctx).TaskQueueName))
	if err := workflow.ExecuteActivity(lookupCtx, a.LookupUser, in.Email).Get(ctx, &found); err != nil {
		return braze.UserRef{}, false, err
	}
	if found.Found {
		return found.Person, false, nil
	}

	alias := braze.Alias{Name: in.Email, Label: in.AliasLabel}
	if err := workflow.ExecuteActivity(ctx, a.CreateAlias, alias).Get(ctx, nil); err != nil {
		return braze.UserRef{}, false, err
	}
	return braze.UserRef{Alias: &alias}, true, nil
}

// trackRequest addresses the sync's events and attributes to the person.
// Through an alias, the attributes may create the alias-only profile, so
// that nothing waits on Braze having processed the new alias.
func trackRequest(in extole.Sync, person braze.UserRef) braze.TrackRequest {
	var req braze.TrackRequest
	if len(in.Attributes) > 0 {
		attrs := braze.Attributes{UserRef: person, Fields: in.Attributes}
		if person.Alias != nil {
			createProfile := false
			attrs.UpdateExistingOnly = &createProfile
		}
		req.Attributes = []braze.Attributes{attrs}
	}
	for _, e := range in.Events {
		e.UserRef = person
		req.Events = append(req.Events, e)
	}
	return req
}
