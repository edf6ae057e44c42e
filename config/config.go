// Package config reads the configuration of the starter and the worker from
// the environment, once at start, and refuses values that cannot work with a
// message that names the variable.
package config

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/sethvargo/go-envconfig"

	"github.com/extole-braze/extole-braze/codec"
)

// Temporal says where the Temporal service is and which queue the sync uses.
type Temporal struct {
	Address   string `env:"TEMPORAL_ADDRESS, default=127.0.0.1:7233"`
	Namespace string `env:"TEMPORAL_NAMESPACE, default=default"`
	TaskQueue string `env:"TEMPORAL_TASK_QUEUE, default=extole-braze"`
	// DedupeWindow is how long a redelivered Extole event is recognised:
	// the namespace must keep closed workflows at least this long. Extole
	// redelivers for about 7 days.
	DedupeWindow time.Duration `env:"DEDUPE_WINDOW, default=192h"`
	// PayloadKeys encrypt what the process stores in Temporal: workflow
	// and activity inputs and results, and error messages. The first key
	// encrypts; every key decrypts.
	PayloadKeys codec.Keys `env:"PAYLOAD_KEYS, required"`
}

// Extole says how webhooks are authenticated and which of them are forwarded.
type Extole struct {
	// WebhookSecret is the client key shared with Extole: the HMAC key for
	// hs256, the expected token for bearer. Required unless AuthScheme is
	// none.
	WebhookSecret string `env:"EXTOLE_WEBHOOK_SECRET"`
	// AuthScheme is hs256 (X-Extole-Signature), bearer (Authorization), or
	// none, which turns authentication off for local development only.
	AuthScheme string `env:"EXTOLE_AUTH_SCHEME, default=hs256"`
	// Events lists the forwarded Extole event types; the entry "reward"
	// stands for every reward_<state> whose state is in RewardStates.
	Events []string `env:"EXTOLE_EVENTS, default=share_link_created,shared,converted,reward,subscribed,unsubscribed"`
	// RewardStates lists the forwarded reward states, upper case.
	RewardStates []string `env:"EXTOLE_REWARD_STATES, default=FULFILLED"`
}

// Mapping says how an Extole event becomes Braze objects.
type Mapping struct {
	// ExternalIDFrom names the Extole field that becomes Braze's external_id:
	// partner_user_id or email_address.
	ExternalIDFrom string `env:"BRAZE_EXTERNAL_ID_FROM, default=partner_user_id"`
	// AliasLabel labels the alias created, named by the email address, for a
	// person Braze does not know.
	AliasLabel string `env:"BRAZE_ALIAS_LABEL, default=extole_email"`
	// SubscriptionGroupID is the Braze subscription group used when a
	// subscription event names none.
	SubscriptionGroupID string `env:"BRAZE_SUBSCRIPTION_GROUP_ID"`
	// EventNames overrides Braze event names, by Extole event type
	// ("converted:purchase,shared:referral_shared").
	EventNames map[string]string `env:"BRAZE_EVENT_NAMES"`
	// PersonIDKey keys the hash that names a person's workflow, so that
	// the workflow id holds no personal data. Changing it forgets, for
	// events already received, the order they were applied in.
	PersonIDKey string `env:"PERSON_ID_KEY, required"`
}

// Braze says how the worker reaches the customer's Braze instance.
type Braze struct {
	Endpoint string `env:"BRAZE_REST_ENDPOINT, required"`
	APIKey   string `env:"BRAZE_API_KEY, required"`
	// RequestTimeout bounds one Braze request, at most MaxRequestTimeout.
	RequestTimeout time.Duration `env:"BRAZE_REQUEST_TIMEOUT, default=10s"`
	// LookupsPerMinute is the /users/export/ids budget shared by all
	// workers of the task queue: Braze allows 250 a minute on workspaces
	// created since August 2024.
	LookupsPerMinute int `env:"BRAZE_LOOKUPS_PER_MINUTE, default=250"`
	// IdentityCacheTTL is how long a worker remembers how to address a
	// person it found by email; 0 turns the cache off.
	IdentityCacheTTL time.Duration `env:"BRAZE_IDENTITY_CACHE_TTL, default=10m"`
}

// MaxRequestTimeout is the longest Braze request a worker may wait for. A
// sync gives each Braze step a little longer than this before it tries the
// step again elsewhere, which is how the step of a worker that crashed is
// taken over.
const MaxRequestTimeout = 20 * time.Second

// Starter is the configuration of the process that receives Extole webhooks.
type Starter struct {
	HTTPAddr string `env:"HTTP_ADDR, default=:8080"`
	Extole   Extole
	Mapping  Mapping
	Temporal Temporal
}

