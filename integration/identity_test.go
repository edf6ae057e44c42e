//go:build integration

package integration

import (
	"bytes"
	"net/http"
	"reflect"
	"testing"

	"github.com/extole-braze/extole-braze/brazeemu"
)

// An event without the external id key finds its person by email, creates an
// alias when Braze knows nobody, and remembers the answer for the next event.
func TestPersonWithoutExternalIDGetsAnAlias(t *testing.T) {
	it.braze.Reset()
	email := "new-subscriber@example.com"
	deliver(t, event(t, "converted", map[string]any{"email": email, "program": "spring"}))

	want := []string{brazeemu.PathExportIDs, brazeemu.PathAliasNew, brazeemu.PathTrack}
	if got := brazeCalls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Braze calls = %v, want %v", got, want)
	}
	tr := lastTrack(t)
	alias := tr.Events[0].Alias
	if alias == nil || alias.Name != email || alias.Label != "extole_email" {
		t.Fatalf("event addressed to %+v, want the alias %s/extole_email", tr.Events[0].UserRef, email)
	}
	if u := tr.Attributes[0].UpdateExistingOnly; u == nil || *u {
		t.Errorf("_update_existing_only = %v, want false so that the alias profile is created", u)
	}
	profile, ok := it.braze.FindByAlias(email, "extole_email")
	if !ok || len(profile.Events) != 1 || profile.Attributes["email"] != email {
		t.Fatalf("alias profile = %+v (found %v), want one event and the email", profile, ok)
	}

	// The next event of the same person costs one Braze request: the worker
	// remembers the alias.
	it.braze.Reset()
	deliver(t, event(t, "shared", map[string]any{"email": email}))
	if got := brazeCalls(); !reflect.DeepEqual(got, []string{brazeemu.PathTrack}) {
		t.Fatalf("Braze calls for a known person = %v, want only %s", got, brazeemu.PathTrack)
	}
}

// A person Braze knows by email is updated in place, through the profile's
// external id; no alias is created.
func TestPersonFoundByEmailIsUpdated(t *testing.T) {
	it.braze.Reset()
	seed := []byte(`{"attributes":[{"external_id":"crm-7","email":"known@example.com"}]}`)
	req, _ := http.NewRequest(http.MethodPost, it.brazeURL+brazeemu.PathTrack, bytes.NewReader(seed))
	req.Header.Set("Authorization", "Bearer "+brazeKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("seeding Braze: %v %v", resp, err)
	}
	resp.Body.Close()
	seeded := len(brazeCalls())

	deliver(t, event(t, "unsubscribed", map[string]any{"email": "known@example.com"}))

	want := []string{brazeemu.PathExportIDs, brazeemu.PathTrack}
	if got := brazeCalls()[seeded:]; !reflect.DeepEqual(got, want) {
		t.Fatalf("Braze calls = %v, want %v", got, want)
	}
	if ref := lastTrack(t).Attributes[0].UserRef; ref.ExternalID != "crm-7" {
		t.Fatalf("attributes addressed to %+v, want external_id crm-7", ref)
	}
}
