package extole

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/extole-braze/extole-braze/braze"
	"github.com/extole-braze/extole-braze/config"
	"github.com/extole-braze/extole-braze/person"
)

// The Extole event types with a fixed meaning; every other type that is not
// reward_<state> is an outcome of the program (converted, shipped, ...).
const (
	TypeShareLinkCreated = "share_link_created"
	TypeShared           = "shared"
	TypeSubscribed       = "subscribed"
	TypeUnsubscribed     = "unsubscribed"
	typeRewardPrefix     = "reward_"
)

// Partner is the value of the partner property on every Braze event.
const Partner = "Extole"

// Sync is everything one Extole event asks of Braze: who the person is and
// what to send. It is the input of the sync workflow, so an operator reads
// it in the Temporal UI as the plan of the sync.
type Sync struct {
	EventID   string    `json:"event_id"`
	EventType string    `json:"event_type"`
	EventTime time.Time `json:"event_time"`
	Program   string    `json:"program,omitempty"`

	// ExternalID is the person's Braze external_id when the event carries
	// the configured key; otherwise the person is looked up by Email.
	ExternalID string `json:"external_id,omitempty"`
	Email      string `json:"email,omitempty"`
	// AliasLabel labels the alias (named by Email) created for a person
	// Braze does not know.
	AliasLabel string `json:"alias_label"`

	// PersonWorkflowID names the workflow through which the syncs of this
	// person take turns; it holds no personal data.
	PersonWorkflowID string `json:"person_workflow_id"`
	// RememberFor is how long the person's workflow remembers what it
	// applied: the dedupe window.
	RememberFor time.Duration `json:"remember_for"`

	// Subscription marks a change of the person's email subscription.
	Subscription bool `json:"subscription,omitempty"`
	// Events are the Braze events to track, not yet addressed to a person.
	Events []braze.Event `json:"events,omitempty"`
	// Attributes are the profile fields to set.
	Attributes map[string]any `json:"attributes,omitempty"`
}

// Mapper decides which Extole events are forwarded and maps them to Braze
// objects, as configured.
type Mapper struct {
	extole  config.Extole
	mapping config.Mapping
}

// NewMapper returns a mapper for a checked configuration.
func NewMapper(e config.Extole, m config.Mapping) *Mapper {
	return &Mapper{extole: e, mapping: m}
}

// Forwarded reports whether configuration forwards events of this type.
func (m *Mapper) Forwarded(ev Event) bool {
	if state, ok := ev.IsReward(); ok {
		return slices.Contains(m.extole.Events, "reward") &&
			slices.Contains(m.extole.RewardStates, state)
	}
	// "reward" in the list stands for reward states, not an outcome.
	return ev.Type != "reward" && slices.Contains(m.extole.Events, ev.Type)
}

// EventName is the Braze event name for an Extole event type.
func (m *Mapper) EventName(eventType string) string {
	if name, ok := m.mapping.EventNames[eventType]; ok {
		return name
	}
	if eventType == TypeShareLinkCreated {
		return "extole_created_share_link"
	}
	return "extole_" + eventType
}

// Map turns a forwarded event into the sync it asks for. It fails with
// ErrInvalid when the event cannot be delivered as it is: no way to
// identify the person, or values Braze would refuse.
func (m *Mapper) Map(ev Event) (Sync, error) {
	s := Sync{
		EventID:    ev.EventID,
		EventType:  ev.Type,
		EventTime:  ev.EventTime,
		Program:    ev.Program,
		Email:      normalizeEmail(ev.Email),
		AliasLabel: m.mapping.AliasLabel,
	}
	if m.mapping.ExternalIDFrom == "email_address" {
		s.ExternalID = s.Email
	} else {
		s.ExternalID = strings.TrimSpace(ev.PartnerUserID)
	}
	switch {
	case s.ExternalID != "":
		s.PersonWorkflowID = person.WorkflowID([]byte(m.mapping.PersonIDKey), "external_id", s.ExternalID)
	case s.Email != "":
		s.PersonWorkflowID = person.WorkflowID([]byte(m.mapping.PersonIDKey), "email", s.Email)
	default:
		return Sync{}, invalid("the person has no %s and no email: Braze cannot identify them",
			m.mapping.ExternalIDFrom)
	}

	s.Attributes = personAttributes(s.Email, ev)
	props := m.baseProperties(ev)
	state, isReward := ev.IsReward()
	switch {
	case ev.Type == TypeShareLinkCreated:
		setIf(s.Attributes, "extole_share_link", ev.ShareLink)
		s.addEvent(m.EventName(ev.Type), ev, props)
	case ev.Type == TypeShared:
		setIf(props, "share_channel", ev.ShareChannel)
		s.addEvent(m.EventName(ev.Type), ev, props)
	case ev.Type == TypeSubscribed:
		s.Subscription = true
		setIf(s.Attributes, "extole_list_type", ev.ListType)
		s.Attributes["email_subscribe"] = "opted_in"
		if group := m.groupID(ev); group != "" {
			s.Attributes["subscription_groups"] = subscriptionGroups(group, "subscribed")
		}
	case ev.Type == TypeUnsubscribed:
		s.Subscription = true
		setIf(s.Attributes, "extole_list_type", ev.ListType)
		group := m.groupID(ev)
		if group != "" {
			s.Attributes["subscription_groups"] = subscriptionGroups(group, "unsubscribed")
		} else {
			s.Attributes["email_subscribe"] = "unsubscribed"
		}
		setIf(props, "email", s.Email)
		setIf(props, "external_id", s.ExternalID)
		props["subscription_state"] = "unsubscribed"
		setIf(props, "subscription_group_id", group)
		s.addEvent(m.EventName(ev.Type), ev, props)
	case isReward:
		setIf(props, "email", s.Email)
		setIf(props, "reward_id", ev.RewardID)
		if ev.FaceValue != "" {
			props["face_value"] = ev.FaceValue
		}
		setIf(props, "face_value_type", ev.FaceValueType)
		if state != "CANCELED" && state != "REVOKED" {
			setIf(props, "coupon_code", ev.CouponCode)
		}
		s.addEvent(m.EventName(ev.Type), ev, props)
	default:
		if err := checkProperties("data", ev.Data); err != nil {
			return Sync{}, err
		}
		s.addEvent(m.EventName(ev.Type), ev, outcomeProperties(ev.Data, props))
	}
	if len(s.Attributes) == 0 {
		s.Attributes = nil
	}
	return s, s.check()
}

