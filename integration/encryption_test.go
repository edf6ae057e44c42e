//go:build integration

package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/extole-braze/extole-braze/codec"
	"github.com/extole-braze/extole-braze/workflows"
)

// uiOrigin is the origin of the Temporal UI the codec server serves here.
const uiOrigin = "http://127.0.0.1:8233"

// The history Temporal stores holds no email or name in the clear; the
// codec server the operator's UI calls decrypts it, and so does the CLI
// given the codec server.
func TestStoredHistoryIsEncryptedAndTheCodecServerDecodesIt(t *testing.T) {
	it.braze.Reset()
	body := event(t, "subscribed", map[string]any{"partner_user_id": "enc-1",
		"email": "ada.lovelace@example.com", "first_name": "Ada", "last_name": "Lovelace"})
	deliver(t, body)
	id := workflows.ID(body["event_id"].(string))

	hist := history(t, id)
	// The wire form holds payload data as it is stored, not in base64.
	stored, err := proto.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"ada.lovelace@example.com", "Lovelace", "Ada"} {
		if bytes.Contains(stored, []byte(plain)) {
			t.Errorf("the stored history holds %q in the clear", plain)
		}
	}
	input := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetInput()
	if len(input.GetPayloads()) == 0 {
		t.Fatal("the sync's first event has no input")
	}
	for _, p := range input.GetPayloads() {
		if got := string(p.GetMetadata()["encoding"]); got != codec.Encoding {
			t.Errorf("input payload encoding %q, want %q", got, codec.Encoding)
		}
	}

	endpoint := startCodecServer(t)
	decoded := decode(t, endpoint, input.GetPayloads())
	if !strings.Contains(decoded, "ada.lovelace@example.com") {
		t.Errorf("the codec server's answer does not hold the email: %s", decoded)
	}

	// The operator's CLI, pointed at the codec server, shows the input.
	out, err := exec.Command(it.cli, "workflow", "show", "--address", it.temporalAddr,
		"--workflow-id", id, "--detailed", "--codec-endpoint", endpoint).CombinedOutput()
	if err != nil {
		t.Fatalf("temporal workflow show: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("ada.lovelace@example.com")) {
		t.Errorf("temporal workflow show --codec-endpoint does not show the decrypted input")
	}
}

// The codec server answers the UI's preflight and refuses other origins.
func TestCodecServerAllowsOnlyTheUI(t *testing.T) {
	endpoint := startCodecServer(t)
	for _, tc := range []struct {
		origin string
		want   int
	}{
		{uiOrigin, http.StatusNoContent},
		{"http://evil.example", http.StatusForbidden},
	} {
		req, _ := http.NewRequest(http.MethodOptions, endpoint+"/decode", nil)
		req.Header.Set("Origin", tc.origin)
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("preflight from %s: %d, want %d", tc.origin, resp.StatusCode, tc.want)
		}
	}
}

// startCodecServer runs the codec-server program with the stack's keys and
// returns its URL.
func startCodecServer(t *testing.T) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(filepath.Join(programs(t), "codec-server"))
	cmd.Env = []string{"CODEC_HTTP_ADDR=" + addr, "CODEC_ALLOW_ORIGIN=" + uiOrigin,
		"PAYLOAD_KEYS=" + payloadKeys}
	cmd.Stdout, cmd.Stderr = it.logs, it.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	endpoint := "http://" + addr
	for range 100 {
		if resp, err := http.Post(endpoint+"/decode", "application/json",
			strings.NewReader(`{"payloads":[]}`)); err == nil {
			resp.Body.Close()
			return endpoint
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the codec server did not come up")
	return ""
}

// decode posts payloads to the codec server as the UI does and returns the
// decoded payloads' data.
func decode(t *testing.T, endpoint string, payloads []*commonpb.Payload) string {
	t.Helper()
	var items []json.RawMessage
	for _, p := range payloads {
		b, err := protojson.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, b)
	}
	body, _ := json.Marshal(map[string]any{"payloads": items})
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/decode", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", uiOrigin)
	req.Header.Set("X-Namespace", "default")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("decode: %d %s", resp.StatusCode, raw)
	}
	var answer struct {
		Payloads []json.RawMessage `json:"payloads"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		t.Fatal(err)
	}
	var data strings.Builder
	for _, item := range answer.Payloads {
		var p commonpb.Payload
		if err := protojson.Unmarshal(item, &p); err != nil {
			t.Fatalf("decoded payload: %v", err)
		}
		if got := string(p.GetMetadata()["encoding"]); got != "json/plain" {
			t.Errorf("decoded payload encoding %q, want json/plain", got)
		}
		fmt.Fprintf(&data, "%s\n", p.GetData())
	}
	return data.String()
}
