// Package starter is the endpoint Extole posts its webhooks to. It
// authenticates each event, checks it, and starts its sync workflow before
// it answers, so that an event answered 200 is durable in Temporal.
package starter

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/extole-braze/extole-braze/config"
	"github.com/extole-braze/extole-braze/extole"
	"github.com/extole-braze/extole-braze/workflows"
)

// startTimeout bounds how long a webhook waits for Temporal before it is
// answered 503, well within the time Extole waits for an answer.
const startTimeout = 10 * time.Second

// The statuses of an answered event.
const (
	StatusAccepted  = "accepted"
	StatusDuplicate = "duplicate"
	StatusSkipped   = "skipped"
)

// Answer is the body of a 200 answer to a webhook.
type Answer struct {
	Status     string `json:"status"`
	WorkflowID string `json:"workflow_id,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// Server receives Extole webhooks and starts their syncs.
type Server struct {
	temporal     client.Client
	taskQueue    string
	dedupeWindow time.Duration
	auth         *extole.Authenticator
	mapper       *extole.Mapper
	logger       *slog.Logger
}

// New returns a server that starts syncs through c, as cfg says.
func New(c client.Client, cfg config.Starter, logger *slog.Logger) (*Server, error) {
	auth, err := extole.NewAuthenticator(cfg.Extole.AuthScheme, cfg.Extole.WebhookSecret)
	if err != nil {
		return nil, err
	}
	return &Server{
		temporal:     c,
		taskQueue:    cfg.Temporal.TaskQueue,
		dedupeWindow: cfg.Temporal.DedupeWindow,
		auth:         auth,
		mapper:       extole.NewMapper(cfg.Extole, cfg.Mapping),
		logger:       logger,
	}, nil
}

// Routes is the HTTP interface: POST /extole/events, GET /healthz and
// GET /readyz.
func (s *Server) Routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(s.logRequests)
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	})
	r.Post("/extole/events", s.receiveEvent)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", s.ready)
	return r
}

func (s *Server) receiveEvent(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, extole.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "body is larger than 1 MiB")
			return
		}
		writeError(w, http.StatusBadRequest, "could not read the body")
		return
	}
	if err := s.auth.Verify(r.Header, body); err != nil {
		s.logger.Warn("webhook refused", "reason", err.Error(), "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	ev, err := extole.Parse(body)
	if err != nil {
		s.logger.Warn("webhook refused", "reason", err.Error())
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	log := s.logger.With("event_id", ev.EventID, "event_type", ev.Type)
	if !s.mapper.Forwarded(ev) {
		log.Info("event skipped: its type is not forwarded")
		writeJSON(w, http.StatusOK, Answer{Status: StatusSkipped,
			Reason: "event type " + ev.Type + " is not forwarded by configuration"})
		return
	}
	sync, err := s.mapper.Map(ev)
	if err != nil {
		log.Warn("webhook refused", "reason", err.Error())
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	sync.RememberFor = s.dedupeWindow

	answer, err := s.start(r.Context(), ev, sync)
	if err != nil {
		log.Error("could not start the sync; Extole will retry", "error", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable,
			"could not record the event in Temporal; retry later")
		return
	}
	log.Info("event "+answer.Status, "workflow_id", answer.WorkflowID)
	writeJSON(w, http.StatusOK, answer)
}

// start starts the event's sync, or finds it started by an earlier delivery
// of the same event.
func (s *Server) start(ctx context.Context, ev extole.Event, sync extole.Sync) (Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	id := workflows.ID(ev.EventID)
	attrs := []temporal.SearchAttributeUpdate{
		workflows.EventTypeKey.ValueSet(ev.Type),
		workflows.EventIDKey.ValueSet(ev.EventID),
	}
	if ev.Program != "" {
		attrs = append(attrs, workflows.ProgramKey.ValueSet(ev.Program))
	}
	_, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                s.taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(attrs...),
	}, workflows.SyncEventName, sync)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		return Answer{Status: StatusDuplicate, WorkflowID: id}, nil
	case err != nil:
		return Answer{}, err
	}
	return Answer{Status: StatusAccepted, WorkflowID: id}, nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		writeError(w, http.StatusServiceUnavailable, "Temporal is not reachable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// logRequests logs one line per request: never a body or a header value.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		began := time.Now()
		next.ServeHTTP(ww, r)
		s.logger.Info("http", "method", r.Method, "path", r.URL.Path, "status", ww.Status(),
			"duration_ms", time.Since(began).Milliseconds())
	})
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
