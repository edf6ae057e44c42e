package braze

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testKey   = "test-key-5f1c9a7e-0b2d-4c3e-9f8a-1d2e3f4a5b6c"
	testEmail = "ada.lovelace@example.com"
)

// received is what a test server saw of one request.
type received struct {
	method string
	path   string
	header http.Header
	body   []byte
}

// newServer starts a server that records each request and answers with
// status, headers and body.
func newServer(t *testing.T, status int, header map[string]string, body string) (
	*Client, chan received) {
	t.Helper()
	got := make(chan received, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: b}
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/", testKey, srv.Client())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, got
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var be *Error
	if !errors.As(err, &be) {
		t.Fatalf("error %v (%T) is not a *braze.Error", err, err)
	}
	return be
}

func boolPtr(b bool) *bool { return &b }

func oneEvent() TrackRequest {
	return TrackRequest{Events: []Event{{
		UserRef: UserRef{ExternalID: "u1"},
		Name:    "extole_shared",
		Time:    time.Date(2024, 5, 29, 14, 14, 18, 0, time.UTC),
	}}}
}

func TestTrackSendsHeadersAndBody(t *testing.T) {
	c, got := newServer(t, http.StatusCreated, nil,
		`{"message":"success","attributes_processed":1,"events_processed":1}`)
	req := TrackRequest{
		Attributes: []Attributes{{
			UserRef:            UserRef{Alias: &Alias{Name: testEmail, Label: "email"}},
			UpdateExistingOnly: boolPtr(false),
			Fields:             map[string]any{"email": testEmail, "extole_share_link": "https://s/x"},
		}},
		Events: []Event{{
			UserRef:    UserRef{ExternalID: "u1"},
			Name:       "extole_shared",
			Time:       time.Date(2024, 5, 29, 14, 14, 18, 0, time.UTC),
			Properties: map[string]any{"extole_event_id": "e1"},
		}},
	}

	resp, err := c.Track(context.Background(), req)
	if err != nil {
		t.Fatalf("Track: %v", err)
	}
	if resp.Message != "success" || resp.AttributesProcessed != 1 || resp.EventsProcessed != 1 {
		t.Errorf("response = %+v", resp)
	}

	r := <-got
	if r.method != http.MethodPost || r.path != "/users/track" {
		t.Errorf("request = %s %s, want POST /users/track", r.method, r.path)
	}
	wantHeaders := map[string]string{
		"Authorization": "Bearer " + testKey,
		"Content-Type":  "application/json",
		"User-Agent":    "extole-braze",
	}
	for k, want := range wantHeaders {
		if got := r.header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}

	var body struct {
		Attributes []map[string]any `json:"attributes"`
		Events     []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if len(body.Attributes) != 1 || len(body.Events) != 1 {
		t.Fatalf("body = %s", r.body)
	}
	attr := body.Attributes[0]
	wantAttr := map[string]any{
		"user_alias":            map[string]any{"alias_name": testEmail, "alias_label": "email"},
		"_update_existing_only": false,
		"email":                 testEmail,
		"extole_share_link":     "https://s/x",
	}
	if fmt.Sprint(attr) != fmt.Sprint(wantAttr) {
		t.Errorf("attributes object = %v, want %v", attr, wantAttr)
	}
	ev := body.Events[0]
	wantEv := map[string]any{
		"external_id": "u1",
		"name":        "extole_shared",
		"time":        "2024-05-29T14:14:18Z",
		"properties":  map[string]any{"extole_event_id": "e1"},
	}
	if fmt.Sprint(ev) != fmt.Sprint(wantEv) {
		t.Errorf("event object = %v, want %v", ev, wantEv)
	}
}

func TestTrackOmitsUnsetFlagAndEmptyArrays(t *testing.T) {
	c, got := newServer(t, http.StatusCreated, nil, `{"message":"success"}`)
	req := TrackRequest{Attributes: []Attributes{{
		UserRef: UserRef{ExternalID: "u1"},
		Fields:  map[string]any{"first_name": "Ada"},
	}}}
	if _, err := c.Track(context.Background(), req); err != nil {
		t.Fatalf("Track: %v", err)
	}
	body := string((<-got).body)
	want := `{"attributes":[{"external_id":"u1","first_name":"Ada"}]}`
	if body != want {
		t.Errorf("body = %s, want %s", body, want)
	}
}

func TestStatusMapping(t *testing.T) {
	tests := []struct {
		status    int
		kind      string
		retryable bool
	}{
		{http.StatusBadRequest, KindBadRequest, false},
		{http.StatusUnauthorized, KindUnauthorized, false},
		{http.StatusForbidden, KindForbidden, false},
		{http.StatusNotFound, KindNotFound, false},
		{http.StatusRequestTimeout, KindUnavailable, true},
		{http.StatusRequestEntityTooLarge, KindTooLarge, false},
		{http.StatusUnprocessableEntity, KindRejected, false},
		{http.StatusConflict, KindRejected, false},
		{http.StatusTooManyRequests, KindRateLimited, true},
		{http.StatusInternalServerError, KindUnavailable, true},
		{http.StatusBadGateway, KindUnavailable, true},
		{http.StatusServiceUnavailable, KindUnavailable, true},
		{http.StatusGatewayTimeout, KindUnavailable, true},
		{http.StatusAccepted, KindBadResponse, false},
		{http.StatusNoContent, KindBadResponse, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			c, _ := newServer(t, tt.status, nil, `{"message":"Braze says no"}`)
			_, err := c.Track(context.Background(), oneEvent())
			be := asError(t, err)
			if be.Status != tt.status {
				t.Errorf("Status = %d, want %d", be.Status, tt.status)
			}
			if be.Kind() != tt.kind {
				t.Errorf("Kind = %s, want %s", be.Kind(), tt.kind)
			}
			if be.Retryable() != tt.retryable {
				t.Errorf("Retryable = %v, want %v", be.Retryable(), tt.retryable)
			}
			if be.Op != "track" {
				t.Errorf("Op = %q, want track", be.Op)
			}
			prefix := fmt.Sprintf("braze: track: %d ", tt.status)
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("text %q does not start with %q", err, prefix)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{
			name: "rate limited",
			err: &Error{Op: "track", Status: 429,
				RetryAt: time.Date(2024, 1, 2, 12, 0, 3, 0, time.UTC)},
			want: "braze: track: 429 rate limited, retry at 12:00:03Z",
		},
		{
			name: "unauthorized",
			err:  &Error{Op: "track", Status: 401, Message: "Invalid API key"},
			want: "braze: track: 401 unauthorized: Invalid API key",
		},
		{
			name: "dropped",
			err: &Error{Op: "track", Status: 201, Dropped: []ObjectError{
				{Type: "invalid_event_name", InputArray: "events", Index: 0},
				{Type: "invalid_attribute", InputArray: "attributes", Index: 1},
			}},
			want: "braze: track: 2 objects dropped: events[0]: invalid_event_name, " +
				"attributes[1]: invalid_attribute",
		},
		{
			name: "network",
			err:  &Error{Op: "export ids", Err: errors.New("connection refused")},
			want: "braze: export ids: request failed: connection refused",
		},
		{
			name: "unreadable success",
			err:  &Error{Op: "alias new", Status: 201, Err: errors.New("decode response: x")},
			want: "braze: alias new: 201 unreadable response: decode response: x",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDroppedListIsBounded(t *testing.T) {
	e := &Error{Op: "track", Status: 201}
	for i := range 8 {
		e.Dropped = append(e.Dropped, ObjectError{Type: "bad", InputArray: "events", Index: i})
	}
	got := e.Error()
	if !strings.Contains(got, "8 objects dropped") || !strings.HasSuffix(got, ", and 3 more") {
		t.Errorf("Error() = %q", got)
	}
	if strings.Contains(got, "events[5]") {
		t.Errorf("Error() lists more than %d objects: %q", maxDroppedListed, got)
	}
}

func TestRateLimitedRetryAt(t *testing.T) {
	reset := time.Date(2024, 1, 2, 12, 0, 3, 0, time.UTC)
	tests := []struct {
		name   string
		header map[string]string
		want   time.Time
	}{
		{"reset header", map[string]string{"X-RateLimit-Reset": fmt.Sprint(reset.Unix())}, reset},
		{"no header", nil, time.Time{}},
		{"garbage header", map[string]string{"X-RateLimit-Reset": "soon"}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newServer(t, http.StatusTooManyRequests, tt.header, `{}`)
			_, err := c.Track(context.Background(), oneEvent())
			be := asError(t, err)
			if !be.RetryAt.Equal(tt.want) {
				t.Errorf("RetryAt = %v, want %v", be.RetryAt, tt.want)
			}
			hasRetry := strings.Contains(err.Error(), "retry at 12:00:03Z")
			if hasRetry != !tt.want.IsZero() {
				t.Errorf("text %q: mentions retry time = %v", err, hasRetry)
			}
		})
	}
}

func TestRetryAtOnlyOn429(t *testing.T) {
	header := map[string]string{"X-RateLimit-Reset": "1704196803"}
	c, _ := newServer(t, http.StatusServiceUnavailable, header, ``)
	_, err := c.Track(context.Background(), oneEvent())
	if be := asError(t, err); !be.RetryAt.IsZero() {
		t.Errorf("RetryAt = %v on a 503, want zero", be.RetryAt)
	}
}

func TestTrackPartialSuccess(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusCreated} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			c, _ := newServer(t, status, nil, `{"message":"success","events_processed":1,
				"errors":[{"type":"invalid_event_name","input_array":"events","index":1}]}`)
			resp, err := c.Track(context.Background(), oneEvent())
			if resp.EventsProcessed != 1 || len(resp.Errors) != 1 {
				t.Errorf("response = %+v, want it parsed", resp)
			}
			be := asError(t, err)
			want := []ObjectError{{Type: "invalid_event_name", InputArray: "events", Index: 1}}
			if fmt.Sprint(be.Dropped) != fmt.Sprint(want) {
				t.Errorf("Dropped = %v, want %v", be.Dropped, want)
			}
			if be.Kind() != KindObjectsDropped || be.Retryable() {
				t.Errorf("Kind = %s, Retryable = %v", be.Kind(), be.Retryable())
			}
			wantText := "braze: track: 1 object dropped: events[1]: invalid_event_name"
			if err.Error() != wantText {
				t.Errorf("text = %q, want %q", err, wantText)
			}
		})
	}
}

