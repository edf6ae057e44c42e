package brazeemu

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTrackArrayCap(t *testing.T) {
	cases := []struct {
		array string
		obj   string
	}{
		{arrayAttributes, `{"external_id":"u1","tier":"gold"}`},
		{arrayEvents, event("u1", "e")},
		{arrayPurchases, validObject(arrayPurchases, 1)},
	}
	for _, c := range cases {
		for _, n := range []int{75, 76} {
			t.Run(fmt.Sprintf("%s %d", c.array, n), func(t *testing.T) {
				h := start(t, Options{})
				r := h.track(fmt.Sprintf(`{%q:[%s]}`, c.array, repeat(c.obj, n)))
				if n == 75 {
					h.mustStatus(r, http.StatusCreated)
					if got := r.number(c.array + "_processed"); got != 75 {
						t.Errorf("%s_processed %d, want 75", c.array, got)
					}
					return
				}
				h.mustStatus(r, http.StatusBadRequest)
				if !strings.HasPrefix(r.message(), "Max Input Length Exceeded") {
					t.Errorf("message %q", r.message())
				}
				if len(h.emu.Profiles()) != 0 || len(h.emu.Events()) != 0 {
					t.Errorf("a refused request changed state")
				}
			})
		}
	}
}

func TestTrackArrayCapOption(t *testing.T) {
	h := start(t, Options{MaxObjects: 2})
	h.mustTrack(events(event("u1", "a"), event("u1", "b")))
	h.mustStatus(h.track(events(event("u1", "a"), event("u1", "b"), event("u1", "c"))), http.StatusBadRequest)
}

// validObject returns a valid object of the array, naming person u<i>.
func validObject(array string, i int) string {
	switch array {
	case arrayAttributes:
		return fmt.Sprintf(`{"external_id":"u%d","tier":"gold"}`, i)
	case arrayEvents:
		return event(fmt.Sprintf("u%d", i), fmt.Sprintf("ok%d", i))
	}
	return fmt.Sprintf(`{"external_id":"u%d","product_id":"p%d","currency":"USD","price":9.5,"time":%q}`,
		i, i, day)
}