// baseProperties are the properties every Braze event carries.
func (m *Mapper) baseProperties(ev Event) map[string]any {
	props := map[string]any{"extole_event_id": ev.EventID, "partner": Partner}
	setIf(props, "program", ev.Program)
	setIf(props, "funnel", ev.Funnel)
	return props
}

// groupID is the subscription group of a subscription event: its own, else
// the configured one.
func (m *Mapper) groupID(ev Event) string {
	if ev.SubscriptionGroupID != "" {
		return ev.SubscriptionGroupID
	}
	return m.mapping.SubscriptionGroupID
}

func (s *Sync) addEvent(name string, ev Event, props map[string]any) {
	s.Events = append(s.Events, braze.Event{Name: name, Time: ev.EventTime, Properties: props})
}

// check refuses what Braze would drop, so that the sender hears of it now
// rather than an operator later.
func (s Sync) check() error {
	for _, e := range s.Events {
		if err := checkProperties("", e.Properties); err != nil {
			return err
		}
		b, err := json.Marshal(e.Properties)
		if err != nil {
			return invalid("%s: properties cannot be encoded: %v", e.Name, err)
		}
		if len(b) > maxPropertiesSize {
			return invalid("%s: event properties are %d bytes, more than Braze's %d",
				e.Name, len(b), maxPropertiesSize)
		}
	}
	for k, v := range s.Attributes {
		if str, ok := v.(string); ok && len(str) > maxString {
			return invalid("%s: longer than Braze's %d characters", k, maxString)
		}
	}
	return nil
}

// Braze's limits on what it stores.
const (
	maxString         = 255
	maxPropertiesSize = 50 * 1024
	// maxDepth bounds how deep event properties nest: far deeper than a
	// program's data needs, and shallow enough that no body makes the
	// mapping or the encoders recurse without end.
	maxDepth = 16
)

// checkProperties checks event properties as Braze does; path says where
// they come from in the webhook body ("data", or "" for its top level).
func checkProperties(path string, props map[string]any) error {
	return checkNested(path, props, 1)
}

// checkNested checks properties nested depth levels deep.
func checkNested(path string, props map[string]any, depth int) error {
	if depth > maxDepth {
		return invalid("%s: nested deeper than %d levels", path, maxDepth)
	}
	in := func(key string) string {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	for k, v := range props {
		switch {
		case k == "" || len(k) > maxString:
			return invalid("%s: property names must have 1 to %d characters", in("<name>"), maxString)
		case strings.HasPrefix(k, "$"):
			return invalid("%s: property names must not start with $", in(truncate(k, 40)))
		case k == "time" || k == "event_name":
			return invalid("%s: the name is reserved by Braze", in(k))
		}
		if err := checkValue(in(truncate(k, 40)), v, depth); err != nil {
			return err
		}
	}
	return nil
}

func checkValue(path string, v any, depth int) error {
	switch v := v.(type) {
	case string:
		if len(v) > maxString {
			return invalid("%s: longer than Braze's %d characters", path, maxString)
		}
	case map[string]any:
		return checkNested(path, v, depth+1)
	case []any:
		if depth+1 > maxDepth {
			return invalid("%s: nested deeper than %d levels", path, maxDepth)
		}
		for _, item := range v {
			if err := checkValue(path+"[]", item, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// personAttributes are the standard profile fields the event carries.
func personAttributes(email string, ev Event) map[string]any {
	attrs := map[string]any{}
	setIf(attrs, "email", email)
	setIf(attrs, "first_name", strings.TrimSpace(ev.FirstName))
	setIf(attrs, "last_name", strings.TrimSpace(ev.LastName))
	return attrs
}

// outcomeProperties are the program's own data with the standard
// properties on top, so that a data entry cannot hide them.
func outcomeProperties(data, base map[string]any) map[string]any {
	props := make(map[string]any, len(data)+len(base))
	for k, v := range data {
		props[k] = v
	}
	for k, v := range base {
		props[k] = v
	}
	return props
}

func subscriptionGroups(id, state string) []map[string]any {
	return []map[string]any{{"subscription_group_id": id, "subscription_state": state}}
}

func setIf(m map[string]any, key, value string) {
	if value != "" {
		m[key] = value
	}
}

// normalizeEmail trims and lower-cases an address, so that one person has
// one identity whatever the case Extole reports.
func normalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}
