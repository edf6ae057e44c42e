package brazeemu

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Alias is a user alias: a name within a label. A profile holds at most one
// alias name per label.
type Alias struct {
	Name  string `json:"alias_name"`
	Label string `json:"alias_label"`
}

// Ref names a person the way a Braze request does. Set one field; Profile
// looks at them in the order declared.
type Ref struct {
	ExternalID string `json:"external_id,omitempty"`
	Alias      *Alias `json:"user_alias,omitempty"`
	BrazeID    string `json:"braze_id,omitempty"`
	Email      string `json:"email,omitempty"`
	Phone      string `json:"phone,omitempty"`
}

// Kind names the identifier the reference uses.
func (r Ref) Kind() string {
	switch {
	case r.ExternalID != "":
		return "external_id"
	case r.Alias != nil:
		return "user_alias"
	case r.BrazeID != "":
		return "braze_id"
	case r.Email != "":
		return "email"
	case r.Phone != "":
		return "phone"
	}
	return ""
}

func (r Ref) clone() Ref {
	if r.Alias != nil {
		a := *r.Alias
		r.Alias = &a
	}
	return r
}

// Profile is a copy of one emulated user profile.
type Profile struct {
	BrazeID    string  `json:"braze_id"`
	ExternalID string  `json:"external_id,omitempty"`
	Aliases    []Alias `json:"user_aliases,omitempty"`
	// Attributes holds the standard fields (email, first_name, ...) and
	// the custom attributes alike, as last set; a null removes a key.
	Attributes map[string]any `json:"attributes,omitempty"`
	// EmailSubscribe is opted_in, subscribed, unsubscribed, or empty.
	EmailSubscribe string `json:"email_subscribe,omitempty"`
	// SubscriptionGroups maps a subscription group id to its state,
	// subscribed or unsubscribed.
	SubscriptionGroups map[string]string `json:"subscription_groups,omitempty"`
	Events             []Event           `json:"events,omitempty"`
	Purchases          []Purchase        `json:"purchases,omitempty"`
	CreatedAt          time.Time         `json:"created_at"`
	UpdatedAt          time.Time         `json:"updated_at"`
}

// Alias returns the profile's alias name in label, if it has one.
func (p Profile) Alias(label string) (string, bool) {
	for _, a := range p.Aliases {
		if a.Label == label {
			return a.Name, true
		}
	}
	return "", false
}

