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
	"go.temporal.io/sdk/workflow"

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
	// unanswered is how many requests for a turn go unanswered, as when the
	// person's workflow is gone, before one is granted.
	unanswered int

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
			answer := h.unanswered == 0
			h.unanswered--
			h.mu.Unlock()
			if answer {
				h.env.SignalWorkflow(person.TurnSignal, turn)
			}
			return nil
		})
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

// applied is what a sync reports as applied when it ends its turn: the
// event time at each key it applied; nil when none.
type applied map[string]time.Time

// appliedAt is what a sync that applied the keys at the time reports.
func appliedAt(at time.Time, keys ...string) applied {
	a := applied{}
	for _, k := range keys {
		a[k] = at
	}
	return a
}

// asked returns the sync's request for a turn, checking there was one.
func (h *harness) asked(t *testing.T) person.Start {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.requests, 1, "requests for a turn")
	return h.requests[0]
}

// endedTurn returns what the sync reported when it ended its turn, checking
// that it ended, once, the turn it asked for, with the person's workflow,
// and reported no time by kind, as syncs did before times by key.
func (h *harness) endedTurn(t *testing.T) applied {
	t.Helper()
	asked := h.asked(t)
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.dones, 1, "ends of the turn")
	ended := h.dones[0]
	require.Equal(t, asked.PersonWorkflowID, ended.workflowID, "the Done goes to the person")
	require.Empty(t, ended.runID, "the Done goes to whichever run of the person is current")
	require.Equal(t, asked.Request.WorkflowID, ended.done.WorkflowID)
	require.Equal(t, asked.Request.RunID, ended.done.RunID)
	require.Zero(t, ended.done.Subscription, "times by kind")
	require.Zero(t, ended.done.Profile, "times by kind")
	return applied(ended.done.Fields)
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

func TestSyncEventAsksThePersonsWorkflowForATurn(t *testing.T) {
	h := newHarness(t)
	h.mockTrack(t, h.a.TrackEvents)
	in := sharedSync()
	in.ExternalID = "u-42"

	h.run(t, in)

	asked := h.asked(t)
	require.NotEmpty(t, asked.Request.RunID)
	asked.Request.RunID = ""
	require.Equal(t, person.Start{
		PersonWorkflowID: personID,
		TaskQueue:        taskQueue,
		RememberFor:      rememberFor,
		Request: person.Request{
			WorkflowID: syncID,
			EventID:    "evt-1",
			EventTime:  eventTime,
		},
	}, asked)
}

// A sync whose request goes unanswered (its person's workflow was
// terminated, say) asks again every ten minutes, and runs once granted.
func TestSyncEventAsksAgainWhileItWaits(t *testing.T) {
	h := newHarness(t)
	h.unanswered = 2
	h.mockTrack(t, h.a.TrackEvents)
	in := sharedSync()
	in.ExternalID = "u-42"
	began := h.env.Now()

	h.run(t, in)

	require.Equal(t, []string{requestTurn, requestTurn, requestTurn, "TrackEvents" + onMain, endTurn},
		h.ran())
	require.Equal(t, 20*time.Minute, h.env.Now().Sub(began).Truncate(time.Minute))
}

func TestSyncEventKnownExternalIDIsTrackedAtOnce(t *testing.T) {
	h := newHarness(t)
	tracked := h.mockTrack(t, h.a.TrackEvents)
	in := sharedSync()
	in.ExternalID = "u-42"

	res := h.run(t, in)

	require.Equal(t, []string{requestTurn, "TrackEvents" + onMain, endTurn}, h.ran())
	require.JSONEq(t, wantShared(`"external_id": "u-42"`), tracked())
	require.Equal(t, workflows.Result{Person: "external_id", Events: 1, Attributes: 1}, res)
	require.Equal(t, appliedAt(eventTime, "email", "first_name"), h.endedTurn(t))
}

