package person_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/extole-braze/extole-braze/person"
)

// The keys of attributes as a workflow gets them: decoded from JSON.
func TestKeys(t *testing.T) {
	cases := []struct {
		name, attrs string
		want        []string
	}{
		{"none", `{}`, nil},
		{"one per attribute, sorted",
			`{"last_name": "Lovelace", "email": "ada@example.com", "first_name": "Ada"}`,
			[]string{"email", "first_name", "last_name"}},
		{"one per subscription group",
			`{"email_subscribe": "opted_in", "subscription_groups": [
				{"subscription_group_id": "grp-B", "subscription_state": "subscribed"},
				{"subscription_group_id": "grp-A", "subscription_state": "unsubscribed"}
			]}`,
			[]string{"email_subscribe", "subscription_groups:grp-A", "subscription_groups:grp-B"}},
		{"a group named twice is one key",
			`{"subscription_groups": [
				{"subscription_group_id": "grp-A", "subscription_state": "subscribed"},
				{"subscription_group_id": "grp-A", "subscription_state": "unsubscribed"}
			]}`,
			[]string{"subscription_groups:grp-A"}},
		{"groups of another shape are one key",
			`{"subscription_groups": {"grp-A": "subscribed"}}`, []string{"subscription_groups"}},
		{"an empty list of groups is one key",
			`{"subscription_groups": []}`, []string{"subscription_groups"}},
		{"an entry that names no group makes the list one key",
			`{"subscription_groups": [
				{"subscription_group_id": "grp-A", "subscription_state": "subscribed"},
				{"subscription_state": "subscribed"}
			]}`,
			[]string{"subscription_groups"}},
		{"an entry whose group is empty makes the list one key",
			`{"subscription_groups": [{"subscription_group_id": ""}]}`,
			[]string{"subscription_groups"}},
		{"an entry whose group is not a string makes the list one key",
			`{"subscription_groups": [{"subscription_group_id": 7}]}`,
			[]string{"subscription_groups"}},
		{"another attribute's list is the attribute's key",
			`{"tags": [{"subscription_group_id": "grp-A"}]}`, []string{"tags"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var attrs map[string]any
			require.NoError(t, json.Unmarshal([]byte(tc.attrs), &attrs))

			require.Equal(t, tc.want, person.Keys(attrs))
		})
	}
}

// GroupKeys keys the entries in the list's order, so that an entry is found
// by its key's index.
func TestGroupKeysFollowTheListsOrder(t *testing.T) {
	var v any
	require.NoError(t, json.Unmarshal([]byte(`[
		{"subscription_group_id": "grp-B"}, {"subscription_group_id": "grp-A"}
	]`), &v))

	keys, ok := person.GroupKeys(v)

	require.True(t, ok)
	require.Equal(t, []string{"subscription_groups:grp-B", "subscription_groups:grp-A"}, keys)
}
