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
	// Superseded lists the keys (see person.Keys) the sync did not apply
	// because a newer Extole event had already set them, sorted:
	// "email", "subscription_groups:<id>", ...
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

	if workflow.GetVersion(ctx, perKeyChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		// A sync that began before times were kept by key drops by kind
		// alone, as it did then.
		applied.Fields = nil
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

// perKeyChange marks, for Temporal's versioning, the syncs that drop what a
// newer event applied by key (person.Turn's Fields); syncs that chose what to
// drop before it drop by kind alone, as they did, whatever the turn held.
const perKeyChange = "supersede-per-key"

// endTurn tells the person's workflow that this sync is over, and which
// keys it applied at its event time: those of the plan, when the sync
// succeeded. It runs even when the sync was canceled.
func endTurn(ctx workflow.Context, in, plan extole.Sync, ok bool) {
	info := workflow.GetInfo(ctx)
	done := person.Done{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID}
	if keys := person.Keys(plan.Attributes); ok && len(keys) > 0 {
		done.Fields = make(map[string]time.Time, len(keys))
		for _, k := range keys {
			done.Fields[k] = in.EventTime
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

// subscriptionFields are the attributes of the person's subscription, which
// syncs that predate per-key times reported apart from the rest of the
// profile (person.Turn's Subscription and Profile).
var subscriptionFields = []string{"email_subscribe", person.GroupsAttribute}

// withoutSuperseded drops the attributes that an event with a later Extole
// time has already applied, and returns the keys it dropped, sorted. A key
// is dropped when the turn's time for it is later than the event's, or when
// the turn's time for its kind is (the times of syncs that predate per-key
// times: Subscription for email_subscribe and subscription_groups, Profile
// for the rest). The entries of subscription_groups are dropped one by one,
// each by its group's key, and the attribute with the last of them. Events
// are kept: Braze files each at its own time.
func withoutSuperseded(in extole.Sync, applied person.Turn) (extole.Sync, []string) {
	superseded := func(name, key string) bool {
		kind := applied.Profile
		if slices.Contains(subscriptionFields, name) {
			kind = applied.Subscription
		}
		return applied.Fields[key].After(in.EventTime) || kind.After(in.EventTime)
	}
	var dropped []string
	attrs := make(map[string]any, len(in.Attributes))
	for name, v := range in.Attributes {
		var keys []string
		perGroup := false
		if name == person.GroupsAttribute {
			keys, perGroup = person.GroupKeys(v)
		}
		if !perGroup {
			if superseded(name, name) {
				dropped = append(dropped, name)
			} else {
				attrs[name] = v
			}
			continue
		}
		var kept []any
		for i, entry := range v.([]any) {
			if superseded(name, keys[i]) {
				dropped = append(dropped, keys[i])
			} else {
				kept = append(kept, entry)
			}
		}
		if len(kept) > 0 {
			attrs[name] = kept
		}
	}
	if len(dropped) == 0 {
		return in, nil
	}
	slices.Sort(dropped)
	if len(attrs) == 0 {
		attrs = nil
	}
	in.Attributes = attrs
	return in, slices.Compact(dropped)
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