func TestTrackValidation(t *testing.T) {
	long := strings.Repeat("é", 256)
	max := strings.Repeat("é", 255)
	const when = `"time":"2025-01-01T00:00:00Z"`
	const aliasNL = `{"alias_name":"n","alias_label":"l"}`
	ev := func(extra string) string { return `{"external_id":"bad","name":"bad",` + when + extra + `}` }
	props := func(p string) string { return ev(`,"properties":` + p) }
	attr := func(extra string) string { return `{"external_id":"bad"` + extra + `}` }
	// who is an event naming its person by the given fields.
	who := func(fields string) string { return `{` + fields + `,"name":"e",` + when + `}` }
	// nameless is an event of person "bad" with the given fields only.
	nameless := func(fields string) string { return `{"external_id":"bad",` + fields + `}` }
	group := func(g string) string { return attr(`,"subscription_groups":` + g) }
	buy := func(fields string) string { return `{"external_id":"bad",` + fields + `,` + when + `}` }
	const (
		price    = `"currency":"USD","price":1`
		badAlias = `{"alias_name":"n"}`
	)

	cases := []struct {
		name    string
		array   string
		obj     string
		wantErr string // part of the error type; empty: the object is valid
	}{
		{"event not an object", arrayEvents, `"watched"`, "object is not valid"},
		{"event null", arrayEvents, `null`, "object is not valid"},
		{"event without identifier", arrayEvents, `{"name":"e",` + when + `}`, "is required"},
		{"event with external_id and braze_id", arrayEvents, ev(`,"braze_id":"b1"`), "only one"},
		{"event with external_id and email", arrayEvents, ev(`,"email":"a@b.c"`), "only one"},
		{"event with alias and external_id", arrayEvents, ev(`,"user_alias":` + aliasNL), "only one"},
		{"event alias without label", arrayEvents, who(`"user_alias":` + badAlias), "'user_alias'"},
		{"event alias as string", arrayEvents, who(`"user_alias":"n"`), "'user_alias' is not valid"},
		{"event numeric external_id", arrayEvents, who(`"external_id":7`), "'external_id'"},
		{"event empty external_id", arrayEvents, who(`"external_id":""`), "'external_id'"},
		{"event by email alone", arrayEvents, who(`"email":"a@b.c"`), ""},
		{"event without name", arrayEvents, nameless(when), "'name' is missing"},
		{"event with empty name", arrayEvents, nameless(`"name":"",` + when), "'name' is not valid"},
		{"event without time", arrayEvents, nameless(`"name":"e"`), "'time' is missing"},
		{"event with prose time", arrayEvents, nameless(`"name":"e","time":"today"`), "'time'"},
		{"event with epoch time", arrayEvents, nameless(`"name":"e","time":1735689600`), "'time'"},
		{"properties an array", arrayEvents, props(`["a"]`), "'properties' is not valid"},
		{"property name empty", arrayEvents, props(`{"":1}`), "property name is empty"},
		{"property name 256 chars", arrayEvents, props(`{"` + long + `":1}`), "longer than 255"},
		{"property name 255 chars", arrayEvents, props(`{"` + max + `":1}`), ""},
		{"property name with $", arrayEvents, props(`{"$price":1}`), "starts with '$'"},
		{"property name time", arrayEvents, props(`{"time":"x"}`), "reserved"},
		{"property name event_name", arrayEvents, props(`{"event_name":"x"}`), "reserved"},
		{"property value 256 chars", arrayEvents, props(`{"coupon":"` + long + `"}`), "longer than 255"},
		{"property value 255 chars", arrayEvents, props(`{"coupon":"` + max + `"}`), ""},
		{"property nested and numeric", arrayEvents, props(`{"n":50,"data":{"a":[1,2]}}`), ""},
		{"event update flag a string", arrayEvents, ev(`,"_update_existing_only":"no"`), "'_update"},

		{"attributes without identifier", arrayAttributes, `{"first_name":"Ann"}`, "is required"},
		{"attributes with two identifiers", arrayAttributes, attr(`,"braze_id":"b1"`), "only one"},
		{"attributes with email as a field", arrayAttributes, attr(`,"email":"a@b.c"`), ""},
		{"custom attribute 256 chars", arrayAttributes, attr(`,"link":"` + long + `"`), "longer than 255"},
		{"custom attribute 255 chars", arrayAttributes, attr(`,"link":"` + max + `"`), ""},
		{"email_subscribe unknown", arrayAttributes, attr(`,"email_subscribe":"yes"`), "'email_subscribe'"},
		{"email_subscribe opted_in", arrayAttributes, attr(`,"email_subscribe":"opted_in"`), ""},
		{"email_subscribe null", arrayAttributes, attr(`,"email_subscribe":null`), ""},
		{"groups an object", arrayAttributes, group(`{"subscription_group_id":"g"}`), "'subscription_groups'"},
		{"group without id", arrayAttributes, group(`[{"subscription_state":"subscribed"}]`), "'subscription_groups'"},
		{"group with empty id", arrayAttributes, group(groupJSON("", "subscribed")), "'subscription_groups'"},
		{"group opted_in", arrayAttributes, group(groupJSON("g", "opted_in")), "'subscription_groups'"},
		{"group unsubscribed", arrayAttributes, group(groupJSON("g", "unsubscribed")), ""},
		{"attributes update flag a number", arrayAttributes, attr(`,"_update_existing_only":0`), "'_update"},

		{"purchase without product", arrayPurchases, buy(price), "'product_id' is not valid"},
		{"purchase with bad currency", arrayPurchases, buy(`"product_id":"p","currency":"$","price":1`), "'currency'"},
		{"purchase with price as text", arrayPurchases, buy(`"product_id":"p","currency":"USD","price":"1"`), "'price'"},
		{"purchase with quantity 0", arrayPurchases, buy(`"product_id":"p",` + price + `,"quantity":0`), "'quantity'"},
		{"purchase without time", arrayPurchases, `{"external_id":"b","product_id":"p",` + price + `}`, "'time'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{})
			body := fmt.Sprintf(`{%q:[%s,%s,%s]}`,
				c.array, validObject(c.array, 0), c.obj, validObject(c.array, 2))
			r := h.track(body)
			h.mustStatus(r, http.StatusCreated)
			if r.message() != "success" {
				t.Errorf("message %q, want success", r.message())
			}
			wantProcessed := 3
			if c.wantErr != "" {
				wantProcessed = 2
			}
			if got := r.number(c.array + "_processed"); got != wantProcessed {
				t.Errorf("%s_processed %d, want %d", c.array, got, wantProcessed)
			}
			checkErrors(t, r, c.array, c.wantErr)
			checkApplied(t, h, c.array, c.wantErr == "")
		})
	}
}

func groupJSON(id, state string) string {
	return fmt.Sprintf(`[{"subscription_group_id":%q,"subscription_state":%q}]`, id, state)
}

