//go:build integration

package integration

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/extole-braze/extole-braze/brazeemu"
	"github.com/extole-braze/extole-braze/workflows"
)

// subscription builds a subscribed or unsubscribed event of a person at a
// time.
func subscription(t *testing.T, typ, userID string, at time.Time) map[string]any {
	return groupSubscription(t, typ, userID, "grp-news", at)
}

// groupSubscription builds a subscribed or unsubscribed event of a person
// for a subscription group at a time.
func groupSubscription(t *testing.T, typ, userID, group string, at time.Time) map[string]any {
	b := event(t, typ, map[string]any{"partner_user_id": userID, "subscription_group_id": group})
	b["event_time"] = at.Format(time.RFC3339Nano)
	return b
}

// postAll posts the events at once, each from its own goroutine, and waits
// for their syncs.
func postAll(t *testing.T, bodies ...map[string]any) []workflows.Result {
	t.Helper()
	var wg sync.WaitGroup
	for _, b := range bodies {
		raw := mustJSON(t, b)
		wg.Go(func() {
			if status, answer := post(t, raw); status != http.StatusOK {
				t.Errorf("%d %v", status, answer)
			}
		})
	}
	wg.Wait()
	results := make([]workflows.Result, len(bodies))
	for i, b := range bodies {
		res, err := waitSync(t, b["event_id"].(string))
		if err != nil {
			t.Fatalf("sync %s: %v", b["event_id"], err)
		}
		results[i] = res
	}
	return results
}

func groupState(t *testing.T, userID string) string {
	t.Helper()
	return groupStateOf(t, userID, "grp-news")
}

func groupStateOf(t *testing.T, userID, group string) string {
	t.Helper()
	p, ok := it.braze.FindByExternalID(userID)
	if !ok {
		t.Fatalf("Braze has no profile for %s", userID)
	}
	return p.SubscriptionGroups[group]
}

// Each subscription group is ordered apart: a late subscribe to one group
// is applied although a newer unsubscribe from another group was, and a late
// event leaves what newer events set alone.
func TestLateEventSetsWhatNewerEventsDidNot(t *testing.T) {
	base := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	user := fmt.Sprintf("groups-%d", time.Now().UnixNano())
	newer := groupSubscription(t, "unsubscribed", user, "grp-a", base.Add(time.Hour))
	newer["first_name"] = "Newer"
	postAll(t, newer)
	late := groupSubscription(t, "subscribed", user, "grp-b", base)
	late["first_name"] = "Older"
	late["last_name"] = "Late"
	res := postAll(t, late)

	if a, b := groupStateOf(t, user, "grp-a"), groupStateOf(t, user, "grp-b"); a != "unsubscribed" || b != "subscribed" {
		t.Errorf("grp-a %q, grp-b %q; want unsubscribed, subscribed", a, b)
	}
	p, _ := it.braze.FindByExternalID(user)
	if p.Attributes["first_name"] != "Newer" || p.Attributes["last_name"] != "Late" {
		t.Errorf("first_name %v, last_name %v; want the newer first name and the late last name",
			p.Attributes["first_name"], p.Attributes["last_name"])
	}
	if !slices.Contains(res[0].Superseded, "first_name") ||
		slices.Contains(res[0].Superseded, "subscription_groups:grp-b") {
		t.Errorf("late sync superseded %v, want first_name and not grp-b", res[0].Superseded)
	}
}

// A subscribe and an unsubscribe of one person, posted together in either
// order or delivered reversed much later, leave the person in the state of
// the later Extole event time.
func TestSubscriptionEndsInTheLatestState(t *testing.T) {
	base := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		first string // the type with the earlier event time
		later string
		want  string
	}{
		{"subscribe then unsubscribe", "subscribed", "unsubscribed", "unsubscribed"},
		{"unsubscribe then subscribe", "unsubscribed", "subscribed", "subscribed"},
	}
	for _, tc := range cases {
		t.Run(tc.name+", posted together, reversed", func(t *testing.T) {
			for i := range 3 {
				user := fmt.Sprintf("order-%s-%d-%d", tc.first, i, time.Now().UnixNano())
				older := subscription(t, tc.first, user, base)
				newer := subscription(t, tc.later, user, base.Add(time.Millisecond))
				postAll(t, newer, older)
				if got := groupState(t, user); got != tc.want {
					t.Fatalf("run %d: group state %q, want %q", i, got, tc.want)
				}
			}
		})
		t.Run(tc.name+", the older delivered after the newer was applied", func(t *testing.T) {
			user := fmt.Sprintf("late-%s-%d", tc.first, time.Now().UnixNano())
			newer := subscription(t, tc.later, user, base.Add(time.Hour))
			postAll(t, newer)
			older := subscription(t, tc.first, user, base)
			res := postAll(t, older)
			if got := groupState(t, user); got != tc.want {
				t.Fatalf("group state %q, want %q", got, tc.want)
			}
			if !slices.Contains(res[0].Superseded, "subscription_groups:grp-news") {
				t.Errorf("late sync result %+v, want its group marked superseded", res[0])
			}
		})
	}
}

// The events of one person posted together reach Braze in Extole event-time
// order, whatever order they were posted in.
func TestOnePersonsEventsApplyInEventTimeOrder(t *testing.T) {
	it.braze.Reset()
	user := fmt.Sprintf("seq-%d", time.Now().UnixNano())
	base := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	var bodies []map[string]any
	for i := 4; i >= 0; i-- { // posted newest first
		b := event(t, "converted", map[string]any{"partner_user_id": user,
			"data": map[string]any{"step": i}})
		b["event_time"] = base.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
		bodies = append(bodies, b)
	}
	postAll(t, bodies...)

	var steps []float64
	for _, e := range it.braze.Events() {
		if e.Ref.ExternalID == user {
			steps = append(steps, e.Properties["step"].(float64))
		}
	}
	for i, s := range steps {
		if s != float64(i) {
			t.Fatalf("Braze received steps in the order %v, want 0 1 2 3 4", steps)
		}
	}
	if len(steps) != 5 {
		t.Fatalf("Braze received %d events, want 5", len(steps))
	}
}

// Different people do not wait for each other: while one person's sync is
// held up by a slow Braze answer, another person's sync completes.
func TestDifferentPeopleSyncInParallel(t *testing.T) {
	it.braze.Reset()
	it.braze.Inject(brazeemu.Fault{Path: brazeemu.PathTrack, Delay: 1500 * time.Millisecond, Count: 1})
	defer it.braze.ClearFaults()
	slow := event(t, "converted", map[string]any{"partner_user_id": fmt.Sprintf("slow-%d", time.Now().UnixNano())})
	fast := event(t, "converted", map[string]any{"partner_user_id": fmt.Sprintf("fast-%d", time.Now().UnixNano())})
	if status, _ := post(t, mustJSON(t, slow)); status != http.StatusOK {
		t.Fatal(status)
	}
	time.Sleep(1200 * time.Millisecond) // the slow sync is now waiting on Braze
	postAll(t, fast)
	if _, err := waitSync(t, slow["event_id"].(string)); err != nil {
		t.Fatal(err)
	}
	reqs := it.braze.Requests()
	if len(reqs) != 2 || !reqs[1].Time.Before(reqs[0].Time.Add(1500*time.Millisecond)) {
		t.Fatalf("the second person's request was not served while the first waited: %+v", reqs)
	}
}
