package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/extole-braze/extole-braze/brazeemu"
)

func TestLoadConfig(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want Config
	}{
		{"defaults", nil, Config{Addr: "127.0.0.1:9090", APIKey: "dev-braze-key"}},
		{"set", map[string]string{"BRAZEEMU_ADDR": ":8080", "BRAZEEMU_API_KEY": "k"},
			Config{Addr: ":8080", APIKey: "k"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := loadConfig(func(k string) string { return c.env[k] }); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestLogRequestHidesPersonalData(t *testing.T) {
	var out bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&out, nil))
	logRequest(logger, brazeemu.Request{
		Method: http.MethodPost,
		Path:   brazeemu.PathTrack,
		Status: 201,
		Body: []byte(`{"attributes":[{"external_id":"u1",` +
			`"email":"ann@example.com","first_name":"Ann"}]}`),
		Objects: map[string]int{"attributes": 1, "events": 2},
	})
	line := out.String()
	for _, secret := range []string{"ann@example.com", "Ann", "u1"} {
		if strings.Contains(line, secret) {
			t.Errorf("log line holds %q: %s", secret, line)
		}
	}
	for _, want := range []string{"path=/users/track", "status=201", "attributes=1", "events=2"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %q: %s", want, line)
		}
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&out, nil))
	go func() { done <- run(ctx, Config{Addr: "127.0.0.1:0", APIKey: "k"}, logger) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("run did not stop")
	}
	if !strings.Contains(out.String(), "Braze EMULATOR listening on http://127.0.0.1:") {
		t.Errorf("no start line: %s", out.String())
	}
}
