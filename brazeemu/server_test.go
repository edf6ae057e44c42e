package brazeemu

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAuthorization(t *testing.T) {
	cases := []struct {
		name string
		auth string
		want int
	}{
		{"right key", "Bearer " + testKey, http.StatusCreated},
		{"missing header", "", http.StatusUnauthorized},
		{"wrong key", "Bearer other-key", http.StatusUnauthorized},
		{"key in quotes", `Bearer "` + testKey + `"`, http.StatusUnauthorized},
		{"no Bearer prefix", testKey, http.StatusUnauthorized},
		{"lower-case scheme", "bearer " + testKey, http.StatusUnauthorized},
		{"two spaces", "Bearer  " + testKey, http.StatusUnauthorized},
		{"key prefix only", "Bearer " + testKey[:4], http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{})
			r := h.do(http.MethodPost, PathTrack, c.auth, strings.NewReader(events(event("u1", "e"))))
			h.mustStatus(r, c.want)
			if r.header.Get("X-RateLimit-Limit") == "" {
				t.Errorf("no X-RateLimit-Limit header")
			}
			if c.want != http.StatusUnauthorized {
				return
			}
			if r.message() != "Invalid API Key" {
				t.Errorf("message %q, want Invalid API Key", r.message())
			}
			if n := len(h.emu.Events()); n != 0 {
				t.Errorf("an unauthorized call stored %d events", n)
			}
		})
	}
}

func TestUnauthorizedCallsSpendNoBudget(t *testing.T) {
	h := start(t, Options{Limits: Limits{Track: Limit{Requests: 1, Window: time.Minute}}})
	bad := h.do(http.MethodPost, PathTrack, "Bearer nope", strings.NewReader(events(event("u1", "e"))))
	h.mustStatus(bad, http.StatusUnauthorized)
	if got := bad.header.Get("X-RateLimit-Remaining"); got != "1" {
		t.Errorf("401 reports Remaining %s, want 1", got)
	}
	h.mustTrack(events(event("u1", "e")))
}

func TestRouting(t *testing.T) {
	cases := []struct {
		name   string
		method string
		path   string
		want   int
	}{
		{"unknown path", http.MethodPost, "/users/nope", http.StatusNotFound},
		{"root", http.MethodGet, "/", http.StatusNotFound},
		{"trailing slash", http.MethodPost, "/users/track/", http.StatusNotFound},
		{"GET track", http.MethodGet, PathTrack, http.StatusMethodNotAllowed},
		{"PUT export", http.MethodPut, PathExportIDs, http.StatusMethodNotAllowed},
		{"DELETE alias", http.MethodDelete, PathAliasNew, http.StatusMethodNotAllowed},
		{"GET identify", http.MethodGet, PathIdentify, http.StatusMethodNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{})
			r := h.do(c.method, c.path, "Bearer "+testKey, nil)
			h.mustStatus(r, c.want)
			if r.message() == "" {
				t.Errorf("no message in %s", r.raw)
			}
			if c.want == http.StatusMethodNotAllowed && r.header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow %q, want POST", r.header.Get("Allow"))
			}
			if got := h.emu.RequestCount(c.path); got != 1 {
				t.Errorf("RequestCount(%s) = %d, want 1", c.path, got)
			}
		})
	}
}

func TestBodySize(t *testing.T) {
	cases := []struct {
		name    string
		maxBody int64
		size    int
		chunked bool
		want    int
	}{
		{"4 MB exactly is read", 0, 4 << 20, false, http.StatusBadRequest},
		{"one byte over 4 MB", 0, 4<<20 + 1, false, http.StatusRequestEntityTooLarge},
		{"one byte over 4 MB, chunked", 0, 4<<20 + 1, true, http.StatusRequestEntityTooLarge},
		{"custom cap, at it", 100, 100, false, http.StatusBadRequest},
		{"custom cap, over it", 100, 101, false, http.StatusRequestEntityTooLarge},
		{"custom cap, over it, chunked", 100, 5000, true, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{MaxBody: c.maxBody})
			body := paddedTrack(c.size)
			var rd io.Reader = bytes.NewReader(body)
			if c.chunked {
				rd = newChunked(body)
			}
			r := h.do(http.MethodPost, PathTrack, "Bearer "+testKey, rd)
			h.mustStatus(r, c.want)
			reqs := h.emu.Requests()
			if len(reqs) != 1 || reqs[0].Status != c.want {
				t.Fatalf("Requests() = %+v, want one with status %d", reqs, c.want)
			}
			if c.want == http.StatusRequestEntityTooLarge && reqs[0].Body != nil {
				t.Errorf("kept %d bytes of a body over the cap", len(reqs[0].Body))
			}
		})
	}
}

func TestMalformedJSON(t *testing.T) {
	cases := []struct {
		path string
		body string
	}{
		{PathTrack, `{`},
		{PathTrack, `[1,2]`},
		{PathTrack, `{"events":{"name":"e"}}`},
		{PathTrack, `{"attributes":"u1"}`},
		{PathTrack, ``},
		{PathExportIDs, `{"external_ids":"u1"}`},
		{PathExportIDs, `not json`},
		{PathAliasNew, `{"user_aliases":[{"alias_name":1}]}`},
		{PathIdentify, `{"aliases_to_identify":{}}`},
	}
	for _, c := range cases {
		t.Run(c.path+" "+c.body, func(t *testing.T) {
			h := start(t, Options{})
			r := h.post(c.path, c.body)
			h.mustStatus(r, http.StatusBadRequest)
			if r.message() == "" {
				t.Errorf("no message in %s", r.raw)
			}
		})
	}
}

