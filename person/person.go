// Package person is the protocol by which the syncs of one person take turns:
// each sync asks the person's workflow for a turn, gets it in Extole
// event-time order, and reports when it is done. The person's workflow also
// remembers the latest event time applied to each of the person's attributes
// (each subscription group apart), so that an event that arrives late cannot
// undo a newer one.
package person

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"
)

// Signal names of the protocol.
const (
	// RequestSignal carries a Request to the person's workflow.
	RequestSignal = "request-turn"
	// TurnSignal carries a Turn to the sync whose turn it is.
	TurnSignal = "turn"
	// DoneSignal carries a Done to the person's workflow.
	DoneSignal = "turn-done"
)

// WorkflowName is the workflow type of a person's workflow.
const WorkflowName = "Person"

// WorkflowID names the workflow of the person whose identity is given, by
// a keyed hash, so that the id holds no personal data and cannot be
// reversed by hashing guessed emails without the key.
func WorkflowID(key []byte, kind, identity string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(identity))
	return "extole-person-" + hex.EncodeToString(m.Sum(nil)[:16])
}

// Request asks for a turn on behalf of one sync.
type Request struct {
	// WorkflowID and RunID name the sync that asks.
	WorkflowID string    `json:"workflow_id"`
	RunID      string    `json:"run_id"`
	EventID    string    `json:"event_id"`
	EventTime  time.Time `json:"event_time"`
}

// Before orders requests by Extole event time, then by event id, so that
// every replay grants turns in the same order.
func (r Request) Before(o Request) bool {
	if !r.EventTime.Equal(o.EventTime) {
		return r.EventTime.Before(o.EventTime)
	}
	return r.EventID < o.EventID
}

// Turn tells a sync that it may apply its event now, and what is already
// applied.
type Turn struct {
	// Fields holds, for each key (see Keys), the latest Extole event time
	// applied to it; a key never applied is absent.
	Fields map[string]time.Time `json:"fields,omitempty"`
	// Subscription and Profile are the latest Extole event times applied to
	// the person's subscription (email_subscribe, subscription_groups) and to
	// the rest of their profile, as syncs that predate Fields reported them;
	// zero when none. Syncs no longer report them: they stay zero in a
	// person's workflow started after the last such sync, and in one that
	// outlived such syncs they still supersede a whole kind, across
	// continue-as-new too, until the workflow ends.
	Subscription time.Time `json:"subscription,omitzero"`
	Profile      time.Time `json:"profile,omitzero"`
}

// Done reports that a sync's turn is over, and what it applied.
type Done struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// Fields holds the event time at each key (see Keys) the sync applied;
	// it is empty when the sync applied nothing, or failed.
	Fields map[string]time.Time `json:"fields,omitempty"`
	// Subscription and Profile are what syncs reported before Fields: the
	// event time, when the sync applied subscription or profile attributes.
	// Syncs now leave them zero; a person's workflow still reads them from
	// the syncs that predate Fields.
	Subscription time.Time `json:"subscription,omitzero"`
	Profile      time.Time `json:"profile,omitzero"`
}

// GroupsAttribute is the attribute that sets the person's state in
// subscription groups: a list of objects, each naming its group by
// subscription_group_id. Each group is a key of its own.
const GroupsAttribute = "subscription_groups"

// GroupKey is the key of one subscription group: "subscription_groups:<id>".
func GroupKey(groupID string) string {
	return GroupsAttribute + ":" + groupID
}

// Keys returns the keys of what the attributes set, sorted: a key is what a
// newer event may have set already, and so what an older event must leave
// alone. Each attribute is the key of its name, except subscription_groups,
// whose entries are each the key of their group (see GroupKeys). The keys
// depend on the attributes alone, so that every replay finds the same.
func Keys(attrs map[string]any) []string {
	var keys []string
	for name, v := range attrs {
		if name != GroupsAttribute {
			keys = append(keys, name)
			continue
		}
		if groups, ok := GroupKeys(v); ok {
			keys = append(keys, groups...)
		} else {
			keys = append(keys, GroupsAttribute)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// GroupKeys returns the key of each entry of a subscription_groups value,
// in the list's order, as the value arrives in a workflow: decoded from
// JSON, a []any of map[string]any. It reports false for a value of any other
// shape, an empty list included, or with an entry that names no group: such
// a value is the one key "subscription_groups".
func GroupKeys(v any) ([]string, bool) {
	entries, ok := v.([]any)
	if !ok || len(entries) == 0 {
		return nil, false
	}
	keys := make([]string, len(entries))
	for i, e := range entries {
		entry, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		id, ok := entry["subscription_group_id"].(string)
		if !ok || id == "" {
			return nil, false
		}
		keys[i] = GroupKey(id)
	}
	return keys, true
}

// State is the state of a person's workflow, carried across continue-as-new.
type State struct {
	// Applied is what the syncs of the person have applied, by key and, from
	// syncs that predate keys, by kind: the latest event time of each. Every
	// turn passes it on.
	Applied Turn      `json:"applied"`
	Holder  *Request  `json:"holder,omitempty"`
	Pending []Request `json:"pending,omitempty"`
	// RememberFor is how long the workflow waits idle, remembering what was
	// applied, before it ends: the dedupe window, within which Extole may
	// still redeliver an old event.
	RememberFor time.Duration `json:"remember_for"`
}

// Start is what a sync needs to start or signal its person's workflow.
type Start struct {
	PersonWorkflowID string        `json:"person_workflow_id"`
	TaskQueue        string        `json:"task_queue"`
	RememberFor      time.Duration `json:"remember_for"`
	Request          Request       `json:"request"`
}
