package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/extole-braze/extole-braze/activities"
	"github.com/extole-braze/extole-braze/person"
	"github.com/extole-braze/extole-braze/workflows"
)

// personStart is when the person's workflow starts in these tests. The
// harness gives every other test-clock time as a duration since.
var personStart = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// rememberPerson is how long a person's workflow stays idle before it ends,
// in these tests. personRunTimeout bounds a run on the test clock, so that a
// workflow that would never end fails its test at once instead of hanging.
const (
	rememberPerson   = time.Hour
	personRunTimeout = 6 * time.Hour
)

// extoleTime is an Extole event time, minutes after a base: the order of
// events, not when they arrive.
func extoleTime(minutes int) time.Time {
	return time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC).Add(time.Duration(minutes) * time.Minute)
}

// syncRun is one run of a sync, as the person's workflow sees it.
type syncRun struct {
	// name is the sync's workflow id and event id.
	name string
	// run is the run id; "1" when empty.
	run       string
	eventTime time.Time
	// holdFor is how long the run keeps its turn before it says it is done;
	// zero for a run that never says.
	holdFor time.Duration
	// endsAt is when the run ends without saying it is done; zero for a run
	// that keeps running.
	endsAt time.Duration
	// fields are the keys its Done reports as applied, at its event time.
	fields []string
	// subscription and profile say what its Done reports as applied by
	// kind, as syncs did before times by key.
	subscription, profile bool
	// gone is true for a run that closed while it waited: the signal that
	// grants it the turn fails.
	gone bool
}

func (s syncRun) runID() string {
	if s.run == "" {
		return "1"
	}
	return s.run
}

// key names the run as grants and checks record it: "a/1".
func (s syncRun) key() string { return s.name + "/" + s.runID() }

func (s syncRun) request() person.Request {
	return person.Request{
		WorkflowID: s.name, RunID: s.runID(), EventID: s.name, EventTime: s.eventTime,
	}
}

func (s syncRun) done() person.Done {
	d := person.Done{WorkflowID: s.name, RunID: s.runID()}
	for _, k := range s.fields {
		if d.Fields == nil {
			d.Fields = map[string]time.Time{}
		}
		d.Fields[k] = s.eventTime
	}
	if s.subscription {
		d.Subscription = s.eventTime
	}
	if s.profile {
		d.Profile = s.eventTime
	}
	return d
}

// grant is a turn the person's workflow gave: when, to which run, and what
// it said was already applied.
type grant struct {
	at   time.Duration
	to   string
	turn person.Turn
}

// check is a look the person's workflow took at whether a holder still runs.
type check struct {
	at time.Duration
	of string
}

// personHarness runs a person's workflow, and plays the syncs that take turns
// through it: each asks at a test-clock time and, when its turn comes, keeps
// it for a while and says it is done. It records the turns granted and the
// checks of the holder.
type personHarness struct {
	env *testsuite.TestWorkflowEnvironment

	mu     sync.Mutex
	syncs  map[string]syncRun
	grants []grant
	checks []check
}

func newPersonHarness(t *testing.T) *personHarness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	h := &personHarness{env: suite.NewTestWorkflowEnvironment(), syncs: map[string]syncRun{}}
	h.env.SetStartTime(personStart)
	h.env.SetWorkflowRunTimeout(personRunTimeout)
	h.env.RegisterWorkflowWithOptions(workflows.Person,
		workflow.RegisterOptions{Name: person.WorkflowName})
	o := activities.NewOrdering(nil)
	h.env.RegisterActivity(o)
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything,
		person.TurnSignal, mock.Anything).Return(h.turnGiven).Maybe()
	h.env.OnActivity(o.SyncRunning, mock.Anything, mock.Anything, mock.Anything).
		Return(h.syncRunning).Maybe()
	return h
}

// elapsed is the test-clock time since the workflow started.
func (h *personHarness) elapsed() time.Duration {
	return h.env.Now().Sub(personStart)
}

// at runs f at the test-clock time.
func (h *personHarness) at(at time.Duration, f func()) {
	h.env.RegisterDelayedCallback(f, at-h.elapsed())
}

// ask has the sync run ask for its turn at the time.
func (h *personHarness) ask(at time.Duration, s syncRun) {
	h.mu.Lock()
	h.syncs[s.key()] = s
	h.mu.Unlock()
	h.at(at, func() { h.env.SignalWorkflow(person.RequestSignal, s.request()) })
}

