package activities_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/extole-braze/extole-braze/activities"
	"github.com/extole-braze/extole-braze/braze"
)

const (
	apiKey = "test-key"
	email  = "ada@example.com"
)

// request is one request the Braze stand-in received.
type request struct {
	Path string
	Body map[string]any
}

// fakeBraze stands in for Braze: it answers each path with its handler and
// records every request.
type fakeBraze struct {
	t      *testing.T
	server *httptest.Server

	mu       sync.Mutex
	handlers map[string]http.HandlerFunc
	received []request
}

func newFakeBraze(t *testing.T) *fakeBraze {
	t.Helper()
	f := &fakeBraze{t: t, handlers: map[string]http.HandlerFunc{}}
	f.server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeBraze) serve(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("Authorization"); got != "Bearer "+apiKey {
		f.t.Errorf("%s: Authorization %q", r.URL.Path, got)
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("%s: read body: %v", r.URL.Path, err)
	}
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		f.t.Errorf("%s: body is not a JSON object: %v", r.URL.Path, err)
	}
	f.mu.Lock()
	f.received = append(f.received, request{Path: r.URL.Path, Body: body})
	handler := f.handlers[r.URL.Path]
	f.mu.Unlock()
	if handler == nil {
		f.t.Errorf("unexpected request to %s", r.URL.Path)
		http.NotFound(w, r)
		return
	}
	handler(w, r)
}

// handle sets how the stand-in answers a path.
func (f *fakeBraze) handle(path string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[path] = h
}

// requests returns what the stand-in received so far.
func (f *fakeBraze) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.received...)
}

// activities returns activities calling the stand-in, with identities
// cached for ttl.
func (f *fakeBraze) activities(ttl time.Duration) *activities.Activities {
	f.t.Helper()
	client, err := braze.New(f.server.URL, apiKey, nil)
	require.NoError(f.t, err)
	return activities.New(client, ttl)
}

// answer writes a JSON answer with the status.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// exportAnswer is Braze's answer to /users/export/ids finding these users.
func exportAnswer(users string) http.HandlerFunc {
	return answer(http.StatusCreated, `{"message": "success", "users": [`+users+`]}`)
}

const (
	aliasAnswer = `{"message": "success"}`
	trackAnswer = `{"message": "success", "attributes_processed": 1, "events_processed": 2}`
)

// activityEnv runs the activities as a worker would, so that their errors
// reach the test as Temporal would see them.
func activityEnv(a *activities.Activities) *testsuite.TestActivityEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return env
}

// lookup runs LookupUser for the email, which must succeed.
func lookup(
	t *testing.T, env *testsuite.TestActivityEnvironment, a *activities.Activities,
) activities.LookupResult {
	t.Helper()
	val, err := env.ExecuteActivity(a.LookupUser, email)
	require.NoError(t, err)
	var res activities.LookupResult
	require.NoError(t, val.Get(&res))
	return res
}

// cached runs CachedPerson for the email as the workflow does, as a local
// activity.
func cached(
	t *testing.T, env *testsuite.TestActivityEnvironment, a *activities.Activities,
) activities.LookupResult {
	t.Helper()
	val, err := env.ExecuteLocalActivity(a.CachedPerson, email)
	require.NoError(t, err)
	var res activities.LookupResult
	require.NoError(t, val.Get(&res))
	return res
}

func TestLookupUserFindsAndRemembers(t *testing.T) {
	fake := newFakeBraze(t)
	fake.handle("/users/export/ids", exportAnswer(`{"external_id": "u-9", "braze_id": "b-1"}`))
	a := fake.activities(time.Minute)
	env := activityEnv(a)

	require.Equal(t, activities.LookupResult{}, cached(t, env, a), "cache before any lookup")

	require.Equal(t, activities.LookupResult{
		Found: true, Person: brazeRef("u-9", ""),
	}, lookup(t, env, a))
	require.Equal(t, []request{{Path: "/users/export/ids", Body: map[string]any{
		"email_address":    email,
		"fields_to_export": []any{"external_id", "braze_id", "user_aliases"},
	}}}, fake.requests())

	want := activities.LookupResult{Found: true, Person: brazeRef("u-9", ""), Cached: true}
	require.Equal(t, want, lookup(t, env, a), "second lookup")
	require.Len(t, fake.requests(), 1, "the second lookup must not call Braze")
	require.Equal(t, want, cached(t, env, a))
}

