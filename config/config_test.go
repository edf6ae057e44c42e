package config_test

import (
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/extole-braze/extole-braze/config"
)

// testPayloadKeys is one made-up payload key, the 32 bytes
// "0123456789abcdef0123456789abcdef".
const testPayloadKeys = "test-1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// withoutKeys checks that the payload keys were read, then clears them, so
// that the rest of a configuration compares with reflect.DeepEqual.
func withoutKeys(t *testing.T, tc *config.Temporal) {
	t.Helper()
	if got := tc.PayloadKeys.String(); got != "keys test-1 (encrypts)" {
		t.Errorf("PayloadKeys = %s, want keys test-1 (encrypts)", got)
	}
	tc.PayloadKeys = nil
}

// cfgtestStarterEnv is the least a starter needs, with env on top; an empty
// value in env is kept, so that the test sees an empty variable.
func cfgtestStarterEnv(env map[string]string) map[string]string {
	m := map[string]string{"EXTOLE_WEBHOOK_SECRET": "test-webhook-secret",
		"PERSON_ID_KEY": "test-person-id-key-0123456789", "PAYLOAD_KEYS": testPayloadKeys}
	maps.Copy(m, env)
	return m
}

// cfgtestWorkerEnv is the least a worker needs, with env on top.
func cfgtestWorkerEnv(env map[string]string) map[string]string {
	m := map[string]string{
		"BRAZE_REST_ENDPOINT": "https://rest.iad-01.braze.com",
		"BRAZE_API_KEY":       "00000000-1111-2222-3333-444444444444",
		"PAYLOAD_KEYS":        testPayloadKeys,
	}
	maps.Copy(m, env)
	return m
}

// cfgtestWithout returns env without the variables named.
func cfgtestWithout(env map[string]string, names ...string) map[string]string {
	m := maps.Clone(env)
	for _, n := range names {
		delete(m, n)
	}
	return m
}

func TestConfigStarterDefaults(t *testing.T) {
	c, err := config.LoadStarter(t.Context(), envconfig.MapLookuper(cfgtestStarterEnv(nil)))
	if err != nil {
		t.Fatalf("LoadStarter: %v", err)
	}
	want := config.Starter{
		HTTPAddr: ":8080",
		Extole: config.Extole{
			WebhookSecret: "test-webhook-secret",
			AuthScheme:    "hs256",
			Events: []string{
				"share_link_created", "shared", "converted", "reward", "subscribed", "unsubscribed",
			},
			RewardStates: []string{"FULFILLED"},
		},
		Mapping: config.Mapping{
			ExternalIDFrom: "partner_user_id",
			AliasLabel:     "extole_email",
			PersonIDKey:    "test-person-id-key-0123456789",
		},
		Temporal: config.Temporal{
			Address:      "127.0.0.1:7233",
			Namespace:    "default",
			TaskQueue:    "extole-braze",
			DedupeWindow: 192 * time.Hour,
		},
	}
	if len(c.Mapping.EventNames) != 0 {
		t.Errorf("EventNames = %v, want none", c.Mapping.EventNames)
	}
	c.Mapping.EventNames = nil
	withoutKeys(t, &c.Temporal)
	if !reflect.DeepEqual(c, want) {
		t.Errorf("LoadStarter =\n%+v\nwant\n%+v", c, want)
	}
}

func TestConfigWorkerDefaults(t *testing.T) {
	c, err := config.LoadWorker(t.Context(), envconfig.MapLookuper(cfgtestWorkerEnv(nil)))
	if err != nil {
		t.Fatalf("LoadWorker: %v", err)
	}
	want := config.Worker{
		Braze: config.Braze{
			Endpoint:         "https://rest.iad-01.braze.com",
			APIKey:           "00000000-1111-2222-3333-444444444444",
			RequestTimeout:   10 * time.Second,
			LookupsPerMinute: 250,
			IdentityCacheTTL: 10 * time.Minute,
		},
		Temporal: config.Temporal{
			Address:      "127.0.0.1:7233",
			Namespace:    "default",
			TaskQueue:    "extole-braze",
			DedupeWindow: 192 * time.Hour,
		},
		StopTimeout: 30 * time.Second,
	}
	withoutKeys(t, &c.Temporal)
	if !reflect.DeepEqual(c, want) {
		t.Errorf("LoadWorker =\n%+v\nwant\n%+v", c, want)
	}
}

