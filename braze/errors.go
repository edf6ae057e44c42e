package braze

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Kinds of Error, stable names meant to be used as Temporal application error
// types so that retry policies can name the ones they must not retry.
const (
	// KindUnavailable: Braze could not be reached, timed out, or answered
	// 5xx or 408. Retryable.
	KindUnavailable = "BrazeUnavailable"
	// KindRateLimited: Braze answered 429. Retryable after Error.RetryAt.
	KindRateLimited = "BrazeRateLimited"
	// KindBadRequest: Braze answered 400; the request must change.
	KindBadRequest = "BrazeBadRequest"
	// KindUnauthorized: Braze answered 401: a wrong key, a key with quotes
	// around it, or a key of another instance.
	KindUnauthorized = "BrazeUnauthorized"
	// KindForbidden: Braze answered 403: the key lacks the permission or the
	// plan lacks the feature.
	KindForbidden = "BrazeForbidden"
	// KindNotFound: Braze answered 404, usually a wrong endpoint.
	KindNotFound = "BrazeNotFound"
	// KindTooLarge: Braze answered 413; the request body is too large.
	KindTooLarge = "BrazeTooLarge"
	// KindObjectsDropped: Braze accepted the request but dropped the objects
	// listed in Error.Dropped.
	KindObjectsDropped = "BrazeObjectsDropped"
	// KindBadResponse: Braze accepted the request (2xx) but its answer could
	// not be read. Not retryable: Braze does not deduplicate, so sending the
	// request again could apply it twice.
	KindBadResponse = "BrazeBadResponse"
	// KindRejected: Braze answered any other status that is not a success.
	KindRejected = "BrazeRejected"
)

// ErrInvalidRequest marks a call refused before anything was sent to Braze,
// such as too many aliases in one call. Retrying it cannot help.
var ErrInvalidRequest = errors.New("invalid request")

// maxMessageLen bounds how much of Braze's own message an Error keeps.
const maxMessageLen = 200

// maxDroppedListed bounds how many dropped objects Error() names.
const maxDroppedListed = 5

// Error is a failed call to Braze: a network failure or timeout (Status 0),
// an HTTP status that is not a success, an accepted request whose answer
// could not be read, or an accepted request with dropped objects. Its text
// never holds request bodies, personal data or the API key.
type Error struct {
	// Op is the operation: "track", "export ids" or "alias new".
	Op string
	// Status is the HTTP status, 0 when no answer arrived.
	Status int
	// Message is Braze's own message from the answer, truncated, with email
	// addresses and the values sent redacted.
	Message string
	// RetryAt is when Braze's rate limit window resets, from the
	// X-RateLimit-Reset header of a 429; zero when not known.
	RetryAt time.Time
	// Dropped lists the objects Braze dropped from an accepted request.
	Dropped []ObjectError
	// Err is the underlying error, if any: network, timeout or decoding.
	Err error
}

// Error describes the failure in one line, e.g.
// "braze: track: 429 rate limited, retry at 12:00:03Z".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("braze: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch {
	case len(e.Dropped) > 0:
		writeDropped(&b, e.Dropped)
	case e.Status == 0:
		b.WriteString("request failed")
	default:
		fmt.Fprintf(&b, "%d %s", e.Status, e.statusText())
		if !e.RetryAt.IsZero() {
			b.WriteString(", retry at ")
			b.WriteString(e.RetryAt.UTC().Format("15:04:05Z"))
		}
		if e.Message != "" {
			b.WriteString(": ")
			b.WriteString(e.Message)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error, so that errors.Is can find
// context.DeadlineExceeded and the like.
func (e *Error) Unwrap() error {
	return e.Err
}

// Kind names the class of failure; it is one of the Kind constants.
func (e *Error) Kind() string {
	s := e.Status
	switch {
	case len(e.Dropped) > 0:
		return KindObjectsDropped
	case s == 0, s >= 500, s == http.StatusRequestTimeout:
		return KindUnavailable
	case s >= 200 && s < 300:
		return KindBadResponse
	case s == http.StatusTooManyRequests:
		return KindRateLimited
	case s == http.StatusBadRequest:
		return KindBadRequest
	case s == http.StatusUnauthorized:
		return KindUnauthorized
	case s == http.StatusForbidden:
		return KindForbidden
	case s == http.StatusNotFound:
		return KindNotFound
	case s == http.StatusRequestEntityTooLarge:
		return KindTooLarge
	}
	return KindRejected
}

// Retryable reports whether the same call may succeed later: after a network
// failure, a timeout, a 5xx, a 408 or a 429.
func (e *Error) Retryable() bool {
	switch e.Kind() {
	case KindUnavailable, KindRateLimited:
		return true
	}
	return false
}

func writeDropped(b *strings.Builder, dropped []ObjectError) {
	if len(dropped) == 1 {
		b.WriteString("1 object dropped: ")
	} else {
		fmt.Fprintf(b, "%d objects dropped: ", len(dropped))
	}
	for i, d := range dropped {
		if i == maxDroppedListed {
			fmt.Fprintf(b, ", and %d more", len(dropped)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.String())
	}
}

func (e *Error) statusText() string {
	switch s := e.Status; {
	case s == http.StatusTooManyRequests:
		return "rate limited"
	case s == http.StatusRequestEntityTooLarge:
		return "too large"
	case s >= 200 && s < 300 && e.Err != nil:
		return "unreadable response"
	case s >= 200 && s < 300:
		return "unexpected status"
	}
	if t := http.StatusText(e.Status); t != "" {
		return strings.ToLower(t)
	}
	return "unexpected status"
}

// emailPattern finds anything shaped like an email address.
var emailPattern = regexp.MustCompile(`[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+`)

// cleanMessage makes Braze's message safe for logs: the given values and any
// email address are redacted, control characters become spaces, and the
// result is cut to maxMessageLen characters.
func cleanMessage(msg string, redact ...string) string {
	for _, r := range redact {
		if r != "" {
			msg = strings.ReplaceAll(msg, r, "[redacted]")
		}
	}
	msg = emailPattern.ReplaceAllString(msg, "[email]")
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, msg)
	msg = strings.TrimSpace(msg)
	if runes := []rune(msg); len(runes) > maxMessageLen {
		msg = string(runes[:maxMessageLen]) + "…"
	}
	return msg
}
