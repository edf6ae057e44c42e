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

// Parse decodes and checks one webhook body.
func Parse(body []byte) (Event, error) {
	var raw struct {
		Event
		EventTime *string `json:"event_time"`
		FaceValue any     `json:"face_value"`
		Data      any     `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Event{}, invalid("body: %s", describe(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Event{}, invalid("body: more than one JSON value")
	}
	ev := raw.Event
	if err := ev.setTime(raw.EventTime); err != nil {
		return Event{}, err
	}
	if err := ev.setFaceValue(raw.FaceValue); err != nil {
		return Event{}, err
	}
	if err := ev.setData(raw.Data); err != nil {
		return Event{}, err
	}
	return ev, ev.check()
}

func (ev *Event) setTime(s *string) error {
	if s == nil || *s == "" {
		return invalid("event_time: required")
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return invalid("event_time: %q is not an RFC 3339 time", truncate(*s, 40))
	}
	ev.EventTime = t.UTC()
	return nil
}

func (ev *Event) setFaceValue(v any) error {
	switch v := v.(type) {
	case nil:
	case json.Number:
		ev.FaceValue = v
	case string:
		// Some Extole bodies send money as a string; keep it only if numeric.
		n := json.Number(strings.TrimSpace(v))
		if _, err := n.Float64(); err != nil {
			return invalid("face_value: %q is not a number", truncate(v, 40))
		}
		ev.FaceValue = n
	default:
		return invalid("face_value: must be a number")
	}
	return nil
}

func (ev *Event) setData(v any) error {
	switch v := v.(type) {
	case nil:
	case map[string]any:
		ev.Data = v
	default:
		return invalid("data: must be an object")
	}
	return nil
}

func (ev Event) check() error {
	switch {
	case ev.Type == "":
		return invalid("type: required")
	case !eventType.MatchString(ev.Type):
		return invalid("type: %q is not an event type (lower case letters, digits, _)",
			truncate(ev.Type, 64))
	case ev.EventID == "":
		return invalid("event_id: required")
	case !eventID.MatchString(ev.EventID):
		return invalid("event_id: must be 1 to 128 letters, digits or . _ : - " +
			"(starting with a letter or digit)")
	case ev.Funnel != "" && ev.Funnel != "advocate" && ev.Funnel != "friend":
		return invalid("funnel: %q is not advocate or friend", truncate(ev.Funnel, 40))
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

// describe turns a JSON decoding error into a message that names the field
// and never repeats the body.
func describe(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return fmt.Sprintf("must be a JSON object, not %s", typeErr.Value)
		}
		return fmt.Sprintf("%s: must be %s, not %s", field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
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
		return "an object"
	}
	return goKind
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
