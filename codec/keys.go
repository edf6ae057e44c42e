package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length in bytes of every key: AES-256 takes 32.
const KeySize = 32

// maxIDLen is the longest key id accepted.
const maxIDLen = 64

// Keys are the AES-256 keys payloads are encrypted and decrypted with.
// The first key encrypts new payloads; every key decrypts. To rotate, first
// deploy the new key last, so that every process can decrypt with it, then
// put it first; keep an old key for as long as histories it wrote are
// kept. Nonces are random, so a key should encrypt well under 2^32 payloads.
//
// Keys keeps the ciphers made from the keys, not the key bytes, and prints
// only key ids, so a Keys value that ends up in a log line leaks nothing.
// The zero value holds no keys: Encode fails with it, and Decode passes
// only plaintext payloads.
type Keys []key

// key is one AES-256-GCM key and the id payloads name it by.
type key struct {
	id   string
	aead cipher.AEAD
}

// ParseKeys parses keys written as id:base64key[,id:base64key...], the first
// being the key that encrypts. Each key is 32 bytes in base64, standard or
// URL-safe, padded or not. An id is 1 to 64 characters of A-Z, a-z, 0-9,
// '.', '_' and '-', and names one key only. Spaces and newlines around
// entries are ignored. Errors name keys by position and id, never by their
// bytes.
func ParseKeys(s string) (Keys, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("codec: no keys: want id:base64key[,id:base64key...]")
	}
	var ks Keys
	for i, entry := range strings.Split(s, ",") {
		n := i + 1
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("codec: key %d: empty entry", n)
		}
		id, encoded, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("codec: key %d: no ':' between id and key, want id:base64key", n)
		}
		id, encoded = strings.TrimSpace(id), strings.TrimSpace(encoded)
		if b, err := decodeKey(id); err == nil && len(b) == KeySize {
			// Written key:id; repeating the "id" would print the key.
			return nil, fmt.Errorf("codec: key %d: id looks like a key, want id:base64key", n)
		}
		if err := checkID(id); err != nil {
			return nil, fmt.Errorf("codec: key %d: %w", n, err)
		}
		for j, k := range ks {
			if k.id == id {
				return nil, fmt.Errorf("codec: key %d: id %q already names key %d", n, id, j+1)
			}
		}
		b, err := decodeKey(encoded)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: not base64", id)
		}
		if len(b) != KeySize {
			return nil, fmt.Errorf("codec: key %q: %d bytes, want %d", id, len(b), KeySize)
		}
		aead, err := newAEAD(b)
		clear(b)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", id, err)
		}
		ks = append(ks, key{id: id, aead: aead})
	}
	return ks, nil
}

// EnvDecode parses val with ParseKeys, so that Keys can be a field of a
// configuration struct read by github.com/sethvargo/go-envconfig:
//
//	Keys codec.Keys `env:"PAYLOAD_KEYS, required"`
//
// An empty value decodes to no keys, so that an optional field may be unset.
func (ks *Keys) EnvDecode(val string) error {
	if strings.TrimSpace(val) == "" {
		*ks = nil
		return nil
	}
	parsed, err := ParseKeys(val)
	if err != nil {
		return err
	}
	*ks = parsed
	return nil
}

// String lists the key ids, the encrypting one first, as in
// "keys k2 (encrypts), k1". It never prints key bytes.
func (ks Keys) String() string {
	if len(ks) == 0 {
		return "no keys"
	}
	var b strings.Builder
	b.WriteString("keys ")
	for i, k := range ks {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.id)
		if i == 0 {
			b.WriteString(" (encrypts)")
		}
	}
	return b.String()
}

// GoString is String, so that %#v prints no more than %v does.
func (ks Keys) GoString() string {
	return ks.String()
}

// GenerateKey returns a new key for id, written as id:base64key with 32
// random bytes in standard base64, ready to be put in front of the keys
// ParseKeys reads.
func GenerateKey(id string) (string, error) {
	if err := checkID(id); err != nil {
		return "", fmt.Errorf("codec: generate key: %w", err)
	}
	b := make([]byte, KeySize)
	rand.Read(b)
	return id + ":" + base64.StdEncoding.EncodeToString(b), nil
}

// encrypting returns the key that encrypts, or false if there is none.
func (ks Keys) encrypting() (key, bool) {
	if len(ks) == 0 {
		return key{}, false
	}
	return ks[0], true
}

// find returns the key named id, or false if there is none.
func (ks Keys) find(id string) (key, bool) {
	for _, k := range ks {
		if k.id == id {
			return k, true
		}
	}
	return key{}, false
}

// newAEAD makes the AES-256-GCM cipher for a 32-byte key.
func newAEAD(b []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(b)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// decodeKey decodes s in the first base64 alphabet and padding that accepts
// it: standard, standard unpadded, URL-safe, URL-safe unpadded.
func decodeKey(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

// checkID reports whether id is 1 to 64 characters of A-Z, a-z, 0-9, '.',
// '_' and '-'.
func checkID(id string) error {
	if id == "" {
		return errors.New("empty id")
	}
	if len(id) > maxIDLen {
		return fmt.Errorf("id of %d characters, want at most %d", len(id), maxIDLen)
	}
	for _, r := range id {
		if !validIDRune(r) {
			return fmt.Errorf("id %q has %q, want only A-Z, a-z, 0-9, '.', '_', '-'", id, r)
		}
	}
	return nil
}

// validIDRune reports whether r may appear in a key id.
func validIDRune(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
		r == '.' || r == '_' || r == '-'
}
