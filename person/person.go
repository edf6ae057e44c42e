// Package person is the protocol by which the syncs of one person take turns:
// each sync asks the person's workflow for a turn, gets it in Extole
// event-time order, and reports when it is done. The person's workflow also
// remembers the latest event time applied to the person's subscription and
// profile, so that an event that arrives late cannot undo a newer one.
package person

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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
	// Subscription and Profile are the latest Extole event times applied to
	// the person's subscription and profile attributes; zero when none.
	Subscription time.Time `json:"subscription,omitzero"`
	Profile      time.Time `json:"profile,omitzero"`
}

// Done reports that a sync's turn is over, and what it applied.
type Done struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// Subscription and Profile are the event time, when the sync applied
	// subscription or profile attributes; zero otherwise.
	Subscription time.Time `json:"subscription,omitzero"`
	Profile      time.Time `json:"profile,omitzero"`
}

// State is the state of a person's workflow, carried across continue-as-new.
type State struct {
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
