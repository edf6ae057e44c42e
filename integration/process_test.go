//go:build integration

package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/extole-braze/extole-braze/brazeemu"
)

// processes is a deployment made of the real programs: a Temporal dev
// server on a SQLite file, which a test can kill and start again, and the
// worker and starter binaries, which a test can kill with SIGKILL.
type processes struct {
	t        *testing.T
	port     int
	dbFile   string
	env      []string
	braze    *brazeemu.Server
	endpoint string
	client   client.Client

	temporal, worker, starter *exec.Cmd
}

// syncTimeout is how long a test waits for a sync whose worker or server
// died, or whose Braze was down for minutes: a step of a dead worker is tried
// again after its 30 s timeout, and retries back off up to 5 minutes apart.
const syncTimeout = 6 * time.Minute

// startProcesses starts Temporal, the emulator, the worker and the starter.
func startProcesses(t *testing.T) *processes {
	t.Helper()
	bin := programs(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	httpPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	emu := brazeemu.New(brazeemu.Options{APIKey: brazeKey})
	emuServer := httptest.NewServer(emu)
	t.Cleanup(emuServer.Close)

	p := &processes{
		t:        t,
		port:     port,
		dbFile:   filepath.Join(t.TempDir(), "temporal.db"),
		braze:    emu,
		endpoint: fmt.Sprintf("http://127.0.0.1:%d/extole/events", httpPort),
	}
	p.env = append(programEnv(p.temporalAddr(), httpPort, emuServer.URL),
		"TEMPORAL_TASK_QUEUE="+taskQueue,
		"BRAZE_REQUEST_TIMEOUT=2s",
		"WORKER_STOP_TIMEOUT=5s",
	)
	p.startTemporal()
	// The worker and the starter refuse a namespace that forgets closed
	// syncs within the dedupe window, as the dev stack's does by default.
	p.cli("operator", "namespace", "update", "--retention", "192h", "default")

	p.client, err = client.Dial(withCodec(client.Options{HostPort: p.temporalAddr(),
		Logger: quietLogger()}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.client.Close)

	p.worker = p.start(filepath.Join(bin, "worker"))
	p.starter = p.start(filepath.Join(bin, "starter"))
	p.waitStarter()
	t.Cleanup(func() {
		for _, cmd := range []*exec.Cmd{p.starter, p.worker, p.temporal} {
			stop(cmd, syscall.SIGTERM)
		}
	})
	return p
}

// programEnv is what the worker and the starter need to run against the
// Temporal at temporalAddr and the Braze emulator at brazeURL, the starter
// listening on httpPort.
func programEnv(temporalAddr string, httpPort int, brazeURL string) []string {
	return []string{
		"TEMPORAL_ADDRESS=" + temporalAddr,
		"HTTP_ADDR=127.0.0.1:" + strconv.Itoa(httpPort),
		"BRAZE_REST_ENDPOINT=" + brazeURL,
		"BRAZE_API_KEY=" + brazeKey,
		"EXTOLE_WEBHOOK_SECRET=" + webhookSecret,
		"PERSON_ID_KEY=" + personIDKey,
		"PAYLOAD_KEYS=" + payloadKeys,
	}
}

func (p *processes) temporalAddr() string {
	return "127.0.0.1:" + strconv.Itoa(p.port)
}

// startTemporal starts the dev server on the stack's database file and port,
// as `make run` does, and waits until it serves.
func (p *processes) startTemporal() {
	p.t.Helper()
	args := []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1",
		"--port", strconv.Itoa(p.port), "--db-filename", p.dbFile,
		"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=1",
		"--log-level", "error"}
	for _, key := range searchAttributes {
		args = append(args, "--search-attribute", key+"=Keyword")
	}
	cmd := exec.Command(it.cli, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start Temporal: %v", err)
	}
	p.temporal = cmd
	if err := waitHealthy(p.temporalAddr(), time.Minute); err != nil {
		p.t.Fatal(err)
	}
}

// cli runs the Temporal CLI against the stack's server.
func (p *processes) cli(args ...string) {
	p.t.Helper()
	out, err := exec.Command(it.cli, append(args, "--address", p.temporalAddr())...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("temporal %v: %v\n%s", args, err, out)
	}
}

// start runs one of our programs, its log lines joining the run's logs,
// which must never hold personal data.
func (p *processes) start(path string) *exec.Cmd {
	p.t.Helper()
	cmd := exec.Command(path)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = it.logs, it.logs
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", path, err)
	}
	return cmd
}