// CodecServer is the configuration of the process that decrypts payloads for
// an operator's Temporal UI.
type CodecServer struct {
	HTTPAddr string `env:"CODEC_HTTP_ADDR, default=127.0.0.1:8234"`
	// AllowOrigin is the origin of the Temporal UI whose pages may call the
	// codec server, such as http://127.0.0.1:8233.
	AllowOrigin string `env:"CODEC_ALLOW_ORIGIN, required"`
	// Token, when set, must be sent as a bearer token by every caller.
	Token       string     `env:"CODEC_TOKEN"`
	PayloadKeys codec.Keys `env:"PAYLOAD_KEYS, required"`
}

// Worker is the configuration of the process that runs the syncs.
type Worker struct {
	Braze    Braze
	Temporal Temporal
	// StopTimeout is how long a stopping worker lets running activities
	// finish before it gives them up to another worker.
	StopTimeout time.Duration `env:"WORKER_STOP_TIMEOUT, default=30s"`
}

// RewardStates are the reward states Extole reports.
var RewardStates = []string{
	"EARNED", "FULFILLED", "SENT", "REDEEMED", "FAILED", "FULFILLMENT_FAILED",
	"CANCELED", "REVOKED",
}

// EventType matches an Extole event type, as in a webhook's "type" field.
var EventType = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// LoadStarter reads and checks the starter's configuration. A nil lookuper
// reads the process environment.
func LoadStarter(ctx context.Context, l envconfig.Lookuper) (Starter, error) {
	var c Starter
	if err := load(ctx, l, &c); err != nil {
		return c, err
	}
	for i, s := range c.Extole.RewardStates {
		c.Extole.RewardStates[i] = strings.ToUpper(strings.TrimSpace(s))
	}
	return c, errors.Join(
		checkAddr("HTTP_ADDR", c.HTTPAddr),
		c.Temporal.check(),
		c.Extole.check(),
		c.Mapping.check(),
	)
}

// LoadWorker reads and checks the worker's configuration. A nil lookuper
// reads the process environment.
func LoadWorker(ctx context.Context, l envconfig.Lookuper) (Worker, error) {
	var c Worker
	if err := load(ctx, l, &c); err != nil {
		return c, err
	}
	return c, errors.Join(
		c.Temporal.check(),
		c.Braze.check(),
		checkPositive("WORKER_STOP_TIMEOUT", c.StopTimeout),
	)
}

// LoadCodecServer reads and checks the codec server's configuration. A nil
// lookuper reads the process environment.
func LoadCodecServer(ctx context.Context, l envconfig.Lookuper) (CodecServer, error) {
	var c CodecServer
	if err := load(ctx, l, &c); err != nil {
		return c, err
	}
	var errs []error
	errs = append(errs, checkAddr("CODEC_HTTP_ADDR", c.HTTPAddr), checkKeys(c.PayloadKeys))
	if u, err := url.Parse(c.AllowOrigin); err != nil || u.Host == "" || u.Path != "" ||
		u.Scheme != "http" && u.Scheme != "https" {
		errs = append(errs, fmt.Errorf(
			"CODEC_ALLOW_ORIGIN: %q is not an origin like http://127.0.0.1:8233", c.AllowOrigin))
	}
	return c, errors.Join(errs...)
}

func load(ctx context.Context, l envconfig.Lookuper, target any) error {
	if l == nil {
		l = envconfig.OsLookuper()
	}
	err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: target, Lookuper: l})
	if err == nil {
		return nil
	}
	// go-envconfig names the struct field; say which variable it is.
	msg := err.Error()
	for _, v := range Vars(reflect.ValueOf(target).Elem().Interface()) {
		if rest, ok := strings.CutPrefix(msg, v.Field+": "); ok {
			rest = strings.TrimSuffix(rest, ": "+v.Name)
			return &varError{msg: v.Name + ": " + rest, err: err}
		}
	}
	return fmt.Errorf("configuration: %w", err)
}

// varError is a go-envconfig error told in terms of the variable.
type varError struct {
	msg string
	err error
}

func (e *varError) Error() string { return e.msg }
func (e *varError) Unwrap() error { return e.err }

func (t Temporal) check() error {
	return errors.Join(
		checkAddr("TEMPORAL_ADDRESS", t.Address),
		checkNonEmpty("TEMPORAL_NAMESPACE", t.Namespace),
		checkNonEmpty("TEMPORAL_TASK_QUEUE", t.TaskQueue),
		checkPositive("DEDUPE_WINDOW", t.DedupeWindow),
		checkKeys(t.PayloadKeys),
	)
}

func checkKeys(keys codec.Keys) error {
	if len(keys) == 0 {
		return errors.New("PAYLOAD_KEYS: empty: want id:base64key[,id:base64key...], " +
			"32 random bytes to a key")
	}
	return nil
}

