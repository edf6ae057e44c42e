// Package activities holds the steps of a sync that talk to Braze: looking a
// person up, creating an alias, and tracking events, attributes and
// subscription changes. Each is one Braze request; Braze's answer decides
// whether Temporal retries it.
package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/extole-braze/extole-braze/braze"
)

// Activities are the Braze steps of a sync, sharing one client and one
// identity cache per worker process.
type Activities struct {
	client     *braze.Client
	identities *identityCache
}

// New returns the activities for a Braze client. Identities found by email
// are remembered for cacheTTL, so that repeated events for one person spend
// no more of Braze's scarce lookup budget.
func New(client *braze.Client, cacheTTL time.Duration) *Activities {
	return &Activities{client: client, identities: newIdentityCache(cacheTTL)}
}

// LookupResult says whether Braze knows the person, and how to address them.
type LookupResult struct {
	Found  bool          `json:"found"`
	Person braze.UserRef `json:"person,omitzero"`
	// Cached is true when the answer came from this worker's cache, not Braze.
	Cached bool `json:"cached,omitempty"`
}

// CachedPerson answers from this worker's memory alone how a person found by
// email before is addressed. It calls nobody, so it runs as a local activity
// and spends none of Braze's lookup budget.
func (a *Activities) CachedPerson(_ context.Context, email string) (LookupResult, error) {
	if ref, ok := a.identities.get(email); ok {
		return LookupResult{Found: true, Person: ref, Cached: true}, nil
	}
	return LookupResult{}, nil
}

// LookupUser finds the person whose profile has this email address
// (/users/export/ids).
func (a *Activities) LookupUser(ctx context.Context, email string) (LookupResult, error) {
	if cached, _ := a.CachedPerson(ctx, email); cached.Found {
		return cached, nil
	}
	users, err := a.client.ExportByEmail(ctx, email)
	if err != nil {
		return LookupResult{}, retryPolicyFor(err)
	}
	if len(users) == 0 {
		return LookupResult{}, nil
	}
	if len(users) > 1 {
		activity.GetLogger(ctx).Warn("several Braze profiles share the email; using the first",
			"profiles", len(users))
	}
	ref := users[0].Ref()
	a.identities.put(email, ref)
	return LookupResult{Found: true, Person: ref}, nil
}

// CreateAlias creates an alias-only profile named by the alias
// (/users/alias/new). The alias name is the person's email address.
func (a *Activities) CreateAlias(ctx context.Context, alias braze.Alias) error {
	if err := a.client.NewAliases(ctx, []braze.Alias{alias}); err != nil {
		return retryPolicyFor(err)
	}
	a.identities.put(alias.Name, braze.UserRef{Alias: &alias})
	return nil
}

// TrackResult counts what Braze accepted.
type TrackResult struct {
	Events     int `json:"events"`
	Attributes int `json:"attributes"`
}

// TrackEvents sends the events and profile attributes of one Extole event
// (/users/track).
func (a *Activities) TrackEvents(ctx context.Context, req braze.TrackRequest) (TrackResult, error) {
	return a.track(ctx, req)
}

// UpdateSubscription sends a subscription change, email_subscribe and
// subscription_groups, with the events that go with it (/users/track).
func (a *Activities) UpdateSubscription(ctx context.Context, req braze.TrackRequest) (TrackResult, error) {
	return a.track(ctx, req)
}

func (a *Activities) track(ctx context.Context, req braze.TrackRequest) (TrackResult, error) {
	resp, err := a.client.Track(ctx, req)
	if err != nil {
		return TrackResult{}, retryPolicyFor(err)
	}
	return TrackResult{Events: resp.EventsProcessed, Attributes: resp.AttributesProcessed}, nil
}

// KindInvalidRequest is the error type of a Braze call refused before it was
// sent, such as an empty track request: retrying it cannot help.
const KindInvalidRequest = "BrazeInvalidRequest"

// retryPolicyFor turns a Braze error into the application error whose type
// and retryability tell Temporal what to do: refusals fail the sync at
// once, outages are retried with backoff, and a rate limit is retried when
// Braze's window resets.
func retryPolicyFor(err error) error {
	if errors.Is(err, braze.ErrInvalidRequest) {
		return temporal.NewNonRetryableApplicationError(err.Error(), KindInvalidRequest, nil)
	}
	var be *braze.Error
	if !errors.As(err, &be) {
		return err
	}
	if !be.Retryable() {
		return temporal.NewNonRetryableApplicationError(be.Error(), be.Kind(), nil, be.Dropped)
	}
	opts := temporal.ApplicationErrorOptions{}
	if !be.RetryAt.IsZero() {
		opts.NextRetryDelay = max(time.Until(be.RetryAt), time.Second)
	}
	return temporal.NewApplicationErrorWithOptions(be.Error(), be.Kind(), opts)
}
