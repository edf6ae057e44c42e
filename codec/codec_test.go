package codec_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/extole-braze/extole-braze/codec"
)

// email is the personal data the tests look for in encrypted payloads.
const email = "ada@example.com"

// jsonPayload returns a json/plain payload holding data.
func jsonPayload(data string) *commonpb.Payload {
	return &commonpb.Payload{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)},
		Data:     []byte(data),
	}
}

func TestRoundTrip(t *testing.T) {
	c := codec.New(mustParse(t, mustGenerate(t, "k1")))
	tests := []struct {
		name     string
		payloads []*commonpb.Payload
	}{
		{name: "none", payloads: []*commonpb.Payload{}},
		{name: "one", payloads: []*commonpb.Payload{jsonPayload(`{"email":"` + email + `"}`)}},
		{name: "several", payloads: []*commonpb.Payload{
			jsonPayload(`{"email":"` + email + `","name":"Ada Lovelace"}`),
			{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingNil)}},
			{
				Metadata: map[string][]byte{converter.MetadataEncoding: []byte("binary/plain")},
				Data:     []byte{0, 1, 2, 255},
			},
			{},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := c.Encode(tt.payloads)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if len(enc) != len(tt.payloads) {
				t.Fatalf("Encode returned %d payloads, want %d", len(enc), len(tt.payloads))
			}
			for i, p := range enc {
				if got := string(p.Metadata[converter.MetadataEncoding]); got != codec.Encoding {
					t.Errorf("payload %d: encoding %q, want %q", i, got, codec.Encoding)
				}
				if got := string(p.Metadata[codec.MetadataKeyID]); got != "k1" {
					t.Errorf("payload %d: key id %q, want k1", i, got)
				}
			}
			dec, err := c.Decode(enc)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(dec) != len(tt.payloads) {
				t.Fatalf("Decode returned %d payloads, want %d", len(dec), len(tt.payloads))
			}
			for i := range dec {
				if !proto.Equal(dec[i], tt.payloads[i]) {
					t.Errorf("payload %d: decoded %v, want %v", i, dec[i], tt.payloads[i])
				}
			}
		})
	}
}

func TestEncodeHidesPlaintext(t *testing.T) {
	c := codec.New(mustParse(t, mustGenerate(t, "k1")))
	p := jsonPayload(`{"email":"` + email + `"}`)
	enc1, err := c.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	enc2, err := c.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	wire, err := proto.Marshal(enc1[0])
	if err != nil {
		t.Fatalf("marshal encoded payload: %v", err)
	}
	for _, s := range []string{email, "ada", "example.com", converter.MetadataEncodingJSON} {
		if bytes.Contains(wire, []byte(s)) {
			t.Errorf("encoded payload holds %q", s)
		}
	}
	if bytes.Equal(enc1[0].Data, enc2[0].Data) {
		t.Error("the same payload encrypted twice gave the same data; nonces repeat")
	}
}

func TestRotation(t *testing.T) {
	k1, k2, k3 := mustGenerate(t, "k1"), mustGenerate(t, "k2"), mustGenerate(t, "k3")
	old := codec.New(mustParse(t, k1))
	rotated := codec.New(mustParse(t, k2+","+k1))
	other := codec.New(mustParse(t, k3))
	p := jsonPayload(`"` + email + `"`)

	byOld, err := old.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatalf("Encode with k1: %v", err)
	}
	byRotated, err := rotated.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatalf("Encode with k2,k1: %v", err)
	}
	if got := string(byRotated[0].Metadata[codec.MetadataKeyID]); got != "k2" {
		t.Errorf("rotated keys encrypted with %q, want k2", got)
	}

	tests := []struct {
		name    string
		codec   *codec.Cipher
		in      []*commonpb.Payload
		wantErr string
	}{
		{name: "old payload, rotated keys", codec: rotated, in: byOld},
		{name: "new payload, rotated keys", codec: rotated, in: byRotated},
		{
			name: "new payload, old keys", codec: old, in: byRotated,
			wantErr: `codec: payload encrypted with key "k2": key not configured`,
		},
		{
			name: "old payload, other keys", codec: other, in: byOld,
			wantErr: `codec: payload encrypted with key "k1": key not configured`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec, err := tt.codec.Decode(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Decode error = %v, want %q", err, tt.wantErr)
				}
				if !errors.Is(err, codec.ErrUnknownKey) {
					t.Errorf("Decode error %v is not ErrUnknownKey", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !proto.Equal(dec[0], p) {
				t.Errorf("decoded %v, want %v", dec[0], p)
			}
		})
	}
}

