package brazeemu

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"
)

// maxExportIDs caps external_ids and user_aliases of /users/export/ids.
const maxExportIDs = 50

// exportFields are the fields_to_export Braze documents. The emulator
// fills those it keeps (see exportUser) and accepts the others, which it
// has no data for.
var exportFields = map[string]bool{
	"apps": true, "attributed_campaign": true, "attributed_source": true,
	"attributed_adgroup": true, "attributed_ad": true, "braze_id": true,
	"campaigns_received": true, "canvases_received": true, "cards_clicked": true,
	"country": true, "created_at": true, "custom_attributes": true,
	"custom_events": true, "devices": true, "dob": true, "email": true,
	"email_subscribe": true, "external_id": true, "first_name": true,
	"gender": true, "home_city": true, "language": true,
	"last_coordinates": true, "last_name": true, "phone": true,
	"purchases": true, "push_subscribe": true, "push_tokens": true,
	"random_bucket": true, "time_zone": true, "total_revenue": true,
	"uninstalled_at": true, "user_aliases": true,
}

// exportedStandard are the standard attributes an export lists at the top
// level of a user, by the same name.
var exportedStandard = []string{
	"email", "first_name", "last_name", "phone", "gender", "dob",
	"country", "home_city", "language", "time_zone", "push_subscribe",
}

type exportRequest struct {
	ExternalIDs    []string `json:"external_ids"`
	UserAliases    []Alias  `json:"user_aliases"`
	EmailAddress   *string  `json:"email_address"`
	BrazeID        *string  `json:"braze_id"`
	Phone          *string  `json:"phone"`
	DeviceID       *string  `json:"device_id"`
	FieldsToExport []string `json:"fields_to_export"`
}

type exportAnswer struct {
	Message        string           `json:"message"`
	Users          []map[string]any `json:"users"`
	InvalidUserIDs []string         `json:"invalid_user_ids,omitempty"`
}

// exportIDs serves POST /users/export/ids. Unknown external ids and an
// unknown braze_id are listed in invalid_user_ids (omitted when empty, as
// Braze marks it optional); unknown aliases, emails, phones and device ids
// just find nobody. The emulator keeps no devices, so device_id always
// finds nobody.
func (s *Server) exportIDs(body []byte, _ time.Time) reply {
	var req exportRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return errorReply(http.StatusBadRequest, msgBadShape)
	}
	objects := req.objects()
	if msg := req.check(); msg != "" {
		rep := errorReply(http.StatusBadRequest, msg)
		rep.objects = objects
		return rep
	}

	found, invalid := s.lookup(req)
	ans := exportAnswer{Message: "success", Users: []map[string]any{}, InvalidUserIDs: invalid}
	for _, p := range found {
		ans.Users = append(ans.Users, restrict(exportUser(p), req.FieldsToExport))
	}
	return reply{status: http.StatusOK, body: ans, objects: objects}
}

func (r exportRequest) objects() map[string]int {
	n := map[string]int{}
	add := func(key string, count int) {
		if count > 0 {
			n[key] = count
		}
	}
	add("external_ids", len(r.ExternalIDs))
	add("user_aliases", len(r.UserAliases))
	for key, v := range r.singles() {
		if v != nil {
			n[key] = 1
		}
	}
	return n
}

const singleKeys = "email_address, braze_id, phone or device_id"

func (r exportRequest) singles() map[string]*string {
	return map[string]*string{
		"email_address": r.EmailAddress, "braze_id": r.BrazeID,
		"phone": r.Phone, "device_id": r.DeviceID,
	}
}

// check applies Braze's rules on who can be asked for: up to 50 external
// ids and up to 50 aliases (together if need be), or exactly one email
// address, braze_id, phone or device_id on its own.
func (r exportRequest) check() string {
	var singles []string
	given := r.singles()
	for _, key := range slices.Sorted(maps.Keys(given)) {
		if v := given[key]; v != nil {
			if *v == "" {
				return fmt.Sprintf("'%s' must not be empty", key)
			}
			singles = append(singles, key)
		}
	}
	lists := len(r.ExternalIDs) > 0 || len(r.UserAliases) > 0
	switch {
	case len(r.ExternalIDs) > maxExportIDs:
		return fmt.Sprintf("'external_ids' holds more than %d ids", maxExportIDs)
	case len(r.UserAliases) > maxExportIDs:
		return fmt.Sprintf("'user_aliases' holds more than %d aliases", maxExportIDs)
	case len(singles) > 1 || (len(singles) == 1 && lists):
		return "Give external_ids and/or user_aliases, or one of " + singleKeys + ", alone"
	case len(singles) == 0 && !lists:
		return "Give external_ids and/or user_aliases, or one of " + singleKeys
	}
	for _, f := range r.FieldsToExport {
		if !exportFields[f] {
			return fmt.Sprintf("'%s' is not a valid field to export", f)
		}
	}
	return ""
}

