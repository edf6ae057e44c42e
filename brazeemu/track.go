package brazeemu

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"
)

// The input arrays of /users/track, in the order Braze's answer names them
// and the emulator applies them: attributes first, so that an object
// creating a profile helps the events of the same request find it.
const (
	arrayAttributes = "attributes"
	arrayEvents     = "events"
	arrayPurchases  = "purchases"
)

var trackArrays = []string{arrayAttributes, arrayEvents, arrayPurchases}

// msgNoValidData is Braze's answer when no object of a /users/track request
// is valid.
const msgNoValidData = "Valid data must be provided in the 'attributes', 'events', " +
	"or 'purchases' fields."

// objectError is one dropped object in an answer's "errors".
type objectError struct {
	Type       string `json:"type"`
	InputArray string `json:"input_array"`
	Index      int    `json:"index"`
}

type trackAnswer struct {
	Message             string        `json:"message"`
	AttributesProcessed *int          `json:"attributes_processed,omitempty"`
	EventsProcessed     *int          `json:"events_processed,omitempty"`
	PurchasesProcessed  *int          `json:"purchases_processed,omitempty"`
	Errors              []objectError `json:"errors,omitempty"`
}

// trackInput is a /users/track request split into its valid objects and
// the errors of the others.
type trackInput struct {
	attributes []attributesObject
	events     []eventObject
	purchases  []purchaseObject
	errors     []objectError
}

func (in *trackInput) valid() int {
	return len(in.attributes) + len(in.events) + len(in.purchases)
}

// track serves POST /users/track.
//
// When no object at all is valid, Braze answers 400 with
// msgNoValidData and the errors of every object (seen in answers from
// Braze, and what its docs call a fatal error); the emulator does the same,
// for an empty request too. Otherwise the answer is 201 "success" with a
// *_processed count for each array the request held and the dropped objects
// in "errors".
func (s *Server) track(body []byte, now time.Time) reply {
	arrays, msg := decodeTrack(body)
	if msg != "" {
		return errorReply(http.StatusBadRequest, msg)
	}
	objects := make(map[string]int, len(arrays))
	for name, items := range arrays {
		objects[name] = len(items)
	}
	for _, name := range trackArrays {
		if n := len(arrays[name]); n > s.opts.MaxObjects {
			rep := errorReply(http.StatusBadRequest, fmt.Sprintf(
				"Max Input Length Exceeded: '%s' holds %d objects, at most %d are allowed",
				name, n, s.opts.MaxObjects))
			rep.objects = objects
			return rep
		}
	}

	in := readTrack(arrays, now)
	if in.valid() == 0 {
		return reply{
			status:  http.StatusBadRequest,
			body:    trackAnswer{Message: msgNoValidData, Errors: in.errors},
			objects: objects,
		}
	}
	skipped := s.applyTrack(in, now)
	return reply{
		status:  http.StatusCreated,
		body:    processedAnswer(in, objects),
		objects: objects,
		skipped: skipped,
	}
}

// decodeTrack splits the body into its arrays; an array that is null counts
// as absent.
func decodeTrack(body []byte) (map[string][]json.RawMessage, string) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, "The request body must be a JSON object"
	}
	arrays := make(map[string][]json.RawMessage)
	for _, name := range trackArrays {
		raw, ok := top[name]
		if !ok || string(raw) == "null" {
			continue
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Sprintf("'%s' must be an array", name)
		}
		arrays[name] = items
	}
	return arrays, ""
}

func readTrack(arrays map[string][]json.RawMessage, now time.Time) *trackInput {
	in := &trackInput{}
	for _, name := range trackArrays {
		for i, raw := range arrays[name] {
			if msg := in.read(name, i, raw, now); msg != "" {
				in.errors = append(in.errors, objectError{Type: msg, InputArray: name, Index: i})
			}
		}
	}
	return in
}