func TestTrackSuccessWithoutErrors(t *testing.T) {
	c, _ := newServer(t, http.StatusOK, nil, `{"message":"success","events_processed":1}`)
	resp, err := c.Track(context.Background(), oneEvent())
	if err != nil || resp.EventsProcessed != 1 {
		t.Errorf("Track = %+v, %v", resp, err)
	}
}

func TestAcceptedButUnreadable(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"not json", `<html>ok</html>`},
		{"too large", `{"message":"success"}` + strings.Repeat(" ", maxBodyRead)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newServer(t, http.StatusCreated, nil, tt.body)
			_, err := c.Track(context.Background(), oneEvent())
			be := asError(t, err)
			if be.Kind() != KindBadResponse || be.Retryable() || be.Err == nil {
				t.Errorf("Kind = %s, Retryable = %v, Err = %v", be.Kind(), be.Retryable(), be.Err)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error text is %d bytes long", len(err.Error()))
			}
		})
	}
}

func TestLargeErrorBodyStillClassified(t *testing.T) {
	c, _ := newServer(t, http.StatusBadGateway, nil, strings.Repeat("<p>", maxBodyRead))
	_, err := c.Track(context.Background(), oneEvent())
	if be := asError(t, err); be.Kind() != KindUnavailable || be.Message != "" {
		t.Errorf("Kind = %s, Message = %q", be.Kind(), be.Message)
	}
}

