package brazeemu

import (
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// Request is one call to a Braze endpoint (or to an unknown path) as the
// emulator saw and answered it.
type Request struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	// Status is the status answered, or DropConnection.
	Status int `json:"status"`
	// Body is the request body; nil when it was over the size cap.
	Body []byte `json:"body"`
	// Objects counts the objects of each input array of the request
	// ("events": 2, "external_ids": 1, ...), when it got that far.
	Objects map[string]int `json:"objects,omitempty"`
	// Skipped lists the objects Braze would accept and count as processed
	// but that changed nothing, because they named nobody it would update.
	Skipped []Skipped `json:"skipped,omitempty"`
	// Fault reports that an injected Fault shaped the answer.
	Fault bool `json:"fault,omitempty"`
}

// MarshalJSON writes Body as JSON when it is, else as a string, so that
// the admin listing stays readable.
func (r Request) MarshalJSON() ([]byte, error) {
	type plain Request
	var body any
	switch {
	case r.Body == nil:
	case json.Valid(r.Body):
		body = json.RawMessage(r.Body)
	default:
		body = string(r.Body)
	}
	return json.Marshal(struct {
		plain
		Body any `json:"body"`
	}{plain(r), body})
}

func (r Request) clone() Request {
	r.Body = slices.Clone(r.Body)
	r.Objects = maps.Clone(r.Objects)
	r.Skipped = slices.Clone(r.Skipped)
	return r
}

// Skipped is an object that was accepted but changed nothing, and why.
type Skipped struct {
	InputArray string `json:"input_array"`
	Index      int    `json:"index"`
	Reason     string `json:"reason"`
}

// RecordedEvent is an event /users/track accepted and stored on a profile.
type RecordedEvent struct {
	// Ref is the identifier the event object named its person by.
	Ref Ref `json:"user"`
	// BrazeID is the profile's braze_id when the event was stored.
	BrazeID    string         `json:"braze_id"`
	Name       string         `json:"name"`
	Time       time.Time      `json:"time"`
	Properties map[string]any `json:"properties,omitempty"`
	// Received is when the emulator accepted it.
	Received time.Time `json:"received"`
}

// Requests returns the recent requests, oldest first (at most
// Options.KeepRequests).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	for i, r := range s.log {
		out[i] = r.clone()
	}
	return out
}

// RequestCount returns how many requests were made to path since New or
// Reset, whatever their answer.
func (s *Server) RequestCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[path]
}

// Events returns every event accepted since New or Reset, in order.
func (s *Server) Events() []RecordedEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RecordedEvent, len(s.events))
	for i, e := range s.events {
		e.Ref = e.Ref.clone()
		e.Properties = cloneMap(e.Properties)
		out[i] = e
	}
	return out
}

// Profiles returns every profile, in order of creation.
func (s *Server) Profiles() []Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.store.sorted()
	out := make([]Profile, len(ps))
	for i, p := range ps {
		out[i] = p.clone()
	}
	return out
}

// Profile returns the profile a reference names, as /users/track would
// resolve it (by email or phone: the profile Braze would update).
func (s *Server) Profile(ref Ref) (Profile, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.store.find(ref)
	if p == nil {
		return Profile{}, false
	}
	return p.clone(), true
}

// FindByExternalID returns the profile with this external id.
func (s *Server) FindByExternalID(id string) (Profile, bool) {
	return s.Profile(Ref{ExternalID: id})
}

// FindByAlias returns the profile holding this alias.
func (s *Server) FindByAlias(name, label string) (Profile, bool) {
	return s.Profile(Ref{Alias: &Alias{Name: name, Label: label}})
}

// FindByEmail returns the profile whose email attribute matches, case
// aside; with several, the one Braze would update.
func (s *Server) FindByEmail(email string) (Profile, bool) {
	return s.Profile(Ref{Email: email})
}

// Reset forgets everything: profiles, events, requests and counts, rate
// windows and faults. Braze ids start again from the first.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clear()
}