// sendDone signals a Done at the time, whoever holds the turn.
func (h *personHarness) sendDone(at time.Duration, d person.Done) {
	h.at(at, func() { h.env.SignalWorkflow(person.DoneSignal, d) })
}

// turnGiven plays a sync receiving its turn: it says it is done after
// holding the turn for its time.
func (h *personHarness) turnGiven(_, workflowID, runID, _ string, arg any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	key := workflowID + "/" + runID
	h.grants = append(h.grants, grant{at: h.elapsed(), to: key, turn: arg.(person.Turn)})
	s := h.syncs[key]
	if s.gone {
		return errors.New("unknown external workflow execution")
	}
	if s.holdFor > 0 {
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(person.DoneSignal, s.done())
		}, s.holdFor)
	}
	return nil
}

// syncRunning answers SyncRunning: a run is running until it ends.
func (h *personHarness) syncRunning(_ context.Context, workflowID, runID string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	key := workflowID + "/" + runID
	h.checks = append(h.checks, check{at: h.elapsed(), of: key})
	s := h.syncs[key]
	return s.endsAt == 0 || h.elapsed() < s.endsAt, nil
}

// run executes the person's workflow until it ends, and returns its error.
func (h *personHarness) run(t *testing.T) error {
	t.Helper()
	return h.runFrom(t, person.State{RememberFor: rememberPerson})
}

// runFrom is run for a workflow that starts in the state, as a run that
// continued as new does.
func (h *personHarness) runFrom(t *testing.T, st person.State) error {
	t.Helper()
	h.env.ExecuteWorkflow(workflows.Person, st)
	require.True(t, h.env.IsWorkflowCompleted())
	h.env.AssertExpectations(t)
	return h.env.GetWorkflowError()
}

func (h *personHarness) granted() []grant {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]grant(nil), h.grants...)
}

// grantedTo returns the runs that got the turn, in order.
func (h *personHarness) grantedTo() []string {
	var to []string
	for _, g := range h.granted() {
		to = append(to, g.to)
	}
	return to
}

func (h *personHarness) checked() []check {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]check(nil), h.checks...)
}

func TestPersonGrantsRequestsThatArriveTogetherInEventTimeOrder(t *testing.T) {
	syncs := map[string]syncRun{
		"a": {name: "a", eventTime: extoleTime(1), holdFor: time.Second},
		"b": {name: "b", eventTime: extoleTime(2), holdFor: time.Second},
		"c": {name: "c", eventTime: extoleTime(3), holdFor: time.Second},
		"d": {name: "d", eventTime: extoleTime(4), holdFor: time.Second},
	}
	cases := []struct {
		name    string
		arrival []string
	}{
		{"in event-time order", []string{"a", "b", "c", "d"}},
		{"in reverse", []string{"d", "c", "b", "a"}},
		{"shuffled", []string{"c", "a", "d", "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newPersonHarness(t)
			// All within the settle delay of the first.
			for i, name := range tc.arrival {
				h.ask(time.Duration(i)*250*time.Millisecond, syncs[name])
			}

			require.NoError(t, h.run(t))

			require.Equal(t, []string{"a/1", "b/1", "c/1", "d/1"}, h.grantedTo())
		})
	}
}

func TestPersonBreaksEventTimeTiesByEventID(t *testing.T) {
	h := newPersonHarness(t)
	h.ask(0, syncRun{name: "b", eventTime: extoleTime(1), holdFor: time.Second})
	h.ask(100*time.Millisecond, syncRun{name: "a", eventTime: extoleTime(1), holdFor: time.Second})

	require.NoError(t, h.run(t))

	require.Equal(t, []string{"a/1", "b/1"}, h.grantedTo())
}

func TestPersonGrantsOneTurnAtATime(t *testing.T) {
	h := newPersonHarness(t)
	h.ask(0, syncRun{name: "a", eventTime: extoleTime(1), holdFor: 30 * time.Second})
	h.ask(10*time.Second, syncRun{name: "b", eventTime: extoleTime(0), holdFor: time.Second})

	require.NoError(t, h.run(t))

	// b's event is older, but a holds the turn until it says it is done.
	require.Equal(t, []grant{
		{at: time.Second, to: "a/1"},
		{at: 31 * time.Second, to: "b/1"},
	}, h.granted())
}