func (p *processes) waitStarter() {
	p.t.Helper()
	health := p.endpoint[:len(p.endpoint)-len("/extole/events")] + "/healthz"
	for range 100 {
		if resp, err := http.Get(health); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatal("the starter did not come up")
}

// stop signals a process and waits for it to end.
func stop(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd == nil || cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	_ = cmd.Wait()
}

// waitAll waits for every sync and counts, in Braze, what arrived.
func (p *processes) waitAll(ids []string) tally {
	p.t.Helper()
	waitAll(p.t, p.client, ids, syncTimeout)
	return countIn(p.braze, ids)
}

// syncsInFlight posts n events while Braze holds every call for a second
// and then fails it without applying it, and returns once half of them have
// a call in flight, so that a test can kill a process in their midst.
func (p *processes) syncsInFlight(n int) []string {
	p.t.Helper()
	p.braze.Inject(brazeemu.Fault{Path: brazeemu.PathTrack, Status: http.StatusServiceUnavailable,
		Delay: time.Second})
	ids := postEvents(p.t, p.endpoint, n)
	p.waitTracks(n / 2)
	return ids
}

// waitTracks waits until Braze has been sent at least n track requests.
func (p *processes) waitTracks(n int) {
	p.t.Helper()
	for range 300 {
		if p.braze.RequestCount(brazeemu.PathTrack) >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("Braze saw %d track requests, want %d", p.braze.RequestCount(brazeemu.PathTrack), n)
}

// The worker is killed with SIGKILL while its Braze calls are in flight;
// a new worker takes the syncs over and every event reaches Braze once.
func TestWorkerKilledMidSyncLosesNothing(t *testing.T) {
	t.Parallel() // with the other tests of a deployment of its own
	p := startProcesses(t)
	ids := p.syncsInFlight(8)

	stop(p.worker, syscall.SIGKILL)
	p.braze.ClearFaults()
	p.worker = p.start(filepath.Join(programs(t), "worker"))

	got := p.waitAll(ids)
	report(t, "worker killed with SIGKILL mid-sync", got)
	if got.delivered != len(ids) || got.duplicated != 0 {
		t.Fatalf("%+v, want every event once", got)
	}
}

// The Temporal server is killed with syncs in flight. While it is down the
// starter answers 503, never 200, so Extole keeps those events; once it is
// back on its database, every accepted event, and every event Extole
// retries, reaches Braze once.
func TestTemporalRestartLosesNothing(t *testing.T) {
	t.Parallel()
	p := startProcesses(t)
	ids := p.syncsInFlight(8)

	stop(p.temporal, syscall.SIGKILL)
	refused := make([][]byte, 3)
	var wg sync.WaitGroup
	for i := range refused {
		body := event(t, "converted", map[string]any{"partner_user_id": "proc-down-" + newEventID(t)})
		refused[i] = mustJSON(t, body)
		ids = append(ids, body["event_id"].(string))
		wg.Go(func() {
			if status, answer := postTo(t, p.endpoint, refused[i]); status != http.StatusServiceUnavailable {
				t.Errorf("with Temporal down: %d %v, want 503", status, answer)
			}
		})
	}
	wg.Wait()

	p.braze.ClearFaults()
	p.startTemporal()
	// Extole retries what was refused.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, body := range refused {
		for {
			status, answer := postTo(t, p.endpoint, body)
			if status == http.StatusOK && answer["status"] == "accepted" {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("retry after the restart: %d %v", status, answer)
			}
			time.Sleep(time.Second)
		}
	}

	got := p.waitAll(ids)
	report(t, fmt.Sprintf("Temporal killed and restarted, %d refused with 503 meanwhile",
		len(refused)), got)
	if got.delivered != len(ids) || got.duplicated != 0 {
		t.Fatalf("%+v, want every event once", got)
	}
}

// Braze fails every call for three minutes, long enough for the retries to
// back off to minutes apart; once it recovers, every event arrives once.
func TestLongBrazeOutageLosesNothing(t *testing.T) {
	t.Parallel()
	p := startProcesses(t)
	p.braze.Inject(brazeemu.Fault{Path: brazeemu.PathTrack, Status: http.StatusServiceUnavailable})
	ids := postEvents(t, p.endpoint, 10)
	time.Sleep(3 * time.Minute)
	failed := p.braze.RequestCount(brazeemu.PathTrack)
	p.braze.ClearFaults()

	got := p.waitAll(ids)
	report(t, fmt.Sprintf("Braze answering 503 for 3 minutes (%d calls failed)", failed), got)
	if got.delivered != len(ids) || got.duplicated != 0 {
		t.Fatalf("%+v, want every event once", got)
	}
}

var (
	buildOnce sync.Once
	builtDir  string
	buildErr  error
)

// programs builds the worker, the starter and the codec server once per run and returns the
// folder that holds them.
func programs(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		builtDir, buildErr = os.MkdirTemp("", "extole-braze-programs-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", builtDir, "./cmd/worker", "./cmd/starter",
			"./cmd/codec-server")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtDir
}

// The worker and the starter refuse to run on a namespace that forgets
// closed syncs before DEDUPE_WINDOW ends (the dev server's default keeps
// them a day): a redelivery would start a second sync.
func TestProgramsRefuseAShortRetention(t *testing.T) {
	httpPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	env := programEnv(it.temporalAddr, httpPort, it.brazeURL)
	for _, program := range []string{"worker", "starter"} {
		t.Run(program, func(t *testing.T) {
			var out bytes.Buffer
			cmd := exec.Command(filepath.Join(programs(t), program))
			cmd.Env = env
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				t.Fatalf("%s still runs on a namespace keeping closed workflows a day", program)
			}
			if err == nil {
				t.Fatalf("%s exited 0", program)
			}
			for _, want := range []string{"DEDUPE_WINDOW", "temporal operator namespace update --retention 192h -n default"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("%s says %q, without %q", program, out.String(), want)
				}
			}
		})
	}
}
