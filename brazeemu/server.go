// Package brazeemu is an in-process emulator of the Braze REST API for tests
// and local development.
//
// It stands in for Braze: it answers /users/track, /users/export/ids,
// /users/alias/new and /users/identify the way Braze does (authentication,
// rate limit headers and 429s, size caps, per-object validation, profile
// creation rules) and keeps the resulting user profiles in memory so that a
// test can look at what Braze would now hold. Tests can also make it fail on
// purpose (see Fault), and operators of a local stack can read its state
// under /_emulator/.
//
// Braze resolves the person an object names only after it has answered, so
// an object naming nobody (an unknown braze_id, an alias without a profile)
// is counted as processed and then changes nothing, as on Braze. The
// emulator lists such objects in Request.Skipped, which Braze never shows.
//
// The admin endpoints need no key and do not exist on Braze:
//
//	GET  /_emulator/requests  recent requests, newest last (Options.KeepRequests)
//	GET  /_emulator/profiles  every profile, in order of creation
//	GET  /_emulator/events    every accepted event, in order
//	POST /_emulator/reset     forget everything, as Server.Reset
package brazeemu

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The Braze endpoints the emulator serves.
const (
	PathTrack     = "/users/track"
	PathExportIDs = "/users/export/ids"
	PathAliasNew  = "/users/alias/new"
	PathIdentify  = "/users/identify"
)

// Defaults of Options: Braze's caps on /users/track objects and on bodies,
// and the length of the emulator's request log.
const (
	DefaultMaxObjects   = 75
	DefaultMaxBody      = 4 << 20
	DefaultKeepRequests = 1000
)

const (
	msgInvalidKey  = "Invalid API Key"
	msgRateLimited = "API rate limit reached, retry after X-RateLimit-Reset"
	msgBadShape    = "The request body does not have the fields this endpoint takes, " +
		"or they have the wrong types"
)

// Options configures a Server. Only APIKey is required; every other zero
// field takes Braze's default.
type Options struct {
	// APIKey is the REST API key every call must present as
	// "Authorization: Bearer <key>". New panics when it is empty.
	APIKey string
	// Limits are the rate limits of the endpoint groups.
	Limits Limits
	// MaxObjects caps each of the attributes, events and purchases arrays
	// of /users/track (default 75).
	MaxObjects int
	// MaxBody caps request bodies in bytes (default 4 MB); a larger body
	// is answered 413.
	MaxBody int64
	// Now is the clock of rate windows, profile times and the "future
	// event time becomes now" rule (default time.Now).
	Now func() time.Time
	// KeepRequests is how many recent requests Requests and the admin
	// listing keep (default 1000). RequestCount counts them all.
	KeepRequests int
	// OnRequest, when set, is called with a copy of each request to a
	// Braze endpoint once it has been answered (or dropped). The
	// emulator's own program logs from it.
	OnRequest func(Request)
}

func (o Options) withDefaults() Options {
	if o.MaxObjects <= 0 {
		o.MaxObjects = DefaultMaxObjects
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KeepRequests <= 0 {
		o.KeepRequests = DefaultKeepRequests
	}
	o.Limits = o.Limits.withDefaults()
	return o
}

// Server is the emulated Braze REST API. It is an http.Handler and safe for
// concurrent use.
type Server struct {
	opts Options

	mu      sync.Mutex
	store   *store
	log     []Request
	counts  map[string]int
	events  []RecordedEvent
	windows map[string]*window
	faults  []*activeFault
}

// New returns an emulator with empty state. It panics when opts.APIKey is
// empty, since Braze has no keyless mode.
func New(opts Options) *Server {
	if opts.APIKey == "" {
		panic("brazeemu: Options.APIKey is required")
	}
	s := &Server{opts: opts.withDefaults()}
	s.clear()
	return s
}

// clear empties every piece of state. The caller holds s.mu, or owns s.
func (s *Server) clear() {
	s.store = newStore()
	s.log = nil
	s.counts = make(map[string]int)
	s.events = nil
	s.windows = make(map[string]*window)
	s.faults = nil
}

// handler serves one Braze endpoint once the request has passed
// authentication, the rate limit and the size cap. It runs under s.mu.
type handler func(s *Server, body []byte, now time.Time) reply

type endpoint struct {
	bucket string
	handle handler
}

func endpointFor(path string) (endpoint, bool) {
	switch path {
	case PathTrack:
		return endpoint{bucketTrack, (*Server).track}, true
	case PathExportIDs:
		return endpoint{bucketExport, (*Server).exportIDs}, true
	case PathAliasNew:
		return endpoint{bucketAliases, (*Server).aliasNew}, true
	case PathIdentify:
		return endpoint{bucketAliases, (*Server).identify}, true
	}
	return endpoint{}, false
}

// reply is an answer decided under the lock and written after it.
type reply struct {
	status  int
	body    any
	rate    *rateState
	allow   string
	objects map[string]int
	skipped []Skipped
	fault   bool
}

type messageBody struct {
	Message string `json:"message"`
}

func errorReply(status int, message string) reply {
	return reply{status: status, body: messageBody{message}}
}

// call is one request to a Braze endpoint, as read off the wire.
type call struct {
	r       *http.Request
	body    []byte
	readErr error
	now     time.Time
}

// ServeHTTP answers one request as Braze would, or serves the admin
// endpoints under /_emulator/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	c := call{r: r, now: s.opts.Now()}
	c.body, c.readErr = readBody(r, s.opts.MaxBody)
	rep, delay := s.answer(c)
	req := s.record(c, rep)
	if s.opts.OnRequest != nil {
		defer s.opts.OnRequest(req)
	}

	wait(r.Context(), delay)
	if rep.status == DropConnection {
		dropConnection(w)
		return
	}
	writeReply(w, rep)
}

