package extole_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/extole-braze/extole-braze/braze"
	"github.com/extole-braze/extole-braze/config"
	"github.com/extole-braze/extole-braze/extole"
	personwf "github.com/extole-braze/extole-braze/person"
)

// newMapper returns a mapper for the starter configuration read from env,
// with the real defaults for every variable env leaves out.
func newMapper(t testing.TB, env map[string]string) *extole.Mapper {
	t.Helper()
	vars := map[string]string{"EXTOLE_WEBHOOK_SECRET": "test-secret",
		"PERSON_ID_KEY": testPersonIDKey,
		// The mapping does not use it, but a starter needs it.
		"PAYLOAD_KEYS": "test-1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	maps.Copy(vars, env)
	cfg, err := config.LoadStarter(t.Context(), envconfig.MapLookuper(vars))
	if err != nil {
		t.Fatalf("LoadStarter: %v", err)
	}
	return extole.NewMapper(cfg.Extole, cfg.Mapping)
}

// eventTime is the Extole time of the events built by eventBody.
var eventTime = time.Date(2024, 3, 1, 10, 15, 30, 250e6, time.UTC)

// eventBody is a webhook body of the type given, with the event id evt-2001,
// the time eventTime, and the fields given on top.
func eventBody(t testing.TB, typ string, fields map[string]any) string {
	t.Helper()
	m := map[string]any{
		"type":       typ,
		"event_id":   "evt-2001",
		"event_time": "2024-03-01T10:15:30.250Z",
	}
	maps.Copy(m, fields)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustParse(t testing.TB, body string) extole.Event {
	t.Helper()
	ev, err := extole.Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse(%s): %v", body, err)
	}
	return ev
}

// person are the fields that name the person in most test bodies.
var person = map[string]any{
	"partner_user_id": "u-42",
	"email":           testEmail,
	"first_name":      "Ada",
	"last_name":       "Lovelace",
	"program":         "spring-referral",
	"funnel":          "advocate",
}

// with returns the fields of base with those of extra on top.
func with(base map[string]any, extra map[string]any) map[string]any {
	m := maps.Clone(base)
	maps.Copy(m, extra)
	return m
}

// standardProps are the properties every Braze event built from person
// carries, with extra on top.
func standardProps(extra map[string]any) map[string]any {
	return with(map[string]any{
		"extole_event_id": "evt-2001",
		"partner":         "Extole",
		"program":         "spring-referral",
		"funnel":          "advocate",
	}, extra)
}

// personAttrs are the profile attributes of person, with extra on top.
func personAttrs(extra map[string]any) map[string]any {
	return with(map[string]any{
		"email":      testEmail,
		"first_name": "Ada",
		"last_name":  "Lovelace",
	}, extra)
}

// event is one Braze event at eventTime.
func event(name string, props map[string]any) []braze.Event {
	return []braze.Event{{Name: name, Time: eventTime, Properties: props}}
}

func groups(id, state string) []map[string]any {
	return []map[string]any{{"subscription_group_id": id, "subscription_state": state}}
}

type mapCase struct {
	name string
	env  map[string]string
	typ  string
	body map[string]any
	want extole.Sync
}

// rewardCases are one case per reward state: every state names its own
// event, and only the states with a coupon carry one.
func rewardCases() []mapCase {
	var cases []mapCase
	for _, state := range []string{
		"earned", "fulfilled", "sent", "redeemed", "failed", "fulfillment_failed",
		"canceled", "revoked",
	} {
		props := standardProps(map[string]any{
			"email":           testEmail,
			"reward_id":       "rw-9",
			"face_value":      json.Number("20"),
			"face_value_type": "USD",
		})
		if state != "canceled" && state != "revoked" {
			props["coupon_code"] = "THANKS20"
		}
		cases = append(cases, mapCase{
			name: "reward_" + state,
			typ:  "reward_" + state,
			body: with(person, map[string]any{
				"reward_id": "rw-9", "face_value": 20, "face_value_type": "USD",
				"coupon_code": "THANKS20",
			}),
			want: extole.Sync{
				EventID: "evt-2001", EventType: "reward_" + state, Program: "spring-referral",
				ExternalID: "u-42", Email: testEmail, AliasLabel: "extole_email",
				Events:     event("extole_reward_"+state, props),
				Attributes: personAttrs(nil),
			},
		})
	}
	return cases
}

func TestMap(t *testing.T) {
	tests := []mapCase{
		{
			name: "share_link_created",
			typ:  "share_link_created",
			body: map[string]any{
				"partner_user_id": "u-42", "email": testEmail, "program": "spring-referral",
				"funnel": "advocate", "share_link": "https://refer.example.com/ada",
			},
			want: extole.Sync{
				EventID: "evt-2001", EventType: "share_link_created", Program: "spring-referral",
				ExternalID: "u-42", Email: testEmail, AliasLabel: "extole_email",
				Events: event("extole_created_share_link", standardProps(nil)),
				Attributes: map[string]any{
					"email":             testEmail,
					"extole_share_link": "https://refer.example.com/ada",
				},
			},
		},
		{
			name: "shared",
			typ:  "shared",
			body: with(person, map[string]any{"share_channel": "FACEBOOK"}),
			want: extole.Sync{
				EventID: "evt-2001", EventType: "shared", Program: "spring-referral",
				ExternalID: "u-42", Email: testEmail, AliasLabel: "extole_email",
				Events: event("extole_shared",
					standardProps(map[string]any{"share_channel": "FACEBOOK"})),
				Attributes: personAttrs(nil),
			},
		},
		{
			name: "shared at a time with an offset",
			typ:  "shared",
			body: with(person, map[string]any{"event_time": "2024-03-01T12:15:30.250+02:00"}),
			want: extole.Sync{
				EventID: "evt-2001", EventType: "shared", Program: "spring-referral",
				ExternalID: "u-42", Email: testEmail, AliasLabel: "extole_email",
				Events:     event("extole_shared", standardProps(nil)),
				Attributes: personAttrs(nil),
			},
		},
		{
			name: "converted carries the data entries",
			typ:  "converted",
			body: with(person, map[string]any{
				"funnel": "friend",
				"data": map[string]any{
					"coupon_code": "FRIEND20", "cart_value": 120.5,
					"partner_conversion_id": "order-555", "first_order": true,
				},
			}),
			want: extole.Sync{
				EventID: "evt-2001", EventType: "converted", Program: "spring-referral",
				ExternalID: "u-42", Email: testEmail, AliasLabel: "extole_email",
				Events: event("extole_converted", standardProps(map[string]any{
					"funnel":      "friend",
					"coupon_code": "FRIEND20", "cart_value": json.Number("120.5"),
					"partner_conversion_id": "order-555", "first_order": true,
				})),
				Attributes: personAttrs(nil),
			},
		},
		{
			name: "data cannot override the standard properties",
			typ:  "converted",
			body: with(person, map[string]any{
				"data": map[string]any{
					"partner": "Acme", "extole_event_id": "forged", "program": "other",
					"funnel": "friend", "order_id": "o-1",
				},
			}),
			want: extole.Sync{
				EventID: "evt-2001", EventType: "converted", Program: "spring-referral",
				ExternalID: "u-42", Email: testEmail, AliasLabel: "extole_email",
				Events: event("extole_converted",
					standardProps(map[string]any{"order_id": "o-1"})),
				Attributes: personAttrs(nil),
			},
		},
		{
			name: "shipped, an outcome of the program",
			typ:  "shipped",
			body: with(person, map[string]any{
				"data": map[string]any{"carrier": "UPS", "items": []any{"A-1", "B-2"}},
			}),
			want: extole.Sync{
				EventID: "evt-2001", EventType: "shipped", Program: "spring-referral",
				ExternalID: "u-42", Email: testEmail, AliasLabel: "extole_email",
				Events: event("extole_shipped", standardProps(map[string]any{
					"carrier": "UPS", "items": []any{"A-1", "B-2"},
				})),
				Attributes: personAttrs(nil),
			},
		},
		{
			name: "outcome without program, funnel or names",
			typ:  "converted",
			body: map[string]any{"partner_user_id": "u-42"},
			want: extole.Sync{
				EventID: "evt-2001", EventType: "converted", ExternalID: "u-42",
				AliasLabel: "extole_email",
				Events: event("extole_converted", map[string]any{
					"extole_event_id": "evt-2001", "partner": "Extole",
				}),
			},
		},
		{
			name: "subscribed with the event's group",
			env:  map[string]string{"BRAZE_SUBSCRIPTION_GROUP_ID": "grp-config"},
			typ:  "subscribed",
			body: map[string]any{
				"email": testEmail, "list_type": "marketing", "subscription_group_id": "grp-event",
			},
			want: extole.Sync{
				EventID: "evt-2001", EventType: "subscribed", Email: testEmail,
				AliasLabel: "extole_email", Subscription: true,
				Attributes: map[string]any{
					"email":               testEmail,
					"extole_list_type":    "marketing",
					"email_subscribe":     "opted_in",
					"subscription_groups": groups("grp-event", "subscribed"),
				},
			},
		},
		{
			name: "subscribed with the configured group",
			env:  map[string]string{"BRAZE_SUBSCRIPTION_GROUP_ID": "grp-config"},
			typ:  "subscribed",
			body: map[string]any{
				"partner_user_id": "u-42", "email": testEmail, "list_type": "marketing",
			},
			want: extole.Sync{
				EventID: "evt-2001", EventType: "subscribed", ExternalID: "u-42",
				Email: testEmail, AliasLabel: "extole_email", Subscription: true,
				Attributes: map[string]any{
					"email":               testEmail,
					"extole_list_type":    "marketing",
					"email_subscribe":     "opted_in",
					"subscription_groups": groups("grp-config", "subscribed"),
				},
			},
		},
		{
			name: "subscribed without a group",
			typ:  "subscribed",
			body: map[string]any{"email": testEmail, "list_type": "marketing"},
			want: extole.Sync{
				EventID: "evt-2001", EventType: "subscribed", Email: testEmail,
				AliasLabel: "extole_email", Subscription: true,
				Attributes: map[string]any{
					"email":            testEmail,
					"extole_list_type": "marketing",
					"email_subscribe":  "opted_in",
				},
			},
		},
		{
			name: "unsubscribed with the event's group",
			env:  map[string]string{"BRAZE_SUBSCRIPTION_GROUP_ID": "grp-config"},
			typ:  "unsubscribed",
			body: map[string]any{
				"partner_user_id": "u-42", "email": testEmail, "list_type": "marketing",
				"subscription_group_id": "grp-event", "program": "spring-referral",
			},
			want: extole.Sync{
				EventID: "evt-2001", EventType: "unsubscribed", Program: "spring-referral",
				ExternalID: "u-42", Email: testEmail, AliasLabel: "extole_email",
				Subscription: true,
				Events: event("extole_unsubscribed", map[string]any{
					"extole_event_id": "evt-2001", "partner": "Extole",
					"program": "spring-referral", "email": testEmail, "external_id": "u-42",
					"subscription_state": "unsubscribed", "subscription_group_id": "grp-event",
				}),
				Attributes: map[string]any{
					"email":               testEmail,
					"extole_list_type":    "marketing",
					"subscription_groups": groups("grp-event", "unsubscribed"),
				},
			},
		},
		{
			name: "unsubscribed with the configured group",
			env:  map[string]string{"BRAZE_SUBSCRIPTION_GROUP_ID": "grp-config"},
			typ:  "unsubscribed",
			body: map[string]any{"email": testEmail},
			want: extole.Sync{
				EventID: "evt-2001", EventType: "unsubscribed", Email: testEmail,
				AliasLabel: "extole_email", Subscription: true,
				Events: event("extole_unsubscribed", map[string]any{
					"extole_event_id": "evt-2001", "partner": "Extole", "email": testEmail,
					"subscription_state": "unsubscribed", "subscription_group_id": "grp-config",
				}),
				Attributes: map[string]any{
					"email":               testEmail,
					"subscription_groups": groups("grp-config", "unsubscribed"),
				},
			},
		},
		{
			name: "unsubscribed without a group",
			typ:  "unsubscribed",
			body: map[string]any{
				"partner_user_id": "u-42", "email": testEmail, "list_type": "marketing",
			},
			want: extole.Sync{
				EventID: "evt-2001", EventType: "unsubscribed", ExternalID: "u-42",
				Email: testEmail, AliasLabel: "extole_email", Subscription: true,
				Events: event("extole_unsubscribed", map[string]any{
					"extole_event_id": "evt-2001", "partner": "Extole", "email": testEmail,
					"external_id": "u-42", "subscription_state": "unsubscribed",
				}),
				Attributes: map[string]any{
					"email":            testEmail,
					"extole_list_type": "marketing",
					"email_subscribe":  "unsubscribed",
				},
			},
		},
		{
			name: "external id from the email address",
			env:  map[string]string{"BRAZE_EXTERNAL_ID_FROM": "email_address"},
			typ:  "unsubscribed",
			body: map[string]any{"partner_user_id": "u-42", "email": "  Ada.Lovelace@Example.COM "},
			want: extole.Sync{
				EventID: "evt-2001", EventType: "unsubscribed", ExternalID: testEmail,
				Email: testEmail, AliasLabel: "extole_email", Subscription: true,
				Events: event("extole_unsubscribed", map[string]any{
					"extole_event_id": "evt-2001", "partner": "Extole", "email": testEmail,
					"external_id": testEmail, "subscription_state": "unsubscribed",
				}),
				Attributes: map[string]any{
					"email":           testEmail,
					"email_subscribe": "unsubscribed",
				},
			},
		},
		{
			name: "email trimmed and lower-cased, names trimmed",
			typ:  "shared",
			body: with(person, map[string]any{
				"email": " Ada.Lovelace@EXAMPLE.com\t", "first_name": " Ada ", "last_name": "Lovelace ",
			}),
			want: extole.Sync{
				EventID: "evt-2001", EventType: "shared", Program: "spring-referral",
				ExternalID: "u-42", Email: testEmail, AliasLabel: "extole_email",
				Events:     event("extole_shared", standardProps(nil)),
				Attributes: personAttrs(nil),
			},
		},
		{
			name: "partner_user_id trimmed",
			typ:  "shared",
			body: map[string]any{"partner_user_id": " u-42 "},
			want: extole.Sync{
				EventID: "evt-2001", EventType: "shared", ExternalID: "u-42",
				AliasLabel: "extole_email",
				Events: event("extole_shared", map[string]any{
					"extole_event_id": "evt-2001", "partner": "Extole",
				}),
			},
		},
		{
			name: "email only: looked up by email",
			typ:  "shared",
			body: map[string]any{"email": testEmail},
			want: extole.Sync{
				EventID: "evt-2001", EventType: "shared", Email: testEmail,
				AliasLabel: "extole_email",
				Events: event("extole_shared", map[string]any{
					"extole_event_id": "evt-2001", "partner": "Extole",
				}),
				Attributes: map[string]any{"email": testEmail},
			},
		},
		{
			name: "event names and alias label from configuration",
			env: map[string]string{
				"BRAZE_EVENT_NAMES": "converted:purchase,shared:referral_shared",
				"BRAZE_ALIAS_LABEL": "crm_email",
			},
			typ:  "converted",
			body: map[string]any{"email": testEmail},
			want: extole.Sync{
				EventID: "evt-2001", EventType: "converted", Email: testEmail,
				AliasLabel: "crm_email",
				Events: event("purchase", map[string]any{
					"extole_event_id": "evt-2001", "partner": "Extole",
				}),
				Attributes: map[string]any{"email": testEmail},
			},
		},
	}
	tests = append(tests, rewardCases()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMapper(t, tt.env)
			got, err := m.Map(mustParse(t, eventBody(t, tt.typ, tt.body)))
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			checkSync(t, got, tt.want)
		})
	}
}