func TestConfigStarterValues(t *testing.T) {
	env := cfgtestStarterEnv(map[string]string{
		"HTTP_ADDR":                   "127.0.0.1:9000",
		"EXTOLE_AUTH_SCHEME":          "bearer",
		"EXTOLE_EVENTS":               "converted, shipped,reward",
		"EXTOLE_REWARD_STATES":        "earned, Fulfilled ,fulfillment_failed",
		"BRAZE_EXTERNAL_ID_FROM":      "email_address",
		"BRAZE_ALIAS_LABEL":           "crm_email",
		"BRAZE_SUBSCRIPTION_GROUP_ID": "3e1a-group",
		"BRAZE_EVENT_NAMES":           "converted:purchase, shared : referral_shared",
		"TEMPORAL_ADDRESS":            "temporal.internal:7233",
		"TEMPORAL_NAMESPACE":          "referrals",
		"TEMPORAL_TASK_QUEUE":         "extole-braze-eu",
	})
	c, err := config.LoadStarter(t.Context(), envconfig.MapLookuper(env))
	if err != nil {
		t.Fatalf("LoadStarter: %v", err)
	}
	want := config.Starter{
		HTTPAddr: "127.0.0.1:9000",
		Extole: config.Extole{
			WebhookSecret: "test-webhook-secret",
			AuthScheme:    "bearer",
			Events:        []string{"converted", "shipped", "reward"},
			RewardStates:  []string{"EARNED", "FULFILLED", "FULFILLMENT_FAILED"},
		},
		Mapping: config.Mapping{
			ExternalIDFrom:      "email_address",
			AliasLabel:          "crm_email",
			SubscriptionGroupID: "3e1a-group",
			PersonIDKey:         "test-person-id-key-0123456789",
			EventNames:          map[string]string{"converted": "purchase", "shared": "referral_shared"},
		},
		Temporal: config.Temporal{
			Address:      "temporal.internal:7233",
			Namespace:    "referrals",
			TaskQueue:    "extole-braze-eu",
			DedupeWindow: 192 * time.Hour,
		},
	}
	withoutKeys(t, &c.Temporal)
	if !reflect.DeepEqual(c, want) {
		t.Errorf("LoadStarter =\n%+v\nwant\n%+v", c, want)
	}
}

func TestConfigWorkerValues(t *testing.T) {
	env := cfgtestWorkerEnv(map[string]string{
		"BRAZE_REST_ENDPOINT":      "https://rest.fra-02.braze.eu/",
		"BRAZE_REQUEST_TIMEOUT":    "2500ms",
		"BRAZE_LOOKUPS_PER_MINUTE": "2500",
		"BRAZE_IDENTITY_CACHE_TTL": "0",
		"WORKER_STOP_TIMEOUT":      "1m",
	})
	c, err := config.LoadWorker(t.Context(), envconfig.MapLookuper(env))
	if err != nil {
		t.Fatalf("LoadWorker: %v", err)
	}
	if c.Braze.Endpoint != "https://rest.fra-02.braze.eu/" ||
		c.Braze.RequestTimeout != 2500*time.Millisecond ||
		c.Braze.LookupsPerMinute != 2500 ||
		c.Braze.IdentityCacheTTL != 0 ||
		c.StopTimeout != time.Minute {
		t.Errorf("LoadWorker = %+v", c)
	}
}