// A person known by email alone is addressed as this worker remembers them,
// without a lookup, or else as Braze's lookup finds them.
func TestSyncEventAddressesAPersonFoundByEmail(t *testing.T) {
	tests := []struct {
		name   string
		cached activities.LookupResult
		// lookup is Braze's answer; nil when no lookup may run.
		lookup *activities.LookupResult
		steps  []string
		// member addresses the person in the track request.
		member string
		kind   string
	}{
		{
			name: "remembered by this worker",
			cached: activities.LookupResult{
				Found: true, Person: braze.UserRef{ExternalID: "u-7"}, Cached: true,
			},
			steps:  []string{requestTurn, "CachedPerson (local)", "TrackEvents" + onMain, endTurn},
			member: `"external_id": "u-7"`,
			kind:   "external_id",
		},
		{
			name:   "found by Braze with an external id",
			lookup: &activities.LookupResult{Found: true, Person: braze.UserRef{ExternalID: "u-9"}},
			steps: []string{requestTurn, "CachedPerson (local)", "LookupUser" + onLookup,
				"TrackEvents" + onMain, endTurn},
			member: `"external_id": "u-9"`,
			kind:   "external_id",
		},
		{
			name:   "found by Braze with a Braze id only",
			lookup: &activities.LookupResult{Found: true, Person: braze.UserRef{BrazeID: "b-123"}},
			steps: []string{requestTurn, "CachedPerson (local)", "LookupUser" + onLookup,
				"TrackEvents" + onMain, endTurn},
			member: `"braze_id": "b-123"`,
			kind:   "braze_id",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.mockCache(tt.cached)
			if tt.lookup != nil {
				h.mockLookup(*tt.lookup)
			}
			tracked := h.mockTrack(t, h.a.TrackEvents)

			res := h.run(t, sharedSync())

			require.Equal(t, tt.steps, h.ran())
			require.JSONEq(t, wantShared(tt.member), tracked())
			require.Equal(t, workflows.Result{Person: tt.kind, Events: 1, Attributes: 1}, res)
			require.Equal(t, appliedAt(eventTime, "email", "first_name"), h.endedTurn(t))
		})
	}
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
		requestTurn,
		"CachedPerson (local)",
		"LookupUser" + onLookup,
		"CreateAlias" + onMain,
		"TrackEvents" + onMain,
		endTurn,
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
	require.Equal(t, appliedAt(eventTime, "email", "first_name"), h.endedTurn(t))
}

