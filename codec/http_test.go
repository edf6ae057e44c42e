package codec_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/extole-braze/extole-braze/codec"
)

const (
	uiOrigin  = "http://127.0.0.1:8233"
	token     = "operator-token"
	bearer    = "Bearer " + token
	namespace = "extole-braze"
	evil      = "http://evil.example"
)

func TestHandler(t *testing.T) {
	keys := mustParse(t, mustGenerate(t, "k1"))
	plain := jsonPayload(`{"email":"` + email + `"}`)
	enc, err := codec.New(keys).Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	encBody := payloadsJSON(t, enc...)
	plainBody := payloadsJSON(t, plain)
	h := codec.Handler(keys, codec.HandlerOptions{
		AllowOrigin: uiOrigin,
		Token:       token,
	})

	tests := []struct {
		name       string
		method     string
		path       string
		body       []byte
		header     map[string]string
		wantStatus int
		wantHeader map[string]string
		wantError  string            // the "error" of a JSON error body
		want       *commonpb.Payload // the one payload of a 200 body
	}{
		{
			name:   "decode",
			method: http.MethodPost, path: "/decode", body: encBody,
			header: map[string]string{
				"Authorization": bearer, "X-Namespace": namespace, "Origin": uiOrigin,
			},
			wantStatus: http.StatusOK,
			wantHeader: map[string]string{
				"Access-Control-Allow-Origin": uiOrigin, "Cache-Control": "no-store",
			},
			want: plain,
		},
		{
			name:   "decode under a prefix, no origin",
			method: http.MethodPost, path: "/codec/decode", body: encBody,
			header:     map[string]string{"Authorization": "bearer " + token, "X-Namespace": namespace},
			wantStatus: http.StatusOK,
			want:       plain,
		},
		{
			name:   "decode of plaintext",
			method: http.MethodPost, path: "/decode", body: plainBody,
			header:     map[string]string{"Authorization": bearer, "X-Namespace": namespace},
			wantStatus: http.StatusOK,
			want:       plain,
		},
		{
			name:   "preflight",
			method: http.MethodOptions, path: "/decode",
			header: map[string]string{
				"Origin":                         uiOrigin,
				"Access-Control-Request-Method":  "POST",
				"Access-Control-Request-Headers": "content-type,x-namespace,authorization",
			},
			wantStatus: http.StatusNoContent,
			wantHeader: map[string]string{
				"Access-Control-Allow-Origin":      uiOrigin,
				"Access-Control-Allow-Methods":     "POST, OPTIONS",
				"Access-Control-Allow-Headers":     "Content-Type, X-Namespace, Authorization",
				"Access-Control-Allow-Credentials": "true",
			},
		},
		{
			name:   "preflight from another origin",
			method: http.MethodOptions, path: "/decode",
			header:     map[string]string{"Origin": evil},
			wantStatus: http.StatusForbidden,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": ""},
			wantError:  "origin not allowed",
		},
		{
			name:   "decode from another origin",
			method: http.MethodPost, path: "/decode", body: encBody,
			header: map[string]string{
				"Authorization": bearer, "X-Namespace": namespace, "Origin": evil,
			},
			wantStatus: http.StatusForbidden,
			wantError:  "origin not allowed",
		},
		{
			name:   "no token",
			method: http.MethodPost, path: "/decode", body: encBody,
			header:     map[string]string{"X-Namespace": namespace, "Origin": uiOrigin},
			wantStatus: http.StatusUnauthorized,
			wantHeader: map[string]string{
				"Access-Control-Allow-Origin": uiOrigin, "WWW-Authenticate": "Bearer",
			},
			wantError: "missing or wrong bearer token",
		},
		{
			name:   "wrong token",
			method: http.MethodPost, path: "/decode", body: encBody,
			header:     map[string]string{"Authorization": bearer + "x", "X-Namespace": namespace},
			wantStatus: http.StatusUnauthorized,
			wantError:  "missing or wrong bearer token",
		},
		{
			name:   "token without scheme",
			method: http.MethodPost, path: "/decode", body: encBody,
			header:     map[string]string{"Authorization": token, "X-Namespace": namespace},
			wantStatus: http.StatusUnauthorized,
			wantError:  "missing or wrong bearer token",
		},
		{
			name:   "GET",
			method: http.MethodGet, path: "/decode",
			header:     map[string]string{"Authorization": bearer, "X-Namespace": namespace},
			wantStatus: http.StatusMethodNotAllowed,
			wantHeader: map[string]string{"Allow": "POST, OPTIONS"},
			wantError:  "method not allowed, want POST",
		},
		{
			name:   "unknown path",
			method: http.MethodPost, path: "/other", body: encBody,
			header:     map[string]string{"Authorization": bearer, "X-Namespace": namespace},
			wantStatus: http.StatusNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", res.StatusCode, tt.wantStatus, body)
			}
			for k, want := range tt.wantHeader {
				if got := res.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if tt.wantError != "" {
				var e struct{ Error string }
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatalf("error body %s is not JSON: %v", body, err)
				}
				if e.Error != tt.wantError {
					t.Errorf("error %q, want %q", e.Error, tt.wantError)
				}
			}
			if tt.want != nil {
				var got commonpb.Payloads
				if err := protojson.Unmarshal(body, &got); err != nil {
					t.Fatalf("body %s: %v", body, err)
				}
				if len(got.Payloads) != 1 || !proto.Equal(got.Payloads[0], tt.want) {
					t.Errorf("payloads %v, want [%v]", got.Payloads, tt.want)
				}
			}
		})
	}
}

