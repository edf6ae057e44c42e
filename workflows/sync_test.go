package workflows_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/extole-braze/extole-braze/activities"
	"github.com/extole-braze/extole-braze/braze"
	"github.com/extole-braze/extole-braze/extole"
	"github.com/extole-braze/extole-braze/person"
	"github.com/extole-braze/extole-braze/workflows"
)

// taskQueue is the sync's own task queue in these tests; LookupUser must run
// on workflows.LookupQueue(taskQueue) and nowhere else.
const taskQueue = "extole-braze-test"

const (
	email      = "ada@example.com"
	aliasLabel = "extole_email"
)

// syncID is the workflow id of the sync under test, and personID that of its
// person's workflow.
const (
	syncID   = "extole-event-test"
	personID = "extole-person-test"
)

// eventTime is when the event happened in Extole, with the milliseconds
// Extole reports, so that a rounded or replaced time shows.
var eventTime = time.Date(2024, 5, 1, 12, 0, 3, 250_000_000, time.UTC)

// harness runs SyncEvent with every Braze step mocked, and records each step
// as it starts: its name and where it ran. It plays the person's workflow
// too: it grants the turn as soon as the sync asks, and records how the sync
// ends it.
type harness struct {
	env *testsuite.TestWorkflowEnvironment
	a   *activities.Activities
	// turn is what the person's workflow grants: the event times already
	// applied. Set it before the sync runs.
	turn person.Turn

	mu       sync.Mutex
	steps    []string
	requests []person.Start
	dones    []signalled
}

// signalled is a signal the sync sent to another workflow.
type signalled struct {
	workflowID, runID string
	done              person.Done
}

// Steps that are not activities on a task queue: asking for the turn, and
// ending it.
const (
	requestTurn = "RequestTurn (local)"
	endTurn     = "signal " + person.DoneSignal
)

func newHarness(t *testing.T) *harness {
	t.Helper()
	// A step that is not mocked would reach this server and fail the test,
	// and the sync with it: a 400 is not retried.
	unexpected := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected Braze request: %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusBadRequest)
	}))
	t.Cleanup(unexpected.Close)
	bc, err := braze.New(unexpected.URL, "test-key", nil)
	require.NoError(t, err)

	var suite testsuite.WorkflowTestSuite
	h := &harness{env: suite.NewTestWorkflowEnvironment(), a: activities.New(bc, time.Minute)}
	h.env.RegisterActivity(h.a)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: syncID, TaskQueue: taskQueue})
	// Pin each step to its queue: a step scheduled on another queue finds no
	// worker, as it would with real workers.
	h.env.SetActivityTaskQueue(workflows.LookupQueue(taskQueue), h.a.LookupUser)
	h.env.SetActivityTaskQueue(taskQueue, h.a.CreateAlias, h.a.TrackEvents, h.a.UpdateSubscription)
	h.env.SetOnActivityStartedListener(
		func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
			h.record(info.ActivityType.Name + " on " + info.TaskQueue)
		})
	h.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		h.record(info.ActivityType.Name + " (local)")
	})
	h.playPerson()
	return h
}

// playPerson answers the sync's request for a turn with h.turn, and records
// the Done that ends the turn.
func (h *harness) playPerson() {
	o := activities.NewOrdering(nil)
	h.env.RegisterActivity(o)
	h.env.OnActivity(o.RequestTurn, mock.Anything, mock.Anything).Return(
		func(_ context.Context, s person.Start) error {
			h.mu.Lock()
			h.requests = append(h.requests, s)
			turn := h.turn
			h.mu.Unlock()
			h.env.SignalWorkflow(person.TurnSignal, turn)
			return nil
		}).Once()
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything,
		person.DoneSignal, mock.Anything).Return(
		func(_, workflowID, runID, _ string, arg any) error {
			h.record(endTurn)
			h.mu.Lock()
			defer h.mu.Unlock()
			h.dones = append(h.dones, signalled{workflowID, runID, arg.(person.Done)})
			return nil
		}).Once()
}

func (h *harness) record(step string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.steps = append(h.steps, step)
}

// ran returns the steps started so far, in order, one per attempt.
func (h *harness) ran() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.steps...)
}

// applied is what a sync reports as applied when it ends its turn: its event
// time for the subscription, the profile, both or neither.
type applied struct {
	Subscription, Profile time.Time
}