func TestConfigRefusesBadValues(t *testing.T) {
	long := strings.Repeat("a", 256)
	tests := []struct {
		name    string
		worker  bool              // LoadWorker, else LoadStarter
		env     map[string]string // on top of the least each process needs
		unset   string            // a variable removed from the environment
		varName string            // the variable the error must name
	}{
		{"endpoint without scheme", true,
			map[string]string{"BRAZE_REST_ENDPOINT": "rest.iad-01.braze.com"}, "", "BRAZE_REST_ENDPOINT"},
		{"endpoint empty", true,
			map[string]string{"BRAZE_REST_ENDPOINT": ""}, "", "BRAZE_REST_ENDPOINT"},
		{"endpoint not parsable", true,
			map[string]string{"BRAZE_REST_ENDPOINT": "://rest"}, "", "BRAZE_REST_ENDPOINT"},
		{"endpoint without host", true,
			map[string]string{"BRAZE_REST_ENDPOINT": "https://"}, "", "BRAZE_REST_ENDPOINT"},
		{"endpoint with a path", true,
			map[string]string{"BRAZE_REST_ENDPOINT": "https://rest.iad-01.braze.com/users/track"},
			"", "BRAZE_REST_ENDPOINT"},
		{"endpoint with a query", true,
			map[string]string{"BRAZE_REST_ENDPOINT": "https://rest.iad-01.braze.com?x=1"},
			"", "BRAZE_REST_ENDPOINT"},
		{"endpoint with ftp scheme", true,
			map[string]string{"BRAZE_REST_ENDPOINT": "ftp://rest.iad-01.braze.com"},
			"", "BRAZE_REST_ENDPOINT"},
		{"endpoint missing", true, nil, "BRAZE_REST_ENDPOINT", "BRAZE_REST_ENDPOINT"},
		{"API key in double quotes", true,
			map[string]string{"BRAZE_API_KEY": `"00000000-1111"`}, "", "BRAZE_API_KEY"},
		{"API key in single quotes", true,
			map[string]string{"BRAZE_API_KEY": `'00000000-1111'`}, "", "BRAZE_API_KEY"},
		{"API key with a leading space", true,
			map[string]string{"BRAZE_API_KEY": " 00000000-1111"}, "", "BRAZE_API_KEY"},
		{"API key with a trailing newline", true,
			map[string]string{"BRAZE_API_KEY": "00000000-1111\n"}, "", "BRAZE_API_KEY"},
		{"API key with a space inside", true,
			map[string]string{"BRAZE_API_KEY": "0000 1111"}, "", "BRAZE_API_KEY"},
		{"timeout without a unit", true,
			map[string]string{"BRAZE_REQUEST_TIMEOUT": "10"}, "", "BRAZE_REQUEST_TIMEOUT"},
		{"lookups not a number", true,
			map[string]string{"BRAZE_LOOKUPS_PER_MINUTE": "many"}, "", "BRAZE_LOOKUPS_PER_MINUTE"},
		{"event names without a colon", false,
			map[string]string{"BRAZE_EVENT_NAMES": "converted"}, "", "BRAZE_EVENT_NAMES"},
		{"no reward states while rewards are forwarded", false,
			map[string]string{"EXTOLE_REWARD_STATES": ""}, "", "EXTOLE_REWARD_STATES"},
		{"API key empty", true, map[string]string{"BRAZE_API_KEY": ""}, "", "BRAZE_API_KEY"},
		{"API key missing", true, nil, "BRAZE_API_KEY", "BRAZE_API_KEY"},
		{"request timeout zero", true,
			map[string]string{"BRAZE_REQUEST_TIMEOUT": "0s"}, "", "BRAZE_REQUEST_TIMEOUT"},
		{"request timeout negative", true,
			map[string]string{"BRAZE_REQUEST_TIMEOUT": "-1s"}, "", "BRAZE_REQUEST_TIMEOUT"},
		{"payload keys missing", true, nil, "PAYLOAD_KEYS", "PAYLOAD_KEYS"},
		{"starter payload keys missing", false, nil, "PAYLOAD_KEYS", "PAYLOAD_KEYS"},
		{"payload key too short", true,
			map[string]string{"PAYLOAD_KEYS": "k1:MDEyMzQ1Njc4OWFi"}, "", "PAYLOAD_KEYS"},
		{"starter payload key without an id", false,
			map[string]string{"PAYLOAD_KEYS": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},
			"", "PAYLOAD_KEYS"},
		{"request timeout longer than a Braze step may take", true,
			map[string]string{"BRAZE_REQUEST_TIMEOUT": "21s"}, "", "BRAZE_REQUEST_TIMEOUT"},
		{"lookups per minute zero", true,
			map[string]string{"BRAZE_LOOKUPS_PER_MINUTE": "0"}, "", "BRAZE_LOOKUPS_PER_MINUTE"},
		{"lookups per minute negative", true,
			map[string]string{"BRAZE_LOOKUPS_PER_MINUTE": "-250"}, "", "BRAZE_LOOKUPS_PER_MINUTE"},
		{"identity cache TTL negative", true,
			map[string]string{"BRAZE_IDENTITY_CACHE_TTL": "-1m"}, "", "BRAZE_IDENTITY_CACHE_TTL"},
		{"stop timeout zero", true,
			map[string]string{"WORKER_STOP_TIMEOUT": "0"}, "", "WORKER_STOP_TIMEOUT"},
		{"stop timeout negative", true,
			map[string]string{"WORKER_STOP_TIMEOUT": "-5s"}, "", "WORKER_STOP_TIMEOUT"},
		{"worker Temporal address without port", true,
			map[string]string{"TEMPORAL_ADDRESS": "temporal"}, "", "TEMPORAL_ADDRESS"},
		{"worker Temporal namespace blank", true,
			map[string]string{"TEMPORAL_NAMESPACE": " "}, "", "TEMPORAL_NAMESPACE"},
		{"worker task queue empty", true,
			map[string]string{"TEMPORAL_TASK_QUEUE": ""}, "", "TEMPORAL_TASK_QUEUE"},

		{"webhook secret missing", false, nil, "EXTOLE_WEBHOOK_SECRET", "EXTOLE_WEBHOOK_SECRET"},
		{"bearer without a secret", false, map[string]string{"EXTOLE_AUTH_SCHEME": "bearer"},
			"EXTOLE_WEBHOOK_SECRET", "EXTOLE_WEBHOOK_SECRET"},
		{"person id key missing", false, nil, "PERSON_ID_KEY", "PERSON_ID_KEY"},
		{"person id key too short", false,
			map[string]string{"PERSON_ID_KEY": "0123456789abcde"}, "", "PERSON_ID_KEY"},
		{"dedupe window zero", false, map[string]string{"DEDUPE_WINDOW": "0s"}, "", "DEDUPE_WINDOW"},
		{"worker dedupe window negative", true,
			map[string]string{"DEDUPE_WINDOW": "-1h"}, "", "DEDUPE_WINDOW"},
		{"webhook secret blank", false,
			map[string]string{"EXTOLE_WEBHOOK_SECRET": "  "}, "", "EXTOLE_WEBHOOK_SECRET"},
		{"auth scheme basic", false,
			map[string]string{"EXTOLE_AUTH_SCHEME": "basic"}, "", "EXTOLE_AUTH_SCHEME"},
		{"auth scheme in upper case", false,
			map[string]string{"EXTOLE_AUTH_SCHEME": "HS256"}, "", "EXTOLE_AUTH_SCHEME"},
		{"events with a reward state", false,
			map[string]string{"EXTOLE_EVENTS": "shared,reward_earned"}, "", "EXTOLE_EVENTS"},
		{"events with a bad type", false,
			map[string]string{"EXTOLE_EVENTS": "shared,Bad Type"}, "", "EXTOLE_EVENTS"},
		{"events with an empty entry", false,
			map[string]string{"EXTOLE_EVENTS": "shared,,converted"}, "", "EXTOLE_EVENTS"},
		{"events empty", false, map[string]string{"EXTOLE_EVENTS": ""}, "", "EXTOLE_EVENTS"},
		{"reward state unknown", false,
			map[string]string{"EXTOLE_REWARD_STATES": "FULFILLED,PENDING"}, "", "EXTOLE_REWARD_STATES"},
		{"external id from person_id", false,
			map[string]string{"BRAZE_EXTERNAL_ID_FROM": "person_id"}, "", "BRAZE_EXTERNAL_ID_FROM"},
		{"alias label too long", false,
			map[string]string{"BRAZE_ALIAS_LABEL": long}, "", "BRAZE_ALIAS_LABEL"},
		{"alias label starting with $", false,
			map[string]string{"BRAZE_ALIAS_LABEL": "$email"}, "", "BRAZE_ALIAS_LABEL"},
		{"alias label blank", false,
			map[string]string{"BRAZE_ALIAS_LABEL": " "}, "", "BRAZE_ALIAS_LABEL"},
		{"event names with a bad key", false,
			map[string]string{"BRAZE_EVENT_NAMES": "converted:purchase,Shared Link:x"},
			"", "BRAZE_EVENT_NAMES"},
		{"event names with a name starting with $", false,
			map[string]string{"BRAZE_EVENT_NAMES": "converted:$purchase"}, "", "BRAZE_EVENT_NAMES"},
		{"event names with an empty name", false,
			map[string]string{"BRAZE_EVENT_NAMES": "converted:"}, "", "BRAZE_EVENT_NAMES"},
		{"event names with a name too long", false,
			map[string]string{"BRAZE_EVENT_NAMES": "converted:" + long}, "", "BRAZE_EVENT_NAMES"},
		{"HTTP address without port", false,
			map[string]string{"HTTP_ADDR": "8080"}, "", "HTTP_ADDR"},
		{"HTTP address with an empty port", false,
			map[string]string{"HTTP_ADDR": "localhost:"}, "", "HTTP_ADDR"},
		{"starter Temporal address without port", false,
			map[string]string{"TEMPORAL_ADDRESS": "temporal"}, "", "TEMPORAL_ADDRESS"},
		{"starter Temporal address empty", false,
			map[string]string{"TEMPORAL_ADDRESS": ""}, "", "TEMPORAL_ADDRESS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			var vars []config.Var
			if tt.worker {
				env := cfgtestWithout(cfgtestWorkerEnv(tt.env), tt.unset)
				_, err = config.LoadWorker(t.Context(), envconfig.MapLookuper(env))
				vars = config.Vars(config.Worker{})
			} else {
				env := cfgtestWithout(cfgtestStarterEnv(tt.env), tt.unset)
				_, err = config.LoadStarter(t.Context(), envconfig.MapLookuper(env))
				vars = config.Vars(config.Starter{})
			}
			if err == nil {
				t.Fatalf("accepted %v", tt.env)
			}
			if !strings.Contains(err.Error(), tt.varName) {
				t.Errorf("error %q does not name %s", err, tt.varName)
			}
			if tt.unset != "" && tt.unset != "EXTOLE_WEBHOOK_SECRET" &&
				!errors.Is(err, envconfig.ErrMissingRequired) {
				t.Errorf("error %q is not go-envconfig's missing required value", err)
			}
			// No other variable is blamed.
			for _, v := range vars {
				if v.Name != tt.varName && strings.Contains(err.Error(), v.Name+":") {
					t.Errorf("error %q blames %s too", err, v.Name)
				}
			}
		})
	}
}