// checkErrors expects no errors, or exactly one for index 1 of array.
func checkErrors(t *testing.T, r response, array, wantErr string) {
	t.Helper()
	errs := r.errors()
	if wantErr == "" {
		if _, ok := r.body["errors"]; ok {
			t.Errorf("errors %s, want none", r.raw)
		}
		return
	}
	if len(errs) != 1 {
		t.Fatalf("errors %+v, want one", errs)
	}
	e := errs[0]
	if e.InputArray != array || e.Index != 1 || !strings.Contains(e.Type, wantErr) {
		t.Errorf("error %+v, want %s[1] containing %q", e, array, wantErr)
	}
}

// checkApplied checks that the valid neighbours were applied, and the
// middle object only when valid.
func checkApplied(t *testing.T, h *harness, array string, middleValid bool) {
	t.Helper()
	for _, id := range []string{"u0", "u2"} {
		if _, ok := h.emu.FindByExternalID(id); !ok {
			t.Errorf("valid object for %s not applied", id)
		}
	}
	_, badApplied := h.emu.FindByExternalID("bad")
	if array == arrayEvents {
		names := eventNames(h.emu.Events())
		badApplied = len(names) == 3
		if names[0] != "ok0" || names[len(names)-1] != "ok2" {
			t.Errorf("events %v", names)
		}
	}
	if badApplied != middleValid {
		t.Errorf("middle object applied = %v, want %v", badApplied, middleValid)
	}
}

func TestTrackAllInvalid(t *testing.T) {
	cases := []struct {
		name string
		body string
		errs int
	}{
		{"every object invalid",
			`{"attributes":[{"first_name":"Ann"}],"events":[{"external_id":"u1"},{"external_id":"u1","name":"e"}]}`, 3},
		{"empty request", `{}`, 0},
		{"empty arrays", `{"attributes":[],"events":[]}`, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{})
			r := h.track(c.body)
			h.mustStatus(r, http.StatusBadRequest)
			if r.message() != msgNoValidData {
				t.Errorf("message %q", r.message())
			}
			if errs := r.errors(); len(errs) != c.errs {
				t.Errorf("errors %+v, want %d", errs, c.errs)
			}
			if len(h.emu.Profiles()) != 0 {
				t.Errorf("profiles created")
			}
		})
	}
}

func TestTrackAnswerCountsOnlyArraysSent(t *testing.T) {
	h := start(t, Options{})
	r := h.track(events(event("u1", "e")))
	h.mustStatus(r, http.StatusCreated)
	if _, ok := r.body["attributes_processed"]; ok {
		t.Errorf("attributes_processed in an answer to events only: %s", r.raw)
	}
	if r.number("events_processed") != 1 {
		t.Errorf("events_processed missing: %s", r.raw)
	}
}

func TestExternalIDCreatesThenUpdates(t *testing.T) {
	h := start(t, Options{})
	h.mustTrack(attributes(`{"external_id":"u1","first_name":"Ann","tier":"gold"}`))
	first, ok := h.emu.FindByExternalID("u1")
	if !ok {
		t.Fatalf("external_id did not create a profile")
	}

	h.clock.Set(t0.Add(time.Minute))
	h.mustTrack(attributes(`{"external_id":"u1","last_name":"Lee","tier":null}`))
	p, _ := h.emu.FindByExternalID("u1")
	if p.BrazeID != first.BrazeID || len(h.emu.Profiles()) != 1 {
		t.Fatalf("second call made another profile")
	}
	want := map[string]any{"first_name": "Ann", "last_name": "Lee"}
	if !reflect.DeepEqual(p.Attributes, want) {
		t.Errorf("attributes %v, want %v (null removes)", p.Attributes, want)
	}
	if !p.CreatedAt.Equal(t0) || !p.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("created %v updated %v", p.CreatedAt, p.UpdatedAt)
	}
}