// unsubscribedSync is the sync of an "unsubscribed" event of a person known
// by external id: a subscription attribute, a profile attribute and an
// event.
func unsubscribedSync() extole.Sync {
	return extole.Sync{
		EventID:          "evt-2",
		EventType:        extole.TypeUnsubscribed,
		EventTime:        eventTime,
		ExternalID:       "u-42",
		Email:            email,
		AliasLabel:       aliasLabel,
		PersonWorkflowID: personID,
		RememberFor:      rememberFor,
		Subscription:     true,
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
}

// unsubscribedEvent is the event of unsubscribedSync as /users/track gets it.
const unsubscribedEvent = `{
	"external_id": "u-42",
	"name": "extole_unsubscribed",
	"time": "2024-05-01T12:00:03.25Z",
	"properties": {
		"extole_event_id": "evt-2",
		"partner": "Extole",
		"subscription_state": "unsubscribed",
		"subscription_group_id": "grp-1"
	}
}`

func TestSyncEventSubscriptionUsesUpdateSubscription(t *testing.T) {
	h := newHarness(t)
	tracked := h.mockTrack(t, h.a.UpdateSubscription)

	res := h.run(t, unsubscribedSync())

	require.Equal(t, []string{requestTurn, "UpdateSubscription" + onMain, endTurn}, h.ran())
	require.JSONEq(t, `{
		"attributes": [{
			"external_id": "u-42",
			"email": "ada@example.com",
			"subscription_groups": [
				{"subscription_group_id": "grp-1", "subscription_state": "unsubscribed"}
			]
		}],
		"events": [`+unsubscribedEvent+`]
	}`, tracked())
	require.Equal(t, workflows.Result{Person: "external_id", Events: 1, Attributes: 1}, res)
	require.Equal(t, appliedAt(eventTime, "email", "subscription_groups:grp-1"), h.endedTurn(t))
}

// subscribedSync is the sync of a "subscribed" event: attributes only, of
// the subscription and the profile, and no event.
func subscribedSync() extole.Sync {
	return extole.Sync{
		EventID:          "evt-3",
		EventType:        extole.TypeSubscribed,
		EventTime:        eventTime,
		ExternalID:       "u-42",
		Email:            email,
		AliasLabel:       aliasLabel,
		PersonWorkflowID: personID,
		RememberFor:      rememberFor,
		Subscription:     true,
		Attributes:       map[string]any{"email": email, "email_subscribe": "opted_in"},
	}
}

// shareLinkSync is the sync of a "share_link_created" event of a person known
// by external id: profile attributes that other events do not all set, and
// an event.
func shareLinkSync() extole.Sync {
	return extole.Sync{
		EventID:          "evt-4",
		EventType:        extole.TypeShareLinkCreated,
		EventTime:        eventTime,
		ExternalID:       "u-42",
		Email:            email,
		AliasLabel:       aliasLabel,
		PersonWorkflowID: personID,
		RememberFor:      rememberFor,
		Events: []braze.Event{{
			Name:       "extole_created_share_link",
			Time:       eventTime,
			Properties: map[string]any{"extole_event_id": "evt-4", "partner": extole.Partner},
		}},
		Attributes: map[string]any{
			"email":             email,
			"last_name":         "Lovelace",
			"extole_share_link": "https://share.example.com/ada",
		},
	}
}

// shareLinkEvent is the event of shareLinkSync as /users/track gets it.
const shareLinkEvent = `{
	"external_id": "u-42",
	"name": "extole_created_share_link",
	"time": "2024-05-01T12:00:03.25Z",
	"properties": {"extole_event_id": "evt-4", "partner": "Extole"}
}`

// subscribedToGroups is subscribedSync with the person subscribed to each
// of the groups too.
func subscribedToGroups(ids ...string) extole.Sync {
	in := subscribedSync()
	var groups []map[string]any
	for _, id := range ids {
		groups = append(groups, map[string]any{
			"subscription_group_id": id, "subscription_state": "subscribed",
		})
	}
	in.Attributes["subscription_groups"] = groups
	return in
}

// supersedeCase is a sync run with a turn that says what was already
// applied.
type supersedeCase struct {
	name string
	in   extole.Sync
	turn person.Turn
	// step is the track step expected, with the request it gets; none when
	// nothing is left to send.
	step, wantTrack string
	want            workflows.Result
	wantApplied     applied
}

func runSupersedeCases(t *testing.T, cases []supersedeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.turn = tc.turn
			wantSteps := []string{requestTurn, endTurn}
			tracked := func() string { return "" }
			if tc.step != "" {
				tracked = h.mockTrack(t, tc.step)
				wantSteps = []string{requestTurn, tc.step + onMain, endTurn}
			}

			res := h.run(t, tc.in)

			require.Equal(t, wantSteps, h.ran())
			if tc.step != "" {
				require.JSONEq(t, tc.wantTrack, tracked())
			}
			require.Equal(t, tc.want, res)
			require.Equal(t, tc.wantApplied, h.endedTurn(t))
		})
	}
}

