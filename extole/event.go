// Package extole is the Extole side of the sync: the webhook body we accept,
// how its sender is authenticated, and how an event maps to Braze objects.
package extole

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// Event is one Extole webhook body. Fields we do not know are ignored.
type Event struct {
	Type          string    `json:"type"`
	EventID       string    `json:"event_id"`
	EventTime     time.Time `json:"event_time"`
	PersonID      string    `json:"person_id,omitempty"`
	PartnerUserID string    `json:"partner_user_id,omitempty"`
	Email         string    `json:"email,omitempty"`
	FirstName     string    `json:"first_name,omitempty"`
	LastName      string    `json:"last_name,omitempty"`
	Program       string    `json:"program,omitempty"`
	Funnel        string    `json:"funnel,omitempty"`
	ShareLink     string    `json:"share_link,omitempty"`
	ShareChannel  string    `json:"share_channel,omitempty"`
	RewardID      string    `json:"reward_id,omitempty"`
	// FaceValue is a number in Extole's bodies; json.Number keeps it exact.
	FaceValue           json.Number    `json:"face_value,omitempty"`
	FaceValueType       string         `json:"face_value_type,omitempty"`
	CouponCode          string         `json:"coupon_code,omitempty"`
	ListType            string         `json:"list_type,omitempty"`
	SubscriptionGroupID string         `json:"subscription_group_id,omitempty"`
	Data                map[string]any `json:"data,omitempty"`
}

// MaxBody is the largest webhook body accepted, in bytes.
const MaxBody = 1 << 20

// ErrInvalid marks an event the sender must fix: the body is not an event
// we can sync. Its message names the field.
var ErrInvalid = errors.New("invalid event")

var (
	eventType = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	// eventID is what may go into a workflow id: no spaces, slashes or
	// control characters.
	eventID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
)

// Parse decodes and checks one webhook body. Fields are matched by their
// exact names; fields we do not know are ignored, whatever they hold. Errors
// name the field but never repeat its value, which may be personal data.
func Parse(body []byte) (Event, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return Event{}, invalid("body: %s", describe(err))
	}
	if fields == nil {
		return Event{}, invalid("body: must be a JSON object, not null")
	}
	var ev Event
	text := []struct {
		name string
		to   *string
	}{
		{"type", &ev.Type}, {"event_id", &ev.EventID},
		{"person_id", &ev.PersonID}, {"partner_user_id", &ev.PartnerUserID},
		{"email", &ev.Email}, {"first_name", &ev.FirstName}, {"last_name", &ev.LastName},
		{"program", &ev.Program}, {"funnel", &ev.Funnel},
		{"share_link", &ev.ShareLink}, {"share_channel", &ev.ShareChannel},
		{"reward_id", &ev.RewardID}, {"face_value_type", &ev.FaceValueType},
		{"coupon_code", &ev.CouponCode}, {"list_type", &ev.ListType},
		{"subscription_group_id", &ev.SubscriptionGroupID},
	}
	for _, f := range text {
		if err := decodeField(fields, f.name, f.to); err != nil {
			return Event{}, err
		}
	}
	var eventTime string
	var faceValue any
	if err := errors.Join(
		decodeField(fields, "event_time", &eventTime),
		decodeField(fields, "face_value", &faceValue),
		decodeField(fields, "data", &ev.Data),
	); err != nil {
		return Event{}, err
	}
	if err := ev.setTime(eventTime); err != nil {
		return Event{}, err
	}
	if err := ev.setFaceValue(faceValue); err != nil {
		return Event{}, err
	}
	return ev, ev.check()
}

// decodeField decodes the field name, when present and not null, into to.
func decodeField[T any](fields map[string]json.RawMessage, name string, to *T) error {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(to); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field == "" {
			return invalid("%s: must be %s, not %s", name, jsonKind(typeErr.Type.Kind().String()),
				typeErr.Value)
		}
		return invalid("%s: %s", name, describe(err))
	}
	return nil
}

// Extole's times are between the years 1 and 9999, which JSON can carry.
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

func (ev *Event) setTime(s string) error {
	if s == "" {
		return invalid("event_time: required")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return invalid("event_time: not an RFC 3339 time")
	}
	if t = t.UTC(); t.Before(minTime) || t.After(maxTime) {
		return invalid("event_time: out of range (years 1 to 9999)")
	}
	ev.EventTime = t
	return nil
}

// jsonNumber is the grammar of a JSON number.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

func (ev *Event) setFaceValue(v any) error {
	switch v := v.(type) {
	case nil:
	case json.Number:
		ev.FaceValue = v
	case string:
		// Some Extole bodies send money as a string; keep it only if numeric.
		n := strings.TrimSpace(v)
		if !jsonNumber.MatchString(n) {
			return invalid("face_value: not a number")
		}
		ev.FaceValue = json.Number(n)
	default:
		return invalid("face_value: must be a number")
	}
	return nil
}

func (ev Event) check() error {
	switch {
	case ev.Type == "":
		return invalid("type: required")
	case !eventType.MatchString(ev.Type):
		return invalid("type: not an event type (lower case letters, digits, _)")
	case ev.EventID == "":
		return invalid("event_id: required")
	case !eventID.MatchString(ev.EventID):
		return invalid("event_id: must be 1 to 128 letters, digits or . _ : - " +
			"(starting with a letter or digit)")
	case ev.Funnel != "" && ev.Funnel != "advocate" && ev.Funnel != "friend":
		return invalid("funnel: must be advocate or friend")
	}
	return nil
}

// IsReward reports whether the event is a reward state change, and which
// state (upper case, as Extole names states).
func (ev Event) IsReward() (state string, ok bool) {
	s, ok := strings.CutPrefix(ev.Type, "reward_")
	return strings.ToUpper(s), ok
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// describe turns a JSON decoding error into a message that never repeats
// the body.
func describe(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Sprintf("must be %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("not valid JSON (at byte %d)", syntaxErr.Offset)
	case errors.Is(err, io.EOF):
		return "empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "not valid JSON (ends too early)"
	}
	return "not valid JSON"
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "map", "struct":
		return "a JSON object"
	}
	return goKind
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
