package brazeemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// maxAliases caps user_aliases of /users/alias/new and aliases_to_identify
// of /users/identify.
const maxAliases = 50

const (
	arrayUserAliases       = "user_aliases"
	arrayAliasesToIdentify = "aliases_to_identify"
)

type newAlias struct {
	Name       string `json:"alias_name"`
	Label      string `json:"alias_label"`
	ExternalID string `json:"external_id"`
}

type aliasNewRequest struct {
	UserAliases []newAlias `json:"user_aliases"`
}

type aliasToIdentify struct {
	ExternalID string `json:"external_id"`
	UserAlias  *Alias `json:"user_alias"`
}

func (a aliasToIdentify) valid() bool {
	return a.ExternalID != "" && a.UserAlias != nil &&
		a.UserAlias.Name != "" && a.UserAlias.Label != ""
}

type identifyRequest struct {
	AliasesToIdentify []aliasToIdentify `json:"aliases_to_identify"`
	MergeBehavior     string            `json:"merge_behavior"`
}

type aliasesAnswer struct {
	Message          string        `json:"message"`
	AliasesProcessed int           `json:"aliases_processed"`
	Errors           []objectError `json:"errors,omitempty"`
}

// aliasNew serves POST /users/alias/new. An alias without external_id
// creates an alias-only profile, or does nothing when a profile already
// holds that alias. With an external_id the alias joins that profile. As
// Braze processes these after answering, an alias that cannot be added (no
// profile with that external id, the alias held by another profile, the
// profile already holding a name in that label) is still counted as
// processed, and only Request.Skipped says why nothing changed. Objects
// missing alias_name or alias_label are dropped and listed as in
// /users/track.
func (s *Server) aliasNew(body []byte, now time.Time) reply {
	var req aliasNewRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return errorReply(http.StatusBadRequest, msgBadShape)
	}
	items := req.UserAliases
	objects := map[string]int{arrayUserAliases: len(items)}
	if rep, bad := checkCount(arrayUserAliases, len(items), objects); bad {
		return rep
	}

	var ans aliasesAnswer
	var skipped []Skipped
	for i, item := range items {
		if item.Name == "" || item.Label == "" {
			ans.Errors = append(ans.Errors, objectError{
				Type:       "'alias_name' and 'alias_label' are required",
				InputArray: arrayUserAliases,
				Index:      i,
			})
			continue
		}
		ans.AliasesProcessed++
		if reason := s.addAlias(item, now); reason != "" {
			skipped = append(skipped, Skipped{InputArray: arrayUserAliases, Index: i, Reason: reason})
		}
	}
	return aliasesReply(ans, objects, skipped)
}

// checkCount refuses a missing, empty or too long list of aliases.
func checkCount(array string, n int, objects map[string]int) (reply, bool) {
	var msg string
	switch {
	case n == 0:
		msg = fmt.Sprintf("'%s' is required", array)
	case n > maxAliases:
		msg = fmt.Sprintf("'%s' holds %d objects, at most %d are allowed", array, n, maxAliases)
	default:
		return reply{}, false
	}
	rep := errorReply(http.StatusBadRequest, msg)
	rep.objects = objects
	return rep, true
}

func aliasesReply(ans aliasesAnswer, objects map[string]int, skipped []Skipped) reply {
	if ans.AliasesProcessed == 0 {
		return reply{
			status:  http.StatusBadRequest,
			body:    aliasesAnswer{Message: "No valid aliases were given", Errors: ans.Errors},
			objects: objects,
		}
	}
	ans.Message = "success"
	return reply{status: http.StatusCreated, body: ans, objects: objects, skipped: skipped}
}

func (s *Server) addAlias(item newAlias, now time.Time) string {
	a := Alias{Name: item.Name, Label: item.Label}
	holder := s.store.byUserAlias(a)
	if item.ExternalID == "" {
		if holder != nil {
			return "alias exists already; nothing created"
		}
		p := s.store.create(now)
		s.store.addAlias(p, a)
		return ""
	}
	p := s.store.byExternalID(item.ExternalID)
	switch {
	case p == nil:
		return "no profile with this external_id"
	case holder == p:
		return "profile holds this alias already"
	case holder != nil:
		return "alias is held by another profile"
	}
	if _, taken := p.Alias(a.Label); taken {
		return "profile holds another alias in this label"
	}
	s.store.addAlias(p, a)
	p.UpdatedAt = now
	return ""
}