// lookup finds the requested profiles, each once, in the order asked.
func (s *Server) lookup(r exportRequest) ([]*Profile, []string) {
	var found []*Profile
	var invalid []string
	seen := map[string]bool{}
	add := func(p *Profile) {
		if p != nil && !seen[p.BrazeID] {
			seen[p.BrazeID] = true
			found = append(found, p)
		}
	}
	for _, id := range r.ExternalIDs {
		p := s.store.byExternalID(id)
		if p == nil {
			invalid = append(invalid, id)
		}
		add(p)
	}
	for _, a := range r.UserAliases {
		add(s.store.byUserAlias(a))
	}
	switch {
	case r.BrazeID != nil:
		p := s.store.byBrazeID(*r.BrazeID)
		if p == nil {
			invalid = append(invalid, *r.BrazeID)
		}
		add(p)
	case r.EmailAddress != nil:
		for _, p := range s.store.withContact("email", *r.EmailAddress) {
			add(p)
		}
	case r.Phone != nil:
		for _, p := range s.store.withContact("phone", *r.Phone) {
			add(p)
		}
	}
	return found, invalid
}

// exportUser renders a profile as Braze's export does, with the fields the
// emulator keeps: external_id, braze_id, user_aliases, created_at, the
// standard attributes, custom_attributes, email_subscribe, custom_events
// and purchases (as name, first, last and count).
func exportUser(p *Profile) map[string]any {
	u := map[string]any{
		"braze_id":   p.BrazeID,
		"created_at": p.CreatedAt.UTC().Format("2006-01-02 15:04:05.000 UTC"),
	}
	if p.ExternalID != "" {
		u["external_id"] = p.ExternalID
	}
	if len(p.Aliases) > 0 {
		u["user_aliases"] = slices.Clone(p.Aliases)
	}
	for _, k := range exportedStandard {
		if v, ok := p.Attributes[k]; ok {
			u[k] = cloneValue(v)
		}
	}
	custom := map[string]any{}
	for k, v := range p.Attributes {
		if !standardAttributes[k] {
			custom[k] = cloneValue(v)
		}
	}
	if len(custom) > 0 {
		u["custom_attributes"] = custom
	}
	if p.EmailSubscribe != "" {
		u["email_subscribe"] = p.EmailSubscribe
	}
	if len(p.Events) > 0 {
		u["custom_events"] = summarizeEvents(p.Events)
	}
	if len(p.Purchases) > 0 {
		u["purchases"] = summarizePurchases(p.Purchases)
	}
	return u
}

// occurrence summarizes the events or purchases of one name, as the export
// does: when first and last seen, how often.
type occurrence struct {
	Name  string    `json:"name"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	Count int       `json:"count"`
}

func summarize(names []string, times []time.Time) []occurrence {
	byName := map[string]*occurrence{}
	for i, name := range names {
		t := times[i].UTC()
		o := byName[name]
		if o == nil {
			o = &occurrence{Name: name, First: t, Last: t}
			byName[name] = o
		}
		o.Count++
		if t.Before(o.First) {
			o.First = t
		}
		if t.After(o.Last) {
			o.Last = t
		}
	}
	out := make([]occurrence, 0, len(byName))
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, *byName[name])
	}
	return out
}

func summarizeEvents(events []Event) []occurrence {
	names, times := make([]string, len(events)), make([]time.Time, len(events))
	for i, e := range events {
		names[i], times[i] = e.Name, e.Time
	}
	return summarize(names, times)
}

func summarizePurchases(purchases []Purchase) []occurrence {
	names, times := make([]string, len(purchases)), make([]time.Time, len(purchases))
	for i, p := range purchases {
		names[i], times[i] = p.ProductID, p.Time
	}
	return summarize(names, times)
}

// restrict keeps only the fields asked for; none asked means all.
func restrict(u map[string]any, fields []string) map[string]any {
	if len(fields) == 0 {
		return u
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		if v, ok := u[f]; ok {
			out[f] = v
		}
	}
	return out
}