func TestPersonIgnoresDoneFromASyncNotHoldingTheTurn(t *testing.T) {
	a := syncRun{name: "a", eventTime: extoleTime(1), holdFor: 30 * time.Second}
	b := syncRun{name: "b", eventTime: extoleTime(2), holdFor: time.Second}
	cases := []struct {
		name string
		done person.Done
	}{
		{"from a sync still waiting", person.Done{WorkflowID: "b", RunID: "1"}},
		{"from a sync it never heard of", person.Done{WorkflowID: "x", RunID: "1"}},
		{"from another run of the holder", person.Done{WorkflowID: "a", RunID: "0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newPersonHarness(t)
			h.ask(0, a)
			h.ask(5*time.Second, b)
			tc.done.Subscription, tc.done.Profile = extoleTime(9), extoleTime(9)
			tc.done.Fields = map[string]time.Time{"email": extoleTime(9)}
			h.sendDone(10*time.Second, tc.done)

			require.NoError(t, h.run(t))

			// b waits for a's own Done, and nothing the stray Done said
			// was applied.
			require.Equal(t, []grant{
				{at: time.Second, to: "a/1"},
				{at: 31 * time.Second, to: "b/1"},
			}, h.granted())
		})
	}
}

// fieldsAt is the times by key of a turn: each key at its time.
type fieldsAt map[string]time.Time

func TestPersonPassesTheLatestAppliedTimesInEachTurn(t *testing.T) {
	h := newPersonHarness(t)
	hold := 10 * time.Second
	h.ask(0, syncRun{name: "a", eventTime: extoleTime(10), holdFor: hold,
		fields: []string{"email", "first_name", "subscription_groups:grp-A"}})
	// Older than a, and asks once a holds the turn: an event delivered late.
	h.ask(2*time.Second, syncRun{name: "b", eventTime: extoleTime(0), holdFor: hold,
		fields: []string{"email", "last_name", "subscription_groups:grp-B"}})
	h.ask(3*time.Second, syncRun{name: "c", eventTime: extoleTime(20), holdFor: hold,
		fields: []string{"email", "subscription_groups:grp-B"}})
	h.ask(4*time.Second, syncRun{name: "d", eventTime: extoleTime(30), holdFor: hold})

	require.NoError(t, h.run(t))

	require.Equal(t, []grant{
		{at: time.Second, to: "a/1"},
		{at: 11 * time.Second, to: "b/1", turn: person.Turn{Fields: fieldsAt{
			"email":                     extoleTime(10),
			"first_name":                extoleTime(10),
			"subscription_groups:grp-A": extoleTime(10),
		}}},
		// b's older email did not lower a's; its other keys are new.
		{at: 21 * time.Second, to: "c/1", turn: person.Turn{Fields: fieldsAt{
			"email":                     extoleTime(10),
			"first_name":                extoleTime(10),
			"last_name":                 extoleTime(0),
			"subscription_groups:grp-A": extoleTime(10),
			"subscription_groups:grp-B": extoleTime(0),
		}}},
		{at: 31 * time.Second, to: "d/1", turn: person.Turn{Fields: fieldsAt{
			"email":                     extoleTime(20),
			"first_name":                extoleTime(10),
			"last_name":                 extoleTime(0),
			"subscription_groups:grp-A": extoleTime(10),
			"subscription_groups:grp-B": extoleTime(20),
		}}},
	}, h.granted())
}

// Syncs from before times by key report times by kind; a person's workflow
// that outlives them keeps those beside the times by key, each moving only
// forward, and passes both on.
func TestPersonKeepsTheTimesByKindOfOlderSyncs(t *testing.T) {
	h := newPersonHarness(t)
	hold := 10 * time.Second
	h.ask(0, syncRun{name: "a", eventTime: extoleTime(10), holdFor: hold,
		subscription: true, profile: true})
	// Older than a, and asks once a holds the turn: an event delivered late.
	h.ask(2*time.Second, syncRun{name: "b", eventTime: extoleTime(0), holdFor: hold,
		subscription: true})
	h.ask(3*time.Second, syncRun{name: "c", eventTime: extoleTime(20), holdFor: hold,
		profile: true})
	h.ask(4*time.Second, syncRun{name: "d", eventTime: extoleTime(30), holdFor: hold,
		fields: []string{"email"}})
	h.ask(5*time.Second, syncRun{name: "e", eventTime: extoleTime(40), holdFor: hold})

	require.NoError(t, h.run(t))

	require.Equal(t, []grant{
		{at: time.Second, to: "a/1"},
		{at: 11 * time.Second, to: "b/1", turn: person.Turn{
			Subscription: extoleTime(10), Profile: extoleTime(10),
		}},
		// b's older subscription time did not lower a's.
		{at: 21 * time.Second, to: "c/1", turn: person.Turn{
			Subscription: extoleTime(10), Profile: extoleTime(10),
		}},
		{at: 31 * time.Second, to: "d/1", turn: person.Turn{
			Subscription: extoleTime(10), Profile: extoleTime(20),
		}},
		{at: 41 * time.Second, to: "e/1", turn: person.Turn{
			Fields:       fieldsAt{"email": extoleTime(30)},
			Subscription: extoleTime(10), Profile: extoleTime(20),
		}},
	}, h.granted())
}