// checkSync compares two syncs, event times by the instant they name.
func checkSync(t *testing.T, got, want extole.Sync) {
	t.Helper()
	if want.EventTime.IsZero() {
		want.EventTime = eventTime
	}
	if !got.EventTime.Equal(want.EventTime) {
		t.Errorf("EventTime = %v, want the Extole time %v", got.EventTime, want.EventTime)
	}
	got.EventTime = want.EventTime
	if want.PersonWorkflowID == "" {
		want.PersonWorkflowID = personwf.WorkflowID([]byte(testPersonIDKey), "external_id", want.ExternalID)
		if want.ExternalID == "" {
			want.PersonWorkflowID = personwf.WorkflowID([]byte(testPersonIDKey), "email", want.Email)
		}
	}
	if len(got.Events) == len(want.Events) {
		got.Events = slices.Clone(got.Events)
		for i := range got.Events {
			if !got.Events[i].Time.Equal(want.Events[i].Time) {
				t.Errorf("event %d time = %v, want the Extole time %v",
					i, got.Events[i].Time, want.Events[i].Time)
			}
			got.Events[i].Time = want.Events[i].Time
		}
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("Map =\n%s\nwant\n%s", g, w)
	}
}

func TestMapDoesNotChangeTheEvent(t *testing.T) {
	m := newMapper(t, nil)
	ev := mustParse(t, validBodies["converted"])
	before := maps.Clone(ev.Data)
	first, err := m.Map(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ev.Data, before) {
		t.Errorf("Map changed the event's data: %v, was %v", ev.Data, before)
	}
	first.Events[0].Properties["partner"] = "changed"
	second, err := m.Map(ev)
	if err != nil {
		t.Fatal(err)
	}
	if p := second.Events[0].Properties["partner"]; p != extole.Partner {
		t.Errorf("second Map: partner = %v, want %q", p, extole.Partner)
	}
}

