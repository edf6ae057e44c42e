// Package codec encrypts Temporal payloads, so that the personal data in
// workflow and activity inputs and results (emails, names) is stored by
// Temporal only as ciphertext.
//
// Each payload is encrypted whole with AES-256-GCM: the encrypted payload has
// metadata "encoding" set to Encoding, metadata MetadataKeyID set to the id of
// the key that encrypted it, and data nonce || ciphertext of the original
// payload in protobuf wire form. The key id is authenticated with the
// ciphertext, so a payload cannot be relabelled with another key.
//
// Workers and clients use it through Apply (or DataConverter and
// FailureConverter); the Temporal UI reads encrypted payloads through
// Handler, a codec server.
package codec

import (
	"crypto/rand"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Encoding is the "encoding" metadata of an encrypted payload.
const Encoding = "binary/encrypted"

// MetadataKeyID is the metadata naming the key that encrypted a payload.
const MetadataKeyID = "encryption-key-id"

// ErrUnknownKey is returned when a payload was encrypted with a key that is
// not configured.
var ErrUnknownKey = errors.New("key not configured")

// ErrAuthentication is returned when an encrypted payload does not
// authenticate under its key: it was altered, or its key id was.
var ErrAuthentication = errors.New("message authentication failed")

// Cipher is a converter.PayloadCodec that encrypts payloads with the first
// of its keys and decrypts them with whichever key they name. It is safe for
// concurrent use.
type Cipher struct {
	keys Keys
}

var _ converter.PayloadCodec = (*Cipher)(nil)

// New returns a Cipher using keys.
func New(keys Keys) *Cipher {
	return &Cipher{keys: keys}
}

// Encode encrypts each payload with the first key. It fails if there are no
// keys.
func (c *Cipher) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	k, ok := c.keys.encrypting()
	if !ok {
		return nil, errors.New("codec: encrypt payload: no keys")
	}
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: encrypt payload %d: marshal: %w", i, err)
		}
		nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
		rand.Read(nonce)
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKeyID:              []byte(k.id),
			},
			Data: k.aead.Seal(nonce, nonce, plain, []byte(k.id)),
		}
	}
	return out, nil
}

// Decode decrypts each payload whose encoding is Encoding and returns the
// others as they are, so that histories written before encryption was turned
// on still read. It fails if a payload names a key that is not configured
// (ErrUnknownKey) or does not authenticate (ErrAuthentication). Errors name
// the key id, never payload contents.
func (c *Cipher) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		d, err := c.decrypt(p)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// decrypt decrypts one encrypted payload.
func (c *Cipher) decrypt(p *commonpb.Payload) (*commonpb.Payload, error) {
	id, ok := p.GetMetadata()[MetadataKeyID]
	if !ok {
		return nil, fmt.Errorf("codec: encrypted payload has no %s metadata", MetadataKeyID)
	}
	if checkID(string(id)) != nil {
		return nil, fmt.Errorf("codec: encrypted payload has a malformed key id (%d bytes)", len(id))
	}
	k, ok := c.keys.find(string(id))
	if !ok {
		return nil, fmt.Errorf("codec: payload encrypted with key %q: %w", id, ErrUnknownKey)
	}
	data := p.GetData()
	if len(data) < k.aead.NonceSize()+k.aead.Overhead() {
		return nil, fmt.Errorf("codec: payload encrypted with key %q: %d bytes, too short",
			id, len(data))
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, data[:n], data[n:], id)
	if err != nil {
		return nil, fmt.Errorf("codec: payload encrypted with key %q: %w", id, ErrAuthentication)
	}
	var d commonpb.Payload
	if err := proto.Unmarshal(plain, &d); err != nil {
		return nil, fmt.Errorf("codec: payload encrypted with key %q: not a payload once decrypted",
			id)
	}
	return &d, nil
}

// DataConverter returns the SDK's default data converter with payloads
// encrypted by keys.
func DataConverter(keys Keys) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), New(keys))
}

// FailureConverter returns a failure converter that moves error messages and
// stack traces into encoded attributes, encrypted by dc, since an error
// message can carry an email as easily as a payload can.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}

// Apply sets opts to encrypt payloads and failures with keys. Workers made
// from the client share its converters.
func Apply(opts *client.Options, keys Keys) {
	opts.DataConverter = DataConverter(keys)
	opts.FailureConverter = FailureConverter(opts.DataConverter)
}
