package brazeemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
)

func TestAdminRequests(t *testing.T) {
	h := start(t, Options{KeepRequests: 3})
	for i := range 5 {
		h.mustTrack(events(event(fmt.Sprintf("u%d", i), "e")))
	}
	h.mustPost(PathExportIDs, `not json`, http.StatusBadRequest)

	r := h.do(http.MethodGet, "/_emulator/requests", "", nil)
	h.mustStatus(r, http.StatusOK)
	var ans struct {
		Requests []struct {
			Path   string         `json:"path"`
			Status int            `json:"status"`
			Body   any            `json:"body"`
			Object map[string]int `json:"objects"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(r.raw, &ans); err != nil {
		t.Fatal(err)
	}
	if len(ans.Requests) != 3 {
		t.Fatalf("%d requests listed, want the last 3", len(ans.Requests))
	}
	newest := ans.Requests[2]
	if newest.Path != PathExportIDs || newest.Status != 400 || newest.Body != "not json" {
		t.Errorf("newest %+v, want the export with its body as text", newest)
	}
	prev := ans.Requests[1]
	body, ok := prev.Body.(map[string]any)
	if !ok || prev.Object["events"] != 1 {
		t.Fatalf("track request listed as %+v, want its JSON body", prev)
	}
	if ev := body["events"].([]any)[0].(map[string]any); ev["external_id"] != "u4" {
		t.Errorf("second newest is %v, want u4's", ev)
	}
	if got := h.emu.RequestCount(PathTrack); got != 5 {
		t.Errorf("RequestCount %d, want 5 though only 3 are kept", got)
	}
}

func TestAdminProfilesEventsAndReset(t *testing.T) {
	h := start(t, Options{})
	h.mustTrack(both(`{"external_id":"u1","first_name":"Ann"}`, event("u1", "e")))
	h.emu.Inject(Fault{Path: PathExportIDs, Status: 500})

	r := h.do(http.MethodGet, "/_emulator/profiles", "", nil)
	h.mustStatus(r, http.StatusOK)
	profiles := asSlice(r.body["profiles"])
	if len(profiles) != 1 || profiles[0].(map[string]any)["external_id"] != "u1" {
		t.Errorf("profiles %s", r.raw)
	}
	r = h.do(http.MethodGet, "/_emulator/events", "", nil)
	h.mustStatus(r, http.StatusOK)
	if evs := asSlice(r.body["events"]); len(evs) != 1 {
		t.Errorf("events %s", r.raw)
	}

	h.mustStatus(h.do(http.MethodPost, "/_emulator/reset", "", nil), http.StatusOK)
	if len(h.emu.Profiles()) != 0 || len(h.emu.Events()) != 0 ||
		len(h.emu.Requests()) != 0 || h.emu.RequestCount(PathTrack) != 0 {
		t.Errorf("state left after reset")
	}
	h.mustPost(PathExportIDs, `{"external_ids":["u1"]}`, http.StatusOK)
	r = h.do(http.MethodGet, "/_emulator/profiles", "", nil)
	if string(r.raw) != "{\"profiles\":[]}\n" {
		t.Errorf("profiles after reset %s", r.raw)
	}
}

func TestAdminRouting(t *testing.T) {
	cases := []struct {
		method string
		path   string
		want   int
	}{
		{http.MethodGet, "/_emulator/requests", http.StatusOK},
		{http.MethodPost, "/_emulator/requests", http.StatusMethodNotAllowed},
		{http.MethodGet, "/_emulator/reset", http.StatusMethodNotAllowed},
		{http.MethodGet, "/_emulator/nope", http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			h := start(t, Options{})
			h.mustStatus(h.do(c.method, c.path, "Bearer wrong", nil), c.want)
			if n := len(h.emu.Requests()); n != 0 {
				t.Errorf("admin call logged as a Braze request")
			}
		})
	}
}

func TestOnRequest(t *testing.T) {
	var mu sync.Mutex
	var seen []Request
	h := start(t, Options{OnRequest: func(r Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r)
	}})
	h.mustTrack(events(event("u1", "a"), event("u1", "b")))
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].Status != 201 || seen[0].Objects["events"] != 2 {
		t.Errorf("OnRequest saw %+v", seen)
	}
}

func TestConcurrentCalls(t *testing.T) {
	h := start(t, Options{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				id := fmt.Sprintf("u%d-%d", w, i)
				h.track(`{"attributes":[{"external_id":"` + id + `"}],"events":[` + event(id, "e") + `]}`)
				h.post(PathExportIDs, `{"external_ids":["`+id+`"]}`)
				h.emu.Profiles()
			}
		})
	}
	wg.Wait()
	if n := len(h.emu.Profiles()); n != 200 {
		t.Errorf("%d profiles, want 200", n)
	}
	if n := len(h.emu.Events()); n != 200 {
		t.Errorf("%d events, want 200", n)
	}
	if n := h.emu.RequestCount(PathExportIDs); n != 200 {
		t.Errorf("%d exports counted, want 200", n)
	}
}