// A sync that was terminated never says it is done: the person's workflow
// looks at whether the holder still runs every holderCheckEvery (a minute).
func TestPersonFreesTheTurnOfASyncThatEndedWithoutDone(t *testing.T) {
	cases := []struct {
		name       string
		endsAt     time.Duration
		wantChecks []time.Duration
	}{
		{"ended before the first check", 30 * time.Second, []time.Duration{61 * time.Second}},
		{"ended after the first check", 90 * time.Second,
			[]time.Duration{61 * time.Second, 121 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newPersonHarness(t)
			h.ask(0, syncRun{name: "a", eventTime: extoleTime(1), endsAt: tc.endsAt})
			h.ask(500*time.Millisecond,
				syncRun{name: "b", eventTime: extoleTime(2), holdFor: time.Second})

			require.NoError(t, h.run(t))

			var wantChecks []check
			for _, at := range tc.wantChecks {
				wantChecks = append(wantChecks, check{at: at, of: "a/1"})
			}
			require.Equal(t, wantChecks, h.checked())
			last := tc.wantChecks[len(tc.wantChecks)-1]
			require.Equal(t, []grant{
				{at: time.Second, to: "a/1"},
				{at: last, to: "b/1"},
			}, h.granted())
		})
	}
}

// A sync terminated while it waited cannot take its turn: the next sync
// gets it, and the person's workflow goes on.
func TestPersonGrantsTheNextWhenATurnCannotBeTaken(t *testing.T) {
	h := newPersonHarness(t)
	h.ask(0, syncRun{name: "a", eventTime: extoleTime(1), gone: true})
	h.ask(100*time.Millisecond, syncRun{name: "b", eventTime: extoleTime(2), holdFor: time.Second})

	require.NoError(t, h.run(t))

	require.Equal(t, []grant{
		{at: time.Second, to: "a/1"},
		{at: time.Second, to: "b/1"},
	}, h.granted())
}

// Requests arriving all the time do not put off the check of a holder that
// ended without saying so.
func TestPersonChecksTheHolderEveryMinuteWhateverArrives(t *testing.T) {
	h := newPersonHarness(t)
	h.ask(0, syncRun{name: "a", eventTime: extoleTime(1), endsAt: 5 * time.Second})
	for i := 1; i <= 6; i++ {
		h.ask(time.Duration(i)*20*time.Second,
			syncRun{name: fmt.Sprint("s", i), eventTime: extoleTime(1 + i), holdFor: time.Second})
	}

	require.NoError(t, h.run(t))

	require.Equal(t, []check{{at: 61 * time.Second, of: "a/1"}}, h.checked())
	require.Equal(t, []string{"a/1", "s1/1", "s2/1", "s3/1", "s4/1", "s5/1", "s6/1"},
		h.grantedTo())
	require.Equal(t, grant{at: 61 * time.Second, to: "s1/1"}, h.granted()[1])
}

// A sync asks again while it waits, and may ask again once it holds the
// turn (its request retried, say): that keeps the turn its own.
func TestPersonIgnoresTheHolderAskingAgain(t *testing.T) {
	h := newPersonHarness(t)
	a := syncRun{name: "a", eventTime: extoleTime(2), holdFor: 30 * time.Second}
	h.ask(0, a)
	h.ask(10*time.Second, a)
	h.ask(15*time.Second, syncRun{name: "b", eventTime: extoleTime(1), holdFor: time.Second})

	require.NoError(t, h.run(t))

	require.Equal(t, []grant{
		{at: time.Second, to: "a/1"},
		{at: 31 * time.Second, to: "b/1"},
	}, h.granted())
}