// identify serves POST /users/identify: it gives the alias-only profile
// holding each alias the external id. When a profile with that external id
// exists, the alias-only profile is merged into it and removed; with
// merge_behavior "merge" (Braze's default) the fields the identified
// profile lacks are copied over, and events and purchases are moved over;
// with "none" only the aliases move. Braze does not combine the two
// profiles when the identified one already holds an alias in the same
// label; then nothing changes. Failures show only in Request.Skipped.
func (s *Server) identify(body []byte, now time.Time) reply {
	var req identifyRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return errorReply(http.StatusBadRequest, msgBadShape)
	}
	items := req.AliasesToIdentify
	objects := map[string]int{arrayAliasesToIdentify: len(items)}
	if rep, bad := checkCount(arrayAliasesToIdentify, len(items), objects); bad {
		return rep
	}
	merge := true
	switch req.MergeBehavior {
	case "", "merge":
	case "none":
		merge = false
	default:
		rep := errorReply(http.StatusBadRequest, "'merge_behavior' must be \"none\" or \"merge\"")
		rep.objects = objects
		return rep
	}

	var ans aliasesAnswer
	var skipped []Skipped
	for i, item := range items {
		if !item.valid() {
			ans.Errors = append(ans.Errors, objectError{
				Type:       "'external_id' and 'user_alias' are required",
				InputArray: arrayAliasesToIdentify,
				Index:      i,
			})
			continue
		}
		ans.AliasesProcessed++
		if reason := s.identifyAlias(item, merge, now); reason != "" {
			skipped = append(skipped, Skipped{InputArray: arrayAliasesToIdentify, Index: i, Reason: reason})
		}
	}
	return aliasesReply(ans, objects, skipped)
}

func (s *Server) identifyAlias(item aliasToIdentify, merge bool, now time.Time) string {
	from := s.store.byUserAlias(*item.UserAlias)
	to := s.store.byExternalID(item.ExternalID)
	switch {
	case from == nil:
		return "no profile with this user_alias"
	case from == to:
		return "alias is identified with this external_id already"
	case from.ExternalID != "":
		return "alias belongs to a profile with another external_id"
	case to == nil:
		s.store.setExternalID(from, item.ExternalID)
		from.UpdatedAt = now
		return ""
	}
	for _, a := range from.Aliases {
		if _, taken := to.Alias(a.Label); taken {
			return "profiles not combined: the identified profile holds an alias in label " + a.Label
		}
	}
	s.mergeInto(to, from, merge, now)
	return ""
}

// mergeInto moves the aliases of the alias-only profile from to the
// identified profile to and removes from. With merge, the attributes and
// subscription states to lacks are copied and the events and purchases
// move too.
func (s *Server) mergeInto(to, from *Profile, merge bool, now time.Time) {
	s.store.remove(from)
	for _, a := range from.Aliases {
		s.store.addAlias(to, a)
	}
	if merge {
		for k, v := range from.Attributes {
			if _, ok := to.Attributes[k]; !ok {
				s.store.setAttribute(to, k, v)
			}
		}
		if to.EmailSubscribe == "" {
			to.EmailSubscribe = from.EmailSubscribe
		}
		if len(from.SubscriptionGroups) > 0 && to.SubscriptionGroups == nil {
			to.SubscriptionGroups = make(map[string]string)
		}
		for id, state := range from.SubscriptionGroups {
			if _, ok := to.SubscriptionGroups[id]; !ok {
				to.SubscriptionGroups[id] = state
			}
		}
		to.Events = append(to.Events, from.Events...)
		to.Purchases = append(to.Purchases, from.Purchases...)
	}
	to.UpdatedAt = now
}
