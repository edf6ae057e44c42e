package braze

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

const (
	opTrack        = "track"
	opExportIDs    = "export ids"
	opAliasNew     = "alias new"
	userAgent      = "extole-braze"
	maxBodyRead    = 1 << 20
	maxPerArray    = 75
	maxAliases     = 50
	defaultTimeout = 10 * time.Second
)

// exportFields are the profile fields ExportByEmail asks for: what User holds.
var exportFields = []string{"external_id", "braze_id", "user_aliases"}

// Client calls the Braze REST API of one workspace. It is safe for concurrent
// use.
type Client struct {
	base   string
	apiKey string
	hc     *http.Client

	mu        sync.Mutex
	rateLimit RateLimit
}

// RateLimit is Braze's rate limit state as reported by the X-RateLimit-*
// headers of one response. A zero field was absent or unreadable.
type RateLimit struct {
	// Limit is the number of requests allowed in the current window.
	Limit int
	// Remaining is the number of requests left in the current window.
	Remaining int
	// Reset is when the current window ends.
	Reset time.Time
}

// New returns a client for the REST endpoint of a customer's Braze instance,
// such as https://rest.iad-01.braze.com. A nil hc means an http.Client with a
// 10 second timeout. The endpoint must be an http or https URL with a host and
// without user info, query or fragment; a trailing slash is ignored.
func New(endpoint, apiKey string, hc *http.Client) (*Client, error) {
	base, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	if err := checkAPIKey(apiKey); err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	return &Client{base: base, apiKey: apiKey, hc: hc}, nil
}

