package brazeemu

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestFaultStatuses(t *testing.T) {
	cases := []struct {
		name     string
		faults   []Fault
		statuses []int // of successive /users/track calls
		applied  int   // events stored in the end
	}{
		{"500 for two calls", []Fault{{Path: PathTrack, Status: 500, Count: 2}},
			[]int{500, 500, 201}, 1},
		{"503 until cleared", []Fault{{Path: PathTrack, Status: 503}},
			[]int{503, 503, 503, 503}, 0},
		{"401 on any path", []Fault{{Status: 401, Count: 1}},
			[]int{401, 201}, 1},
		{"another path untouched", []Fault{{Path: PathExportIDs, Status: 500}},
			[]int{201, 201}, 2},
		{"applied, then 500", []Fault{{Path: PathTrack, Status: 500, Count: 1, Apply: true}},
			[]int{500, 201}, 2},
		{"applied, then 503 twice", []Fault{{Path: PathTrack, Status: 503, Count: 2, Apply: true}},
			[]int{503, 503, 201}, 3},
		{"faults in order", []Fault{{Path: PathTrack, Status: 500, Count: 1}, {Status: 429, Count: 1}},
			[]int{500, 429, 201}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{})
			for _, f := range c.faults {
				h.emu.Inject(f)
			}
			for i, want := range c.statuses {
				r := h.track(events(event("u1", "e")))
				h.mustStatus(r, want)
				if r.header.Get("X-RateLimit-Limit") != "3000" {
					t.Errorf("call %d: rate headers missing", i)
				}
				if want >= 400 && r.message() == "" {
					t.Errorf("call %d: no message", i)
				}
				if want == 401 && r.message() != "Invalid API Key" {
					t.Errorf("call %d: message %q", i, r.message())
				}
			}
			if got := len(h.emu.Events()); got != c.applied {
				t.Errorf("%d events stored, want %d", got, c.applied)
			}
			if got := h.emu.RequestCount(PathTrack); got != len(c.statuses) {
				t.Errorf("RequestCount %d, want %d", got, len(c.statuses))
			}
			if !h.emu.Requests()[0].Fault && c.statuses[0] != 201 {
				t.Errorf("first request not marked as faulted")
			}
		})
	}
}

func TestClearFaults(t *testing.T) {
	h := start(t, Options{})
	h.emu.Inject(Fault{Status: 503})
	h.mustStatus(h.track(events(event("u1", "e"))), 503)
	h.mustStatus(h.post(PathExportIDs, `{"external_ids":["u1"]}`), 503)
	h.emu.ClearFaults()
	h.mustStatus(h.track(events(event("u1", "e"))), 201)
}

func TestFault429Headers(t *testing.T) {
	cases := []struct {
		name       string
		resetAfter time.Duration
		wantReset  int64
	}{
		// t0 is half a second into a second: the reset rounds up.
		{"reset after 30 s", 30 * time.Second, t0.Add(30*time.Second).Unix() + 1},
		{"reset at window end", 0, time.Date(2025, 3, 4, 5, 6, 9, 0, time.UTC).Unix()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{})
			h.emu.Inject(Fault{Path: PathTrack, Status: 429, Count: 1, ResetAfter: c.resetAfter})
			r := h.track(events(event("u1", "e")))
			h.mustStatus(r, http.StatusTooManyRequests)
			checkRate(t, r, "3000", "0", strconv.FormatInt(c.wantReset, 10))
			if len(h.emu.Events()) != 0 {
				t.Errorf("a 429 fault applied the call")
			}
		})
	}
}

func TestFaultDelay(t *testing.T) {
	cases := []struct {
		name    string
		fault   Fault
		status  int
		applied int
	}{
		{"late but normal", Fault{Path: PathTrack, Delay: 150 * time.Millisecond, Count: 1}, 201, 1},
		{"late 503", Fault{Path: PathTrack, Status: 503, Delay: 150 * time.Millisecond, Count: 1}, 503, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{})
			h.emu.Inject(c.fault)
			began := time.Now()
			r := h.track(events(event("u1", "e")))
			h.mustStatus(r, c.status)
			if took := time.Since(began); took < c.fault.Delay {
				t.Errorf("answered after %v, want at least %v", took, c.fault.Delay)
			}
			if got := len(h.emu.Events()); got != c.applied {
				t.Errorf("%d events stored, want %d", got, c.applied)
			}
			began = time.Now()
			h.mustStatus(h.track(events(event("u1", "e"))), 201)
			if took := time.Since(began); took >= c.fault.Delay {
				t.Errorf("the next call also waited %v", took)
			}
		})
	}
}

func TestFaultAppliedButAnswerTooLate(t *testing.T) {
	h := start(t, Options{})
	h.emu.Inject(Fault{Path: PathTrack, Delay: 5 * time.Second, Apply: true, Count: 1})
	impatient := &http.Client{Timeout: 100 * time.Millisecond}
	_, err := h.tryTrack(impatient)
	if err == nil {
		t.Fatalf("the client got an answer in time")
	}
	if got := len(h.emu.Events()); got != 1 {
		t.Errorf("%d events stored, want 1: Braze applied it before the answer was lost", got)
	}
}

func TestFaultDropConnection(t *testing.T) {
	cases := []struct {
		name    string
		apply   bool
		applied int
	}{
		{"dropped before applying", false, 0},
		{"applied, then dropped", true, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, Options{})
			h.emu.Inject(Fault{Path: PathTrack, Status: DropConnection, Count: 1, Apply: c.apply})
			client := &http.Client{Transport: &http.Transport{}}
			_, err := h.tryTrack(client)
			if err == nil {
				t.Fatalf("got an answer from a dropped connection")
			}
			if got := len(h.emu.Events()); got != c.applied {
				t.Errorf("%d events stored, want %d", got, c.applied)
			}
			reqs := h.emu.Requests()
			if len(reqs) != 1 || reqs[0].Status != DropConnection || !reqs[0].Fault {
				t.Errorf("Requests() = %+v, want one dropped", reqs)
			}
			h.mustStatus(h.track(events(event("u1", "e"))), 201)
		})
	}
}