func TestMapRefuses(t *testing.T) {
	long := strings.Repeat("x", 256)
	tests := []struct {
		name string
		env  map[string]string
		typ  string
		body map[string]any
		want string // what the message must name
	}{
		{
			name: "neither partner_user_id nor email",
			typ:  "shared",
			body: map[string]any{"person_id": "p-7", "program": "spring-referral"},
			want: "partner_user_id",
		},
		{
			name: "blank partner_user_id and email",
			typ:  "converted",
			body: map[string]any{"partner_user_id": "  ", "email": " "},
			want: "partner_user_id",
		},
		{
			name: "external id from email, and no email",
			env:  map[string]string{"BRAZE_EXTERNAL_ID_FROM": "email_address"},
			typ:  "shared",
			body: map[string]any{"partner_user_id": "u-42"},
			want: "email_address",
		},
		{
			name: "data string over 255 characters",
			typ:  "converted",
			body: with(person, map[string]any{"data": map[string]any{"note": long}}),
			want: "note",
		},
		{
			name: "data nested deeper than 16 levels",
			typ:  "converted",
			body: with(person, map[string]any{"data": nested(16, map[string]any{"leaf": 1})}),
			want: "nested deeper than 16 levels",
		},
		{
			name: "data nested deeper than 16 levels through a list",
			typ:  "converted",
			body: with(person, map[string]any{"data": nested(15, map[string]any{"l": []any{1}})}),
			want: "nested deeper than 16 levels",
		},
		{
			name: "data key starting with $",
			typ:  "converted",
			body: with(person, map[string]any{"data": map[string]any{"$price": 5}}),
			want: "$price",
		},
		{
			name: "data key time",
			typ:  "converted",
			body: with(person, map[string]any{"data": map[string]any{"time": "now"}}),
			want: "time",
		},
		{
			name: "data key event_name",
			typ:  "converted",
			body: with(person, map[string]any{"data": map[string]any{"event_name": "x"}}),
			want: "event_name",
		},
		{
			name: "data key over 255 characters",
			typ:  "converted",
			body: with(person, map[string]any{"data": map[string]any{long: 1}}),
			want: "data",
		},
		{
			name: "data key empty",
			typ:  "converted",
			body: with(person, map[string]any{"data": map[string]any{"": 1}}),
			want: "data",
		},
		{
			name: "nested string too long",
			typ:  "converted",
			body: with(person, map[string]any{
				"data": map[string]any{"cart": map[string]any{"note": long}},
			}),
			want: "cart",
		},
		{
			name: "string in a nested array too long",
			typ:  "converted",
			body: with(person, map[string]any{
				"data": map[string]any{"items": []any{"ok", map[string]any{"sku": long}}},
			}),
			want: "items",
		},
		{
			name: "nested key starting with $",
			typ:  "converted",
			body: with(person, map[string]any{
				"data": map[string]any{"cart": map[string]any{"$id": 1}},
			}),
			want: "$id",
		},
		{
			name: "properties over 50 KB",
			typ:  "converted",
			body: with(person, map[string]any{"data": bigData(250)}),
			want: "bytes",
		},
		{
			name: "share link over 255 characters",
			typ:  "share_link_created",
			body: with(person, map[string]any{"share_link": "https://refer.example.com/" + long}),
			want: "extole_share_link",
		},
		{
			name: "first name over 255 characters",
			typ:  "shared",
			body: with(person, map[string]any{"first_name": long}),
			want: "first_name",
		},
		{
			name: "coupon code over 255 characters",
			typ:  "reward_fulfilled",
			body: with(person, map[string]any{"coupon_code": long}),
			want: "coupon_code",
		},
		{
			name: "share channel over 255 characters",
			typ:  "shared",
			body: with(person, map[string]any{"share_channel": long}),
			want: "share_channel",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMapper(t, tt.env)
			_, err := m.Map(mustParse(t, eventBody(t, tt.typ, tt.body)))
			if !errors.Is(err, extole.ErrInvalid) {
				t.Fatalf("Map error = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
			if strings.Contains(err.Error(), testEmail) {
				t.Errorf("error %q repeats the email", err)
			}
		})
	}
}

// bigData is n program properties of 250 characters each.
func bigData(n int) map[string]any {
	data := map[string]any{}
	for i := range n {
		data[fmt.Sprintf("field_%03d", i)] = strings.Repeat("v", 250)
	}
	return data
}

func TestMapAcceptsBrazeLimits(t *testing.T) {
	limit := strings.Repeat("x", 255)
	tests := []struct {
		name string
		data map[string]any
	}{
		{"string of 255 characters", map[string]any{"note": limit}},
		{"key of 255 characters", map[string]any{limit: 1}},
		{"nested string of 255 characters", map[string]any{"cart": map[string]any{"note": limit}}},
		{"names close to reserved ones", map[string]any{"times": 1, "event_time": "x", "event_names": 2}},
		{"$ inside a key", map[string]any{"price$": 5}},
		{"properties under 50 KB", bigData(150)},
		{"null, bool and number values", map[string]any{"a": nil, "b": false, "c": 1.5}},
		{"nested 16 levels", nested(15, map[string]any{"leaf": 1})},
		{"nested 16 levels through a list", nested(14, map[string]any{"l": []any{1}})},
	}
	m := newMapper(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := mustParse(t, eventBody(t, "converted", with(person, map[string]any{"data": tt.data})))
			s, err := m.Map(ev)
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			for k := range tt.data {
				if _, ok := s.Events[0].Properties[k]; !ok {
					t.Errorf("property %.20q missing", k)
				}
			}
		})
	}
}

