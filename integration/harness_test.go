//go:build integration

// Package integration runs the whole sync against a real Temporal dev server
// (the CLI that `make test` builds into bin/), the real HTTP endpoint and
// the Braze emulator, and checks what Braze received.
package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/extole-braze/extole-braze/brazeemu"
	"github.com/extole-braze/extole-braze/codec"
	"github.com/extole-braze/extole-braze/config"
	"github.com/extole-braze/extole-braze/engine"
	"github.com/extole-braze/extole-braze/extole"
	"github.com/extole-braze/extole-braze/starter"
	"github.com/extole-braze/extole-braze/worker"
	"github.com/extole-braze/extole-braze/workflows"
)

const (
	webhookSecret = "integration-webhook-secret"
	brazeKey      = "integration-braze-key"
	taskQueue     = "extole-braze-it"
	groupID       = "group-from-config"
	personIDKey   = "integration-person-id-key"
	// payloadKey is the base64 of "integration-payload-key-32-bytes".
	payloadKey  = "aW50ZWdyYXRpb24tcGF5bG9hZC1rZXktMzItYnl0ZXM="
	payloadKeys = "it-1:" + payloadKey
)

// stack is what every test shares: one Temporal server, one emulator, one
// worker and one starter, as a deployment would have them.
type stack struct {
	cli          string // the Temporal CLI
	temporalAddr string
	temporal     client.Client
	braze        *brazeemu.Server
	brazeURL     string
	endpoint     string // the starter's POST /extole/events URL
	logs         *syncBuffer
}

var it *stack

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	cli, err := temporalCLI()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	addr, stopServer, err := startTemporal(ctx, cli)
	if err != nil {
		return 0, err
	}
	defer stopServer()

	s, stop, err := startStack(addr)
	if err != nil {
		return 0, err
	}
	defer stop()
	s.cli = cli
	it = s
	code := m.Run()
	if leaks := personalDataIn(s.logs.String()); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the logs of this run hold personal data or secrets: %q\n", leaks)
		return 1, nil
	}
	return code, nil
}

// emailShaped matches anything that looks like an email address.
var emailShaped = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

// personalDataIn returns what the logs of a run must never hold: any email
// address, the names and the secrets the tests use.
func personalDataIn(logs string) []string {
	leaks := emailShaped.FindAllString(logs, 5)
	for _, secret := range []string{"Lovelace", "Ada", webhookSecret, brazeKey, personIDKey, payloadKey} {
		if strings.Contains(logs, secret) {
			leaks = append(leaks, secret)
		}
	}
	return leaks
}

// temporalCLI finds the Temporal CLI that `make test` builds.
func temporalCLI() (string, error) {
	path := os.Getenv("TEMPORAL_CLI")
	if path == "" {
		path = filepath.Join("..", "bin", "temporal")
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("no Temporal CLI at %s: run the tests with `make test`, "+
			"which builds it: %w", path, err)
	}
	return filepath.Abs(path)
}

// searchAttributes are the Keyword search attributes the syncs set, which
// a Temporal server must have registered.
var searchAttributes = []string{workflows.EventTypeKey.GetName(), workflows.EventIDKey.GetName(),
	workflows.ProgramKey.GetName(), workflows.RefusalKey.GetName()}

// startTemporal starts an in-memory Temporal dev server on a free port, with
// the search attributes the sync sets, and waits until it serves.
func startTemporal(ctx context.Context, cli string) (string, func(), error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1",
		"--port", strconv.Itoa(port), "--log-level", "error"}
	for _, key := range searchAttributes {
		args = append(args, "--search-attribute", key+"=Keyword")
	}
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start Temporal dev server: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	if err := waitHealthy(addr, time.Minute); err != nil {
		stop()
		return "", nil, err
	}
	return addr, stop, nil
}