func TestLookupUserFindsBrazeIDOnly(t *testing.T) {
	fake := newFakeBraze(t)
	fake.handle("/users/export/ids", exportAnswer(`{"braze_id": "b-1"}`))
	a := fake.activities(time.Minute)
	env := activityEnv(a)

	require.Equal(t, activities.LookupResult{Found: true, Person: brazeRef("", "b-1")},
		lookup(t, env, a))
	require.Equal(t, activities.LookupResult{
		Found: true, Person: brazeRef("", "b-1"), Cached: true,
	}, cached(t, env, a))
}

func TestLookupUserTakesTheFirstOfSeveralProfiles(t *testing.T) {
	fake := newFakeBraze(t)
	fake.handle("/users/export/ids",
		exportAnswer(`{"external_id": "u-1"}, {"external_id": "u-2"}`))
	a := fake.activities(time.Minute)

	require.Equal(t, activities.LookupResult{Found: true, Person: brazeRef("u-1", "")},
		lookup(t, activityEnv(a), a))
}

func TestLookupUserMissIsNotRemembered(t *testing.T) {
	fake := newFakeBraze(t)
	fake.handle("/users/export/ids", exportAnswer(``))
	a := fake.activities(time.Minute)
	env := activityEnv(a)

	require.Equal(t, activities.LookupResult{}, lookup(t, env, a))
	require.Equal(t, activities.LookupResult{}, cached(t, env, a))
	require.Equal(t, activities.LookupResult{}, lookup(t, env, a))
	require.Len(t, fake.requests(), 2, "a miss must be asked again: the person may exist now")
}

func TestCreateAliasRemembersTheAlias(t *testing.T) {
	fake := newFakeBraze(t)
	fake.handle("/users/alias/new", answer(http.StatusCreated, aliasAnswer))
	a := fake.activities(time.Minute)
	env := activityEnv(a)
	alias := braze.Alias{Name: email, Label: "extole_email"}

	_, err := env.ExecuteActivity(a.CreateAlias, alias)
	require.NoError(t, err)

	require.Equal(t, []request{{Path: "/users/alias/new", Body: map[string]any{
		"user_aliases": []any{map[string]any{"alias_name": email, "alias_label": "extole_email"}},
	}}}, fake.requests())
	want := activities.LookupResult{Found: true, Person: braze.UserRef{Alias: &alias}, Cached: true}
	require.Equal(t, want, cached(t, env, a))
	require.Equal(t, want, lookup(t, env, a))
	require.Len(t, fake.requests(), 1, "a lookup after the alias must not call Braze")
}

func TestZeroTTLDisablesTheCache(t *testing.T) {
	fake := newFakeBraze(t)
	fake.handle("/users/export/ids", exportAnswer(`{"external_id": "u-9"}`))
	fake.handle("/users/alias/new", answer(http.StatusCreated, aliasAnswer))
	a := fake.activities(0)
	env := activityEnv(a)

	found := activities.LookupResult{Found: true, Person: brazeRef("u-9", "")}
	require.Equal(t, found, lookup(t, env, a))
	require.Equal(t, found, lookup(t, env, a))
	require.Len(t, fake.requests(), 2)
	require.Equal(t, activities.LookupResult{}, cached(t, env, a))

	_, err := env.ExecuteActivity(a.CreateAlias, braze.Alias{Name: email, Label: "extole_email"})
	require.NoError(t, err)
	require.Equal(t, activities.LookupResult{}, cached(t, env, a))
}