func TestNetworkFailure(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	c, err := New(srv.URL, testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()

	_, err = c.ExportByEmail(context.Background(), testEmail)
	be := asError(t, err)
	if be.Status != 0 || be.Kind() != KindUnavailable || !be.Retryable() || be.Err == nil {
		t.Errorf("Status = %d, Kind = %s, Retryable = %v, Err = %v",
			be.Status, be.Kind(), be.Retryable(), be.Err)
	}
	if !strings.HasPrefix(err.Error(), "braze: export ids: request failed: ") {
		t.Errorf("text = %q", err)
	}
	assertNoSecrets(t, err)
}

// slowServer answers only after its test ends.
func slowServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv
}

func TestTimeout(t *testing.T) {
	srv := slowServer(t)
	tests := []struct {
		name    string
		hc      *http.Client
		timeout time.Duration
	}{
		{"context deadline", srv.Client(), 50 * time.Millisecond},
		{"client timeout", &http.Client{Timeout: 50 * time.Millisecond}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(srv.URL, testKey, tt.hc)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			start := time.Now()
			_, err = c.Track(ctx, oneEvent())
			if time.Since(start) > 10*time.Second {
				t.Fatalf("Track took %v", time.Since(start))
			}
			be := asError(t, err)
			if be.Status != 0 || be.Kind() != KindUnavailable || !be.Retryable() {
				t.Errorf("Status = %d, Kind = %s, Retryable = %v",
					be.Status, be.Kind(), be.Retryable())
			}
		})
	}
}

