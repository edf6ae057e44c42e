//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/extole-braze/extole-braze/braze"
	"github.com/extole-braze/extole-braze/brazeemu"
)

const eventTime = "2026-11-30T10:15:00.123Z"

var eventCounter atomic.Int64

// newEventID returns an event id no other test uses, and no other run.
func newEventID(testing.TB) string {
	return fmt.Sprintf("it-%d-%d", time.Now().UnixNano(), eventCounter.Add(1))
}

// event is a webhook body of the given type with the fields every event has.
func event(t testing.TB, typ string, fields map[string]any) map[string]any {
	return plus(map[string]any{"type": typ, "event_id": newEventID(t), "event_time": eventTime}, fields)
}

// plus returns a new map with the entries of base, then of extra.
func plus(base, extra map[string]any) map[string]any {
	m := maps.Clone(base)
	maps.Copy(m, extra)
	return m
}

// deliver posts a signed event, expects it accepted, and waits for its sync.
func deliver(t *testing.T, body map[string]any) {
	t.Helper()
	status, answer := post(t, mustJSON(t, body))
	if status != http.StatusOK || answer["status"] != "accepted" {
		t.Fatalf("event not accepted: %d %v", status, answer)
	}
	if _, err := waitSync(t, body["event_id"].(string)); err != nil {
		t.Fatalf("sync failed: %v", err)
	}
}

// brazeCalls lists the paths of the Braze requests since the last reset.
func brazeCalls() []string {
	var paths []string
	for _, r := range it.braze.Requests() {
		paths = append(paths, r.Path)
	}
	return paths
}

// lastTrack decodes the last /users/track request Braze received.
func lastTrack(t *testing.T) braze.TrackRequest {
	t.Helper()
	reqs := it.braze.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path == brazeemu.PathTrack {
			var tr braze.TrackRequest
			if err := json.Unmarshal(reqs[i].Body, &tr); err != nil {
				t.Fatal(err)
			}
			return tr
		}
	}
	t.Fatal("Braze received no /users/track request")
	return braze.TrackRequest{}
}