func waitHealthy(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := client.Dial(client.Options{HostPort: addr, Logger: quietLogger()})
		if err == nil {
			_, err = c.CheckHealth(context.Background(), &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Temporal at %s not healthy after %s: %w", addr, limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startStack starts the emulator, a worker and a starter against Temporal at
// addr, configured from environment maps as the real processes are.
func startStack(addr string) (*stack, func(), error) {
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	emu := brazeemu.New(brazeemu.Options{APIKey: brazeKey})
	emuServer := httptest.NewServer(emu)

	env := map[string]string{
		"TEMPORAL_ADDRESS":            addr,
		"TEMPORAL_TASK_QUEUE":         taskQueue,
		"BRAZE_REST_ENDPOINT":         emuServer.URL,
		"BRAZE_API_KEY":               brazeKey,
		"BRAZE_REQUEST_TIMEOUT":       "2s",
		"EXTOLE_WEBHOOK_SECRET":       webhookSecret,
		"PERSON_ID_KEY":               personIDKey,
		"PAYLOAD_KEYS":                payloadKeys,
		"EXTOLE_EVENTS":               "share_link_created,shared,converted,shipped,reward,subscribed,unsubscribed",
		"EXTOLE_REWARD_STATES":        "EARNED,FULFILLED,CANCELED",
		"BRAZE_SUBSCRIPTION_GROUP_ID": groupID,
	}
	ctx := context.Background()
	wcfg, err := config.LoadWorker(ctx, envconfig.MapLookuper(env))
	if err != nil {
		return nil, nil, err
	}
	scfg, err := config.LoadStarter(ctx, envconfig.MapLookuper(env))
	if err != nil {
		return nil, nil, err
	}

	c, err := client.Dial(engine.ClientOptions(wcfg.Temporal, logger))
	if err != nil {
		return nil, nil, err
	}
	workers, err := worker.New(c, wcfg)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range workers {
		if err := w.Start(); err != nil {
			return nil, nil, err
		}
	}
	srv, err := starter.New(c, scfg, logger)
	if err != nil {
		return nil, nil, err
	}
	httpServer := httptest.NewServer(srv.Routes())

	s := &stack{
		temporalAddr: addr,
		temporal:     c,
		braze:        emu,
		brazeURL:     emuServer.URL,
		endpoint:     httpServer.URL + "/extole/events",
		logs:         logs,
	}
	stop := func() {
		httpServer.Close()
		for _, w := range workers {
			w.Stop()
		}
		c.Close()
		emuServer.Close()
	}
	return s, stop, nil
}

// post sends body to the starter, signed with the webhook secret, and
// returns the status and the decoded JSON answer.
func post(t *testing.T, body []byte) (int, map[string]any) {
	t.Helper()
	return postTo(t, it.endpoint, body)
}

// postTo sends body, signed with the webhook secret, to a starter's endpoint.
func postTo(t testing.TB, endpoint string, body []byte) (int, map[string]any) {
	t.Helper()
	return postWithTo(t, endpoint, body, map[string]string{
		extole.SignatureHeader: extole.SignHex(webhookSecret, body),
	})
}

func postWith(t *testing.T, body []byte, headers map[string]string) (int, map[string]any) {
	t.Helper()
	return postWithTo(t, it.endpoint, body, headers)
}

func postWithTo(t testing.TB, endpoint string, body []byte, headers map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var answer map[string]any
	if err := json.Unmarshal(raw, &answer); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, answer
}

// mustJSON encodes v, failing the test on error.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitSync waits for the sync workflow of an event to close and returns
// its result, or the error it failed with.
func waitSync(t *testing.T, eventID string) (workflows.Result, error) {
	t.Helper()
	return waitSyncIn(t, it.temporal, eventID, time.Minute)
}

// waitSyncIn waits, up to limit, for the sync of an event in the Temporal
// that c reaches.
func waitSyncIn(t testing.TB, c client.Client, eventID string, limit time.Duration) (workflows.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var res workflows.Result
	err := c.GetWorkflow(ctx, workflows.ID(eventID), "").Get(ctx, &res)
	if ctx.Err() != nil {
		t.Fatalf("sync of %s did not finish in time", eventID)
	}
	return res, err
}

// workflowExists reports whether any sync was started for an event id.
func workflowExists(t *testing.T, eventID string) bool {
	t.Helper()
	_, err := it.temporal.DescribeWorkflowExecution(context.Background(), workflows.ID(eventID), "")
	return err == nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// quietLogger drops the SDK's lines while the server is still starting.
func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// syncBuffer collects the log lines of every process of the stack.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// withCodec sets opts to encrypt and decrypt payloads with the stack's keys.
func withCodec(opts client.Options) client.Options {
	keys, err := codec.ParseKeys(payloadKeys)
	if err != nil {
		panic(err)
	}
	codec.Apply(&opts, keys)
	return opts
}