// An attribute that an event with a later Extole time has already applied is
// not sent again: the older value would undo the newer one. What the newer
// events did not set is sent, each attribute and each subscription group on
// its own. Events are sent all the same.
func TestSyncEventDropsWhatANewerEventApplied(t *testing.T) {
	earlier, later := eventTime.Add(-time.Minute), eventTime.Add(time.Millisecond)
	runSupersedeCases(t, []supersedeCase{{
		name: "older and equal times supersede nothing",
		in:   unsubscribedSync(),
		turn: person.Turn{Fields: map[string]time.Time{
			"email": earlier, "subscription_groups:grp-1": eventTime,
		}},
		step: "UpdateSubscription",
		wantTrack: `{
			"attributes": [{
				"external_id": "u-42",
				"email": "ada@example.com",
				"subscription_groups": [
					{"subscription_group_id": "grp-1", "subscription_state": "unsubscribed"}
				]
			}],
			"events": [` + unsubscribedEvent + `]
		}`,
		want:        workflows.Result{Person: "external_id", Events: 1, Attributes: 1},
		wantApplied: appliedAt(eventTime, "email", "subscription_groups:grp-1"),
	}, {
		name: "a late event keeps the fields the newer one did not set",
		in:   shareLinkSync(),
		turn: person.Turn{Fields: map[string]time.Time{"email": later, "first_name": later}},
		step: "TrackEvents",
		wantTrack: `{
			"attributes": [{
				"external_id": "u-42",
				"last_name": "Lovelace",
				"extole_share_link": "https://share.example.com/ada"
			}],
			"events": [` + shareLinkEvent + `]
		}`,
		want: workflows.Result{
			Person: "external_id", Events: 1, Attributes: 1, Superseded: []string{"email"},
		},
		wantApplied: appliedAt(eventTime, "extole_share_link", "last_name"),
	}, {
		name: "every field superseded, listed in order",
		in:   shareLinkSync(),
		turn: person.Turn{Fields: map[string]time.Time{
			"email": later, "last_name": later, "extole_share_link": later,
		}},
		step:      "TrackEvents",
		wantTrack: `{"events": [` + shareLinkEvent + `]}`,
		want: workflows.Result{
			Person: "external_id", Events: 1,
			Superseded: []string{"email", "extole_share_link", "last_name"},
		},
	}, {
		name: "a newer unsubscribe from one group leaves a late subscribe to another",
		in:   subscribedToGroups("grp-B"),
		turn: person.Turn{Fields: map[string]time.Time{
			"email": later, "subscription_groups:grp-A": later,
		}},
		step: "UpdateSubscription",
		wantTrack: `{"attributes": [{
			"external_id": "u-42",
			"email_subscribe": "opted_in",
			"subscription_groups": [
				{"subscription_group_id": "grp-B", "subscription_state": "subscribed"}
			]
		}]}`,
		want: workflows.Result{
			Person: "external_id", Attributes: 1, Superseded: []string{"email"},
		},
		wantApplied: appliedAt(eventTime, "email_subscribe", "subscription_groups:grp-B"),
	}, {
		name: "a newer unsubscribe from a group drops that group of a late event",
		in:   subscribedToGroups("grp-A", "grp-B"),
		turn: person.Turn{Fields: map[string]time.Time{"subscription_groups:grp-A": later}},
		step: "UpdateSubscription",
		wantTrack: `{"attributes": [{
			"external_id": "u-42",
			"email": "ada@example.com",
			"email_subscribe": "opted_in",
			"subscription_groups": [
				{"subscription_group_id": "grp-B", "subscription_state": "subscribed"}
			]
		}]}`,
		want: workflows.Result{
			Person: "external_id", Attributes: 1,
			Superseded: []string{"subscription_groups:grp-A"},
		},
		wantApplied: appliedAt(eventTime, "email", "email_subscribe", "subscription_groups:grp-B"),
	}, {
		name: "a newer email_subscribe leaves the groups",
		in:   subscribedToGroups("grp-A"),
		turn: person.Turn{Fields: map[string]time.Time{"email_subscribe": later}},
		step: "UpdateSubscription",
		wantTrack: `{"attributes": [{
			"external_id": "u-42",
			"email": "ada@example.com",
			"subscription_groups": [
				{"subscription_group_id": "grp-A", "subscription_state": "subscribed"}
			]
		}]}`,
		want: workflows.Result{
			Person: "external_id", Attributes: 1, Superseded: []string{"email_subscribe"},
		},
		wantApplied: appliedAt(eventTime, "email", "subscription_groups:grp-A"),
	}, {
		name: "with every group superseded the groups are not sent",
		in:   unsubscribedSync(),
		turn: person.Turn{Fields: map[string]time.Time{"subscription_groups:grp-1": later}},
		step: "UpdateSubscription",
		wantTrack: `{
			"attributes": [{"external_id": "u-42", "email": "ada@example.com"}],
			"events": [` + unsubscribedEvent + `]
		}`,
		want: workflows.Result{
			Person: "external_id", Events: 1, Attributes: 1,
			Superseded: []string{"subscription_groups:grp-1"},
		},
		wantApplied: appliedAt(eventTime, "email"),
	}, {
		name: "groups that name no group are one key",
		in: func() extole.Sync {
			in := subscribedSync()
			in.Attributes["subscription_groups"] = []map[string]any{{"subscription_state": "subscribed"}}
			return in
		}(),
		turn: person.Turn{Fields: map[string]time.Time{"subscription_groups": later}},
		step: "UpdateSubscription",
		wantTrack: `{"attributes": [{
			"external_id": "u-42", "email": "ada@example.com", "email_subscribe": "opted_in"
		}]}`,
		want: workflows.Result{
			Person: "external_id", Attributes: 1, Superseded: []string{"subscription_groups"},
		},
		wantApplied: appliedAt(eventTime, "email", "email_subscribe"),
	}, {
		name: "with everything superseded and no events nothing is sent",
		in:   subscribedToGroups("grp-A"),
		turn: person.Turn{Fields: map[string]time.Time{
			"email": later, "email_subscribe": later, "subscription_groups:grp-A": later,
		}},
		want: workflows.Result{
			Superseded: []string{"email", "email_subscribe", "subscription_groups:grp-A"},
		},
	}})
}