func TestTimeoutUnwrapsToDeadline(t *testing.T) {
	srv := slowServer(t)
	c, err := New(srv.URL, testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = c.Track(ctx, oneEvent())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, DeadlineExceeded) = false", err)
	}
}

func TestNewDefaultTimeout(t *testing.T) {
	c, err := New("https://rest.iad-01.braze.com", testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.hc.Timeout != 10*time.Second {
		t.Errorf("default timeout = %v, want 10s", c.hc.Timeout)
	}
}

func TestNewRefusesBadEndpoint(t *testing.T) {
	tests := []string{
		"",
		"rest.iad-01.braze.com",
		"ftp://rest.iad-01.braze.com",
		"https://",
		"https:rest.iad-01.braze.com",
		"https://rest.iad-01.braze.com?x=1",
		"https://rest.iad-01.braze.com/?",
		"https://rest.iad-01.braze.com#top",
		"https://user:secret@rest.iad-01.braze.com",
		"https://rest.iad-01.braze.com:bad",
		"https://rest.iad-01.braze.com/\x7f",
	}
	for _, endpoint := range tests {
		t.Run(endpoint, func(t *testing.T) {
			c, err := New(endpoint, testKey, nil)
			if err == nil {
				t.Fatalf("New(%q) = %v, want an error", endpoint, c)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), testKey) {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestNewRefusesBadKey(t *testing.T) {
	for _, key := range []string{"", `"abc"`, "abc def", "abc\n", "'abc'"} {
		if _, err := New("https://rest.iad-01.braze.com", key, nil); err == nil {
			t.Errorf("New with key %q succeeded", key)
		} else if key != "" && strings.Contains(err.Error(), key) {
			t.Errorf("error repeats the key: %v", err)
		}
	}
}

func TestNewAcceptsEndpoints(t *testing.T) {
	tests := []struct {
		endpoint string
		base     string
	}{
		{"https://rest.iad-01.braze.com", "https://rest.iad-01.braze.com"},
		{"https://rest.fra-01.braze.eu/", "https://rest.fra-01.braze.eu"},
		{"HTTPS://rest.au-01.braze.com", "https://rest.au-01.braze.com"},
		{"http://localhost:8080/braze//", "http://localhost:8080/braze"},
	}
	for _, tt := range tests {
		c, err := New(tt.endpoint, testKey, nil)
		if err != nil {
			t.Errorf("New(%q): %v", tt.endpoint, err)
			continue
		}
		if c.base != tt.base {
			t.Errorf("New(%q) base = %q, want %q", tt.endpoint, c.base, tt.base)
		}
	}
}

// assertNoSecrets fails if the error text holds the key or the email.
func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	for _, secret := range []string{testKey, testEmail, "ada.lovelace"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error text %q holds %q", err, secret)
		}
	}
}

func TestErrorTextHoldsNoSecrets(t *testing.T) {
	echo := fmt.Sprintf(`{"message":"bad key %s for %s and ADA.LOVELACE@EXAMPLE.COM",`+
		`"errors":["%s"]}`, testKey, testEmail, testEmail)
	trackWithEmail := TrackRequest{Attributes: []Attributes{{
		UserRef: UserRef{Alias: &Alias{Name: testEmail, Label: "email"}},
		Fields:  map[string]any{"email": testEmail},
	}}}
	tests := []struct {
		name string
		call func(*Client) error
	}{
		{"track", func(c *Client) error {
			_, err := c.Track(context.Background(), trackWithEmail)
			return err
		}},
		{"export", func(c *Client) error {
			_, err := c.ExportByEmail(context.Background(), testEmail)
			return err
		}},
		{"alias", func(c *Client) error {
			return c.NewAliases(context.Background(), []Alias{{Name: testEmail, Label: "email"}})
		}},
	}
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, 500} {
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.name, status), func(t *testing.T) {
				c, _ := newServer(t, status, nil, echo)
				err := tt.call(c)
				be := asError(t, err)
				if !strings.Contains(be.Message, "bad key [redacted] for") {
					t.Errorf("Message = %q, want Braze's message, redacted", be.Message)
				}
				assertNoSecrets(t, err)
			})
		}
	}
}

