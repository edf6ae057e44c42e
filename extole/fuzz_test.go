package extole_test

import (
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/extole-braze/extole-braze/extole"
)

// workflowIDMaterial is what an event id may hold to become part of a
// workflow id.
var workflowIDMaterial = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// FuzzParseAndMap feeds arbitrary bodies through Parse and Map, as the
// starter does, under two configurations.
func FuzzParseAndMap(f *testing.F) {
	for _, body := range validBodies {
		f.Add([]byte(body))
	}
	f.Add([]byte(extoleRewardExample))
	f.Add([]byte(`{"type":"reward_sent","event_id":"e:1.2_3-4","event_time":"2024-03-01T10:00:00+05:30",` +
		`"email":" X@Y.Z ","face_value":" 1.5e2 ","data":{"a":{"b":[1,"c",null]}}}`))
	f.Add([]byte(`{"type":"converted","event_id":"e","event_time":"2024-03-01T10:00:00Z","data":[]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	// Found by fuzzing: times that leave the years JSON can carry once in
	// UTC, and numbers Go reads but JSON does not.
	f.Add([]byte(`{"type":"shared","event_id":"e","event_time":"0000-01-01T00:00:00+01:00","email":"a@b"}`))
	f.Add([]byte(`{"type":"shared","event_id":"e","event_time":"9999-12-31T23:59:59-01:00","email":"a@b"}`))
	f.Add([]byte(`{"type":"reward_fulfilled","event_id":"e","event_time":"2024-03-01T10:00:00Z",` +
		`"email":"a@b","face_value":"NaN"}`))

	mappers := []*extole.Mapper{
		newMapper(f, nil),
		newMapper(f, map[string]string{
			"BRAZE_EXTERNAL_ID_FROM":      "email_address",
			"BRAZE_SUBSCRIPTION_GROUP_ID": "grp-1",
			"BRAZE_EVENT_NAMES":           "converted:purchase",
		}),
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := extole.Parse(body)
		if err != nil {
			if !errors.Is(err, extole.ErrInvalid) {
				t.Fatalf("Parse error %v is not ErrInvalid", err)
			}
			return
		}
		if !workflowIDMaterial.MatchString(ev.EventID) {
			t.Fatalf("Parse accepted event_id %q", ev.EventID)
		}
		for _, m := range mappers {
			s, err := m.Map(ev)
			if err != nil {
				if !errors.Is(err, extole.ErrInvalid) {
					t.Fatalf("Map error %v is not ErrInvalid", err)
				}
				continue
			}
			if s.EventID != ev.EventID || !workflowIDMaterial.MatchString(s.EventID) {
				t.Fatalf("Sync.EventID = %q for event_id %q", s.EventID, ev.EventID)
			}
			if s.ExternalID == "" && s.Email == "" {
				t.Fatalf("Sync names no person: %+v", s)
			}
			for _, e := range s.Events {
				if e.Name == "" {
					t.Fatalf("event without a name in %+v", s)
				}
				if !e.Time.Equal(ev.EventTime) {
					t.Fatalf("event time %v, want the Extole time %v", e.Time, ev.EventTime)
				}
				if e.Properties["extole_event_id"] != ev.EventID {
					t.Fatalf("extole_event_id = %v, want %q",
						e.Properties["extole_event_id"], ev.EventID)
				}
			}
			// The sync is the workflow's input: it must encode as JSON, or
			// the starter could not record it in Temporal.
			if _, err := json.Marshal(s); err != nil {
				t.Fatalf("Sync does not encode: %v", err)
			}
		}
	})
}

// FuzzVerify feeds arbitrary bodies and credentials to both schemes: a
// request is accepted only when it carries the HMAC of its own body (hs256)
// or the key itself (bearer), and always when it does.
func FuzzVerify(f *testing.F) {
	body := []byte(validBodies["shared"])
	f.Add(body, hmacHex(testKey, body), "Bearer "+testKey)
	f.Add(body, hmacHex(testKey, body[1:]), "Bearer "+testKey+"x")
	f.Add([]byte{}, hmacHex(testKey, nil), "bearer "+testKey)
	f.Add(body, " "+strings.ToUpper(hmacHex(testKey, body))+" ", "Bearer  "+testKey+" ")
	f.Add(body, "zz", "Basic "+testKey)

	hs256, err := extole.NewAuthenticator("hs256", testKey)
	if err != nil {
		f.Fatal(err)
	}
	bearer, err := extole.NewAuthenticator("bearer", testKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, signature, authorization string) {
		h := http.Header{}
		h.Set(extole.SignatureHeader, signature)
		h.Set("Authorization", authorization)

		sig, hexErr := hex.DecodeString(strings.TrimSpace(signature))
		signed := hexErr == nil && hmac.Equal(sig, extole.Sign([]byte(testKey), body))
		if err := hs256.Verify(h, body); (err == nil) != signed {
			t.Fatalf("hs256: signature %q over %q: error %v, want accepted = %v",
				signature, body, err, signed)
		} else if err != nil && !errors.Is(err, extole.ErrUnauthenticated) {
			t.Fatalf("hs256: error %v is not ErrUnauthenticated", err)
		}

		token, hasScheme := strings.CutPrefix(authorization, "Bearer ")
		keyed := hasScheme && strings.TrimSpace(token) == testKey
		if err := bearer.Verify(h, body); (err == nil) != keyed {
			t.Fatalf("bearer: Authorization %q: error %v, want accepted = %v",
				authorization, err, keyed)
		}
	})
}