func TestEveryEventKindReachesBraze(t *testing.T) {
	when, _ := time.Parse(time.RFC3339Nano, eventTime)
	person := map[string]any{
		"partner_user_id": "user-1", "person_id": "p-1", "email": "Ada@Example.com",
		"first_name": "Ada", "last_name": "Lovelace", "program": "spring", "funnel": "advocate",
	}
	with := func(extra map[string]any) map[string]any { return plus(person, extra) }
	names := map[string]any{"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}
	standard := map[string]any{"partner": "Extole", "program": "spring", "funnel": "advocate"}

	cases := []struct {
		typ        string
		fields     map[string]any
		eventName  string // "" when no Braze event is expected
		props      map[string]any
		attributes map[string]any
		groups     map[string]string
		subscribe  string
	}{
		{
			typ: "share_link_created", fields: with(map[string]any{"share_link": "https://refer.example/ada"}),
			eventName:  "extole_created_share_link",
			props:      standard,
			attributes: plus(names, map[string]any{"extole_share_link": "https://refer.example/ada"}),
		},
		{
			typ: "shared", fields: with(map[string]any{"share_channel": "EMAIL"}),
			eventName:  "extole_shared",
			props:      plus(standard, map[string]any{"share_channel": "EMAIL"}),
			attributes: names,
		},
		{
			typ: "converted", fields: with(map[string]any{"data": map[string]any{
				"cart_value": 120.5, "coupon_code": "FRIEND20", "partner": "not-extole"}}),
			eventName:  "extole_converted",
			props:      plus(standard, map[string]any{"cart_value": 120.5, "coupon_code": "FRIEND20"}),
			attributes: names,
		},
		{
			typ: "shipped", fields: with(map[string]any{"data": map[string]any{"partner_conversion_id": "o-9"}}),
			eventName:  "extole_shipped",
			props:      plus(standard, map[string]any{"partner_conversion_id": "o-9"}),
			attributes: names,
		},
		{
			typ: "reward_fulfilled", fields: with(map[string]any{"reward_id": "r-1", "face_value": 20,
				"face_value_type": "USD", "coupon_code": "THANKS20"}),
			eventName: "extole_reward_fulfilled",
			props: plus(standard, map[string]any{"email": "ada@example.com", "reward_id": "r-1",
				"face_value": 20.0, "face_value_type": "USD", "coupon_code": "THANKS20"}),
			attributes: names,
		},
		{
			typ: "reward_canceled", fields: with(map[string]any{"reward_id": "r-2", "face_value": 5,
				"face_value_type": "USD", "coupon_code": "GONE"}),
			eventName: "extole_reward_canceled",
			props: plus(standard, map[string]any{"email": "ada@example.com", "reward_id": "r-2",
				"face_value": 5.0, "face_value_type": "USD"}),
			attributes: names,
		},
		{
			typ: "subscribed", fields: with(map[string]any{"list_type": "marketing"}),
			attributes: plus(names, map[string]any{"extole_list_type": "marketing",
				"email_subscribe": "opted_in",
				"subscription_groups": []any{map[string]any{
					"subscription_group_id": groupID, "subscription_state": "subscribed"}}}),
			groups:    map[string]string{groupID: "subscribed"},
			subscribe: "opted_in",
		},
		{
			typ: "unsubscribed", fields: with(map[string]any{"list_type": "marketing",
				"subscription_group_id": "group-from-event"}),
			eventName: "extole_unsubscribed",
			props: plus(standard, map[string]any{"email": "ada@example.com", "external_id": "user-1",
				"subscription_state": "unsubscribed", "subscription_group_id": "group-from-event"}),
			attributes: plus(names, map[string]any{"extole_list_type": "marketing",
				"subscription_groups": []any{map[string]any{
					"subscription_group_id": "group-from-event", "subscription_state": "unsubscribed"}}}),
			groups: map[string]string{"group-from-event": "unsubscribed"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			it.braze.Reset()
			body := event(t, tc.typ, tc.fields)
			deliver(t, body)

			if got, want := brazeCalls(), []string{brazeemu.PathTrack}; !reflect.DeepEqual(got, want) {
				t.Fatalf("Braze calls = %v, want %v (one request for a known external id)", got, want)
			}
			tr := lastTrack(t)
			if tc.eventName == "" {
				if len(tr.Events) != 0 {
					t.Fatalf("events = %+v, want none", tr.Events)
				}
			} else {
				if len(tr.Events) != 1 {
					t.Fatalf("events = %+v, want one", tr.Events)
				}
				ev := tr.Events[0]
				want := plus(tc.props, map[string]any{"extole_event_id": body["event_id"]})
				if ev.Name != tc.eventName || ev.ExternalID != "user-1" || !ev.Time.Equal(when) {
					t.Errorf("event = %s for %q at %s, want %s for user-1 at %s",
						ev.Name, ev.ExternalID, ev.Time, tc.eventName, when)
				}
				if !reflect.DeepEqual(ev.Properties, want) {
					t.Errorf("properties =\n %v\nwant\n %v", ev.Properties, want)
				}
			}
			if len(tr.Attributes) != 1 {
				t.Fatalf("attributes = %+v, want one object", tr.Attributes)
			}
			attrs := tr.Attributes[0]
			if attrs.ExternalID != "user-1" || attrs.UpdateExistingOnly != nil {
				t.Errorf("attributes address %+v, want external_id user-1", attrs.UserRef)
			}
			if !reflect.DeepEqual(attrs.Fields, tc.attributes) {
				t.Errorf("attributes =\n %v\nwant\n %v", attrs.Fields, tc.attributes)
			}

			profile, ok := it.braze.FindByExternalID("user-1")
			if !ok {
				t.Fatal("Braze has no profile for user-1")
			}
			for group, state := range tc.groups {
				if profile.SubscriptionGroups[group] != state {
					t.Errorf("subscription group %s = %q, want %q", group,
						profile.SubscriptionGroups[group], state)
				}
			}
			if tc.subscribe != "" && profile.EmailSubscribe != tc.subscribe {
				t.Errorf("email_subscribe = %q, want %q", profile.EmailSubscribe, tc.subscribe)
			}
		})
	}
}