func TestForwarded(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		yes  []string
		no   []string
	}{
		{
			name: "defaults",
			yes: []string{
				"share_link_created", "shared", "converted", "subscribed", "unsubscribed",
				"reward_fulfilled",
			},
			no: []string{
				"reward_earned", "reward_sent", "reward_redeemed", "reward_failed",
				"reward_canceled", "reward_revoked", "reward_fulfillment_failed", "shipped",
				"registered", "reward",
			},
		},
		{
			name: "earned added to the reward states",
			env:  map[string]string{"EXTOLE_REWARD_STATES": "FULFILLED,EARNED"},
			yes:  []string{"reward_fulfilled", "reward_earned"},
			no:   []string{"reward_sent", "reward_canceled"},
		},
		{
			name: "reward states in lower case",
			env:  map[string]string{"EXTOLE_REWARD_STATES": "earned, revoked"},
			yes:  []string{"reward_earned", "reward_revoked"},
			no:   []string{"reward_fulfilled"},
		},
		{
			name: "every reward state",
			env: map[string]string{
				"EXTOLE_REWARD_STATES": "EARNED,FULFILLED,SENT,REDEEMED,FAILED," +
					"FULFILLMENT_FAILED,CANCELED,REVOKED",
			},
			yes: []string{
				"reward_earned", "reward_fulfilled", "reward_sent", "reward_redeemed",
				"reward_failed", "reward_fulfillment_failed", "reward_canceled", "reward_revoked",
			},
			no: []string{"reward_unknown"},
		},
		{
			name: "no reward in the events",
			env: map[string]string{
				"EXTOLE_EVENTS":        "shared,converted",
				"EXTOLE_REWARD_STATES": "FULFILLED,EARNED",
			},
			yes: []string{"shared", "converted"},
			no: []string{
				"reward_fulfilled", "reward_earned", "share_link_created", "subscribed",
				"unsubscribed",
			},
		},
		{
			name: "an outcome listed",
			env:  map[string]string{"EXTOLE_EVENTS": "converted,shipped"},
			yes:  []string{"converted", "shipped"},
			no:   []string{"shared", "reward_fulfilled"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMapper(t, tt.env)
			for _, typ := range tt.yes {
				if !m.Forwarded(extole.Event{Type: typ}) {
					t.Errorf("%s not forwarded", typ)
				}
			}
			for _, typ := range tt.no {
				if m.Forwarded(extole.Event{Type: typ}) {
					t.Errorf("%s forwarded", typ)
				}
			}
		})
	}
}