func TestTrackStepsSendTheRequestAndCount(t *testing.T) {
	req := braze.TrackRequest{
		Attributes: []braze.Attributes{{
			UserRef: braze.UserRef{ExternalID: "u-9"},
			Fields:  map[string]any{"email_subscribe": "opted_in"},
		}},
		Events: []braze.Event{
			{UserRef: braze.UserRef{ExternalID: "u-9"}, Name: "extole_shared",
				Time: time.Date(2024, 5, 1, 12, 0, 3, 0, time.UTC)},
			{UserRef: braze.UserRef{ExternalID: "u-9"}, Name: "extole_converted",
				Time: time.Date(2024, 5, 1, 12, 0, 4, 0, time.UTC)},
		},
	}
	wantBody := map[string]any{
		"attributes": []any{map[string]any{"external_id": "u-9", "email_subscribe": "opted_in"}},
		"events": []any{
			map[string]any{"external_id": "u-9", "name": "extole_shared",
				"time": "2024-05-01T12:00:03Z"},
			map[string]any{"external_id": "u-9", "name": "extole_converted",
				"time": "2024-05-01T12:00:04Z"},
		},
	}
	var a *activities.Activities
	for name, step := range map[string]any{
		"TrackEvents":        a.TrackEvents,
		"UpdateSubscription": a.UpdateSubscription,
	} {
		t.Run(name, func(t *testing.T) {
			fake := newFakeBraze(t)
			fake.handle("/users/track", answer(http.StatusCreated, trackAnswer))
			env := activityEnv(fake.activities(time.Minute))

			val, err := env.ExecuteActivity(step, req)
			require.NoError(t, err)
			var res activities.TrackResult
			require.NoError(t, val.Get(&res))

			require.Equal(t, activities.TrackResult{Events: 2, Attributes: 1}, res)
			require.Equal(t, []request{{Path: "/users/track", Body: wantBody}}, fake.requests())
		})
	}
}

// applicationError digs the application error out of what a step returned.
func applicationError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "not an application error: %v", err)
	return appErr
}

func TestTrackErrorsTellTemporalWhetherToRetry(t *testing.T) {
	tests := []struct {
		name         string
		respond      func() http.HandlerFunc
		kind         string
		nonRetryable bool
		// minDelay and maxDelay bound NextRetryDelay; both zero means none.
		minDelay, maxDelay time.Duration
	}{
		{
			name:         "401 bad key",
			respond:      func() http.HandlerFunc { return answer(401, `{"message": "Invalid API key"}`) },
			kind:         braze.KindUnauthorized,
			nonRetryable: true,
		},
		{
			name:    "503 outage",
			respond: func() http.HandlerFunc { return answer(503, `{"message": "unavailable"}`) },
			kind:    braze.KindUnavailable,
		},
		{
			name: "429 with reset 5 s ahead",
			respond: func() http.HandlerFunc {
				reset := time.Now().Add(5 * time.Second).Unix()
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
					answer(429, `{"message": "rate limited"}`)(w, r)
				}
			},
			kind: braze.KindRateLimited,
			// The header counts whole seconds, and the request took some time.
			minDelay: 3 * time.Second,
			maxDelay: 5 * time.Second,
		},
		{
			name: "429 with reset passed",
			respond: func() http.HandlerFunc {
				reset := time.Now().Add(-time.Minute).Unix()
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
					answer(429, `{"message": "rate limited"}`)(w, r)
				}
			},
			kind:     braze.KindRateLimited,
			minDelay: time.Second,
			maxDelay: time.Second,
		},
		{
			name:    "429 without reset",
			respond: func() http.HandlerFunc { return answer(429, `{"message": "rate limited"}`) },
			kind:    braze.KindRateLimited,
		},
		{
			name: "201 with dropped objects",
			respond: func() http.HandlerFunc {
				return answer(201, `{"message": "success", "events_processed": 0,
					"errors": [{"type": "invalid_event_name", "input_array": "events", "index": 0}]}`)
			},
			kind:         braze.KindObjectsDropped,
			nonRetryable: true,
		},
	}
	req := braze.TrackRequest{Events: []braze.Event{{
		UserRef: braze.UserRef{ExternalID: "u-9"}, Name: "extole_shared",
		Time: time.Date(2024, 5, 1, 12, 0, 3, 0, time.UTC),
	}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeBraze(t)
			fake.handle("/users/track", tt.respond())
			a := fake.activities(time.Minute)

			_, err := activityEnv(a).ExecuteActivity(a.TrackEvents, req)

			appErr := applicationError(t, err)
			require.Equal(t, tt.kind, appErr.Type())
			require.Equal(t, tt.nonRetryable, appErr.NonRetryable())
			delay := appErr.NextRetryDelay()
			if tt.maxDelay == 0 {
				require.Zero(t, delay)
			} else {
				require.GreaterOrEqual(t, delay, tt.minDelay)
				require.LessOrEqual(t, delay, tt.maxDelay)
			}
		})
	}
}