func TestConfigReportsEveryBadVariable(t *testing.T) {
	tests := []struct {
		name   string
		worker bool
		env    map[string]string
	}{
		{
			name:   "worker",
			worker: true,
			env: map[string]string{
				"BRAZE_REST_ENDPOINT":      "ftp://rest.iad-01.braze.com",
				"BRAZE_API_KEY":            `"key"`,
				"BRAZE_REQUEST_TIMEOUT":    "0s",
				"BRAZE_LOOKUPS_PER_MINUTE": "0",
				"BRAZE_IDENTITY_CACHE_TTL": "-1s",
				"TEMPORAL_ADDRESS":         "temporal",
				"TEMPORAL_NAMESPACE":       "",
				"WORKER_STOP_TIMEOUT":      "-1s",
				"PAYLOAD_KEYS":             " ",
			},
		},
		{
			name: "starter",
			env: map[string]string{
				"HTTP_ADDR":              "8080",
				"PERSON_ID_KEY":          "short",
				"EXTOLE_AUTH_SCHEME":     "basic",
				"EXTOLE_EVENTS":          "reward_earned",
				"EXTOLE_REWARD_STATES":   "PENDING",
				"BRAZE_EXTERNAL_ID_FROM": "person_id",
				"BRAZE_ALIAS_LABEL":      "$label",
				"BRAZE_EVENT_NAMES":      "Bad:name",
				"TEMPORAL_TASK_QUEUE":    "",
				"PAYLOAD_KEYS":           "",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.worker {
				_, err = config.LoadWorker(t.Context(), envconfig.MapLookuper(tt.env))
			} else {
				_, err = config.LoadStarter(t.Context(), envconfig.MapLookuper(tt.env))
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for name := range tt.env {
				if !strings.Contains(err.Error(), name+":") {
					t.Errorf("%s not reported in:\n%v", name, err)
				}
			}
		})
	}
}

func TestConfigVars(t *testing.T) {
	tests := []struct {
		name string
		cfg  any
		want []config.Var
	}{
		{
			name: "worker",
			cfg:  config.Worker{},
			want: []config.Var{
				{Name: "BRAZE_REST_ENDPOINT", Required: true},
				{Name: "BRAZE_API_KEY", Required: true},
				{Name: "BRAZE_REQUEST_TIMEOUT", Default: "10s"},
				{Name: "BRAZE_LOOKUPS_PER_MINUTE", Default: "250"},
				{Name: "TEMPORAL_ADDRESS", Default: "127.0.0.1:7233"},
				{Name: "TEMPORAL_NAMESPACE", Default: "default"},
				{Name: "WORKER_STOP_TIMEOUT", Default: "30s"},
			},
		},
		{
			name: "starter",
			cfg:  config.Starter{},
			want: []config.Var{
				{Name: "HTTP_ADDR", Default: ":8080"},
				{Name: "EXTOLE_WEBHOOK_SECRET"},
				{Name: "PERSON_ID_KEY", Required: true},
				{Name: "EXTOLE_EVENTS",
					Default: "share_link_created,shared,converted,reward,subscribed,unsubscribed"},
				{Name: "EXTOLE_REWARD_STATES", Default: "FULFILLED"},
				{Name: "BRAZE_SUBSCRIPTION_GROUP_ID"},
				{Name: "BRAZE_EVENT_NAMES"},
				{Name: "TEMPORAL_TASK_QUEUE", Default: "extole-braze"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := config.Vars(tt.cfg)
			byName := map[string]config.Var{}
			for _, v := range vars {
				if _, dup := byName[v.Name]; dup {
					t.Errorf("%s listed twice", v.Name)
				}
				byName[v.Name] = v
			}
			for _, want := range tt.want {
				got, ok := byName[want.Name]
				if !ok {
					t.Errorf("%s not listed", want.Name)
					continue
				}
				got.Field = "" // checked by the error tests
				if got != want {
					t.Errorf("%s = %+v, want %+v", want.Name, got, want)
				}
			}
		})
	}
	// A worker has no use for Extole's secret, nor a starter for Braze's key.
	for _, v := range config.Vars(config.Worker{}) {
		if v.Name == "EXTOLE_WEBHOOK_SECRET" {
			t.Error("worker lists EXTOLE_WEBHOOK_SECRET")
		}
	}
	for _, v := range config.Vars(config.Starter{}) {
		if v.Name == "BRAZE_API_KEY" {
			t.Error("starter lists BRAZE_API_KEY")
		}
	}
}

// TestConfigVarsDefaultsAreLoaded checks Vars against what LoadWorker and
// LoadStarter read: the default Vars reports is the value loaded when the
// variable is unset.
func TestConfigVarsDefaultsAreLoaded(t *testing.T) {
	w, err := config.LoadWorker(t.Context(), envconfig.MapLookuper(cfgtestWorkerEnv(nil)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := config.LoadStarter(t.Context(), envconfig.MapLookuper(cfgtestStarterEnv(nil)))
	if err != nil {
		t.Fatal(err)
	}
	loaded := map[string]string{
		"BRAZE_REQUEST_TIMEOUT":    w.Braze.RequestTimeout.String(),
		"BRAZE_IDENTITY_CACHE_TTL": w.Braze.IdentityCacheTTL.String(),
		"WORKER_STOP_TIMEOUT":      w.StopTimeout.String(),
		"TEMPORAL_ADDRESS":         w.Temporal.Address,
		"TEMPORAL_NAMESPACE":       w.Temporal.Namespace,
		"TEMPORAL_TASK_QUEUE":      w.Temporal.TaskQueue,
		"HTTP_ADDR":                s.HTTPAddr,
		"EXTOLE_AUTH_SCHEME":       s.Extole.AuthScheme,
		"EXTOLE_EVENTS":            strings.Join(s.Extole.Events, ","),
		"EXTOLE_REWARD_STATES":     strings.Join(s.Extole.RewardStates, ","),
		"BRAZE_EXTERNAL_ID_FROM":   s.Mapping.ExternalIDFrom,
		"BRAZE_ALIAS_LABEL":        s.Mapping.AliasLabel,
	}
	for _, v := range append(config.Vars(config.Worker{}), config.Vars(config.Starter{})...) {
		got, ok := loaded[v.Name]
		if !ok || v.Default == "" {
			continue
		}
		want := v.Default
		if d, err := time.ParseDuration(want); err == nil {
			want = d.String()
		}
		if got != want {
			t.Errorf("%s: Vars says default %q, LoadWorker/LoadStarter load %q", v.Name, v.Default, got)
		}
	}
}

// Authentication can be turned off, explicitly, for local development; no
// secret is needed then.
func TestConfigAuthNoneNeedsNoSecret(t *testing.T) {
	c, err := config.LoadStarter(t.Context(), envconfig.MapLookuper(map[string]string{
		"EXTOLE_AUTH_SCHEME": "none", "PERSON_ID_KEY": "test-person-id-key-0123456789",
		"PAYLOAD_KEYS": testPayloadKeys,
	}))
	if err != nil || c.Extole.AuthScheme != "none" {
		t.Fatalf("LoadStarter = %+v, %v; want auth none accepted", c.Extole, err)
	}
}