// A person's workflow that outlived the syncs from before times by key
// passes the times they reported, by kind: subscription (email_subscribe
// and subscription_groups) and profile (the rest). A sync drops each
// attribute of a kind applied by a newer event, as those syncs did, whatever
// the times by key say.
func TestSyncEventDropsByKindWhatAnOlderSyncReported(t *testing.T) {
	earlier, later := eventTime.Add(-time.Minute), eventTime.Add(time.Millisecond)
	runSupersedeCases(t, []supersedeCase{{
		name: "older times supersede nothing",
		in:   unsubscribedSync(),
		turn: person.Turn{Subscription: earlier, Profile: earlier},
		step: "UpdateSubscription",
		wantTrack: `{
			"attributes": [{
				"external_id": "u-42",
				"email": "ada@example.com",
				"subscription_groups": [
					{"subscription_group_id": "grp-1", "subscription_state": "unsubscribed"}
				]
			}],
			"events": [` + unsubscribedEvent + `]
		}`,
		want:        workflows.Result{Person: "external_id", Events: 1, Attributes: 1},
		wantApplied: appliedAt(eventTime, "email", "subscription_groups:grp-1"),
	}, {
		name:      "a newer subscription drops the subscription attributes",
		in:        subscribedToGroups("grp-A", "grp-B"),
		turn:      person.Turn{Subscription: later, Profile: earlier},
		step:      "UpdateSubscription",
		wantTrack: `{"attributes": [{"external_id": "u-42", "email": "ada@example.com"}]}`,
		want: workflows.Result{
			Person: "external_id", Attributes: 1, Superseded: []string{
				"email_subscribe", "subscription_groups:grp-A", "subscription_groups:grp-B",
			},
		},
		wantApplied: appliedAt(eventTime, "email"),
	}, {
		name: "a newer profile drops the profile attributes and keeps the subscription",
		in:   unsubscribedSync(),
		turn: person.Turn{Profile: later},
		step: "UpdateSubscription",
		wantTrack: `{
			"attributes": [{
				"external_id": "u-42",
				"subscription_groups": [
					{"subscription_group_id": "grp-1", "subscription_state": "unsubscribed"}
				]
			}],
			"events": [` + unsubscribedEvent + `]
		}`,
		want: workflows.Result{
			Person: "external_id", Events: 1, Attributes: 1, Superseded: []string{"email"},
		},
		wantApplied: appliedAt(eventTime, "subscription_groups:grp-1"),
	}, {
		name: "a newer profile drops every profile attribute, set by the newer event or not",
		in:   shareLinkSync(),
		turn: person.Turn{
			Profile: later, Fields: map[string]time.Time{"email": earlier},
		},
		step:      "TrackEvents",
		wantTrack: `{"events": [` + shareLinkEvent + `]}`,
		want: workflows.Result{
			Person: "external_id", Events: 1,
			Superseded: []string{"email", "extole_share_link", "last_name"},
		},
	}, {
		name:      "with everything superseded the events are still tracked",
		in:        unsubscribedSync(),
		turn:      person.Turn{Subscription: later, Profile: later},
		step:      "UpdateSubscription",
		wantTrack: `{"events": [` + unsubscribedEvent + `]}`,
		want: workflows.Result{
			Person: "external_id", Events: 1,
			Superseded: []string{"email", "subscription_groups:grp-1"},
		},
	}, {
		name: "with everything superseded and no events nothing is sent",
		in:   subscribedSync(),
		turn: person.Turn{Subscription: later, Profile: later},
		want: workflows.Result{Superseded: []string{"email", "email_subscribe"}},
	}})
}