// endedTurn returns what the sync reported when it ended its turn, checking
// that it ended, once, the turn it asked for, with the person's workflow.
func (h *harness) endedTurn(t *testing.T) applied {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.requests, 1, "requests for a turn")
	require.Len(t, h.dones, 1, "ends of the turn")
	asked, ended := h.requests[0], h.dones[0]
	require.Equal(t, asked.PersonWorkflowID, ended.workflowID, "the Done goes to the person")
	require.Empty(t, ended.runID, "the Done goes to whichever run of the person is current")
	require.Equal(t, asked.Request.WorkflowID, ended.done.WorkflowID)
	require.Equal(t, asked.Request.RunID, ended.done.RunID)
	return applied{Subscription: ended.done.Subscription, Profile: ended.done.Profile}
}

// run executes the sync and returns its result, failing the test if it
// failed.
func (h *harness) run(t *testing.T, in extole.Sync) workflows.Result {
	t.Helper()
	h.env.ExecuteWorkflow(workflows.SyncEvent, in)
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	h.env.AssertExpectations(t)
	var res workflows.Result
	require.NoError(t, h.env.GetWorkflowResult(&res))
	return res
}

// mockCache answers CachedPerson for the email.
func (h *harness) mockCache(found activities.LookupResult) {
	h.env.OnActivity(h.a.CachedPerson, mock.Anything, email).Return(found, nil).Once()
}

// mockLookup answers LookupUser for the email.
func (h *harness) mockLookup(found activities.LookupResult) {
	h.env.OnActivity(h.a.LookupUser, mock.Anything, email).Return(found, nil).Once()
}

// mockTrack answers a track step (TrackEvents or UpdateSubscription) with
// one event and one attributes object processed, and returns the request
// it received, as JSON, once the sync has run.
func (h *harness) mockTrack(t *testing.T, step any) func() string {
	var (
		mu  sync.Mutex
		got []byte
	)
	h.env.OnActivity(step, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req braze.TrackRequest) (activities.TrackResult, error) {
			b, err := json.Marshal(req)
			require.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			got = b
			return activities.TrackResult{Events: len(req.Events), Attributes: len(req.Attributes)}, nil
		}).Once()
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return string(got)
	}
}

// sharedSync is the sync of a "shared" event whose person is known by email
// alone.
func sharedSync() extole.Sync {
	return extole.Sync{
		EventID:          "evt-1",
		EventType:        extole.TypeShared,
		EventTime:        eventTime,
		Program:          "spring",
		Email:            email,
		AliasLabel:       aliasLabel,
		PersonWorkflowID: personID,
		RememberFor:      rememberFor,
		Events: []braze.Event{{
			Name: "extole_shared",
			Time: eventTime,
			Properties: map[string]any{
				"extole_event_id": "evt-1",
				"partner":         extole.Partner,
				"program":         "spring",
				"share_channel":   "EMAIL",
			},
		}},
		Attributes: map[string]any{"email": email, "first_name": "Ada"},
	}
}

// wantShared is the /users/track body for sharedSync, with the person given
// as the JSON members that address them, in the attributes and the event
// alike.
func wantShared(person string) string {
	return `{
		"attributes": [{` + person + `, "email": "ada@example.com", "first_name": "Ada"}],
		"events": [{` + person + `,
			"name": "extole_shared",
			"time": "2024-05-01T12:00:03.25Z",
			"properties": {
				"extole_event_id": "evt-1",
				"partner": "Extole",
				"program": "spring",
				"share_channel": "EMAIL"
			}
		}]
	}`
}

// rememberFor is the dedupe window the syncs pass to their person's workflow.
const rememberFor = 8 * 24 * time.Hour

var (
	onMain   = " on " + taskQueue
	onLookup = " on " + workflows.LookupQueue(taskQueue)
)

func TestSyncEventKnownExternalIDIsTrackedAtOnce(t *testing.T) {
	h := newHarness(t)
	tracked := h.mockTrack(t, h.a.TrackEvents)
	in := sharedSync()
	in.ExternalID = "u-42"

	res := h.run(t, in)

	require.Equal(t, []string{"TrackEvents" + onMain}, h.ran())
	require.JSONEq(t, wantShared(`"external_id": "u-42"`), tracked())
	require.Equal(t, workflows.Result{Person: "external_id", Events: 1, Attributes: 1}, res)
}