func TestHandlerOpen(t *testing.T) {
	// With no options set, no token is asked for, and browsers are
	// refused.
	keys := mustParse(t, mustGenerate(t, "k1"))
	h := codec.Handler(keys, codec.HandlerOptions{})
	plain := jsonPayload(`"x"`)

	req := httptest.NewRequest(http.MethodPost, "/encode", bytes.NewReader(payloadsJSON(t, plain)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("encode: status %d, body %s", rec.Code, rec.Body)
	}
	var got commonpb.Payloads
	if err := protojson.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("encode body: %v", err)
	}
	dec, err := codec.New(keys).Decode(got.Payloads)
	if err != nil {
		t.Fatalf("Decode of what /encode returned: %v", err)
	}
	if len(dec) != 1 || !proto.Equal(dec[0], plain) {
		t.Errorf("decoded %v, want [%v]", dec, plain)
	}

	req = httptest.NewRequest(http.MethodOptions, "/decode", nil)
	req.Header.Set("Origin", uiOrigin)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("preflight with no allowed origin: status %d, want %d", rec.Code, http.StatusForbidden)
	}
}

func TestHandlerAsRemoteCodec(t *testing.T) {
	// The SDK's own client for codec servers, as the temporal CLI uses it.
	keys := mustParse(t, mustGenerate(t, "k1"))
	h := codec.Handler(keys, codec.HandlerOptions{Token: token})
	srv := httptest.NewServer(h)
	defer srv.Close()
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: srv.URL + "/codec",
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", bearer)
			r.Header.Set("X-Namespace", namespace)
			return nil
		},
	})
	plain := []*commonpb.Payload{jsonPayload(`"` + email + `"`), jsonPayload(`2`)}

	enc, err := codec.New(keys).Encode(plain)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	dec, err := remote.Decode(enc)
	if err != nil {
		t.Fatalf("remote Decode: %v", err)
	}
	for i := range plain {
		if !proto.Equal(dec[i], plain[i]) {
			t.Errorf("payload %d: remote Decode = %v, want %v", i, dec[i], plain[i])
		}
	}

	enc[0].Data[0] ^= 1
	_, err = remote.Decode(enc)
	if err == nil || !strings.Contains(err.Error(), `key "k1": message authentication failed`) {
		t.Errorf("remote Decode of a tampered payload: error %v, want authentication failure", err)
	}
}

// payloadsJSON returns the JSON body the Temporal UI sends for payloads.
func payloadsJSON(t *testing.T, payloads ...*commonpb.Payload) []byte {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	if err != nil {
		t.Fatalf("marshal payloads: %v", err)
	}
	return b
}
