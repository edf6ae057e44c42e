package extole_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/extole-braze/extole-braze/extole"
)

// testEmail is the address in the test bodies; no error message may repeat it.
const testEmail = "ada.lovelace@example.com"

// validBodies are webhook bodies of every kind, as Extole would post them.
var validBodies = map[string]string{
	"share_link_created": `{"type":"share_link_created","event_id":"evt-1001",
		"event_time":"2024-03-01T10:15:30.250Z","person_id":"p-7","partner_user_id":"u-42",
		"email":"ada.lovelace@example.com","program":"spring-referral","funnel":"advocate",
		"share_link":"https://refer.example.com/ada"}`,
	"shared": `{"type":"shared","event_id":"evt-1002","event_time":"2024-03-01T12:15:30+02:00",
		"partner_user_id":"u-42","email":"ada.lovelace@example.com","first_name":"Ada",
		"last_name":"Lovelace","program":"spring-referral","funnel":"advocate",
		"share_channel":"EMAIL"}`,
	"converted": `{"type":"converted","event_id":"evt-1003","event_time":"2024-03-02T08:00:00Z",
		"partner_user_id":"u-77","email":"grace@example.com","program":"spring-referral",
		"funnel":"friend","data":{"coupon_code":"FRIEND20","cart_value":120.5,
		"partner_conversion_id":"order-555","items":[{"sku":"A-1"}]}}`,
	"shipped": `{"type":"shipped","event_id":"evt-1004","event_time":"2024-03-03T08:00:00Z",
		"partner_user_id":"u-77","program":"spring-referral","funnel":"friend",
		"data":{"carrier":"UPS"}}`,
	"reward_fulfilled": `{"type":"reward_fulfilled","event_id":"evt-1005",
		"event_time":"2024-03-04T09:30:00Z","partner_user_id":"u-42",
		"email":"ada.lovelace@example.com","program":"spring-referral","funnel":"advocate",
		"reward_id":"rw-9","face_value":20,"face_value_type":"USD","coupon_code":"THANKS20"}`,
	"subscribed": `{"type":"subscribed","event_id":"evt-1006","event_time":"2024-03-05T07:00:00Z",
		"email":"ada.lovelace@example.com","list_type":"marketing",
		"subscription_group_id":"grp-1"}`,
	"unsubscribed": `{"type":"unsubscribed","event_id":"evt-1007",
		"event_time":"2024-03-06T07:00:00Z","partner_user_id":"u-42",
		"email":"ada.lovelace@example.com","list_type":"marketing"}`,
}

// extoleRewardExample is Extole's own reward example body, with made-up ids:
// fields we do not read, and a null message.
const extoleRewardExample = `{"type":"reward_earned","event_id":"6a1f0c2e9b7d4a51",
	"event_time":"2020-05-29T14:14:18.548Z","reward_id":"7b2c","reward_supplier_id":"8c3d",
	"reward_supplier_type":"CUSTOM_REWARD","person_id":"9d4e","partner_user_id":"u-1001",
	"face_value":50,"face_value_type":"USD","message":null,"schema_version":1}`

