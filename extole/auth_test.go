package extole_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/extole-braze/extole-braze/extole"
)

const testKey = "client-key-3f9a"

// hmacHex is the X-Extole-Signature Extole sends: lower case hex of the
// HMAC-SHA256 of the raw body. It is computed here without the package.
func hmacHex(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestAuthenticatorHS256(t *testing.T) {
	body := []byte(validBodies["reward_fulfilled"])
	changed := []byte(validBodies["reward_fulfilled"])
	changed[len(changed)-2] ^= 1
	good := hmacHex(testKey, body)

	tests := []struct {
		name   string
		header http.Header
		body   []byte
		ok     bool
	}{
		{"correct signature", http.Header{"X-Extole-Signature": {good}}, body, true},
		// hex decoding accepts upper case, and the bytes are what is compared.
		{"upper case hex", http.Header{"X-Extole-Signature": {strings.ToUpper(good)}}, body, true},
		{"white space around", http.Header{"X-Extole-Signature": {" " + good + " "}}, body, true},
		{"empty body signed", http.Header{"X-Extole-Signature": {hmacHex(testKey, nil)}}, nil, true},
		{"wrong key", http.Header{"X-Extole-Signature": {hmacHex("other-key", body)}}, body, false},
		{"key differs by case", http.Header{"X-Extole-Signature": {hmacHex(strings.ToUpper(testKey), body)}},
			body, false},
		{"body changed by one byte", http.Header{"X-Extole-Signature": {good}}, changed, false},
		{"body with a trailing newline", http.Header{"X-Extole-Signature": {good}},
			append(append([]byte{}, body...), '\n'), false},
		{"missing header", http.Header{}, body, false},
		{"empty header", http.Header{"X-Extole-Signature": {""}}, body, false},
		{"not hex", http.Header{"X-Extole-Signature": {strings.Repeat("zz", 32)}}, body, false},
		{"base64 instead of hex", http.Header{"X-Extole-Signature": {
			base64.StdEncoding.EncodeToString(extole.Sign([]byte(testKey), body))}}, body, false},
		{"prefixed with the algorithm", http.Header{"X-Extole-Signature": {"sha256=" + good}},
			body, false},
		{"last byte differs", http.Header{"X-Extole-Signature": {lastByteFlipped(good)}},
			body, false},
		{"truncated by one byte", http.Header{"X-Extole-Signature": {good[:62]}}, body, false},
		{"truncated to an odd length", http.Header{"X-Extole-Signature": {good[:63]}}, body, false},
		{"one byte too long", http.Header{"X-Extole-Signature": {good + "00"}}, body, false},
		{"signature of SHA-256 without key", http.Header{"X-Extole-Signature": {sha256Hex(body)}},
			body, false},
		{"bearer key instead of a signature", http.Header{"Authorization": {"Bearer " + testKey}},
			body, false},
	}
	a, err := extole.NewAuthenticator("hs256", testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.Verify(tt.header, tt.body)
			if tt.ok && err != nil {
				t.Errorf("Verify: %v", err)
			}
			if !tt.ok && !errors.Is(err, extole.ErrUnauthenticated) {
				t.Errorf("Verify error = %v, want ErrUnauthenticated", err)
			}
			if err != nil && strings.Contains(err.Error(), testKey) {
				t.Errorf("error %q repeats the key", err)
			}
		})
	}
}

// lastByteFlipped is sig, a hex signature, with the bits of its last byte
// inverted: every byte must count, not a prefix.
func lastByteFlipped(sig string) string {
	b, err := hex.DecodeString(sig)
	if err != nil {
		panic(err)
	}
	b[len(b)-1] ^= 0xff
	return hex.EncodeToString(b)
}

func sha256Hex(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func TestAuthenticatorBearer(t *testing.T) {
	body := []byte(validBodies["shared"])
	tests := []struct {
		name          string
		authorization []string
		ok            bool
	}{
		{"correct key", []string{"Bearer " + testKey}, true},
		{"wrong key", []string{"Bearer other-key"}, false},
		{"key with a character missing", []string{"Bearer " + testKey[:len(testKey)-1]}, false},
		{"key with a character more", []string{"Bearer " + testKey + "x"}, false},
		{"missing header", nil, false},
		{"empty header", []string{""}, false},
		{"scheme only", []string{"Bearer "}, false},
		{"key without scheme", []string{testKey}, false},
		{"Basic scheme with the key as user", []string{"Basic " +
			base64.StdEncoding.EncodeToString([]byte(testKey+":"))}, false},
		{"Basic scheme with the key in clear", []string{"Basic " + testKey}, false},
	}
	a, err := extole.NewAuthenticator("bearer", testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.authorization {
				h.Add("Authorization", v)
			}
			// A valid signature must not stand in for the bearer key.
			h.Set(extole.SignatureHeader, hmacHex(testKey, body))
			err := a.Verify(h, body)
			if tt.ok && err != nil {
				t.Errorf("Verify: %v", err)
			}
			if !tt.ok && !errors.Is(err, extole.ErrUnauthenticated) {
				t.Errorf("Verify error = %v, want ErrUnauthenticated", err)
			}
			if err != nil && strings.Contains(err.Error(), testKey) {
				t.Errorf("error %q repeats the key", err)
			}
		})
	}
}

func TestNewAuthenticator(t *testing.T) {
	tests := []struct {
		scheme string
		key    string
		ok     bool
	}{
		{"hs256", testKey, true},
		{"bearer", testKey, true},
		{"hs256", "", false},
		{"bearer", "", false},
		{"basic", testKey, false},
		{"HS256", testKey, false},
		{"", testKey, false},
	}
	for _, tt := range tests {
		t.Run(tt.scheme+"/"+tt.key, func(t *testing.T) {
			a, err := extole.NewAuthenticator(tt.scheme, tt.key)
			if tt.ok && (err != nil || a == nil) {
				t.Errorf("NewAuthenticator(%q, %q) = %v, %v", tt.scheme, tt.key, a, err)
			}
			if !tt.ok && err == nil {
				t.Errorf("NewAuthenticator(%q, %q) accepted", tt.scheme, tt.key)
			}
		})
	}
}

func TestSign(t *testing.T) {
	tests := []struct {
		key  string
		body string
	}{
		{testKey, validBodies["shared"]},
		{testKey, ""},
		{"k", `{"type":"shared"}`},
		{strings.Repeat("long-key", 20), validBodies["converted"]},
	}
	for _, tt := range tests {
		want := hmacHex(tt.key, []byte(tt.body))
		if got := extole.SignHex(tt.key, []byte(tt.body)); got != want {
			t.Errorf("SignHex(%q, %.20q) = %s, want %s", tt.key, tt.body, got, want)
		}
		if got := hex.EncodeToString(extole.Sign([]byte(tt.key), []byte(tt.body))); got != want {
			t.Errorf("Sign(%q, %.20q) = %s, want %s", tt.key, tt.body, got, want)
		}
	}
	// RFC 4231 test case 2: a published HMAC-SHA256 vector.
	const rfc4231 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got := extole.SignHex("Jefe", []byte("what do ya want for nothing?")); got != rfc4231 {
		t.Errorf("SignHex of RFC 4231 case 2 = %s, want %s", got, rfc4231)
	}
}