func TestSyncEventCachedPersonSkipsLookup(t *testing.T) {
	h := newHarness(t)
	h.mockCache(activities.LookupResult{
		Found: true, Person: braze.UserRef{ExternalID: "u-7"}, Cached: true,
	})
	tracked := h.mockTrack(t, h.a.TrackEvents)

	res := h.run(t, sharedSync())

	require.Equal(t, []string{"CachedPerson (local)", "TrackEvents" + onMain}, h.ran())
	require.JSONEq(t, wantShared(`"external_id": "u-7"`), tracked())
	require.Equal(t, workflows.Result{Person: "external_id", Events: 1, Attributes: 1}, res)
}

func TestSyncEventLookupFindsExternalID(t *testing.T) {
	h := newHarness(t)
	h.mockCache(activities.LookupResult{})
	h.mockLookup(activities.LookupResult{Found: true, Person: braze.UserRef{ExternalID: "u-9"}})
	tracked := h.mockTrack(t, h.a.TrackEvents)

	res := h.run(t, sharedSync())

	require.Equal(t, []string{
		"CachedPerson (local)",
		"LookupUser" + onLookup,
		"TrackEvents" + onMain,
	}, h.ran())
	require.JSONEq(t, wantShared(`"external_id": "u-9"`), tracked())
	require.Equal(t, workflows.Result{Person: "external_id", Events: 1, Attributes: 1}, res)
}

func TestSyncEventLookupFindsBrazeIDOnly(t *testing.T) {
	h := newHarness(t)
	h.mockCache(activities.LookupResult{})
	h.mockLookup(activities.LookupResult{Found: true, Person: braze.UserRef{BrazeID: "b-123"}})
	tracked := h.mockTrack(t, h.a.TrackEvents)

	res := h.run(t, sharedSync())

	require.Equal(t, []string{
		"CachedPerson (local)",
		"LookupUser" + onLookup,
		"TrackEvents" + onMain,
	}, h.ran())
	require.JSONEq(t, wantShared(`"braze_id": "b-123"`), tracked())
	require.Equal(t, workflows.Result{Person: "braze_id", Events: 1, Attributes: 1}, res)
}

func TestSyncEventUnknownPersonGetsAlias(t *testing.T) {
	h := newHarness(t)
	h.mockCache(activities.LookupResult{})
	h.mockLookup(activities.LookupResult{})
	var (
		mu      sync.Mutex
		created []braze.Alias
	)
	h.env.OnActivity(h.a.CreateAlias, mock.Anything, mock.Anything).Return(
		func(_ context.Context, alias braze.Alias) error {
			mu.Lock()
			defer mu.Unlock()
			created = append(created, alias)
			return nil
		}).Once()
	tracked := h.mockTrack(t, h.a.TrackEvents)

	res := h.run(t, sharedSync())

	require.Equal(t, []string{
		"CachedPerson (local)",
		"LookupUser" + onLookup,
		"CreateAlias" + onMain,
		"TrackEvents" + onMain,
	}, h.ran())
	mu.Lock()
	require.Equal(t, []braze.Alias{{Name: email, Label: aliasLabel}}, created)
	mu.Unlock()
	// The attributes may create the alias-only profile; the event only
	// names it.
	require.JSONEq(t, `{
		"attributes": [{
			"user_alias": {"alias_name": "ada@example.com", "alias_label": "extole_email"},
			"_update_existing_only": false,
			"email": "ada@example.com",
			"first_name": "Ada"
		}],
		"events": [{
			"user_alias": {"alias_name": "ada@example.com", "alias_label": "extole_email"},
			"name": "extole_shared",
			"time": "2024-05-01T12:00:03.25Z",
			"properties": {
				"extole_event_id": "evt-1",
				"partner": "Extole",
				"program": "spring",
				"share_channel": "EMAIL"
			}
		}]
	}`, tracked())
	require.Equal(t, workflows.Result{
		Person: "user_alias", AliasCreated: true, Events: 1, Attributes: 1,
	}, res)
}