func (e Extole) check() error {
	var errs []error
	switch e.AuthScheme {
	case "hs256", "bearer":
		if strings.TrimSpace(e.WebhookSecret) == "" {
			errs = append(errs, fmt.Errorf(
				"EXTOLE_WEBHOOK_SECRET: required with EXTOLE_AUTH_SCHEME=%s", e.AuthScheme))
		}
	case "none":
	default:
		errs = append(errs, fmt.Errorf("EXTOLE_AUTH_SCHEME: %q is not hs256, bearer or none",
			e.AuthScheme))
	}
	if len(e.Events) == 0 {
		errs = append(errs, errors.New("EXTOLE_EVENTS: must list at least one event type"))
	}
	for _, t := range e.Events {
		switch {
		case strings.HasPrefix(t, "reward_"):
			errs = append(errs, fmt.Errorf(
				"EXTOLE_EVENTS: %q: list \"reward\" here and the states in EXTOLE_REWARD_STATES", t))
		case !EventType.MatchString(t):
			errs = append(errs, fmt.Errorf(
				"EXTOLE_EVENTS: %q is not an event type (lower case letters, digits, _)", t))
		}
	}
	if len(e.RewardStates) == 0 && slices.Contains(e.Events, "reward") {
		errs = append(errs, errors.New(
			"EXTOLE_REWARD_STATES: empty, while EXTOLE_EVENTS forwards reward events"))
	}
	for _, s := range e.RewardStates {
		if !slices.Contains(RewardStates, s) {
			errs = append(errs, fmt.Errorf("EXTOLE_REWARD_STATES: %q is not one of %s",
				s, strings.Join(RewardStates, ", ")))
		}
	}
	return errors.Join(errs...)
}

func (m Mapping) check() error {
	var errs []error
	if m.ExternalIDFrom != "partner_user_id" && m.ExternalIDFrom != "email_address" {
		errs = append(errs, fmt.Errorf(
			"BRAZE_EXTERNAL_ID_FROM: %q is not partner_user_id or email_address", m.ExternalIDFrom))
	}
	errs = append(errs, checkBrazeString("BRAZE_ALIAS_LABEL", m.AliasLabel))
	if len(m.PersonIDKey) < 16 {
		errs = append(errs, errors.New("PERSON_ID_KEY: must have at least 16 characters"))
	}
	for t, name := range m.EventNames {
		if !EventType.MatchString(t) {
			errs = append(errs, fmt.Errorf("BRAZE_EVENT_NAMES: %q is not an Extole event type", t))
		}
		errs = append(errs, checkBrazeString("BRAZE_EVENT_NAMES: "+t, name))
	}
	return errors.Join(errs...)
}

func (b Braze) check() error {
	var errs []error
	u, err := url.Parse(b.Endpoint)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("BRAZE_REST_ENDPOINT: %w", err))
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		errs = append(errs, fmt.Errorf(
			"BRAZE_REST_ENDPOINT: %q is not a URL like https://rest.iad-01.braze.com", b.Endpoint))
	case u.RawQuery != "" || strings.Trim(u.Path, "/") != "":
		errs = append(errs, fmt.Errorf(
			"BRAZE_REST_ENDPOINT: %q must be the instance's base URL, without a path", b.Endpoint))
	}
	key := b.APIKey
	switch {
	case strings.TrimSpace(key) == "":
		errs = append(errs, errors.New("BRAZE_API_KEY: must not be empty"))
	case strings.ContainsFunc(key, unicode.IsSpace):
		errs = append(errs, errors.New("BRAZE_API_KEY: contains white space"))
	case strings.ContainsAny(key, `"'`):
		errs = append(errs, errors.New("BRAZE_API_KEY: remove the quotes around the key"))
	}
	errs = append(errs, checkPositive("BRAZE_REQUEST_TIMEOUT", b.RequestTimeout))
	if b.RequestTimeout > MaxRequestTimeout {
		errs = append(errs, fmt.Errorf("BRAZE_REQUEST_TIMEOUT: %s is longer than the %s allowed",
			b.RequestTimeout, MaxRequestTimeout))
	}
	if b.LookupsPerMinute <= 0 {
		errs = append(errs, fmt.Errorf("BRAZE_LOOKUPS_PER_MINUTE: %d is not a positive number",
			b.LookupsPerMinute))
	}
	if b.IdentityCacheTTL < 0 {
		errs = append(errs, fmt.Errorf("BRAZE_IDENTITY_CACHE_TTL: %s is negative", b.IdentityCacheTTL))
	}
	return errors.Join(errs...)
}

func checkAddr(name, addr string) error {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return fmt.Errorf("%s: %q is not host:port", name, addr)
	}
	return nil
}

func checkNonEmpty(name, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("%s: must not be empty", name)
	}
	return nil
}

func checkPositive(name string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s: %s is not a positive duration", name, d)
	}
	return nil
}

// checkBrazeString checks a value Braze stores as a name: non-empty, at most
// 255 characters, not starting with $.
func checkBrazeString(name, v string) error {
	switch {
	case strings.TrimSpace(v) == "":
		return fmt.Errorf("%s: must not be empty", name)
	case len(v) > 255:
		return fmt.Errorf("%s: longer than Braze's 255 characters", name)
	case strings.HasPrefix(v, "$"):
		return fmt.Errorf("%s: %q must not start with $", name, v)
	}
	return nil
}