// Event is one custom event held on a profile.
type Event struct {
	Name       string         `json:"name"`
	Time       time.Time      `json:"time"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Purchase is one purchase held on a profile.
type Purchase struct {
	ProductID  string         `json:"product_id"`
	Currency   string         `json:"currency"`
	Price      float64        `json:"price"`
	Quantity   int            `json:"quantity"`
	Time       time.Time      `json:"time"`
	Properties map[string]any `json:"properties,omitempty"`
}

func (p *Profile) clone() Profile {
	c := *p
	c.Aliases = slices.Clone(p.Aliases)
	c.Attributes = cloneMap(p.Attributes)
	c.SubscriptionGroups = maps.Clone(p.SubscriptionGroups)
	c.Events = make([]Event, len(p.Events))
	for i, e := range p.Events {
		e.Properties = cloneMap(e.Properties)
		c.Events[i] = e
	}
	c.Purchases = make([]Purchase, len(p.Purchases))
	for i, pu := range p.Purchases {
		pu.Properties = cloneMap(pu.Properties)
		c.Purchases[i] = pu
	}
	return c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneMap(t)
	case []any:
		c := make([]any, len(t))
		for i, x := range t {
			c[i] = cloneValue(x)
		}
		return c
	}
	return v
}

// contact is an email address or phone number as an index key.
type contact struct {
	field string
	value string
}

func contactOf(field, value string) contact {
	value = strings.TrimSpace(value)
	if field == "email" {
		value = strings.ToLower(value)
	}
	return contact{field, value}
}

// store holds the profiles and the indexes that find them.
type store struct {
	profiles   map[string]*Profile
	byExternal map[string]string
	byAlias    map[Alias]string
	byContact  map[contact]map[string]bool
	next       int
}

func newStore() *store {
	return &store{
		profiles:   make(map[string]*Profile),
		byExternal: make(map[string]string),
		byAlias:    make(map[Alias]string),
		byContact:  make(map[contact]map[string]bool),
	}
}

// create adds an empty profile with the next Braze id. Ids come from a
// counter, so a test sees the same ids on every run.
func (st *store) create(now time.Time) *Profile {
	st.next++
	p := &Profile{
		BrazeID:   fmt.Sprintf("%024x", st.next),
		CreatedAt: now,
		UpdatedAt: now,
	}
	st.profiles[p.BrazeID] = p
	return p
}

func (st *store) byBrazeID(id string) *Profile {
	return st.profiles[id]
}

func (st *store) byExternalID(id string) *Profile {
	return st.profiles[st.byExternal[id]]
}

func (st *store) byUserAlias(a Alias) *Profile {
	return st.profiles[st.byAlias[a]]
}

// withContact returns the profiles whose email (case-insensitive) or phone
// attribute is value, in creation order.
func (st *store) withContact(field, value string) []*Profile {
	ids := slices.Sorted(maps.Keys(st.byContact[contactOf(field, value)]))
	ps := make([]*Profile, len(ids))
	for i, id := range ids {
		ps[i] = st.profiles[id]
	}
	return ps
}

// preferred picks, among profiles sharing an email or phone, the one Braze
// updates: a profile with an external id first, then the most recently
// updated (the later created on a tie).
func preferred(ps []*Profile) *Profile {
	var best *Profile
	for _, p := range ps {
		switch {
		case best == nil:
			best = p
		case (p.ExternalID != "") != (best.ExternalID != ""):
			if p.ExternalID != "" {
				best = p
			}
		case !p.UpdatedAt.Before(best.UpdatedAt):
			best = p
		}
	}
	return best
}

func (st *store) sorted() []*Profile {
	ids := slices.Sorted(maps.Keys(st.profiles))
	ps := make([]*Profile, len(ids))
	for i, id := range ids {
		ps[i] = st.profiles[id]
	}
	return ps
}

func (st *store) setExternalID(p *Profile, id string) {
	p.ExternalID = id
	st.byExternal[id] = p.BrazeID
}

// addAlias gives p the alias, replacing nothing: callers check first that
// p has no alias in that label and that no other profile holds it.
func (st *store) addAlias(p *Profile, a Alias) {
	p.Aliases = append(p.Aliases, a)
	slices.SortFunc(p.Aliases, func(x, y Alias) int { return strings.Compare(x.Label, y.Label) })
	st.byAlias[a] = p.BrazeID
}

// setAttribute sets one attribute, or removes it when value is nil, and
// keeps the email and phone indexes current.
func (st *store) setAttribute(p *Profile, key string, value any) {
	if key == "email" || key == "phone" {
		st.unindexContact(p, key)
	}
	if value == nil {
		delete(p.Attributes, key)
	} else {
		if p.Attributes == nil {
			p.Attributes = make(map[string]any)
		}
		p.Attributes[key] = value
	}
	if key == "email" || key == "phone" {
		st.indexContact(p, key)
	}
}

func (st *store) indexContact(p *Profile, field string) {
	v, ok := p.Attributes[field].(string)
	if !ok || strings.TrimSpace(v) == "" {
		return
	}
	c := contactOf(field, v)
	if st.byContact[c] == nil {
		st.byContact[c] = make(map[string]bool)
	}
	st.byContact[c][p.BrazeID] = true
}

func (st *store) unindexContact(p *Profile, field string) {
	v, ok := p.Attributes[field].(string)
	if !ok {
		return
	}
	c := contactOf(field, v)
	delete(st.byContact[c], p.BrazeID)
	if len(st.byContact[c]) == 0 {
		delete(st.byContact, c)
	}
}

// remove deletes a profile and every index entry pointing at it.
func (st *store) remove(p *Profile) {
	st.unindexContact(p, "email")
	st.unindexContact(p, "phone")
	for _, a := range p.Aliases {
		if st.byAlias[a] == p.BrazeID {
			delete(st.byAlias, a)
		}
	}
	if p.ExternalID != "" && st.byExternal[p.ExternalID] == p.BrazeID {
		delete(st.byExternal, p.ExternalID)
	}
	delete(st.profiles, p.BrazeID)
}

// find returns the profile a reference names, without creating one.
func (st *store) find(ref Ref) *Profile {
	switch ref.Kind() {
	case "external_id":
		return st.byExternalID(ref.ExternalID)
	case "user_alias":
		return st.byUserAlias(*ref.Alias)
	case "braze_id":
		return st.byBrazeID(ref.BrazeID)
	case "email":
		return preferred(st.withContact("email", ref.Email))
	case "phone":
		return preferred(st.withContact("phone", ref.Phone))
	}
	return nil
}

// resolve returns the profile an object of /users/track names, creating it
// when Braze would: an external id, email or phone creates a profile unless
// _update_existing_only is true; an alias creates an alias-only profile only
// when _update_existing_only is false; a braze_id never creates one. On
// failure it says why, for Request.Skipped.
func (st *store) resolve(ref Ref, updateOnly *bool, now time.Time) (*Profile, string) {
	if p := st.find(ref); p != nil {
		return p, ""
	}
	kind := ref.Kind()
	create := updateOnly == nil || !*updateOnly
	if kind == "user_alias" {
		create = updateOnly != nil && !*updateOnly
	}
	if kind == "braze_id" || !create {
		return nil, "no profile with this " + kind
	}
	p := st.create(now)
	switch kind {
	case "external_id":
		st.setExternalID(p, ref.ExternalID)
	case "user_alias":
		st.addAlias(p, *ref.Alias)
	case "email":
		st.setAttribute(p, "email", ref.Email)
	case "phone":
		st.setAttribute(p, "phone", ref.Phone)
	}
	return p, ""
}
