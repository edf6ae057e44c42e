package extole

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// SignatureHeader carries the HS256 signature of a webhook body.
const SignatureHeader = "X-Extole-Signature"

// ErrUnauthenticated marks a request whose sender could not be verified.
var ErrUnauthenticated = errors.New("unauthenticated")

// Authenticator verifies that a webhook comes from Extole, by the client key
// configured on the webhook in Extole.
type Authenticator struct {
	scheme string
	key    []byte
}

// NewAuthenticator returns an authenticator for the scheme hs256 (the lower
// case hex HMAC-SHA256 of the raw body, keyed with key, in
// X-Extole-Signature), bearer (Authorization: Bearer key), or none, which
// accepts every request and is meant for local development only.
func NewAuthenticator(scheme, key string) (*Authenticator, error) {
	switch scheme {
	case "none":
		return &Authenticator{scheme: scheme}, nil
	case "hs256", "bearer":
		if key == "" {
			return nil, errors.New("extole: empty webhook key")
		}
		return &Authenticator{scheme: scheme, key: []byte(key)}, nil
	}
	return nil, fmt.Errorf("extole: unknown auth scheme %q", scheme)
}

// Verify checks a request's credentials against its raw body, in constant
// time, before anything parses the body.
func (a *Authenticator) Verify(h http.Header, body []byte) error {
	switch a.scheme {
	case "none":
		return nil
	case "bearer":
		return a.verifyBearer(h.Get("Authorization"))
	}
	return a.verifySignature(h.Get(SignatureHeader), body)
}

func (a *Authenticator) verifySignature(got string, body []byte) error {
	if got == "" {
		return fmt.Errorf("%w: missing %s header", ErrUnauthenticated, SignatureHeader)
	}
	sig, err := hex.DecodeString(strings.TrimSpace(got))
	if err != nil || len(sig) != sha256.Size {
		return fmt.Errorf("%w: %s is not a hex HMAC-SHA256", ErrUnauthenticated, SignatureHeader)
	}
	if !hmac.Equal(sig, Sign(a.key, body)) {
		return fmt.Errorf("%w: signature does not match the body", ErrUnauthenticated)
	}
	return nil
}

func (a *Authenticator) verifyBearer(got string) error {
	token, ok := strings.CutPrefix(got, "Bearer ")
	if !ok {
		return fmt.Errorf("%w: missing Authorization: Bearer header", ErrUnauthenticated)
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), a.key) != 1 {
		return fmt.Errorf("%w: wrong bearer key", ErrUnauthenticated)
	}
	return nil
}

// Sign returns the HMAC-SHA256 of body keyed with key, as Extole computes it.
func Sign(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)
}

// SignHex returns the X-Extole-Signature value for body.
func SignHex(key string, body []byte) string {
	return hex.EncodeToString(Sign([]byte(key), body))
}
