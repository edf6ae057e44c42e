package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	"go.temporal.io/sdk/converter"
)

// maxBody bounds the request body the codec server reads.
const maxBody = 32 << 20

// HandlerOptions configure the codec server Handler returns. The zero value
// allows no browser origin and asks for no token.
type HandlerOptions struct {
	// AllowOrigin is the one browser origin allowed to call the server,
	// that of the Temporal UI, such as "http://127.0.0.1:8233". It is
	// compared exactly; "*" is not supported, since the UI may send
	// credentials. Requests from any other origin are refused.
	AllowOrigin string

	// Token, if set, must be sent as "Authorization: Bearer <token>", as
	// the temporal CLI does with --codec-auth "Bearer <token>". The
	// Temporal UI can send only the operator's own access token (with
	// TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true), which a fixed token matches
	// only if the UI's login issues that very token.
	Token string
}

// Handler returns the codec server the Temporal UI decodes and encodes
// payloads through, when started with --ui-codec-endpoint pointing at it.
// It answers POST requests whose path ends in /decode or /encode, carrying
// {"payloads":[...]}, so it can be mounted under any prefix; the endpoint
// the UI is given is that prefix. It answers CORS preflight requests from
// opts.AllowOrigin, and refuses other origins (403) and a missing or wrong
// token (401) with a JSON {"error": "..."}.
func Handler(keys Keys, opts HandlerOptions) http.Handler {
	return &handler{
		opts:   opts,
		token:  sha256.Sum256([]byte(opts.Token)),
		codecs: converter.NewPayloadCodecHTTPHandler(New(keys)),
	}
}

// handler wraps the SDK's codec HTTP handler with CORS and a token check.
type handler struct {
	opts   HandlerOptions
	token  [sha256.Size]byte
	codecs http.Handler
}

// ServeHTTP checks the request and passes it to the SDK's handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	origin := r.Header.Get("Origin")
	if origin != "" {
		if h.opts.AllowOrigin == "" || origin != h.opts.AllowOrigin {
			writeError(w, http.StatusForbidden, "origin not allowed")
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
	w.Header().Add("Vary", "Origin")

	switch r.Method {
	case http.MethodOptions:
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed, want POST")
		return
	}

	if h.opts.Token != "" && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}

	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	h.codecs.ServeHTTP(w, r)
}

// authorized reports whether r carries the bearer token. The tokens are
// compared as hashes, in constant time, so that neither their bytes nor
// their length show in the time taken.
func (h *handler) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], h.token[:]) == 1
}

// writeError writes a JSON error response.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{msg})
}