func parseEndpoint(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the full error repeats the URL
		}
		return "", fmt.Errorf("braze: endpoint is not a URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("braze: endpoint scheme must be http or https, not %q", u.Scheme)
	case u.Host == "":
		return "", errors.New("braze: endpoint has no host")
	case u.User != nil:
		return "", errors.New("braze: endpoint must not hold user info")
	case u.RawQuery != "" || u.ForceQuery:
		return "", errors.New("braze: endpoint must not have a query")
	case u.Fragment != "":
		return "", errors.New("braze: endpoint must not have a fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

func checkAPIKey(key string) error {
	if key == "" {
		return errors.New("braze: api key is empty")
	}
	bad := func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' || r == '\''
	}
	if strings.ContainsFunc(key, bad) {
		return errors.New("braze: api key contains spaces, quotes or control characters")
	}
	return nil
}

// LastRateLimit returns the rate limit state from the most recent response
// that carried X-RateLimit-* headers, whichever endpoint it came from; zero
// before any.
func (c *Client) LastRateLimit() RateLimit {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rateLimit
}

func (c *Client) recordRateLimit(h http.Header) {
	rl, ok := parseRateLimit(h)
	if !ok {
		return
	}
	c.mu.Lock()
	c.rateLimit = rl
	c.mu.Unlock()
}

// Track sends attributes and events to POST /users/track. When Braze accepts
// the request but drops some objects, Track returns the parsed response and
// an *Error of kind KindObjectsDropped listing them.
func (c *Client) Track(ctx context.Context, req TrackRequest) (TrackResponse, error) {
	if err := checkTrack(req); err != nil {
		return TrackResponse{}, err
	}
	var resp TrackResponse
	status, err := c.post(ctx, call{op: opTrack, path: "/users/track", body: req, out: &resp})
	if err != nil {
		return TrackResponse{}, err
	}
	if len(resp.Errors) > 0 {
		return resp, &Error{Op: opTrack, Status: status, Dropped: resp.Errors}
	}
	return resp, nil
}

func checkTrack(req TrackRequest) error {
	switch {
	case len(req.Attributes) == 0 && len(req.Events) == 0:
		return fmt.Errorf("braze: %s: %w: nothing to send", opTrack, ErrInvalidRequest)
	case len(req.Attributes) > maxPerArray:
		return fmt.Errorf("braze: %s: %w: %d attributes objects, at most %d",
			opTrack, ErrInvalidRequest, len(req.Attributes), maxPerArray)
	case len(req.Events) > maxPerArray:
		return fmt.Errorf("braze: %s: %w: %d events, at most %d",
			opTrack, ErrInvalidRequest, len(req.Events), maxPerArray)
	}
	return nil
}

type exportByEmailRequest struct {
	EmailAddress   string   `json:"email_address"`
	FieldsToExport []string `json:"fields_to_export"`
}

type exportResponse struct {
	Message string `json:"message"`
	Users   []User `json:"users"`
}

// ExportByEmail looks up the profiles with the given email address through
// POST /users/export/ids. No users and a nil error mean nobody has it.
func (c *Client) ExportByEmail(ctx context.Context, email string) ([]User, error) {
	if email == "" {
		return nil, fmt.Errorf("braze: %s: %w: empty email", opExportIDs, ErrInvalidRequest)
	}
	var resp exportResponse
	_, err := c.post(ctx, call{
		op:     opExportIDs,
		path:   "/users/export/ids",
		body:   exportByEmailRequest{EmailAddress: email, FieldsToExport: exportFields},
		out:    &resp,
		redact: []string{email},
	})
	if err != nil {
		return nil, err
	}
	return resp.Users, nil
}

type aliasNewRequest struct {
	UserAliases []Alias `json:"user_aliases"`
}

// NewAliases creates alias-only profiles through POST /users/alias/new, at
// most 50 per call. No aliases means no call.
func (c *Client) NewAliases(ctx context.Context, aliases []Alias) error {
	if err := checkAliases(aliases); err != nil {
		return err
	}
	if len(aliases) == 0 {
		return nil
	}
	redact := make([]string, 0, len(aliases))
	for _, a := range aliases {
		redact = append(redact, a.Name)
	}
	_, err := c.post(ctx, call{
		op:     opAliasNew,
		path:   "/users/alias/new",
		body:   aliasNewRequest{UserAliases: aliases},
		redact: redact,
	})
	return err
}

func checkAliases(aliases []Alias) error {
	if len(aliases) > maxAliases {
		return fmt.Errorf("braze: %s: %w: %d aliases, at most %d per call",
			opAliasNew, ErrInvalidRequest, len(aliases), maxAliases)
	}
	for i, a := range aliases {
		if a.Name == "" || a.Label == "" {
			return fmt.Errorf("braze: %s: %w: alias %d lacks a name or a label",
				opAliasNew, ErrInvalidRequest, i)
		}
	}
	return nil
}

// call is one POST to Braze.
type call struct {
	op   string
	path string
	body any
	// out receives the decoded body of a success; nil skips decoding.
	out any
	// redact lists values sent that must not appear in an error message.
	redact []string
}

// post sends the call and returns the HTTP status. Anything but a readable
// 200 or 201 is an *Error, except a body that cannot be encoded.
func (c *Client) post(ctx context.Context, cl call) (int, error) {
	payload, err := json.Marshal(cl.body)
	if err != nil {
		return 0, fmt.Errorf("braze: %s: %w: encode: %w", cl.op, ErrInvalidRequest, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+cl.path,
		bytes.NewReader(payload))
	if err != nil {
		return 0, fmt.Errorf("braze: %s: build request: %w", cl.op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)

	res, err := c.hc.Do(req)
	if err != nil {
		return 0, &Error{Op: cl.op, Err: err}
	}
	defer res.Body.Close()
	c.recordRateLimit(res.Header)
	data, readErr := readBody(res.Body)

	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusCreated {
		return res.StatusCode, c.statusError(cl, res, data)
	}
	if readErr != nil {
		return res.StatusCode, &Error{Op: cl.op, Status: res.StatusCode, Err: readErr}
	}
	if cl.out == nil {
		return res.StatusCode, nil
	}
	if err := json.Unmarshal(data, cl.out); err != nil {
		return res.StatusCode, &Error{
			Op:     cl.op,
			Status: res.StatusCode,
			Err:    fmt.Errorf("decode response: %w", err),
		}
	}
	return res.StatusCode, nil
}

// readBody reads at most maxBodyRead bytes and fails if there is more.
func readBody(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBodyRead+1))
	if err != nil {
		return data, fmt.Errorf("read response: %w", err)
	}
	if len(data) > maxBodyRead {
		return data[:maxBodyRead], fmt.Errorf("response larger than %d bytes", maxBodyRead)
	}
	return data, nil
}

// statusError describes an answer that is not a success. Only Braze's own
// message is kept from the body, cleaned of the values sent.
func (c *Client) statusError(cl call, res *http.Response, body []byte) *Error {
	e := &Error{Op: cl.op, Status: res.StatusCode}
	var answer struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &answer) == nil {
		redact := append([]string{c.apiKey}, cl.redact...)
		e.Message = cleanMessage(answer.Message, redact...)
	}
	if res.StatusCode == http.StatusTooManyRequests {
		e.RetryAt = parseEpoch(res.Header.Get("X-RateLimit-Reset"))
	}
	return e
}

// parseRateLimit reads the X-RateLimit-* headers; ok is false when none is
// present.
func parseRateLimit(h http.Header) (rl RateLimit, ok bool) {
	limit := h.Get("X-RateLimit-Limit")
	remaining := h.Get("X-RateLimit-Remaining")
	reset := h.Get("X-RateLimit-Reset")
	if limit == "" && remaining == "" && reset == "" {
		return RateLimit{}, false
	}
	rl.Limit, _ = strconv.Atoi(strings.TrimSpace(limit))
	rl.Remaining, _ = strconv.Atoi(strings.TrimSpace(remaining))
	rl.Reset = parseEpoch(reset)
	return rl, true
}

// parseEpoch reads UTC epoch seconds; zero if absent or unreadable.
func parseEpoch(s string) time.Time {
	sec, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