func TestEventName(t *testing.T) {
	defaults := newMapper(t, nil)
	renamed := newMapper(t, map[string]string{
		"BRAZE_EVENT_NAMES": "converted:purchase,reward_fulfilled:referral_reward," +
			"share_link_created:link_created",
	})
	tests := []struct {
		mapper *extole.Mapper
		typ    string
		want   string
	}{
		{defaults, "share_link_created", "extole_created_share_link"},
		{defaults, "shared", "extole_shared"},
		{defaults, "converted", "extole_converted"},
		{defaults, "shipped", "extole_shipped"},
		{defaults, "reward_fulfilled", "extole_reward_fulfilled"},
		{defaults, "reward_canceled", "extole_reward_canceled"},
		{defaults, "unsubscribed", "extole_unsubscribed"},
		{renamed, "converted", "purchase"},
		{renamed, "reward_fulfilled", "referral_reward"},
		{renamed, "share_link_created", "link_created"},
		{renamed, "reward_earned", "extole_reward_earned"},
		{renamed, "shared", "extole_shared"},
	}
	for _, tt := range tests {
		if got := tt.mapper.EventName(tt.typ); got != tt.want {
			t.Errorf("EventName(%q) = %q, want %q", tt.typ, got, tt.want)
		}
	}
}

const testPersonIDKey = "test-person-id-key-0123456789"

// The person's workflow id is the same for every event of the person, keyed,
// and holds nothing of the identity it stands for.
func TestMapPersonWorkflowID(t *testing.T) {
	m := newMapper(t, nil)
	byEmail := func(typ string) extole.Sync {
		s, err := m.Map(mustParse(t, eventBody(t, typ, map[string]any{"email": " Ada@Example.com"})))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := byEmail("subscribed"), byEmail("unsubscribed")
	if a.PersonWorkflowID != b.PersonWorkflowID {
		t.Errorf("one person, two workflow ids: %s, %s", a.PersonWorkflowID, b.PersonWorkflowID)
	}
	id := a.PersonWorkflowID
	if strings.Contains(strings.ToLower(id), "ada") || strings.Contains(id, "example") {
		t.Errorf("workflow id %s holds the email", id)
	}
	if other := personwf.WorkflowID([]byte("another-key-0123456789"), "email", "ada@example.com"); other == id {
		t.Error("the workflow id does not depend on PERSON_ID_KEY")
	}
}

// nested wraps leaf in levels objects: {"n":{"n":...leaf}}.
func nested(levels int, leaf map[string]any) map[string]any {
	for range levels {
		leaf = map[string]any{"n": leaf}
	}
	return leaf
}
