package brazeemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "test-key"

// noBrazeID is a braze_id no profile has.
const noBrazeID = "ffffffffffffffffffffffff"

// t0 is the fake clock's start: half a second into a second, so that window
// edges are not where a careless test would put them.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 500_000_000, time.UTC)

// clock is a fake clock for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// harness is an emulator behind a real HTTP server, with a fake clock.
type harness struct {
	t     *testing.T
	emu   *Server
	srv   *httptest.Server
	clock *clock
}

func start(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, clock: &clock{now: t0}}
	if opts.APIKey == "" {
		opts.APIKey = testKey
	}
	if opts.Now == nil {
		opts.Now = h.clock.Now
	}
	h.emu = New(opts)
	h.srv = httptest.NewServer(h.emu)
	t.Cleanup(h.srv.Close)
	return h
}

// response is an answer, its JSON body decoded.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r response) message() string {
	s, _ := r.body["message"].(string)
	return s
}

func (r response) errors() []objectError {
	var errs []objectError
	b, _ := json.Marshal(r.body["errors"])
	json.Unmarshal(b, &errs)
	return errs
}

func (r response) number(key string) int {
	f, ok := r.body[key].(float64)
	if !ok {
		return -1
	}
	return int(f)
}

// post calls a Braze endpoint with the right key.
func (h *harness) post(path, body string) response {
	h.t.Helper()
	return h.do(http.MethodPost, path, "Bearer "+testKey, strings.NewReader(body))
}

func (h *harness) track(body string) response {
	h.t.Helper()
	return h.post(PathTrack, body)
}

// do makes a request; auth is the whole Authorization header, none if
// empty. Every answer must be JSON.
func (h *harness) do(method, path, auth string, body io.Reader) response {
	h.t.Helper()
	res, err := h.send(http.DefaultClient, method, path, auth, body)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	return res
}

func (h *harness) send(c *http.Client, method, path, auth string, body io.Reader) (response, error) {
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		h.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		h.t.Errorf("%s %s: answer is not a JSON object: %q", method, path, raw)
	}
	return out, nil
}

// mustPost posts and fails the test unless the status is want.
func (h *harness) mustPost(path, body string, want int) response {
	h.t.Helper()
	r := h.post(path, body)
	h.mustStatus(r, want)
	return r
}

// mustTrack posts to /users/track and fails the test unless it answers 201.
func (h *harness) mustTrack(body string) response {
	h.t.Helper()
	return h.mustPost(PathTrack, body, http.StatusCreated)
}

// tryTrack posts an event with the given client, which may fail.
func (h *harness) tryTrack(c *http.Client) (response, error) {
	body := strings.NewReader(events(event("u1", "e")))
	return h.send(c, http.MethodPost, PathTrack, "Bearer "+testKey, body)
}

func (h *harness) mustStatus(r response, want int) {
	h.t.Helper()
	if r.status != want {
		h.t.Fatalf("status %d, want %d; body %s", r.status, want, r.raw)
	}
}

// day is the time of the test events.
const day = "2025-01-01T00:00:00Z"

// event is an event object naming its person by external id.
func event(externalID, name string) string {
	return eventBy(fmt.Sprintf(`"external_id":%q`, externalID), name)
}

// eventBy is an event object naming its person by the given fields.
func eventBy(who, name string) string {
	return fmt.Sprintf(`{%s,"name":%q,"time":%q}`, who, name, day)
}

// both is a /users/track body of one attributes object and one event.
func both(attrs, ev string) string {
	return `{"attributes":[` + attrs + `],"events":[` + ev + `]}`
}

// events wraps event objects in a /users/track body.
func events(objs ...string) string {
	return `{"events":[` + strings.Join(objs, ",") + `]}`
}

func attributes(objs ...string) string {
	return `{"attributes":[` + strings.Join(objs, ",") + `]}`
}

func repeat(obj string, n int) string {
	objs := make([]string, n)
	for i := range objs {
		objs[i] = obj
	}
	return strings.Join(objs, ",")
}

func eventNames(evs []RecordedEvent) []string {
	names := make([]string, len(evs))
	for i, e := range evs {
		names[i] = e.Name
	}
	return names
}

// paddedTrack is a /users/track body of exactly size bytes, holding no
// objects.
func paddedTrack(size int) []byte {
	head, tail := `{"events":[],"pad":"`, `"}`
	return []byte(head + strings.Repeat("x", size-len(head)-len(tail)) + tail)
}

// chunked hides the length of a body, so that the client sends it chunked.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func newChunked(b []byte) io.Reader { return chunked{bytes.NewReader(b)} }
