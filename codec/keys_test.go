package codec_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/extole-braze/extole-braze/codec"
)

// fixedKeys are keys whose bytes the tests look for in errors and strings.
// The second is all '-' and '_' in URL-safe base64.
var fixedKeys = []string{
	strings.Repeat("\x01\x02\x03\x04", 8),
	strings.Repeat("\xfb\xff", 16),
}

func TestParseKeys(t *testing.T) {
	std := base64.StdEncoding.EncodeToString([]byte(fixedKeys[0]))
	url := base64.RawURLEncoding.EncodeToString([]byte(fixedKeys[1]))
	short := base64.StdEncoding.EncodeToString([]byte(fixedKeys[0][:24]))
	a64, a65 := strings.Repeat("a", 64), strings.Repeat("a", 65)
	tests := []struct {
		name    string
		in      string
		want    string // String of the keys, when parsing succeeds
		wantErr string // part of the error, when it fails
	}{
		{name: "one", in: "k1:" + std, want: "keys k1 (encrypts)"},
		{name: "rotated", in: "k2:" + std + ",k1:" + url, want: "keys k2 (encrypts), k1"},
		{
			name: "spaces and newlines", in: " k2:" + std + " ,\n k1:" + url + "\n",
			want: "keys k2 (encrypts), k1",
		},
		{name: "url-safe unpadded", in: "k.1_a-B:" + url, want: "keys k.1_a-B (encrypts)"},
		{name: "id of 64", in: a64 + ":" + std, want: "keys " + a64 + " (encrypts)"},
		{name: "empty", in: "", wantErr: "no keys"},
		{name: "blank", in: "  ", wantErr: "no keys"},
		{name: "trailing comma", in: "k1:" + std + ",", wantErr: "key 2: empty entry"},
		{name: "no colon", in: std, wantErr: "key 1: no ':'"},
		{name: "empty id", in: ":" + std, wantErr: "key 1: empty id"},
		{name: "id with space", in: "k1:" + std + ",x y:" + std, wantErr: `key 2: id "x y" has ' '`},
		{name: "id too long", in: a65 + ":" + std, wantErr: "key 1: id of 65 characters"},
		{name: "key then id", in: std + ":k1", wantErr: "key 1: id looks like a key"},
		{
			name: "duplicate id", in: "k1:" + std + ",k1:" + url,
			wantErr: `key 2: id "k1" already names key 1`,
		},
		{name: "not base64", in: "k1:" + std[:10] + "!" + std[11:], wantErr: `key "k1": not base64`},
		{name: "24 bytes", in: "k1:" + short, wantErr: `key "k1": 24 bytes, want 32`},
		{name: "no key", in: "k1:", wantErr: `key "k1": 0 bytes, want 32`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := codec.ParseKeys(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseKeys succeeded with %v, want error containing %q", keys, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseKeys error = %q, want it to contain %q", err, tt.wantErr)
				}
				assertNoKey(t, "error", err.Error())
				return
			}
			if err != nil {
				t.Fatalf("ParseKeys: %v", err)
			}
			if got := keys.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				assertNoKey(t, verb, fmt.Sprintf(verb, keys))
			}
		})
	}
}

// assertNoKey fails if s holds any of fixedKeys, in bytes or as any
// 8-character stretch of its base64.
func assertNoKey(t *testing.T, what, s string) {
	t.Helper()
	var forms []string
	for _, k := range fixedKeys {
		forms = append(forms, k)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
			e := enc.EncodeToString([]byte(k))
			for i := 0; i+8 <= len(e); i++ {
				forms = append(forms, e[i:i+8])
			}
		}
	}
	for _, f := range forms {
		if strings.Contains(s, f) {
			t.Fatalf("%s %q holds key material %q", what, s, f)
		}
	}
}

func TestKeysZero(t *testing.T) {
	var keys codec.Keys
	if got, want := keys.String(), "no keys"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestGenerateKey(t *testing.T) {
	a, err := codec.GenerateKey("k1")
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	b, err := codec.GenerateKey("k2")
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	if !strings.HasPrefix(a, "k1:") {
		t.Errorf("GenerateKey = %q, want prefix k1:", a)
	}
	if a[3:] == b[3:] {
		t.Error("GenerateKey returned the same key twice")
	}
	if _, err := codec.ParseKeys(a + "," + b); err != nil {
		t.Errorf("ParseKeys of generated keys: %v", err)
	}
	if _, err := codec.GenerateKey("x y"); err == nil {
		t.Error(`GenerateKey("x y") succeeded, want error`)
	}
}

func TestEnvDecode(t *testing.T) {
	type config struct {
		Keys codec.Keys `env:"PAYLOAD_KEYS, required"`
	}
	key := mustGenerate(t, "k1")
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "set", env: map[string]string{"PAYLOAD_KEYS": key}, want: "keys k1 (encrypts)"},
		{name: "missing", env: map[string]string{}, wantErr: "PAYLOAD_KEYS"},
		{name: "bad", env: map[string]string{"PAYLOAD_KEYS": "k1:abc"}, wantErr: `key "k1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c config
			err := envconfig.ProcessWith(context.Background(), &envconfig.Config{
				Target:   &c,
				Lookuper: envconfig.MapLookuper(tt.env),
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ProcessWith error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ProcessWith: %v", err)
			}
			if got := c.Keys.String(); got != tt.want {
				t.Errorf("Keys = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("optional and unset", func(t *testing.T) {
		var c struct {
			Keys codec.Keys `env:"PAYLOAD_KEYS"`
		}
		err := envconfig.ProcessWith(context.Background(), &envconfig.Config{
			Target:   &c,
			Lookuper: envconfig.MapLookuper(nil),
		})
		if err != nil {
			t.Fatalf("ProcessWith: %v", err)
		}
		if got, want := c.Keys.String(), "no keys"; got != want {
			t.Errorf("Keys = %q, want %q", got, want)
		}
	})
}

// mustGenerate returns a new key string for id.
func mustGenerate(t *testing.T, id string) string {
	t.Helper()
	k, err := codec.GenerateKey(id)
	if err != nil {
		t.Fatalf("GenerateKey(%q): %v", id, err)
	}
	return k
}

// mustParse parses keys written as ParseKeys reads them.
func mustParse(t *testing.T, s string) codec.Keys {
	t.Helper()
	keys, err := codec.ParseKeys(s)
	if err != nil {
		t.Fatalf("ParseKeys: %v", err)
	}
	return keys
}