func TestSyncEventSubscriptionUsesUpdateSubscription(t *testing.T) {
	h := newHarness(t)
	tracked := h.mockTrack(t, h.a.UpdateSubscription)
	in := extole.Sync{
		EventID:      "evt-2",
		EventType:    extole.TypeUnsubscribed,
		ExternalID:   "u-42",
		Email:        email,
		AliasLabel:   aliasLabel,
		Subscription: true,
		Events: []braze.Event{{
			Name: "extole_unsubscribed",
			Time: eventTime,
			Properties: map[string]any{
				"extole_event_id":       "evt-2",
				"partner":               extole.Partner,
				"subscription_state":    "unsubscribed",
				"subscription_group_id": "grp-1",
			},
		}},
		Attributes: map[string]any{
			"email": email,
			"subscription_groups": []map[string]any{
				{"subscription_group_id": "grp-1", "subscription_state": "unsubscribed"},
			},
		},
	}

	res := h.run(t, in)

	require.Equal(t, []string{"UpdateSubscription" + onMain}, h.ran())
	require.JSONEq(t, `{
		"attributes": [{
			"external_id": "u-42",
			"email": "ada@example.com",
			"subscription_groups": [
				{"subscription_group_id": "grp-1", "subscription_state": "unsubscribed"}
			]
		}],
		"events": [{
			"external_id": "u-42",
			"name": "extole_unsubscribed",
			"time": "2024-05-01T12:00:03.25Z",
			"properties": {
				"extole_event_id": "evt-2",
				"partner": "Extole",
				"subscription_state": "unsubscribed",
				"subscription_group_id": "grp-1"
			}
		}]
	}`, tracked())
	require.Equal(t, workflows.Result{Person: "external_id", Events: 1, Attributes: 1}, res)
}

func TestSyncEventRetriesWhileBrazeIsUnavailable(t *testing.T) {
	h := newHarness(t)
	var (
		mu       sync.Mutex
		attempts []int32
	)
	h.env.OnActivity(h.a.TrackEvents, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, _ braze.TrackRequest) (activities.TrackResult, error) {
			attempt := activity.GetInfo(ctx).Attempt
			mu.Lock()
			attempts = append(attempts, attempt)
			mu.Unlock()
			if attempt < 3 {
				return activities.TrackResult{}, temporal.NewApplicationError(
					"braze: track: 503 service unavailable", braze.KindUnavailable)
			}
			return activities.TrackResult{Events: 1, Attributes: 1}, nil
		})
	in := sharedSync()
	in.ExternalID = "u-42"

	res := h.run(t, in)

	mu.Lock()
	require.Equal(t, []int32{1, 2, 3}, attempts)
	mu.Unlock()
	require.Equal(t, []string{
		"TrackEvents" + onMain, "TrackEvents" + onMain, "TrackEvents" + onMain,
	}, h.ran())
	require.Equal(t, workflows.Result{Person: "external_id", Events: 1, Attributes: 1}, res)
}

// requireFailedBy checks that the sync failed, through the named step, with
// a non-retryable application error of the kind.
func requireFailedBy(t *testing.T, h *harness, step, kind string) {
	t.Helper()
	require.True(t, h.env.IsWorkflowCompleted())
	err := h.env.GetWorkflowError()
	require.Error(t, err)
	var actErr *temporal.ActivityError
	require.ErrorAs(t, err, &actErr)
	require.Equal(t, step, actErr.ActivityType().Name)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, kind, appErr.Type())
	require.True(t, appErr.NonRetryable())
}

func TestSyncEventFailsAtOnceWhenBrazeRefuses(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(h.a.TrackEvents, mock.Anything, mock.Anything).Return(
		activities.TrackResult{},
		temporal.NewNonRetryableApplicationError(
			"braze: track: 401 unauthorized", braze.KindUnauthorized, nil),
	).Once()
	in := sharedSync()
	in.ExternalID = "u-42"

	h.env.ExecuteWorkflow(workflows.SyncEvent, in)

	requireFailedBy(t, h, "TrackEvents", braze.KindUnauthorized)
	require.Equal(t, []string{"TrackEvents" + onMain}, h.ran())
	h.env.AssertExpectations(t)
}

func TestSyncEventLookupRefusalFailsWithoutTracking(t *testing.T) {
	h := newHarness(t)
	h.mockCache(activities.LookupResult{})
	h.env.OnActivity(h.a.LookupUser, mock.Anything, email).Return(
		activities.LookupResult{},
		temporal.NewNonRetryableApplicationError(
			"braze: export ids: 403 forbidden", braze.KindForbidden, nil),
	).Once()

	h.env.ExecuteWorkflow(workflows.SyncEvent, sharedSync())

	requireFailedBy(t, h, "LookupUser", braze.KindForbidden)
	require.Equal(t, []string{"CachedPerson (local)", "LookupUser" + onLookup}, h.ran())
	h.env.AssertExpectations(t)
}
