package brazeemu

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// seedAnn stores u1 (Ann, with an event) and an alias-only profile.
func seedAnn(t *testing.T, h *harness) {
	t.Helper()
	h.mustStatus(h.track(`{"attributes":[{"external_id":"u1","email":"Ann@Example.com","first_name":"Ann",`+
		`"last_name":"Lee","extole_share_link":"https://share.example/ann","email_subscribe":"opted_in"}],`+
		`"events":[{"external_id":"u1","name":"extole_shared","time":"2025-01-01T00:00:00Z"}]}`), http.StatusCreated)
	h.mustPost(PathAliasNew, `{"user_aliases":[`+bobAlias+`]}`, http.StatusCreated)
}

func exportUsers(t *testing.T, r response) []map[string]any {
	t.Helper()
	var ans struct {
		Users []map[string]any `json:"users"`
	}
	if err := json.Unmarshal(r.raw, &ans); err != nil {
		t.Fatal(err)
	}
	return ans.Users
}

func TestExport(t *testing.T) {
	fifty := make([]string, 51)
	for i := range fifty {
		fifty[i] = fmt.Sprintf("%q", fmt.Sprintf("id%d", i))
	}
	cases := []struct {
		name        string
		body        string
		status      int
		externalIDs []string // external_id of each user, "" for none
		invalid     []string
		keys        []string // the keys of the first user, when given
	}{
		{"email, other case", `{"email_address":"ANN@example.com"}`, 200, []string{"u1"}, nil,
			[]string{"braze_id", "created_at", "custom_attributes", "custom_events", "email",
				"email_subscribe", "external_id", "first_name", "last_name"}},
		{"unknown email", `{"email_address":"nobody@example.com"}`, 200, []string{}, nil, nil},
		{"external ids, one unknown", `{"external_ids":["nope","u1"]}`, 200, []string{"u1"}, []string{"nope"}, nil},
		{"fields_to_export", `{"external_ids":["u1"],"fields_to_export":["external_id","email","braze_id"]}`,
			200, []string{"u1"}, nil,
			[]string{"braze_id", "email", "external_id"}},
		{"user alias", `{"user_aliases":[` + bobAlias + `],"fields_to_export":["user_aliases","external_id"]}`,
			200, []string{""}, nil, []string{"user_aliases"}},
		{"external ids and aliases together", `{"external_ids":["u1"],"user_aliases":[` + bobAlias + `]}`,
			200, []string{"u1", ""}, nil, nil},
		{"unknown braze_id", `{"braze_id":"` + noBrazeID + `"}`, 200, []string{}, []string{noBrazeID}, nil},
		{"device id", `{"device_id":"d1"}`, 200, []string{}, nil, nil},
		{"51 external ids", `{"external_ids":[` + strings.Join(fifty, ",") + `]}`, 400, nil, nil, nil},
		{"email and braze_id", `{"email_address":"ann@example.com","braze_id":"b"}`, 400, nil, nil, nil},
		{"external ids and email", `{"external_ids":["u1"],"email_address":"ann@example.com"}`, 400, nil, nil, nil},
		{"nobody asked for", `{"fields_to_export":["email"]}`, 400, nil, nil, nil},
		{"empty email", `{"email_address":""}`, 400, nil, nil, nil},
		{"unknown field", `{"external_ids":["u1"],"fields_to_export":["email_address"]}`, 400, nil, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{})
			seedAnn(t, h)
			r := h.post(PathExportIDs, c.body)
			h.mustStatus(r, c.status)
			if c.status != http.StatusOK {
				return
			}
			if r.message() != "success" || !strings.Contains(string(r.raw), `"users":[`) {
				t.Errorf("answer %s", r.raw)
			}
			users := exportUsers(t, r)
			got := make([]string, len(users))
			for i, u := range users {
				got[i], _ = u["external_id"].(string)
			}
			if !slices.Equal(got, c.externalIDs) {
				t.Errorf("users' external ids %q, want %q", got, c.externalIDs)
			}
			var invalid []string
			for _, v := range asSlice(r.body["invalid_user_ids"]) {
				invalid = append(invalid, v.(string))
			}
			if !slices.Equal(invalid, c.invalid) {
				t.Errorf("invalid_user_ids %q, want %q", invalid, c.invalid)
			}
			if c.keys != nil {
				keys := slices.Sorted(maps.Keys(users[0]))
				if !slices.Equal(keys, c.keys) {
					t.Errorf("keys %q, want %q", keys, c.keys)
				}
			}
		})
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func TestExportedUserContent(t *testing.T) {
	h := start(t, Options{})
	seedAnn(t, h)
	r := h.post(PathExportIDs, `{"email_address":"ann@example.com"}`)
	h.mustStatus(r, http.StatusOK)
	u := exportUsers(t, r)[0]
	p, _ := h.emu.FindByExternalID("u1")

	if u["braze_id"] != p.BrazeID || u["email"] != "Ann@Example.com" || u["first_name"] != "Ann" ||
		u["last_name"] != "Lee" || u["email_subscribe"] != "opted_in" {
		t.Errorf("user %v", u)
	}
	wantCustom := map[string]any{"extole_share_link": "https://share.example/ann"}
	if !reflect.DeepEqual(u["custom_attributes"], wantCustom) {
		t.Errorf("custom_attributes %v, want %v", u["custom_attributes"], wantCustom)
	}
	want := []any{map[string]any{"name": "extole_shared", "first": day, "last": day, "count": 1.0}}
	if !reflect.DeepEqual(u["custom_events"], want) {
		t.Errorf("custom_events %v", u["custom_events"])
	}
}

func TestExportFindsAliasAfterAliasNew(t *testing.T) {
	h := start(t, Options{})
	h.mustPost(PathAliasNew, `{"user_aliases":[`+bobAlias+`]}`, http.StatusCreated)
	r := h.post(PathExportIDs, `{"user_aliases":[`+bobAlias+`]}`)
	h.mustStatus(r, http.StatusOK)
	users := exportUsers(t, r)
	if len(users) != 1 {
		t.Fatalf("users %v", users)
	}
	aliases := asSlice(users[0]["user_aliases"])
	want := map[string]any{"alias_name": "bob@example.com", "alias_label": "extole_email"}
	if len(aliases) != 1 || !reflect.DeepEqual(aliases[0], want) {
		t.Errorf("user_aliases %v", users[0]["user_aliases"])
	}
}