func TestUpdateExistingOnly(t *testing.T) {
	alias := `"user_alias":{"alias_name":"ann@example.com","alias_label":"extole_email"}`
	const (
		absent = ``
		yes    = `"_update_existing_only":true,`
		no     = `"_update_existing_only":false,`
	)
	attrs := func(who, flag string) string { return attributes(`{` + flag + who + `,"tier":"gold"}`) }
	event := func(who, flag string) string { return events(eventBy(flag+who, "e")) }
	cases := []struct {
		name        string
		body        string
		wantProfile bool
		wantEvents  int
	}{
		{"alias attributes, flag absent", attrs(alias, absent), false, 0},
		{"alias attributes, flag true", attrs(alias, yes), false, 0},
		{"alias attributes, flag false", attrs(alias, no), true, 0},
		{"alias event, flag absent", event(alias, absent), false, 0},
		{"alias event, flag true", event(alias, yes), false, 0},
		{"alias event, flag false", event(alias, no), true, 1},
		{"external id attributes, flag true", attrs(`"external_id":"u9"`, yes), false, 0},
		{"external id event, flag true", event(`"external_id":"u9"`, yes), false, 0},
		{"email attributes, flag true", attrs(`"email":"a@b.c"`, yes), false, 0},
		{"unknown braze_id, flag false", attrs(`"braze_id":"`+noBrazeID+`"`, no), false, 0},
		{"alias created by attributes, event in same request",
			both(`{`+no+alias+`}`, eventBy(alias, "e")), true, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{})
			r := h.track(c.body)
			h.mustStatus(r, http.StatusCreated)
			if _, ok := r.body["errors"]; ok {
				t.Errorf("errors in %s: Braze cannot know yet who exists", r.raw)
			}
			if got := len(h.emu.Profiles()) > 0; got != c.wantProfile {
				t.Errorf("profile created = %v, want %v", got, c.wantProfile)
			}
			if got := len(h.emu.Events()); got != c.wantEvents {
				t.Errorf("%d events stored, want %d", got, c.wantEvents)
			}
			skipped := h.emu.Requests()[0].Skipped
			if !c.wantProfile && (len(skipped) != 1 || !strings.HasPrefix(skipped[0].Reason, "no profile")) {
				t.Errorf("Skipped = %+v, want one 'no profile' entry", skipped)
			}
			if c.wantProfile && len(skipped) != 0 {
				t.Errorf("Skipped = %+v, want none", skipped)
			}
		})
	}
}

func TestAliasUpdatesExistingAliasProfile(t *testing.T) {
	h := start(t, Options{})
	alias := `"user_alias":{"alias_name":"ann@example.com","alias_label":"extole_email"}`
	h.mustTrack(attributes(`{` + alias + `,"_update_existing_only":false,"email":"ann@example.com"}`))
	h.mustTrack(both(`{`+alias+`,"first_name":"Ann"}`, eventBy(alias, "extole_shared")))

	p, ok := h.emu.FindByAlias("ann@example.com", "extole_email")
	if !ok {
		t.Fatalf("no alias-only profile")
	}
	if p.ExternalID != "" || p.Attributes["first_name"] != "Ann" || len(p.Events) != 1 {
		t.Errorf("profile %+v", p)
	}
	evs := h.emu.Events()
	if evs[0].Ref.Alias == nil || evs[0].Ref.Alias.Name != "ann@example.com" || evs[0].BrazeID != p.BrazeID {
		t.Errorf("recorded event %+v", evs[0])
	}
}

func TestBrazeIDMustExist(t *testing.T) {
	h := start(t, Options{})
	h.mustTrack(attributes(`{"external_id":"u1"}`))
	p, _ := h.emu.FindByExternalID("u1")

	body := events(
		eventBy(`"braze_id":"`+p.BrazeID+`"`, "known"),
		eventBy(`"braze_id":"`+noBrazeID+`"`, "unknown"),
	)
	r := h.track(body)
	h.mustStatus(r, http.StatusCreated)
	if r.number("events_processed") != 2 {
		t.Errorf("events_processed %d, want 2 (Braze counts both)", r.number("events_processed"))
	}
	if names := eventNames(h.emu.Events()); !reflect.DeepEqual(names, []string{"known"}) {
		t.Errorf("events %v, want [known]", names)
	}
	last := h.emu.Requests()[1]
	if len(last.Skipped) != 1 || last.Skipped[0].Index != 1 || last.Skipped[0].InputArray != arrayEvents {
		t.Errorf("Skipped %+v, want events[1]", last.Skipped)
	}
}

func TestEmailIdentifier(t *testing.T) {
	h := start(t, Options{})
	h.mustTrack(attributes(`{"email":"Ann@Example.com","first_name":"Ann"}`))
	h.mustStatus(h.track(`{"attributes":[{"email":"ann@example.COM","last_name":"Lee"}],`+
		`"events":[{"email":"ANN@example.com","name":"e","time":"2025-01-01T00:00:00Z"}]}`), http.StatusCreated)

	if n := len(h.emu.Profiles()); n != 1 {
		t.Fatalf("%d profiles, want one email-only profile", n)
	}
	p, ok := h.emu.FindByEmail("ann@example.com")
	if !ok || p.ExternalID != "" || p.Attributes["last_name"] != "Lee" || len(p.Events) != 1 {
		t.Errorf("profile %+v", p)
	}
	if ev := h.emu.Events()[0]; ev.Ref.Email != "ANN@example.com" || ev.BrazeID != p.BrazeID {
		t.Errorf("recorded event %+v", ev)
	}
}