func TestParseValidBodies(t *testing.T) {
	tests := []struct {
		name string
		body string
		want extole.Event
	}{
		{
			name: "share_link_created",
			body: validBodies["share_link_created"],
			want: extole.Event{
				Type: "share_link_created", EventID: "evt-1001",
				EventTime: time.Date(2024, 3, 1, 10, 15, 30, 250e6, time.UTC),
				PersonID:  "p-7", PartnerUserID: "u-42", Email: testEmail,
				Program: "spring-referral", Funnel: "advocate",
				ShareLink: "https://refer.example.com/ada",
			},
		},
		{
			name: "shared, with a time offset",
			body: validBodies["shared"],
			want: extole.Event{
				Type: "shared", EventID: "evt-1002",
				EventTime:     time.Date(2024, 3, 1, 10, 15, 30, 0, time.UTC),
				PartnerUserID: "u-42", Email: testEmail, FirstName: "Ada", LastName: "Lovelace",
				Program: "spring-referral", Funnel: "advocate", ShareChannel: "EMAIL",
			},
		},
		{
			name: "converted, with data",
			body: validBodies["converted"],
			want: extole.Event{
				Type: "converted", EventID: "evt-1003",
				EventTime:     time.Date(2024, 3, 2, 8, 0, 0, 0, time.UTC),
				PartnerUserID: "u-77", Email: "grace@example.com",
				Program: "spring-referral", Funnel: "friend",
				Data: map[string]any{
					"coupon_code":           "FRIEND20",
					"cart_value":            json.Number("120.5"),
					"partner_conversion_id": "order-555",
					"items":                 []any{map[string]any{"sku": "A-1"}},
				},
			},
		},
		{
			name: "reward_fulfilled",
			body: validBodies["reward_fulfilled"],
			want: extole.Event{
				Type: "reward_fulfilled", EventID: "evt-1005",
				EventTime:     time.Date(2024, 3, 4, 9, 30, 0, 0, time.UTC),
				PartnerUserID: "u-42", Email: testEmail,
				Program: "spring-referral", Funnel: "advocate",
				RewardID: "rw-9", FaceValue: "20", FaceValueType: "USD", CouponCode: "THANKS20",
			},
		},
		{
			name: "subscribed",
			body: validBodies["subscribed"],
			want: extole.Event{
				Type: "subscribed", EventID: "evt-1006",
				EventTime: time.Date(2024, 3, 5, 7, 0, 0, 0, time.UTC),
				Email:     testEmail, ListType: "marketing", SubscriptionGroupID: "grp-1",
			},
		},
		{
			name: "unsubscribed",
			body: validBodies["unsubscribed"],
			want: extole.Event{
				Type: "unsubscribed", EventID: "evt-1007",
				EventTime:     time.Date(2024, 3, 6, 7, 0, 0, 0, time.UTC),
				PartnerUserID: "u-42", Email: testEmail, ListType: "marketing",
			},
		},
		{
			name: "Extole's reward example",
			body: extoleRewardExample,
			want: extole.Event{
				Type: "reward_earned", EventID: "6a1f0c2e9b7d4a51",
				EventTime: time.Date(2020, 5, 29, 14, 14, 18, 548e6, time.UTC),
				PersonID:  "9d4e", PartnerUserID: "u-1001", RewardID: "7b2c",
				FaceValue: "50", FaceValueType: "USD",
			},
		},
		{
			name: "unknown fields of every JSON kind",
			body: `{"type":"shared","event_id":"evt-1","event_time":"2024-03-01T10:00:00Z",
				"schema_version":2,"message":null,"tags":["a","b"],"sandbox":true,
				"client":{"id":"c-1","nested":{"deep":[1,2,3]}}}`,
			want: extole.Event{
				Type: "shared", EventID: "evt-1",
				EventTime: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC),
			},
		},
		{
			name: "null optional fields",
			body: `{"type":"shared","event_id":"evt-1","event_time":"2024-03-01T10:00:00Z",
				"email":null,"face_value":null,"data":null,"funnel":null}`,
			want: extole.Event{
				Type: "shared", EventID: "evt-1",
				EventTime: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := extole.Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.EventTime.Location() != time.UTC {
				t.Errorf("EventTime location = %v, want UTC", got.EventTime.Location())
			}
			if !got.EventTime.Equal(tt.want.EventTime) {
				t.Errorf("EventTime = %v, want %v", got.EventTime, tt.want.EventTime)
			}
			got.EventTime, tt.want.EventTime = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseRefusesInvalidBodies(t *testing.T) {
	// body builds an event body around the fields given, raw JSON each.
	body := func(fields ...string) string {
		return "{" + strings.Join(fields, ",") + "}"
	}
	const (
		typ   = `"type":"shared"`
		id    = `"event_id":"evt-1"`
		when  = `"event_time":"2024-03-01T10:00:00Z"`
		email = `"email":"ada.lovelace@example.com"`
	)
	tests := []struct {
		name  string
		body  string
		field string // the field the message must name
	}{
		{"type missing", body(id, when, email), "type"},
		{"type empty", body(`"type":""`, id, when, email), "type"},
		{"type null", body(`"type":null`, id, when, email), "type"},
		{"type as number", body(`"type":7`, id, when, email), "type"},
		{"type in upper case", body(`"type":"SHARED"`, id, when, email), "type"},
		{"type with a space", body(`"type":"share link"`, id, when, email), "type"},
		{"event_time a year before 1 in UTC", body(typ, id, `"event_time":"0000-01-01T00:00:00+01:00"`),
			"event_time"},
		{"event_time a year after 9999 in UTC", body(typ, id, `"event_time":"9999-12-31T23:59:59-01:00"`),
			"event_time"},
		{"event_id missing", body(typ, when, email), "event_id"},
		{"event_id only in another case", body(typ, `"Event_ID":"evt-1"`, when, email), "event_id"},
		{"event_id as number", body(typ, `"event_id":1001`, when, email), "event_id"},
		{"event_id with a space", body(typ, `"event_id":"evt 1"`, when, email), "event_id"},
		{"event_id with a slash", body(typ, `"event_id":"evt/1"`, when, email), "event_id"},
		{"event_id with a newline", body(typ, `"event_id":"evt-1\n"`, when, email), "event_id"},
		{"event_id starting with a dash", body(typ, `"event_id":"-evt"`, when, email), "event_id"},
		{"event_id of 129 characters",
			body(typ, `"event_id":"`+strings.Repeat("a", 129)+`"`, when, email), "event_id"},
		{"event_id not ASCII", body(typ, `"event_id":"évt-1"`, when, email), "event_id"},
		{"event_time missing", body(typ, id, email), "event_time"},
		{"event_time empty", body(typ, id, `"event_time":""`, email), "event_time"},
		{"event_time null", body(typ, id, `"event_time":null`, email), "event_time"},
		{"event_time as epoch number", body(typ, id, `"event_time":1590761658`, email),
			"event_time"},
		{"event_time without a zone", body(typ, id, `"event_time":"2024-03-01T10:00:00"`, email),
			"event_time"},
		{"event_time with a space", body(typ, id, `"event_time":"2024-03-01 10:00:00Z"`, email),
			"event_time"},
		{"event_time as a date", body(typ, id, `"event_time":"01/03/2024"`, email), "event_time"},
		{"funnel not advocate or friend", body(typ, id, when, email, `"funnel":"referrer"`),
			"funnel"},
		{"funnel in upper case", body(typ, id, when, email, `"funnel":"ADVOCATE"`), "funnel"},
		{"data as array", body(typ, id, when, email, `"data":[1,2]`), "data"},
		{"data as string", body(typ, id, when, email, `"data":"x"`), "data"},
		{"face_value as object", body(typ, id, when, email, `"face_value":{"amount":5}`),
			"face_value"},
		{"face_value as boolean", body(typ, id, when, email, `"face_value":true`), "face_value"},
		{"face_value as non-numeric string", body(typ, id, when, email, `"face_value":"fifty"`),
			"face_value"},
		{"email as number", body(typ, id, when, `"email":42`), "email"},
		{"first_name as object", body(typ, id, when, email, `"first_name":{}`), "first_name"},
		{"not JSON", "type=shared&email=ada.lovelace@example.com", "body"},
		{"empty body", "", "body"},
		{"only white space", " \n\t", "body"},
		{"two JSON values", body(typ, id, when, email) + body(typ, id, when), "body"},
		{"JSON array", "[" + body(typ, id, when, email) + "]", "body"},
		{"JSON string", `"ada.lovelace@example.com"`, "body"},
		{"cut short", body(typ, id, when, email)[:60], "body"},
		{"syntax error after the email", `{"email":"ada.lovelace@example.com",}`, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := extole.Parse([]byte(tt.body))
			if !errors.Is(err, extole.ErrInvalid) {
				t.Fatalf("Parse error = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
			if strings.Contains(err.Error(), testEmail) {
				t.Errorf("error %q repeats the email of the body", err)
			}
		})
	}
}

func TestParseEventID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"a", true},
		{"7", true},
		{"evt_1.2:3-4", true},
		{"6a1f0c2e-9b7d-4a51-8c3d-9d4e0f1a2b3c", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{".evt", false},
		{"_evt", false},
		{"evt 1", false},
		{"evt/1", false},
		{"evt\\1", false},
		{"evt\n", false},
		{"evt\t1", false},
		{"evt#1", false},
		{"evt?1", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			id, err := json.Marshal(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			body := `{"type":"shared","event_id":` + string(id) +
				`,"event_time":"2024-03-01T10:00:00Z"}`
			ev, err := extole.Parse([]byte(body))
			switch {
			case tt.ok && err != nil:
				t.Errorf("Parse refused event_id %q: %v", tt.id, err)
			case tt.ok && ev.EventID != tt.id:
				t.Errorf("EventID = %q, want %q", ev.EventID, tt.id)
			case !tt.ok && !errors.Is(err, extole.ErrInvalid):
				t.Errorf("Parse error = %v, want ErrInvalid for event_id %q", err, tt.id)
			}
		})
	}
}

func TestParseFaceValue(t *testing.T) {
	tests := []struct {
		name  string
		value string // raw JSON
		want  json.Number
		ok    bool
	}{
		{"integer", `50`, "50", true},
		{"decimal kept exact", `19.990`, "19.990", true},
		{"large integer kept exact", `12345678901234567890`, "12345678901234567890", true},
		{"numeric string", `"50"`, "50", true},
		{"numeric string with spaces", `" 12.50 "`, "12.50", true},
		{"absent", `null`, "", true},
		{"words", `"fifty"`, "", false},
		{"currency sign", `"$50"`, "", false},
		{"empty string", `""`, "", false},
		{"array", `[50]`, "", false},
		// Go reads these as numbers, JSON does not: they could not reach Braze.
		{"NaN", `"NaN"`, "", false},
		{"infinity", `"Inf"`, "", false},
		{"hex float", `"0x1p-2"`, "", false},
		{"leading plus", `"+1"`, "", false},
		{"leading dot", `".5"`, "", false},
		{"trailing dot", `"1."`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"type":"reward_fulfilled","event_id":"evt-1",` +
				`"event_time":"2024-03-01T10:00:00Z","face_value":` + tt.value + `}`
			ev, err := extole.Parse([]byte(body))
			if !tt.ok {
				if !errors.Is(err, extole.ErrInvalid) || !strings.Contains(err.Error(), "face_value") {
					t.Errorf("Parse error = %v, want ErrInvalid naming face_value", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if ev.FaceValue != tt.want {
				t.Errorf("FaceValue = %q, want %q", ev.FaceValue, tt.want)
			}
		})
	}
}

func TestParseRefusesLargeOrDeepBodiesGracefully(t *testing.T) {
	// Deep nesting in data is the program's business, but it must not crash
	// the parser, and an enormous string must not be echoed back.
	deep := strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200)
	body := `{"type":"converted","event_id":"evt-1","event_time":"2024-03-01T10:00:00Z",` +
		`"data":` + deep + `}`
	if _, err := extole.Parse([]byte(body)); err != nil {
		t.Errorf("Parse of deeply nested data: %v", err)
	}

	longType := strings.Repeat("x", 10_000)
	body = `{"type":"` + longType + `","event_id":"evt-1","event_time":"2024-03-01T10:00:00Z"}`
	_, err := extole.Parse([]byte(body))
	if !errors.Is(err, extole.ErrInvalid) {
		t.Fatalf("Parse error = %v, want ErrInvalid", err)
	}
	if len(err.Error()) > 200 {
		t.Errorf("error repeats the long value: %d bytes", len(err.Error()))
	}
}

func TestEventIsReward(t *testing.T) {
	tests := []struct {
		typ   string
		state string
		ok    bool
	}{
		{"reward_fulfilled", "FULFILLED", true},
		{"reward_earned", "EARNED", true},
		{"reward_fulfillment_failed", "FULFILLMENT_FAILED", true},
		{"shared", "", false},
		{"converted", "", false},
		{"rewarded", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			state, ok := extole.Event{Type: tt.typ}.IsReward()
			if ok != tt.ok || (ok && state != tt.state) {
				t.Errorf("IsReward() = %q, %v; want %q, %v", state, ok, tt.state, tt.ok)
			}
		})
	}
}

// Field names are matched exactly: a field in another case is an unknown
// field, ignored whatever it holds, and cannot replace a known one.
func TestParseMatchesFieldNamesExactly(t *testing.T) {
	body := `{"type":"shared","event_id":"evt-1","Event_ID":"evt-2","EVENT_ID":7,` +
		`"event_time":"2024-03-01T10:00:00Z","EMAIL":5,"Email":"other@example.com"}`
	ev, err := extole.Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if ev.EventID != "evt-1" || ev.Email != "" {
		t.Errorf("EventID %q, Email %q: want evt-1 and no email", ev.EventID, ev.Email)
	}
}

// A wrong type is reported by the body's field name.
func TestParseNamesTheFieldOfAWrongType(t *testing.T) {
	_, err := extole.Parse([]byte(`{"type":"shared","event_id":"evt-1",` +
		`"event_time":"2024-03-01T10:00:00Z","email":5}`))
	if err == nil || !strings.HasPrefix(err.Error(), "invalid event: email: must be a string") {
		t.Errorf("error = %v, want it to start with the field name email", err)
	}
}