// An operator who resets a sync starts a new run under the same workflow id;
// the new run asks again and takes the turn the old run held.
func TestPersonGivesTheTurnToANewRunOfTheHolder(t *testing.T) {
	h := newPersonHarness(t)
	old := syncRun{name: "a", run: "1", eventTime: extoleTime(1)}
	h.ask(0, old)
	h.ask(30*time.Second, syncRun{name: "a", run: "2", eventTime: extoleTime(1),
		holdFor: 20 * time.Second})
	h.ask(35*time.Second, syncRun{name: "c", eventTime: extoleTime(2), holdFor: time.Second})
	// The old run's Done comes too late: the turn is no longer its own.
	h.sendDone(40*time.Second, old.done())

	require.NoError(t, h.run(t))

	require.Equal(t, []grant{
		{at: time.Second, to: "a/1"},
		{at: 30 * time.Second, to: "a/2"},
		{at: 50 * time.Second, to: "c/1"},
	}, h.granted())
}

func TestPersonEndsWhenIdleForTheDedupeWindow(t *testing.T) {
	cases := []struct {
		name    string
		syncs   map[time.Duration]syncRun
		wantEnd time.Duration
	}{
		{"never asked", nil, rememberPerson},
		{"after the last turn", map[time.Duration]syncRun{
			0: {name: "a", eventTime: extoleTime(1), holdFor: 10 * time.Second},
		}, 11*time.Second + rememberPerson},
		{"a request while idle starts the wait again", map[time.Duration]syncRun{
			0:                {name: "a", eventTime: extoleTime(1), holdFor: 10 * time.Second},
			30 * time.Minute: {name: "b", eventTime: extoleTime(2), holdFor: 10 * time.Second},
		}, 30*time.Minute + 11*time.Second + rememberPerson},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newPersonHarness(t)
			for at, s := range tc.syncs {
				h.ask(at, s)
			}

			require.NoError(t, h.run(t))

			require.Equal(t, tc.wantEnd, h.elapsed())
		})
	}
}

// When Temporal suggests it, the person's workflow continues as new once no
// sync holds or waits for the turn, with what it must remember.
func TestPersonContinuesAsNewWhenFree(t *testing.T) {
	h := newPersonHarness(t)
	// a is a sync from before times by key, b one since.
	h.ask(0, syncRun{name: "a", eventTime: extoleTime(1), holdFor: 10 * time.Second,
		subscription: true, profile: true})
	h.at(5*time.Second, func() { h.env.SetContinueAsNewSuggested(true) })
	h.ask(6*time.Second, syncRun{name: "b", eventTime: extoleTime(2), holdFor: 10 * time.Second,
		fields: []string{"email", "subscription_groups:grp-A"}})

	err := h.run(t)

	var canErr *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &canErr)
	require.Equal(t, person.WorkflowName, canErr.WorkflowType.Name)
	var next person.State
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(canErr.Input, &next))
	require.Equal(t, person.State{
		Applied: person.Turn{
			Fields:       fieldsAt{"email": extoleTime(2), "subscription_groups:grp-A": extoleTime(2)},
			Subscription: extoleTime(1), Profile: extoleTime(1),
		},
		RememberFor: rememberPerson,
	}, next)
	// Not while b waited for its turn, nor while it held it.
	require.Equal(t, []string{"a/1", "b/1"}, h.grantedTo())
	require.Equal(t, 21*time.Second, h.elapsed())
}

// The run that continued as new passes on what the runs before it
// remembered, and adds to it.
func TestPersonPassesOnWhatItsEarlierRunsApplied(t *testing.T) {
	h := newPersonHarness(t)
	h.ask(0, syncRun{name: "a", eventTime: extoleTime(1), holdFor: 10 * time.Second,
		fields: []string{"email", "last_name"}})
	h.ask(500*time.Millisecond, syncRun{name: "b", eventTime: extoleTime(2), holdFor: time.Second})

	require.NoError(t, h.runFrom(t, person.State{
		Applied: person.Turn{
			Fields:  fieldsAt{"email": extoleTime(5), "first_name": extoleTime(5)},
			Profile: extoleTime(3),
		},
		RememberFor: rememberPerson,
	}))

	require.Equal(t, []grant{
		{at: time.Second, to: "a/1", turn: person.Turn{
			Fields:  fieldsAt{"email": extoleTime(5), "first_name": extoleTime(5)},
			Profile: extoleTime(3),
		}},
		{at: 11 * time.Second, to: "b/1", turn: person.Turn{
			Fields: fieldsAt{
				"email": extoleTime(5), "first_name": extoleTime(5), "last_name": extoleTime(1),
			},
			Profile: extoleTime(3),
		}},
	}, h.granted())
}
