package brazeemu

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

const bobAlias = `{"alias_name":"bob@example.com","alias_label":"extole_email"}`

func TestAliasNewThenTrackViaAlias(t *testing.T) {
	h := start(t, Options{})
	r := h.post(PathAliasNew, `{"user_aliases":[`+bobAlias+`]}`)
	h.mustStatus(r, http.StatusCreated)
	if r.message() != "success" || r.number("aliases_processed") != 1 {
		t.Errorf("answer %s", r.raw)
	}
	created, ok := h.emu.FindByAlias("bob@example.com", "extole_email")
	if !ok || created.ExternalID != "" {
		t.Fatalf("alias/new made no alias-only profile: %+v", created)
	}

	// The same alias again changes nothing.
	h.mustPost(PathAliasNew, `{"user_aliases":[`+bobAlias+`]}`, http.StatusCreated)
	if n := len(h.emu.Profiles()); n != 1 {
		t.Fatalf("%d profiles after a repeated alias/new", n)
	}

	// Without _update_existing_only, the alias now finds its profile.
	h.mustTrack(both(`{"user_alias":`+bobAlias+`,"email":"bob@example.com","first_name":"Bob"}`,
		eventBy(`"user_alias":`+bobAlias, "extole_subscribed")))
	p, _ := h.emu.FindByAlias("bob@example.com", "extole_email")
	if p.BrazeID != created.BrazeID || p.Attributes["first_name"] != "Bob" || len(p.Events) != 1 {
		t.Errorf("profile after track %+v", p)
	}
	if byEmail, _ := h.emu.FindByEmail("BOB@example.com"); byEmail.BrazeID != created.BrazeID {
		t.Errorf("email lookup found %q, want %q", byEmail.BrazeID, created.BrazeID)
	}
}

func TestAliasNew(t *testing.T) {
	cases := []struct {
		name       string
		item       string
		label      string
		status     int
		wantHolder string // external id of the alias holder; "-" for none; "" alias-only
		wantSkip   string
	}{
		{"attach to an existing profile", aliasFor("l", "u1"), "l", 201, "u1", ""},
		{"unknown external id", aliasFor("l", "nope"), "l", 201, "-", "no profile with this external_id"},
		{"label taken on the profile", aliasFor("taken", "u1"), "taken", 201, "-", "another alias in this label"},
		{"alias-only profile", `{"alias_name":"a","alias_label":"l"}`, "l", 201, "", ""},
		{"without label", `{"alias_name":"a"}`, "", 400, "-", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{})
			h.mustTrack(attributes(`{"external_id":"u1"}`))
			h.mustPost(PathAliasNew, `{"user_aliases":[{"alias_name":"old","alias_label":"taken","external_id":"u1"}]}`, 201)

			r := h.post(PathAliasNew, `{"user_aliases":[`+c.item+`]}`)
			h.mustStatus(r, c.status)
			p, ok := h.emu.FindByAlias("a", c.label)
			switch {
			case c.wantHolder == "-" && ok:
				t.Errorf("alias added to %+v", p)
			case c.wantHolder != "-" && (!ok || p.ExternalID != c.wantHolder):
				t.Errorf("alias holder %+v (found %v), want external id %q", p, ok, c.wantHolder)
			}
			reqs := h.emu.Requests()
			skipped := reqs[len(reqs)-1].Skipped
			checkSkipped(t, skipped, c.wantSkip)
		})
	}
}

// aliasFor is a new alias "a" in label for the person with externalID.
func aliasFor(label, externalID string) string {
	return fmt.Sprintf(`{"alias_name":"a","alias_label":%q,"external_id":%q}`, label, externalID)
}

// checkSkipped expects no skipped object, or one whose reason holds want.
func checkSkipped(t *testing.T, skipped []Skipped, want string) {
	t.Helper()
	if want == "" && len(skipped) != 0 ||
		want != "" && (len(skipped) != 1 || !strings.Contains(skipped[0].Reason, want)) {
		t.Errorf("Skipped %+v, want %q", skipped, want)
	}
}

func TestAliasNewPartlyInvalid(t *testing.T) {
	h := start(t, Options{})
	r := h.mustPost(PathAliasNew, `{"user_aliases":[{"alias_name":"a","alias_label":"l"},`+
		`{"alias_label":"l"},{"alias_name":"b","alias_label":"l"}]}`, http.StatusCreated)
	errs := r.errors()
	if r.number("aliases_processed") != 2 || len(errs) != 1 ||
		errs[0].Index != 1 || errs[0].InputArray != "user_aliases" {
		t.Errorf("answer %s", r.raw)
	}
	if n := len(h.emu.Profiles()); n != 2 {
		t.Errorf("%d profiles, want 2", n)
	}
}

func TestAliasNewCap(t *testing.T) {
	items := make([]string, 51)
	for i := range items {
		items[i] = fmt.Sprintf(`{"alias_name":"a%d","alias_label":"l"}`, i)
	}
	h := start(t, Options{})
	h.mustPost(PathAliasNew, `{"user_aliases":[`+strings.Join(items, ",")+`]}`, http.StatusBadRequest)
	h.mustPost(PathAliasNew, `{"user_aliases":[`+strings.Join(items[:50], ",")+`]}`, http.StatusCreated)
	h.mustPost(PathAliasNew, `{"user_aliases":[]}`, http.StatusBadRequest)
	if n := len(h.emu.Profiles()); n != 50 {
		t.Errorf("%d profiles, want 50", n)
	}
}

