package brazeemu

import (
	"net/http"
	"strconv"
	"time"
)

// Limit is a fixed-window rate limit: at most Requests calls in each Window.
// Windows are aligned on the Unix epoch (a one-minute window runs from one
// whole minute to the next).
type Limit struct {
	Requests int
	Window   time.Duration
}

// Limits holds the rate limit of each endpoint group. A zero Limit takes
// Braze's default.
type Limits struct {
	// Track limits /users/track: 3,000 requests per 3 seconds.
	Track Limit
	// ExportIDs limits /users/export/ids: 250 requests per minute, as on
	// workspaces created since August 2024.
	ExportIDs Limit
	// Aliases limits /users/alias/new and /users/identify together, which
	// share one budget: 20,000 requests per minute.
	Aliases Limit
}

// DefaultLimits returns Braze's documented limits.
func DefaultLimits() Limits {
	return Limits{
		Track:     Limit{Requests: 3000, Window: 3 * time.Second},
		ExportIDs: Limit{Requests: 250, Window: time.Minute},
		Aliases:   Limit{Requests: 20000, Window: time.Minute},
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	pick := func(l, d Limit) Limit {
		if l.Requests <= 0 || l.Window <= 0 {
			return d
		}
		return l
	}
	return Limits{
		Track:     pick(l.Track, d.Track),
		ExportIDs: pick(l.ExportIDs, d.ExportIDs),
		Aliases:   pick(l.Aliases, d.Aliases),
	}
}

// The rate limit buckets; /users/alias/new and /users/identify share one.
const (
	bucketTrack   = "track"
	bucketExport  = "export"
	bucketAliases = "aliases"
)

func (l Limits) of(bucket string) Limit {
	switch bucket {
	case bucketTrack:
		return l.Track
	case bucketExport:
		return l.ExportIDs
	}
	return l.Aliases
}

// window counts the requests of one bucket in the current fixed window.
type window struct {
	start time.Time
	used  int
}

// rateState is what the X-RateLimit-* headers report.
type rateState struct {
	limit     int
	remaining int
	reset     time.Time
}

func (r rateState) setHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(r.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(r.remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(r.reset), 10))
}

// ceilUnix is t in whole Unix seconds, rounded up so that a client waiting
// until then never comes back early.
func ceilUnix(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}

func windowStart(l Limit, now time.Time) time.Time {
	n, w := now.UnixNano(), int64(l.Window)
	off := n % w
	if off < 0 {
		off += w
	}
	return time.Unix(0, n-off)
}

// current returns the bucket's window at now, starting a new one when the
// last has ended. The caller holds s.mu.
func (s *Server) current(bucket string, now time.Time) (*window, Limit) {
	l := s.opts.Limits.of(bucket)
	start := windowStart(l, now)
	w := s.windows[bucket]
	if w == nil || !w.start.Equal(start) {
		w = &window{start: start}
		s.windows[bucket] = w
	}
	return w, l
}

func (w *window) state(l Limit) rateState {
	return rateState{
		limit:     l.Requests,
		remaining: max(l.Requests-w.used, 0),
		reset:     w.start.Add(l.Window),
	}
}

// takeRate spends one request of the bucket's budget, if any is left.
func (s *Server) takeRate(bucket string, now time.Time) (rateState, bool) {
	w, l := s.current(bucket, now)
	ok := w.used < l.Requests
	if ok {
		w.used++
	}
	return w.state(l), ok
}

// peekRate reports the bucket's budget without spending any.
func (s *Server) peekRate(bucket string, now time.Time) rateState {
	w, l := s.current(bucket, now)
	return w.state(l)
}