// budgetCalls are one valid call per endpoint.
var budgetCalls = []struct {
	path string
	body string
	ok   int
}{
	{PathTrack, events(event("u1", "e")), http.StatusCreated},
	{PathExportIDs, `{"external_ids":["u1"]}`, http.StatusOK},
	{PathAliasNew, `{"user_aliases":[{"alias_name":"a","alias_label":"l"}]}`, http.StatusCreated},
	{PathIdentify, `{"aliases_to_identify":[{"external_id":"u1","user_alias":` +
		`{"alias_name":"a","alias_label":"l"}}]}`, http.StatusCreated},
}

func TestDefaultLimits(t *testing.T) {
	want := map[string]string{
		PathTrack: "3000", PathExportIDs: "250", PathAliasNew: "20000", PathIdentify: "20000",
	}
	h := start(t, Options{})
	for _, c := range budgetCalls {
		r := h.post(c.path, c.body)
		h.mustStatus(r, c.ok)
		if got := r.header.Get("X-RateLimit-Limit"); got != want[c.path] {
			t.Errorf("%s: X-RateLimit-Limit %s, want %s", c.path, got, want[c.path])
		}
	}
	// t0 is 05:06:07.5; the 3-second track window ends at 05:06:09, the
	// minute windows at 05:07:00.
	h.clock.Set(t0)
	r := h.post(PathTrack, events(event("u1", "e")))
	if got, want := r.header.Get("X-RateLimit-Reset"), unix(2025, 3, 4, 5, 6, 9); got != want {
		t.Errorf("track reset %s, want %s", got, want)
	}
	r = h.post(PathExportIDs, `{"external_ids":["u1"]}`)
	if got, want := r.header.Get("X-RateLimit-Reset"), unix(2025, 3, 4, 5, 7, 0); got != want {
		t.Errorf("export reset %s, want %s", got, want)
	}
}

func unix(y int, mo time.Month, d, h, mi, s int) string {
	return strconv.FormatInt(time.Date(y, mo, d, h, mi, s, 0, time.UTC).Unix(), 10)
}

func TestRateLimitWindow(t *testing.T) {
	for _, c := range budgetCalls {
		t.Run(c.path, func(t *testing.T) {
			two := func(w time.Duration) Limit { return Limit{Requests: 2, Window: w} }
			h := start(t, Options{Limits: Limits{
				Track: two(3 * time.Second), ExportIDs: two(time.Minute), Aliases: two(time.Minute),
			}})
			window := time.Minute
			if c.path == PathTrack {
				window = 3 * time.Second
			}
			end := time.Unix(0, 0).Add(t0.Sub(time.Unix(0, 0)).Truncate(window) + window).UTC()
			reset := strconv.FormatInt(end.Unix(), 10)

			steps := []struct {
				status    int
				remaining string
			}{{c.ok, "1"}, {c.ok, "0"}, {http.StatusTooManyRequests, "0"}, {http.StatusTooManyRequests, "0"}}
			for i, s := range steps {
				r := h.post(c.path, c.body)
				h.mustStatus(r, s.status)
				checkRate(t, r, "2", s.remaining, reset)
				if s.status == http.StatusTooManyRequests && r.message() == "" {
					t.Errorf("call %d: 429 without a message", i)
				}
			}

			h.clock.Set(end.Add(-time.Millisecond))
			h.mustStatus(h.post(c.path, c.body), http.StatusTooManyRequests)

			h.clock.Set(end)
			r := h.post(c.path, c.body)
			h.mustStatus(r, c.ok)
			checkRate(t, r, "2", "1", strconv.FormatInt(end.Add(window).Unix(), 10))
		})
	}
}

func checkRate(t *testing.T, r response, limit, remaining, reset string) {
	t.Helper()
	got := [3]string{
		r.header.Get("X-RateLimit-Limit"),
		r.header.Get("X-RateLimit-Remaining"),
		r.header.Get("X-RateLimit-Reset"),
	}
	if want := [3]string{limit, remaining, reset}; got != want {
		t.Errorf("limit, remaining, reset = %v, want %v", got, want)
	}
}

func TestRateLimitedCallChangesNothing(t *testing.T) {
	h := start(t, Options{Limits: Limits{Track: Limit{Requests: 1, Window: time.Minute}}})
	h.mustTrack(events(event("u1", "first")))
	h.mustStatus(h.track(events(event("u2", "second"))), http.StatusTooManyRequests)
	if names := eventNames(h.emu.Events()); len(names) != 1 || names[0] != "first" {
		t.Errorf("events %v, want only first", names)
	}
	if _, ok := h.emu.FindByExternalID("u2"); ok {
		t.Errorf("a rate limited call created a profile")
	}
}

func TestAliasEndpointsShareABudget(t *testing.T) {
	h := start(t, Options{Limits: Limits{Aliases: Limit{Requests: 2, Window: time.Minute}}})
	alias, identify := budgetCalls[2], budgetCalls[3]
	h.mustStatus(h.post(alias.path, alias.body), http.StatusCreated)
	h.mustStatus(h.post(identify.path, identify.body), http.StatusCreated)
	h.mustStatus(h.post(alias.path, alias.body), http.StatusTooManyRequests)
	h.mustStatus(h.post(identify.path, identify.body), http.StatusTooManyRequests)
	h.mustTrack(events(event("u1", "e")))
	h.mustPost(PathExportIDs, `{"external_ids":["u1"]}`, http.StatusOK)
}

func TestNewWithoutKeyPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("New without an API key did not panic")
		}
	}()
	New(Options{})
}