func TestBrazeMessageIsTruncated(t *testing.T) {
	long := strings.Repeat("é", 500)
	c, _ := newServer(t, http.StatusBadRequest, nil, `{"message":"line one\n`+long+`"}`)
	_, err := c.Track(context.Background(), oneEvent())
	be := asError(t, err)
	if n := len([]rune(be.Message)); n > maxMessageLen+1 {
		t.Errorf("Message is %d runes long", n)
	}
	if strings.ContainsAny(be.Message, "\n\r") {
		t.Errorf("Message keeps a line break: %q", be.Message)
	}
	if !strings.HasPrefix(be.Message, "line one é") {
		t.Errorf("Message = %q", be.Message[:20])
	}
}

func TestExportByEmail(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []User
	}{
		{
			name: "found",
			body: `{"message":"success","users":[{"external_id":"u1","braze_id":"b1",
				"user_aliases":[{"alias_name":"n","alias_label":"l"}],"email":"x"}]}`,
			want: []User{{ExternalID: "u1", BrazeID: "b1",
				UserAliases: []Alias{{Name: "n", Label: "l"}}}},
		},
		{
			name: "not found",
			body: `{"message":"success","users":[],"invalid_user_ids":[]}`,
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, got := newServer(t, http.StatusOK, nil, tt.body)
			users, err := c.ExportByEmail(context.Background(), testEmail)
			if err != nil {
				t.Fatalf("ExportByEmail: %v", err)
			}
			if fmt.Sprint(users) != fmt.Sprint(tt.want) || len(users) != len(tt.want) {
				t.Errorf("users = %+v, want %+v", users, tt.want)
			}

			r := <-got
			if r.path != "/users/export/ids" {
				t.Errorf("path = %s", r.path)
			}
			want := `{"email_address":"` + testEmail +
				`","fields_to_export":["external_id","braze_id","user_aliases"]}`
			if string(r.body) != want {
				t.Errorf("body = %s, want %s", r.body, want)
			}
		})
	}
}

func TestExportByEmailRefusesEmpty(t *testing.T) {
	c, got := newServer(t, http.StatusOK, nil, `{}`)
	if _, err := c.ExportByEmail(context.Background(), ""); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("err = %v, want ErrInvalidRequest", err)
	}
	if len(got) != 0 {
		t.Error("a request was sent")
	}
}

func aliases(n int) []Alias {
	out := make([]Alias, n)
	for i := range out {
		out[i] = Alias{Name: fmt.Sprintf("p%d@example.com", i), Label: "email"}
	}
	return out
}