// read validates one object and keeps it when valid.
func (in *trackInput) read(array string, index int, raw json.RawMessage, now time.Time) string {
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return errNotObject
	}
	switch array {
	case arrayAttributes:
		a, msg := readAttributes(obj)
		if msg == "" {
			a.index = index
			in.attributes = append(in.attributes, a)
		}
		return msg
	case arrayEvents:
		e, msg := readEvent(obj, now)
		if msg == "" {
			e.index = index
			in.events = append(in.events, e)
		}
		return msg
	}
	p, msg := readPurchase(obj, now)
	if msg == "" {
		p.index = index
		in.purchases = append(in.purchases, p)
	}
	return msg
}

// processedAnswer counts the valid objects of each array the request sent.
func processedAnswer(in *trackInput, sent map[string]int) trackAnswer {
	ans := trackAnswer{Message: "success", Errors: in.errors}
	count := func(array string, n int) *int {
		if _, ok := sent[array]; !ok {
			return nil
		}
		return &n
	}
	ans.AttributesProcessed = count(arrayAttributes, len(in.attributes))
	ans.EventsProcessed = count(arrayEvents, len(in.events))
	ans.PurchasesProcessed = count(arrayPurchases, len(in.purchases))
	return ans
}

// applyTrack applies the valid objects in order and returns those that
// named nobody Braze would update.
func (s *Server) applyTrack(in *trackInput, now time.Time) []Skipped {
	var skipped []Skipped
	skip := func(array string, index int, reason string) {
		if reason != "" {
			skipped = append(skipped, Skipped{InputArray: array, Index: index, Reason: reason})
		}
	}
	for _, a := range in.attributes {
		skip(arrayAttributes, a.index, s.applyAttributes(a, now))
	}
	for _, e := range in.events {
		skip(arrayEvents, e.index, s.applyEvent(e, now))
	}
	for _, p := range in.purchases {
		skip(arrayPurchases, p.index, s.applyPurchase(p, now))
	}
	return skipped
}

// applyAttributes sets the fields of one attributes object. Subscription
// group states are kept per email address on Braze, so a change also
// reaches every other profile with the same email.
func (s *Server) applyAttributes(a attributesObject, now time.Time) string {
	p, reason := s.store.resolve(a.ref, a.updateOnly, now)
	if p == nil {
		return reason
	}
	for _, k := range slices.Sorted(maps.Keys(a.fields)) {
		v := a.fields[k]
		switch k {
		case "email_subscribe":
			p.EmailSubscribe, _ = v.(string)
		case "subscription_groups":
			if v == nil {
				p.SubscriptionGroups = nil
			}
		default:
			s.store.setAttribute(p, k, v)
		}
	}
	if groups, ok := a.fields["subscription_groups"].([]any); ok {
		s.setGroups(p, groups, now)
	}
	p.UpdatedAt = now
	return ""
}

func (s *Server) setGroups(p *Profile, groups []any, now time.Time) {
	targets := []*Profile{p}
	if email, ok := p.Attributes["email"].(string); ok {
		targets = append(targets, s.store.withContact("email", email)...)
	}
	for _, t := range targets {
		if t.SubscriptionGroups == nil {
			t.SubscriptionGroups = make(map[string]string)
		}
		for _, g := range groups {
			m := g.(map[string]any)
			t.SubscriptionGroups[m["subscription_group_id"].(string)] = m["subscription_state"].(string)
		}
		t.UpdatedAt = now
	}
}

// applyEvent stores one event on its profile and in the event log.
func (s *Server) applyEvent(e eventObject, now time.Time) string {
	p, reason := s.store.resolve(e.ref, e.updateOnly, now)
	if p == nil {
		return reason
	}
	p.Events = append(p.Events, e.event)
	p.UpdatedAt = now
	s.events = append(s.events, RecordedEvent{
		Ref:        e.ref,
		BrazeID:    p.BrazeID,
		Name:       e.event.Name,
		Time:       e.event.Time,
		Properties: e.event.Properties,
		Received:   now,
	})
	return ""
}

func (s *Server) applyPurchase(pu purchaseObject, now time.Time) string {
	p, reason := s.store.resolve(pu.ref, pu.updateOnly, now)
	if p == nil {
		return reason
	}
	p.Purchases = append(p.Purchases, pu.purchase)
	p.UpdatedAt = now
	return ""
}