func TestDroppedObjectsTravelAsDetails(t *testing.T) {
	fake := newFakeBraze(t)
	fake.handle("/users/track", answer(201, `{"message": "success",
		"errors": [{"type": "invalid_event_name", "input_array": "events", "index": 0}]}`))
	a := fake.activities(time.Minute)
	req := braze.TrackRequest{Events: []braze.Event{{
		UserRef: braze.UserRef{ExternalID: "u-9"}, Name: "extole_shared",
		Time: time.Date(2024, 5, 1, 12, 0, 3, 0, time.UTC),
	}}}

	_, err := activityEnv(a).ExecuteActivity(a.TrackEvents, req)

	appErr := applicationError(t, err)
	var dropped []braze.ObjectError
	require.NoError(t, appErr.Details(&dropped))
	require.Equal(t, []braze.ObjectError{
		{Type: "invalid_event_name", InputArray: "events", Index: 0},
	}, dropped)
}

func TestLookupAndAliasErrorsTellTemporalWhetherToRetry(t *testing.T) {
	t.Run("lookup refused", func(t *testing.T) {
		fake := newFakeBraze(t)
		// Braze's message may echo the address; the error must not.
		fake.handle("/users/export/ids",
			answer(401, `{"message": "Invalid API key for ada@example.com"}`))
		a := fake.activities(time.Minute)

		_, err := activityEnv(a).ExecuteActivity(a.LookupUser, email)

		appErr := applicationError(t, err)
		require.Equal(t, braze.KindUnauthorized, appErr.Type())
		require.True(t, appErr.NonRetryable())
		require.False(t, strings.Contains(err.Error(), email), "error names the email: %v", err)
	})
	t.Run("alias during an outage", func(t *testing.T) {
		fake := newFakeBraze(t)
		fake.handle("/users/alias/new", answer(502, `{"message": "bad gateway"}`))
		a := fake.activities(time.Minute)
		env := activityEnv(a)

		_, err := env.ExecuteActivity(a.CreateAlias, braze.Alias{Name: email, Label: "extole_email"})

		appErr := applicationError(t, err)
		require.Equal(t, braze.KindUnavailable, appErr.Type())
		require.False(t, appErr.NonRetryable())
		require.Equal(t, activities.LookupResult{}, cached(t, env, a),
			"an alias Braze did not create must not be remembered")
	})
}

func brazeRef(externalID, brazeID string) braze.UserRef {
	return braze.UserRef{ExternalID: externalID, BrazeID: brazeID}
}

func TestRequestsRefusedBeforeSendingAreNotRetried(t *testing.T) {
	fake := newFakeBraze(t)
	a := fake.activities(time.Minute)
	env := activityEnv(a)

	_, trackErr := env.ExecuteActivity(a.TrackEvents, braze.TrackRequest{})
	_, lookupErr := env.ExecuteActivity(a.LookupUser, "")

	for _, err := range []error{trackErr, lookupErr} {
		appErr := applicationError(t, err)
		require.Equal(t, activities.KindInvalidRequest, appErr.Type())
		require.True(t, appErr.NonRetryable())
	}
	require.Empty(t, fake.requests())
}
