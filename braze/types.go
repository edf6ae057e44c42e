// Package braze is a typed client for the parts of the Braze REST API that the
// sync uses: /users/track, /users/export/ids and /users/alias/new.
package braze

import (
	"encoding/json"
	"fmt"
	"time"
)

// Alias names a person by a user alias: an alias name within an alias label.
type Alias struct {
	Name  string `json:"alias_name"`
	Label string `json:"alias_label"`
}

// UserRef names one Braze person. Exactly one field is set.
type UserRef struct {
	ExternalID string `json:"external_id,omitempty"`
	BrazeID    string `json:"braze_id,omitempty"`
	Alias      *Alias `json:"user_alias,omitempty"`
}

// IsZero reports whether the reference names nobody.
func (r UserRef) IsZero() bool {
	return r.ExternalID == "" && r.BrazeID == "" && r.Alias == nil
}

// Kind names which identifier the reference uses, for logs and search
// attributes; it never reveals the identifier itself.
func (r UserRef) Kind() string {
	switch {
	case r.ExternalID != "":
		return "external_id"
	case r.BrazeID != "":
		return "braze_id"
	case r.Alias != nil:
		return "user_alias"
	}
	return "none"
}

// Event is one custom event in a /users/track request.
type Event struct {
	UserRef
	Name       string         `json:"name"`
	Time       time.Time      `json:"time"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Attributes is one attributes object in a /users/track request: the person
// it names and the profile fields to set. Fields holds standard and custom
// attributes alike (email, first_name, email_subscribe, subscription_groups,
// extole_share_link, ...). UpdateExistingOnly, when non-nil, is sent as
// _update_existing_only; false lets an alias create an alias-only profile.
type Attributes struct {
	UserRef
	UpdateExistingOnly *bool
	Fields             map[string]any
}

// MarshalJSON flattens the person, the flag and the fields into one object,
// as Braze expects.
func (a Attributes) MarshalJSON() ([]byte, error) {
	obj := make(map[string]any, len(a.Fields)+2)
	for k, v := range a.Fields {
		obj[k] = v
	}
	if a.ExternalID != "" {
		obj["external_id"] = a.ExternalID
	}
	if a.BrazeID != "" {
		obj["braze_id"] = a.BrazeID
	}
	if a.Alias != nil {
		obj["user_alias"] = a.Alias
	}
	if a.UpdateExistingOnly != nil {
		obj["_update_existing_only"] = *a.UpdateExistingOnly
	}
	return json.Marshal(obj)
}

// UnmarshalJSON splits an attributes object back into person, flag and fields.
func (a *Attributes) UnmarshalJSON(b []byte) error {
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	var ref UserRef
	if err := json.Unmarshal(b, &ref); err != nil {
		return fmt.Errorf("attributes: %w", err)
	}
	*a = Attributes{UserRef: ref}
	if v, ok := obj["_update_existing_only"].(bool); ok {
		a.UpdateExistingOnly = &v
	}
	for _, k := range []string{"external_id", "braze_id", "user_alias", "_update_existing_only"} {
		delete(obj, k)
	}
	if len(obj) > 0 {
		a.Fields = obj
	}
	return nil
}

// TrackRequest is the body of POST /users/track.
type TrackRequest struct {
	Attributes []Attributes `json:"attributes,omitempty"`
	Events     []Event      `json:"events,omitempty"`
}

// TrackResponse is Braze's answer to /users/track. A response with Errors is
// a partial success: the objects it lists were dropped.
type TrackResponse struct {
	Message             string        `json:"message"`
	AttributesProcessed int           `json:"attributes_processed,omitempty"`
	EventsProcessed     int           `json:"events_processed,omitempty"`
	Errors              []ObjectError `json:"errors,omitempty"`
}

// ObjectError is one object Braze dropped from a request that otherwise
// succeeded.
type ObjectError struct {
	Type       string `json:"type"`
	InputArray string `json:"input_array"`
	Index      int    `json:"index"`
}

// String names the dropped object and the reason, as in
// "events[0]: invalid_event_name".
func (e ObjectError) String() string {
	return fmt.Sprintf("%s[%d]: %s", e.InputArray, e.Index, e.Type)
}

// User is the part of an exported profile the sync needs to address it.
type User struct {
	ExternalID  string  `json:"external_id,omitempty"`
	BrazeID     string  `json:"braze_id,omitempty"`
	UserAliases []Alias `json:"user_aliases,omitempty"`
}

// Ref is the best way to address the exported user: its external id when it
// has one, else its Braze id.
func (u User) Ref() UserRef {
	if u.ExternalID != "" {
		return UserRef{ExternalID: u.ExternalID}
	}
	return UserRef{BrazeID: u.BrazeID}
}
