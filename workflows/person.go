package workflows

import (
	"maps"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/extole-braze/extole-braze/activities"
	"github.com/extole-braze/extole-braze/person"
)

// settleDelay is how long a free person's workflow waits after a first
// request before it grants a turn, so that events of one person that arrive
// together, in any order, are applied in event-time order.
const settleDelay = time.Second

// holderCheckEvery is how often a person's workflow checks that the sync
// holding the turn is still running: a terminated sync never says it is done.
const holderCheckEvery = time.Minute

// maxPersonHistory bounds the history of one run of a person's workflow; it
// continues as new beyond it.
const maxPersonHistory = 5000

// Person grants the syncs of one person their turns, one at a time, in Extole
// event-time order, and remembers the latest event times applied, until it
// has been idle for the dedupe window.
func Person(ctx workflow.Context, st person.State) error {
	requests := workflow.GetSignalChannel(ctx, person.RequestSignal)
	dones := workflow.GetSignalChannel(ctx, person.DoneSignal)
	// settleUntil is when the first of a batch of requests may be granted;
	// checkAt is when to check next that the holder still runs.
	var settleUntil, checkAt time.Time

	for {
		now := workflow.Now(ctx)
		if st.Holder == nil && len(st.Pending) > 0 && !now.Before(settleUntil) {
			grant(ctx, &st)
			checkAt = now.Add(holderCheckEvery)
			continue
		}
		if st.Holder == nil && len(st.Pending) == 0 && historyFull(ctx) {
			if drained := drain(requests, dones, &st); !drained {
				return workflow.NewContinueAsNewError(ctx, Person, st)
			}
			continue
		}

		wait := st.RememberFor
		switch {
		case st.Holder != nil:
			wait = checkAt.Sub(now)
		case len(st.Pending) > 0:
			wait = settleUntil.Sub(now)
		}
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		fired := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(requests, func(c workflow.ReceiveChannel, _ bool) {
			var r person.Request
			c.Receive(ctx, &r)
			if st.Holder == nil && len(st.Pending) == 0 {
				settleUntil = workflow.Now(ctx).Add(settleDelay)
			}
			addRequest(&st, r)
		})
		sel.AddReceive(dones, func(c workflow.ReceiveChannel, _ bool) {
			var d person.Done
			c.Receive(ctx, &d)
			finish(&st, d)
		})
		sel.AddFuture(workflow.NewTimer(timerCtx, wait), func(workflow.Future) { fired = true })
		sel.Select(ctx)
		cancelTimer()
		if err := ctx.Err(); err != nil {
			// An operator canceled the workflow: the syncs waiting for a
			// turn ask again, and a new run of it takes over.
			return temporal.NewCanceledError()
		}

		if !fired {
			continue
		}
		switch {
		case st.Holder != nil:
			if !workflow.Now(ctx).Before(checkAt) {
				checkHolder(ctx, &st)
				checkAt = workflow.Now(ctx).Add(holderCheckEvery)
			}
		case len(st.Pending) == 0:
			// Idle for the whole dedupe window: nothing left to remember.
			if drained := drain(requests, dones, &st); !drained {
				return nil
			}
		}
	}
}

// addRequest queues a request. A new run of the sync holding the turn (an
// operator reset it) takes the turn over: the old run is gone. The holder
// asking again, as a sync does while it waits, changes nothing.
func addRequest(st *person.State, r person.Request) {
	if h := st.Holder; h != nil && h.WorkflowID == r.WorkflowID {
		if h.RunID == r.RunID {
			return
		}
		st.Holder = nil
	}
	st.Pending = slices.DeleteFunc(st.Pending, func(p person.Request) bool {
		return p.WorkflowID == r.WorkflowID
	})
	st.Pending = append(st.Pending, r)
}

// grant gives the turn to the pending request with the earliest event time.
// A sync that can no longer take it (it was terminated while it waited)
// loses it, and the next request is granted.
func grant(ctx workflow.Context, st *person.State) {
	next := slices.MinFunc(st.Pending, func(a, b person.Request) int {
		switch {
		case a.Before(b):
			return -1
		case b.Before(a):
			return 1
		}
		return 0
	})
	st.Pending = slices.DeleteFunc(st.Pending, func(p person.Request) bool {
		return p.WorkflowID == next.WorkflowID
	})
	st.Holder = &next
	err := workflow.SignalExternalWorkflow(ctx, next.WorkflowID, next.RunID,
		person.TurnSignal, st.Applied).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("the sync granted the turn cannot take it; "+
			"granting the next", "sync", next.WorkflowID, "error", err)
		st.Holder = nil
	}
}

// finish ends the holder's turn and keeps the latest times it applied: per
// key, and per kind from a sync that predates keys. A time only moves
// forward. The times per key are copied before they change, so that no turn
// already granted shares them.
func finish(st *person.State, d person.Done) {
	if st.Holder == nil || st.Holder.WorkflowID != d.WorkflowID || st.Holder.RunID != d.RunID {
		return
	}
	st.Holder = nil
	if d.Subscription.After(st.Applied.Subscription) {
		st.Applied.Subscription = d.Subscription
	}
	if d.Profile.After(st.Applied.Profile) {
		st.Applied.Profile = d.Profile
	}
	if len(d.Fields) == 0 {
		return
	}
	fields := make(map[string]time.Time, len(st.Applied.Fields)+len(d.Fields))
	maps.Copy(fields, st.Applied.Fields)
	for k, t := range d.Fields {
		if t.After(fields[k]) {
			fields[k] = t
		}
	}
	st.Applied.Fields = fields
}

// checkHolder frees the turn of a sync that ended without saying so.
func checkHolder(ctx workflow.Context, st *person.State) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
	})
	var o *activities.Ordering
	var running bool
	err := workflow.ExecuteLocalActivity(ctx, o.SyncRunning, st.Holder.WorkflowID,
		st.Holder.RunID).Get(ctx, &running)
	if err != nil {
		workflow.GetLogger(ctx).Warn("could not check the sync holding the turn", "error", err)
		return
	}
	if !running {
		workflow.GetLogger(ctx).Warn("the sync holding the turn ended without releasing it",
			"sync", st.Holder.WorkflowID)
		st.Holder = nil
	}
}

// drain takes the signals that arrived meanwhile; it reports whether there
// were any, in which case the workflow must go on.
func drain(requests, dones workflow.ReceiveChannel, st *person.State) bool {
	gotRequests := receiveAll(requests, func(r person.Request) { addRequest(st, r) })
	gotDones := receiveAll(dones, func(d person.Done) { finish(st, d) })
	return gotRequests || gotDones
}

// receiveAll applies every value waiting on the channel, without blocking,
// and reports whether there was any.
func receiveAll[T any](c workflow.ReceiveChannel, apply func(T)) bool {
	got := false
	for {
		var v T
		if !c.ReceiveAsync(&v) {
			return got
		}
		apply(v)
		got = true
	}
}

func historyFull(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > maxPersonHistory
}
