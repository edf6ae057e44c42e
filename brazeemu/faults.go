package brazeemu

import (
	"net/http"
	"time"
)

// DropConnection, as a Fault's Status, closes the connection without an
// answer.
const DropConnection = -1

// Fault makes the emulator misbehave on purpose, the way Braze or the
// network between us and Braze can.
//
// Status replaces the answer: an HTTP status (500, 503, 429, 401, ...) with
// a JSON message, or DropConnection. Status 0 keeps the normal answer, so
// that a Fault with only a Delay answers normally but late.
type Fault struct {
	// Path is the endpoint affected (PathTrack, ...); empty means every
	// Braze endpoint.
	Path string
	// Status is the status to answer with; see the type's comment.
	Status int
	// Count is how many requests the fault affects; 0 means every request
	// until ClearFaults.
	Count int
	// Delay holds the answer back this long (or until the client gives up).
	Delay time.Duration
	// Apply processes the request first, changing state as Braze would,
	// and only then answers with Status or Delay: Braze applied the call,
	// but its answer was lost or late.
	Apply bool
	// ResetAfter sets X-RateLimit-Reset of a 429 to now plus this much;
	// zero reports the end of the current window.
	ResetAfter time.Duration
}

type activeFault struct {
	Fault
	left int
}

// Inject adds a fault. Faults apply in the order they were injected: a
// request takes the first one whose Path matches.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &activeFault{Fault: f, left: f.Count})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault that applies to a request on path and counts
// the request against it. The caller holds s.mu.
func (s *Server) takeFault(path string) (Fault, bool) {
	for i, f := range s.faults {
		if f.Path != "" && f.Path != path {
			continue
		}
		if f.Count > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f.Fault, true
	}
	return Fault{}, false
}

// applyFault turns the reply into the one the fault asks for.
func applyFault(rep reply, f Fault, now time.Time) reply {
	rep.fault = true
	if f.Status == 0 {
		return rep
	}
	rep.status = f.Status
	rep.body = messageBody{faultMessage(f.Status)}
	rep.allow = ""
	if f.Status == http.StatusTooManyRequests && rep.rate != nil {
		rate := *rep.rate
		rate.remaining = 0
		if f.ResetAfter > 0 {
			rate.reset = now.Add(f.ResetAfter)
		}
		rep.rate = &rate
	}
	return rep
}

func faultMessage(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return msgInvalidKey
	case http.StatusTooManyRequests:
		return msgRateLimited
	}
	if text := http.StatusText(status); text != "" {
		return text
	}
	return "Injected fault"
}