// A sync that chose what to drop before times by key, whose history has no
// supersede-per-key marker, chooses the same when it replays: by kind alone,
// whatever times by key its turn held.
func TestSyncEventFromBeforeKeysDropsByKindAlone(t *testing.T) {
	later := eventTime.Add(time.Millisecond)
	h := newHarness(t)
	h.env.OnGetVersion("supersede-per-key", workflow.DefaultVersion, 1).
		Return(workflow.DefaultVersion)
	h.turn = person.Turn{
		Fields:       map[string]time.Time{"email": later},
		Subscription: later,
	}
	tracked := h.mockTrack(t, h.a.UpdateSubscription)

	res := h.run(t, subscribedToGroups("grp-A"))

	require.JSONEq(t, `{"attributes": [{"external_id": "u-42", "email": "ada@example.com"}]}`,
		tracked())
	require.Equal(t, workflows.Result{
		Person: "external_id", Attributes: 1,
		Superseded: []string{"email_subscribe", "subscription_groups:grp-A"},
	}, res)
	require.Equal(t, appliedAt(eventTime, "email"), h.endedTurn(t))
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
		requestTurn,
		"TrackEvents" + onMain, "TrackEvents" + onMain, "TrackEvents" + onMain,
		endTurn,
	}, h.ran())
	require.Equal(t, workflows.Result{Person: "external_id", Events: 1, Attributes: 1}, res)
	require.Equal(t, appliedAt(eventTime, "email", "first_name"), h.endedTurn(t))
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

// A sync that fails still ends its turn, so that the person's next sync
// need not wait, and reports that it applied nothing.
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
	require.Equal(t, []string{requestTurn, "TrackEvents" + onMain, endTurn}, h.ran())
	require.Nil(t, h.endedTurn(t))
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
	require.Equal(t, []string{
		requestTurn, "CachedPerson (local)", "LookupUser" + onLookup, endTurn,
	}, h.ran())
	require.Nil(t, h.endedTurn(t))
	h.env.AssertExpectations(t)
}
