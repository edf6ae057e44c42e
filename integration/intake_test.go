//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/extole-braze/extole-braze/brazeemu"
	"github.com/extole-braze/extole-braze/config"
	"github.com/extole-braze/extole-braze/engine"
	"github.com/extole-braze/extole-braze/extole"
	"github.com/extole-braze/extole-braze/starter"
)

// Extole redelivers an event it thinks failed: the second delivery is
// answered 200 "duplicate" and Braze receives the event once.
func TestRedeliveredEventReachesBrazeOnce(t *testing.T) {
	it.braze.Reset()
	body := event(t, "converted", map[string]any{"partner_user_id": "dup-1"})
	raw := mustJSON(t, body)
	id := body["event_id"].(string)

	for i, want := range []string{"accepted", "duplicate"} {
		status, answer := post(t, raw)
		if status != http.StatusOK || answer["status"] != want || answer["workflow_id"] != "extole-event-"+id {
			t.Fatalf("delivery %d: %d %v, want 200 %s", i+1, status, answer, want)
		}
	}
	if _, err := waitSync(t, id); err != nil {
		t.Fatal(err)
	}
	// After the sync has completed, too.
	if status, answer := post(t, raw); status != http.StatusOK || answer["status"] != "duplicate" {
		t.Fatalf("delivery after completion: %d %v, want 200 duplicate", status, answer)
	}
	if n := len(it.braze.Events()); n != 1 {
		t.Fatalf("Braze stored %d events, want 1", n)
	}
}

// Requests that are not an authentic, valid event are refused with a JSON
// error naming the problem, and start nothing.
func TestBadRequestsAreRefusedAndStartNothing(t *testing.T) {
	valid := func(t *testing.T) (map[string]any, []byte) {
		body := event(t, "converted", map[string]any{"partner_user_id": "u-bad"})
		return body, mustJSON(t, body)
	}
	cases := []struct {
		name    string
		request func(t *testing.T) (eventID string, body []byte, headers map[string]string)
		status  int
		mention string
	}{
		{"no signature", func(t *testing.T) (string, []byte, map[string]string) {
			body, raw := valid(t)
			return body["event_id"].(string), raw, nil
		}, http.StatusUnauthorized, "X-Extole-Signature"},
		{"signed with another key", func(t *testing.T) (string, []byte, map[string]string) {
			body, raw := valid(t)
			return body["event_id"].(string), raw,
				map[string]string{extole.SignatureHeader: extole.SignHex("other-key", raw)}
		}, http.StatusUnauthorized, "does not match"},
		{"body changed after signing", func(t *testing.T) (string, []byte, map[string]string) {
			body, raw := valid(t)
			sig := extole.SignHex(webhookSecret, raw)
			return body["event_id"].(string), bytes.Replace(raw, []byte("u-bad"), []byte("u-bac"), 1),
				map[string]string{extole.SignatureHeader: sig}
		}, http.StatusUnauthorized, "does not match"},
		{"no event_time", func(t *testing.T) (string, []byte, map[string]string) {
			body, _ := valid(t)
			delete(body, "event_time")
			return signed(t, body)
		}, http.StatusBadRequest, "event_time"},
		{"type is a number", func(t *testing.T) (string, []byte, map[string]string) {
			body, _ := valid(t)
			body["type"] = 7
			return signed(t, body)
		}, http.StatusBadRequest, "type"},
		{"no way to identify the person", func(t *testing.T) (string, []byte, map[string]string) {
			body, _ := valid(t)
			delete(body, "partner_user_id")
			return signed(t, body)
		}, http.StatusBadRequest, "identify"},
		{"not JSON", func(t *testing.T) (string, []byte, map[string]string) {
			raw := []byte(`{"type": "converted",`)
			return "", raw, map[string]string{extole.SignatureHeader: extole.SignHex(webhookSecret, raw)}
		}, http.StatusBadRequest, "JSON"},
		{"larger than 1 MiB", func(t *testing.T) (string, []byte, map[string]string) {
			body, _ := valid(t)
			body["padding"] = strings.Repeat("x", extole.MaxBody)
			return signed(t, body)
		}, http.StatusRequestEntityTooLarge, "1 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it.braze.Reset()
			id, raw, headers := tc.request(t)
			status, answer := postWith(t, raw, headers)
			msg, _ := answer["error"].(string)
			if status != tc.status || !strings.Contains(msg, tc.mention) {
				t.Fatalf("answer %d %v, want %d with an error mentioning %q", status, answer, tc.status, tc.mention)
			}
			if id != "" && workflowExists(t, id) {
				t.Fatal("a sync was started for a refused request")
			}
			if n := len(it.braze.Requests()); n != 0 {
				t.Fatalf("Braze received %d requests", n)
			}
		})
	}
}