// answer decides the reply to a call and how late to send it.
func (s *Server) answer(c call) (reply, time.Duration) {
	ep, ok := endpointFor(c.r.URL.Path)
	if !ok {
		return errorReply(http.StatusNotFound, "Not Found"), 0
	}
	if c.r.Method != http.MethodPost {
		rep := errorReply(http.StatusMethodNotAllowed, "Method Not Allowed")
		rep.allow = http.MethodPost
		return rep, 0
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	f, faulted := s.takeFault(c.r.URL.Path)
	if faulted && f.Status != 0 && !f.Apply {
		rate := s.peekRate(ep.bucket, c.now)
		return applyFault(reply{rate: &rate}, f, c.now), f.Delay
	}
	rep := s.process(c, ep)
	if faulted {
		rep = applyFault(rep, f, c.now)
	}
	return rep, f.Delay
}

// process runs the checks Braze makes on every call, in order, then the
// endpoint itself.
func (s *Server) process(c call, ep endpoint) reply {
	if !s.authorized(c.r) {
		rep := errorReply(http.StatusUnauthorized, msgInvalidKey)
		rate := s.peekRate(ep.bucket, c.now)
		rep.rate = &rate
		return rep
	}
	rate, ok := s.takeRate(ep.bucket, c.now)
	var rep reply
	switch {
	case !ok:
		rep = errorReply(http.StatusTooManyRequests, msgRateLimited)
	case errors.Is(c.readErr, errTooLarge):
		rep = errorReply(http.StatusRequestEntityTooLarge, "Request body is larger than the limit")
	case c.readErr != nil:
		rep = errorReply(http.StatusBadRequest, "Could not read the request body")
	case !json.Valid(c.body):
		rep = errorReply(http.StatusBadRequest, "Invalid JSON in the request body")
	default:
		rep = ep.handle(s, c.body, c.now)
	}
	rep.rate = &rate
	return rep
}

// authorized checks the bearer key exactly, as Braze does: a missing
// "Bearer " prefix, quotes or spaces around the key all fail.
func (s *Server) authorized(r *http.Request) bool {
	got := r.Header.Get("Authorization")
	want := "Bearer " + s.opts.APIKey
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

var errTooLarge = errors.New("request body too large")

// readBody reads at most max bytes. A larger body is drained (up to another
// max bytes) so that the client can read the 413 instead of a reset.
func readBody(r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		io.Copy(io.Discard, io.LimitReader(r.Body, 2*max))
		return nil, errTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		io.Copy(io.Discard, io.LimitReader(r.Body, max))
		return nil, errTooLarge
	}
	return b, nil
}

// record appends the call and its reply to the log and returns a copy.
func (s *Server) record(c call, rep reply) Request {
	req := Request{
		Time:    c.now,
		Method:  c.r.Method,
		Path:    c.r.URL.Path,
		Status:  rep.status,
		Body:    c.body,
		Objects: rep.objects,
		Skipped: rep.skipped,
		Fault:   rep.fault,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[req.Path]++
	s.log = append(s.log, req)
	if over := len(s.log) - s.opts.KeepRequests; over > 0 {
		s.log = s.log[over:]
	}
	return req.clone()
}

func wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// dropConnection closes the connection without a word, as a crashed proxy
// or a cut network would.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func writeReply(w http.ResponseWriter, rep reply) {
	if rep.rate != nil {
		rep.rate.setHeaders(w.Header())
	}
	if rep.allow != "" {
		w.Header().Set("Allow", rep.allow)
	}
	writeJSON(w, rep.status, rep.body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(messageBody{"brazeemu: encoding the answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