func TestNewAliases(t *testing.T) {
	c, got := newServer(t, http.StatusCreated, nil, `{"message":"success","aliases_processed":2}`)
	if err := c.NewAliases(context.Background(), aliases(2)); err != nil {
		t.Fatalf("NewAliases: %v", err)
	}
	r := <-got
	want := `{"user_aliases":[{"alias_name":"p0@example.com","alias_label":"email"},` +
		`{"alias_name":"p1@example.com","alias_label":"email"}]}`
	if r.path != "/users/alias/new" || string(r.body) != want {
		t.Errorf("request = %s %s, want /users/alias/new %s", r.path, r.body, want)
	}
}

func TestNewAliasesRefusedBeforeSending(t *testing.T) {
	tests := []struct {
		name    string
		aliases []Alias
	}{
		{"51 aliases", aliases(51)},
		{"no label", []Alias{{Name: "x"}}},
		{"no name", []Alias{{Label: "email"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, got := newServer(t, http.StatusCreated, nil, `{"message":"success"}`)
			err := c.NewAliases(context.Background(), tt.aliases)
			if !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("err = %v, want ErrInvalidRequest", err)
			}
			if len(got) != 0 {
				t.Error("a request was sent")
			}
			if err != nil && strings.Contains(err.Error(), "@example.com") {
				t.Errorf("error names an alias: %v", err)
			}
		})
	}
}

func TestNewAliasesFiftyAndNoneAllowed(t *testing.T) {
	c, got := newServer(t, http.StatusCreated, nil, `{"message":"success"}`)
	if err := c.NewAliases(context.Background(), aliases(50)); err != nil {
		t.Errorf("50 aliases: %v", err)
	}
	if err := c.NewAliases(context.Background(), nil); err != nil {
		t.Errorf("no aliases: %v", err)
	}
	if len(got) != 1 {
		t.Errorf("%d requests sent, want 1", len(got))
	}
}

func TestTrackRefusedBeforeSending(t *testing.T) {
	tooMany := TrackRequest{Events: make([]Event, 76)}
	tests := map[string]TrackRequest{"empty": {}, "76 events": tooMany}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			c, got := newServer(t, http.StatusCreated, nil, `{"message":"success"}`)
			if _, err := c.Track(context.Background(), req); !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("err = %v, want ErrInvalidRequest", err)
			}
			if len(got) != 0 {
				t.Error("a request was sent")
			}
		})
	}
}

func TestLastRateLimit(t *testing.T) {
	header := map[string]string{
		"X-RateLimit-Limit":     "250",
		"X-RateLimit-Remaining": "249",
		"X-RateLimit-Reset":     "1704196803",
	}
	c, _ := newServer(t, http.StatusOK, header, `{"message":"success","users":[]}`)
	if got := c.LastRateLimit(); got != (RateLimit{}) {
		t.Errorf("before any call: %+v", got)
	}
	if _, err := c.ExportByEmail(context.Background(), testEmail); err != nil {
		t.Fatal(err)
	}
	want := RateLimit{Limit: 250, Remaining: 249, Reset: time.Unix(1704196803, 0).UTC()}
	if got := c.LastRateLimit(); got != want {
		t.Errorf("LastRateLimit = %+v, want %+v", got, want)
	}
}

func TestLastRateLimitKeptWhenHeadersAbsent(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("X-RateLimit-Remaining", "7")
		}
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		c.Track(context.Background(), oneEvent())
	}
	if got := c.LastRateLimit(); got.Remaining != 7 {
		t.Errorf("LastRateLimit = %+v, want Remaining 7 kept", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", fmt.Sprint(n.Add(1)))
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"message":"success"}`)
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if _, err := c.Track(context.Background(), oneEvent()); err != nil {
					t.Error(err)
				}
				_ = c.LastRateLimit()
			}
		})
	}
	wg.Wait()
	if got := c.LastRateLimit().Remaining; got < 1 || got > 80 {
		t.Errorf("Remaining = %d, want one of the values sent", got)
	}
}