// An event type configuration does not forward is acknowledged, visibly,
// and starts nothing.
func TestUnforwardedEventIsSkipped(t *testing.T) {
	for _, typ := range []string{"reward_sent", "some_unknown_outcome"} {
		body := event(t, typ, map[string]any{"partner_user_id": "u-skip"})
		id, raw, headers := signed(t, body)
		status, answer := postWith(t, raw, headers)
		if status != http.StatusOK || answer["status"] != "skipped" {
			t.Fatalf("%s: %d %v, want 200 skipped", typ, status, answer)
		}
		if workflowExists(t, id) {
			t.Fatalf("%s: a sync was started", typ)
		}
	}
}

// While Temporal cannot be reached, the starter answers 503 so that Extole
// retries: never 200 for an event that is not recorded.
func TestTemporalDownAnswers503(t *testing.T) {
	env := map[string]string{
		"TEMPORAL_ADDRESS":      "127.0.0.1:1",
		"EXTOLE_WEBHOOK_SECRET": webhookSecret,
		"PERSON_ID_KEY":         personIDKey,
		"PAYLOAD_KEYS":          payloadKeys,
	}
	cfg, err := config.LoadStarter(context.Background(), envconfig.MapLookuper(env))
	if err != nil {
		t.Fatal(err)
	}
	opts := engine.ClientOptions(cfg.Temporal, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c, err := client.NewLazyClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv, err := starter.New(c, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Routes())
	defer ts.Close()

	_, raw, headers := signed(t, event(t, "converted", map[string]any{"partner_user_id": "u-down"}))
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/extole/events", bytes.NewReader(raw))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", resp.StatusCode)
	}
	ready, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	if ready.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d, want 503", ready.StatusCode)
	}
}

// Braze's refusals fail the sync at once with an error that names them;
// its outages are retried until it recovers, and the event lands once.
func TestBrazeAnswersDecideRetries(t *testing.T) {
	t.Run("401 fails the sync", func(t *testing.T) {
		it.braze.Reset()
		it.braze.Inject(brazeemu.Fault{Path: brazeemu.PathTrack, Status: http.StatusUnauthorized, Count: 1})
		defer it.braze.ClearFaults()
		body := event(t, "converted", map[string]any{"partner_user_id": "u-401"})
		status, _ := post(t, mustJSON(t, body))
		if status != http.StatusOK {
			t.Fatalf("status = %d", status)
		}
		_, err := waitSync(t, body["event_id"].(string))
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != "BrazeUnauthorized" {
			t.Fatalf("sync error = %v, want a BrazeUnauthorized application error", err)
		}
		if n := it.braze.RequestCount(brazeemu.PathTrack); n != 1 {
			t.Fatalf("Braze was called %d times, want 1 (no retry of a refusal)", n)
		}
	})
	t.Run("503 twice then success", func(t *testing.T) {
		it.braze.Reset()
		it.braze.Inject(brazeemu.Fault{Path: brazeemu.PathTrack, Status: http.StatusServiceUnavailable, Count: 2})
		defer it.braze.ClearFaults()
		deliver(t, event(t, "converted", map[string]any{"partner_user_id": "u-503"}))
		if n := it.braze.RequestCount(brazeemu.PathTrack); n != 3 {
			t.Fatalf("Braze was called %d times, want 3", n)
		}
		if n := len(it.braze.Events()); n != 1 {
			t.Fatalf("Braze stored %d events, want 1", n)
		}
	})
}

// signed encodes body and signs it.
func signed(t *testing.T, body map[string]any) (string, []byte, map[string]string) {
	t.Helper()
	raw := mustJSON(t, body)
	id, _ := body["event_id"].(string)
	return id, raw, map[string]string{extole.SignatureHeader: extole.SignHex(webhookSecret, raw)}
}

// The check that ends every run finds what it looks for, and has logs to
// look at: every process of the stack logs into the buffer it reads.
func TestLogCheckSeesPersonalData(t *testing.T) {
	deliver(t, event(t, "shared", map[string]any{"partner_user_id": "u-logs",
		"email": "grace.hopper@example.com", "first_name": "Ada", "last_name": "Lovelace"}))
	logs := it.logs.String()
	for _, line := range []string{`msg="event accepted"`, `msg="person resolved"`, `msg="Started Worker"`} {
		if !strings.Contains(logs, line) {
			t.Errorf("the logs lack %s: the check would look at nothing", line)
		}
	}
	if leaks := personalDataIn("user grace.hopper@example.com signed up"); len(leaks) != 1 {
		t.Errorf("personalDataIn found %q in a line with an email", leaks)
	}
}