func TestEventTimes(t *testing.T) {
	cases := []struct {
		time string
		want time.Time
	}{
		{"2025-01-01T10:00:00Z", time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)},
		{"2025-01-01T10:00:00.250+01:00", time.Date(2025, 1, 1, 9, 0, 0, 250_000_000, time.UTC)},
		{"2025-01-01T10:00:00:250+0100", time.Date(2025, 1, 1, 9, 0, 0, 250_000_000, time.UTC)},
		{"2025-01-01T10:00:00", time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)},
		{"2099-01-01T00:00:00Z", t0}, // the future becomes now
	}
	for _, c := range cases {
		t.Run(c.time, func(t *testing.T) {
			h := start(t, Options{})
			h.mustTrack(events(fmt.Sprintf(`{"external_id":"u1","name":"e","time":%q}`, c.time)))
			if got := h.emu.Events()[0].Time; !got.Equal(c.want) {
				t.Errorf("time %v, want %v", got, c.want)
			}
		})
	}
}

func TestSubscriptions(t *testing.T) {
	h := start(t, Options{})
	h.mustStatus(h.track(attributes(
		`{"external_id":"u1","email":"ann@example.com","email_subscribe":"opted_in",`+
			`"subscription_groups":[{"subscription_group_id":"g1","subscription_state":"subscribed"}]}`,
		`{"external_id":"u2","email":"ANN@example.com"}`,
	)), http.StatusCreated)
	p, _ := h.emu.FindByExternalID("u1")
	if p.EmailSubscribe != "opted_in" || p.SubscriptionGroups["g1"] != "subscribed" {
		t.Fatalf("u1 %+v", p)
	}
	if _, ok := p.Attributes["email_subscribe"]; ok {
		t.Errorf("email_subscribe kept as an attribute too")
	}

	// A group state belongs to the email address: unsubscribing u2 reaches u1.
	h.mustStatus(h.track(attributes(
		`{"external_id":"u2","subscription_groups":[{"subscription_group_id":"g1","subscription_state":"unsubscribed"}]}`,
		`{"external_id":"u1","email_subscribe":null}`,
	)), http.StatusCreated)
	p, _ = h.emu.FindByExternalID("u1")
	if p.SubscriptionGroups["g1"] != "unsubscribed" {
		t.Errorf("u1 group g1 %q, want unsubscribed", p.SubscriptionGroups["g1"])
	}
	if p.EmailSubscribe != "" {
		t.Errorf("email_subscribe %q after null", p.EmailSubscribe)
	}
}

func TestEmailLookupPrefersIdentifiedProfile(t *testing.T) {
	h := start(t, Options{})
	h.mustTrack(attributes(`{"external_id":"u1","email":"ann@example.com"}`))
	h.clock.Set(t0.Add(time.Minute))
	h.mustTrack(attributes(`{"user_alias":{"alias_name":"x","alias_label":"l"},` +
		`"_update_existing_only":false,"email":"ann@example.com"}`))
	h.mustTrack(attributes(`{"email":"ann@example.com","tier":"gold"}`))
	p, _ := h.emu.FindByExternalID("u1")
	if p.Attributes["tier"] != "gold" {
		t.Errorf("an update by email went elsewhere than the profile with an external id")
	}
}

func TestInspectionReturnsCopies(t *testing.T) {
	h := start(t, Options{})
	h.mustTrack(both(`{"external_id":"u1","tags":["a"]}`,
		`{"external_id":"u1","name":"e","time":"2025-01-01T00:00:00Z","properties":{"k":"v"}}`))
	p, _ := h.emu.FindByExternalID("u1")
	p.Attributes["tags"].([]any)[0] = "changed"
	p.Events[0].Properties["k"] = "changed"
	h.emu.Events()[0].Properties["k"] = "changed"
	h.emu.Requests()[0].Body[0] = 'X'

	again, _ := h.emu.FindByExternalID("u1")
	if again.Attributes["tags"].([]any)[0] != "a" || again.Events[0].Properties["k"] != "v" {
		t.Errorf("profile changed through a copy: %+v", again)
	}
	if h.emu.Events()[0].Properties["k"] != "v" || h.emu.Requests()[0].Body[0] != '{' {
		t.Errorf("log changed through a copy")
	}
}