func TestDecodeRefusesTampering(t *testing.T) {
	k1, k2 := mustGenerate(t, "k1"), mustGenerate(t, "k2")
	c := codec.New(mustParse(t, k1+","+k2))
	tests := []struct {
		name    string
		tamper  func(p *commonpb.Payload)
		wantErr string
		is      error
	}{
		{
			name:    "first byte of nonce",
			tamper:  func(p *commonpb.Payload) { p.Data[0] ^= 1 },
			wantErr: `codec: payload encrypted with key "k1": message authentication failed`,
			is:      codec.ErrAuthentication,
		},
		{
			name:    "byte of ciphertext",
			tamper:  func(p *commonpb.Payload) { p.Data[20] ^= 0x80 },
			wantErr: `codec: payload encrypted with key "k1": message authentication failed`,
			is:      codec.ErrAuthentication,
		},
		{
			name:    "last byte of tag",
			tamper:  func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 },
			wantErr: `codec: payload encrypted with key "k1": message authentication failed`,
			is:      codec.ErrAuthentication,
		},
		{
			name:    "relabelled with another known key",
			tamper:  func(p *commonpb.Payload) { p.Metadata[codec.MetadataKeyID] = []byte("k2") },
			wantErr: `codec: payload encrypted with key "k2": message authentication failed`,
			is:      codec.ErrAuthentication,
		},
		{
			name:    "relabelled with an unknown key",
			tamper:  func(p *commonpb.Payload) { p.Metadata[codec.MetadataKeyID] = []byte("k9") },
			wantErr: `codec: payload encrypted with key "k9": key not configured`,
			is:      codec.ErrUnknownKey,
		},
		{
			name:    "key id removed",
			tamper:  func(p *commonpb.Payload) { delete(p.Metadata, codec.MetadataKeyID) },
			wantErr: "codec: encrypted payload has no encryption-key-id metadata",
		},
		{
			name:    "malformed key id",
			tamper:  func(p *commonpb.Payload) { p.Metadata[codec.MetadataKeyID] = []byte(email) },
			wantErr: "codec: encrypted payload has a malformed key id (15 bytes)",
		},
		{
			name:    "truncated",
			tamper:  func(p *commonpb.Payload) { p.Data = p.Data[:27] },
			wantErr: `codec: payload encrypted with key "k1": 27 bytes, too short`,
		},
		{
			name:    "bytes appended",
			tamper:  func(p *commonpb.Payload) { p.Data = append(p.Data, 0) },
			wantErr: `codec: payload encrypted with key "k1": message authentication failed`,
			is:      codec.ErrAuthentication,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := c.Encode([]*commonpb.Payload{jsonPayload(`"` + email + `"`)})
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			tt.tamper(enc[0])
			_, err = c.Decode(enc)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Decode error = %v, want %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Decode error %v is not %v", err, tt.is)
			}
			if strings.Contains(err.Error(), email) {
				t.Errorf("Decode error %q holds the payload's email", err)
			}
		})
	}
}

func TestDecodePassesPlaintext(t *testing.T) {
	c := codec.New(mustParse(t, mustGenerate(t, "k1")))
	plain := []*commonpb.Payload{
		jsonPayload(`{"email":"` + email + `"}`),
		{Metadata: map[string][]byte{converter.MetadataEncoding: []byte("binary/null")}},
		{Data: []byte("no metadata")},
		nil,
	}
	dec, err := c.Decode(plain)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	for i := range plain {
		if dec[i] != plain[i] {
			t.Errorf("payload %d: Decode returned %v, want the same payload %v", i, dec[i], plain[i])
		}
	}
}

func TestEncodeWithoutKeys(t *testing.T) {
	_, err := codec.New(codec.Keys{}).Encode([]*commonpb.Payload{jsonPayload(`"x"`)})
	if err == nil || err.Error() != "codec: encrypt payload: no keys" {
		t.Fatalf("Encode error = %v, want %q", err, "codec: encrypt payload: no keys")
	}
}

// person stands for a workflow input carrying personal data.
type person struct {
	Email string
	Name  string
}

func TestDataConverter(t *testing.T) {
	dc := codec.DataConverter(mustParse(t, mustGenerate(t, "k1")))
	in := person{Email: email, Name: "Ada Lovelace"}

	p, err := dc.ToPayload(in)
	if err != nil {
		t.Fatalf("ToPayload: %v", err)
	}
	if got := string(p.Metadata[converter.MetadataEncoding]); got != codec.Encoding {
		t.Errorf("encoding %q, want %q", got, codec.Encoding)
	}
	if bytes.Contains(p.Data, []byte(email)) || bytes.Contains(p.Data, []byte("Lovelace")) {
		t.Error("payload data holds the person in plaintext")
	}
	var out person
	if err := dc.FromPayload(p, &out); err != nil {
		t.Fatalf("FromPayload: %v", err)
	}
	if out != in {
		t.Errorf("FromPayload = %+v, want %+v", out, in)
	}

	// A payload written before encryption was turned on still reads.
	plain, err := converter.GetDefaultDataConverter().ToPayload(in)
	if err != nil {
		t.Fatalf("default ToPayload: %v", err)
	}
	out = person{}
	if err := dc.FromPayload(plain, &out); err != nil {
		t.Fatalf("FromPayload of a plaintext payload: %v", err)
	}
	if out != in {
		t.Errorf("FromPayload of a plaintext payload = %+v, want %+v", out, in)
	}
}

func TestFailureConverter(t *testing.T) {
	var opts client.Options
	codec.Apply(&opts, mustParse(t, mustGenerate(t, "k1")))
	if opts.DataConverter == nil || opts.FailureConverter == nil {
		t.Fatal("Apply left a converter unset")
	}

	appErr := temporal.NewApplicationError("no user "+email, "NotFound")
	f := opts.FailureConverter.ErrorToFailure(appErr)
	wire, err := proto.Marshal(f)
	if err != nil {
		t.Fatalf("marshal failure: %v", err)
	}
	if bytes.Contains(wire, []byte(email)) {
		t.Error("failure holds the email in plaintext")
	}
	err = opts.FailureConverter.FailureToError(f)
	if err == nil || !strings.Contains(err.Error(), "no user "+email) {
		t.Errorf("FailureToError = %v, want the original message back", err)
	}
}
