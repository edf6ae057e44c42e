// Package workflows holds the sync workflow: one execution per Extole event,
// whose history is the audit trail of what was looked up and sent to Braze.
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/extole-braze/extole-braze/activities"
	"github.com/extole-braze/extole-braze/braze"
	"github.com/extole-braze/extole-braze/extole"
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

// Result is what a sync did, without personal data.
type Result struct {
	// Person says how the person was addressed: external_id, braze_id or
	// user_alias.
	Person       string `json:"person"`
	AliasCreated bool   `json:"alias_created,omitempty"`
	Events       int    `json:"events"`
	Attributes   int    `json:"attributes"`
}

// brazeStep is how every Braze step runs: a timeout above the client's own
// request timeout, and retries with backoff for as long as Braze is down.
// Braze's refusals are non-retryable errors, so they end the retries at once.
var brazeStep = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    5 * time.Minute,
	},
}

// cacheStep is how the in-memory identity cache is read: at once, or not at
// all.
var cacheStep = workflow.LocalActivityOptions{StartToCloseTimeout: 5 * time.Second}

// SyncEvent applies one Extole event to Braze: it resolves the person, creates
// an alias for a person Braze does not know, then tracks the events and
// attributes, or the subscription change, in one request.
func SyncEvent(ctx workflow.Context, in extole.Sync) (Result, error) {
	ctx = workflow.WithActivityOptions(ctx, brazeStep)
	logger := workflow.GetLogger(ctx)

	person, aliasCreated, err := resolvePerson(ctx, in)
	if err != nil {
		return Result{}, err
	}
	logger.Info("person resolved", "person", person.Kind(), "alias_created", aliasCreated)

	var a *activities.Activities
	step := a.TrackEvents
	if in.Subscription {
		step = a.UpdateSubscription
	}
	var tracked activities.TrackResult
	err = workflow.ExecuteActivity(ctx, step, trackRequest(in, person)).Get(ctx, &tracked)
	if err != nil {
		return Result{}, err
	}

	return Result{
		Person:       person.Kind(),
		AliasCreated: aliasCreated,
		Events:       tracked.Events,
		Attributes:   tracked.Attributes,
	}, nil
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
	cacheCtx := workflow.WithLocalActivityOptions(ctx, cacheStep)
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