func identifyBody(externalID string) string {
	return fmt.Sprintf(`{"aliases_to_identify":[{"external_id":%q,"user_alias":%s}]}`, externalID, bobAlias)
}

// seedBob makes an alias-only profile for Bob with an email, a first name,
// a group state and an event, and an identified profile u1.
func seedBob(t *testing.T, h *harness) {
	t.Helper()
	h.mustPost(PathAliasNew, `{"user_aliases":[`+bobAlias+`]}`, http.StatusCreated)
	h.mustStatus(h.track(`{"attributes":[{"user_alias":`+bobAlias+`,"email":"bob@example.com","first_name":"Bobby",`+
		`"subscription_groups":[{"subscription_group_id":"g1","subscription_state":"subscribed"}]}],`+
		`"events":[{"user_alias":`+bobAlias+`,"name":"as_alias","time":"2025-01-01T00:00:00Z"}]}`), http.StatusCreated)
	h.mustStatus(h.track(`{"attributes":[{"external_id":"u1","first_name":"Bob"}],`+
		`"events":[{"external_id":"u1","name":"as_u1","time":"2025-01-02T00:00:00Z"}]}`), http.StatusCreated)
}

func TestIdentifyMergesIntoExistingProfile(t *testing.T) {
	h := start(t, Options{})
	seedBob(t, h)
	u1, _ := h.emu.FindByExternalID("u1")

	r := h.post(PathIdentify, identifyBody("u1"))
	h.mustStatus(r, http.StatusCreated)
	if r.number("aliases_processed") != 1 {
		t.Errorf("answer %s", r.raw)
	}
	if n := len(h.emu.Profiles()); n != 1 {
		t.Fatalf("%d profiles, want the alias-only one merged away", n)
	}
	p, ok := h.emu.FindByAlias("bob@example.com", "extole_email")
	if !ok || p.BrazeID != u1.BrazeID || p.ExternalID != "u1" {
		t.Fatalf("alias now on %+v", p)
	}
	if p.Attributes["first_name"] != "Bob" {
		t.Errorf("first_name %v: the identified profile's own value must win", p.Attributes["first_name"])
	}
	if p.Attributes["email"] != "bob@example.com" || p.SubscriptionGroups["g1"] != "subscribed" {
		t.Errorf("fields the identified profile lacked were not merged: %+v", p)
	}
	if len(p.Events) != 2 {
		t.Errorf("events %+v, want both", p.Events)
	}
	if byEmail, _ := h.emu.FindByEmail("bob@example.com"); byEmail.BrazeID != u1.BrazeID {
		t.Errorf("email index still points at the removed profile")
	}
}

func TestIdentifyWithoutMerge(t *testing.T) {
	h := start(t, Options{})
	seedBob(t, h)
	body := strings.Replace(identifyBody("u1"), `{`, `{"merge_behavior":"none",`, 1)
	h.mustPost(PathIdentify, body, http.StatusCreated)
	p, _ := h.emu.FindByAlias("bob@example.com", "extole_email")
	if p.ExternalID != "u1" || p.Attributes["email"] != nil || len(p.Events) != 1 {
		t.Errorf("profile %+v, want the alias moved and nothing else", p)
	}
}

func TestIdentifyNewExternalID(t *testing.T) {
	h := start(t, Options{})
	seedBob(t, h)
	before, _ := h.emu.FindByAlias("bob@example.com", "extole_email")
	h.mustPost(PathIdentify, identifyBody("u2"), http.StatusCreated)
	p, ok := h.emu.FindByExternalID("u2")
	if !ok || p.BrazeID != before.BrazeID || len(p.Events) != 1 {
		t.Errorf("u2 %+v, want the alias-only profile identified in place", p)
	}
}

func TestIdentifyNotCombined(t *testing.T) {
	cases := []struct {
		name  string
		setup string // alias/new body run after seedBob
		body  string
		skip  string
	}{
		{"label taken on the identified profile",
			`{"user_aliases":[{"alias_name":"other","alias_label":"extole_email","external_id":"u1"}]}`,
			identifyBody("u1"), "not combined"},
		{"unknown alias", "",
			`{"aliases_to_identify":[{"external_id":"u1","user_alias":{"alias_name":"x","alias_label":"y"}}]}`,
			"no profile with this user_alias"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{})
			seedBob(t, h)
			if c.setup != "" {
				h.mustPost(PathAliasNew, c.setup, http.StatusCreated)
			}
			before := len(h.emu.Profiles())
			h.mustPost(PathIdentify, c.body, http.StatusCreated)
			if n := len(h.emu.Profiles()); n != before {
				t.Errorf("%d profiles, want %d", n, before)
			}
			reqs := h.emu.Requests()
			skipped := reqs[len(reqs)-1].Skipped
			if len(skipped) != 1 || !strings.Contains(skipped[0].Reason, c.skip) {
				t.Errorf("Skipped %+v, want %q", skipped, c.skip)
			}
		})
	}
}

func TestIdentifyInvalid(t *testing.T) {
	cases := []struct{ name, body string }{
		{"missing external id", `{"aliases_to_identify":[{"user_alias":` + bobAlias + `}]}`},
		{"missing alias", `{"aliases_to_identify":[{"external_id":"u1"}]}`},
		{"empty list", `{"aliases_to_identify":[]}`},
		{"unknown merge behavior", strings.Replace(identifyBody("u1"), `{`, `{"merge_behavior":"all",`, 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{})
			h.mustPost(PathIdentify, c.body, http.StatusBadRequest)
		})
	}
}
