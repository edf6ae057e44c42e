package config_test

import (
	"context"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sethvargo/go-envconfig"

	"github.com/extole-braze/extole-braze/config"
)

// composeSecrets are the variables docker-compose.yml refuses to start
// without; the tests supply made-up values.
var composeSecrets = map[string]string{
	"BRAZE_API_KEY":         "test-braze-api-key",
	"EXTOLE_WEBHOOK_SECRET": "test-extole-webhook-secret",
	"POSTGRES_PASSWORD":     "test-postgres-password",
	"PERSON_ID_KEY":         "test-person-id-key-0123456789",
	"PAYLOAD_KEYS":          "test-1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}

// composeServices are the services of the stack.
var composeServices = []string{
	"postgresql", "temporal", "temporal-setup", "temporal-ui", "codec-server", "worker", "starter",
}

// searchAttributes are the custom search attributes the workflows set.
var searchAttributes = []string{"ExtoleEventType", "ExtoleEventID", "ExtoleProgram", "BrazeRefusal"}

// minRetention is the shortest namespace retention that still recognises an
// Extole redelivery: Extole keeps a failed event about 7 days.
const minRetention = 8 * 24 * time.Hour

// deliberateOverrides are the variables whose compose value differs from the
// code's default on purpose.
var deliberateOverrides = map[string]bool{
	"TEMPORAL_ADDRESS": true, // the server runs in the temporal service
	"CODEC_HTTP_ADDR":  true, // a container listens on every interface
}

// loadCompose loads ../docker-compose.yml the way docker compose does, with
// env as the environment of the user running it.
func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		// The loader adds COMPOSE_PROJECT_NAME to the map it is given.
		Environment: maps.Clone(env),
	})
}

// role is a process of ours and the variables its configuration reads.
type role struct {
	service string
	vars    []config.Var
	load    func(env map[string]string) error
}

var roles = []role{
	{
		service: "worker",
		vars:    config.Vars(config.Worker{}),
		load: func(env map[string]string) error {
			_, err := config.LoadWorker(context.Background(), envconfig.MapLookuper(env))
			return err
		},
	},
	{
		service: "starter",
		vars:    config.Vars(config.Starter{}),
		load: func(env map[string]string) error {
			_, err := config.LoadStarter(context.Background(), envconfig.MapLookuper(env))
			return err
		},
	},
	{
		service: "codec-server",
		vars:    config.Vars(config.CodecServer{}),
		load: func(env map[string]string) error {
			_, err := config.LoadCodecServer(context.Background(), envconfig.MapLookuper(env))
			return err
		},
	},
}

// TestCompose checks docker-compose.yml against what the code reads and
// serves, so that the stack it describes starts and its parts find each other.
func TestCompose(t *testing.T) {
	overrides := maps.Clone(composeSecrets)
	overrides["TEMPORAL_NAMESPACE"] = "extole-test"
	overrides["TEMPORAL_TASK_QUEUE"] = "extole-braze-test"

	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"secrets only", composeSecrets},
		{"secrets and Temporal overrides", overrides},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := loadCompose(t, tc.env)
			if err != nil {
				t.Fatalf("docker-compose.yml does not load: %v", err)
			}
			checkServices(t, p)
			for _, r := range roles {
				checkRoleEnvironment(t, p, r, tc.env)
			}
			checkTemporalAddresses(t, p)
			checkDatabase(t, p)
			checkTemporalNames(t, p, tc.env)
			checkDependencies(t, p)
			checkStarterPort(t, p)
			checkBuild(t, p)
			checkTemporalSetup(t, p)
			checkStopGracePeriod(t, p)
			checkCodecServer(t, p)
		})
	}
}

// TestComposeRefusesMissingSecret checks that docker compose stops with a
// message naming a secret the user has not set, rather than starting a stack
// that cannot work.
func TestComposeRefusesMissingSecret(t *testing.T) {
	for name := range composeSecrets {
		for _, value := range []*string{nil, new(string)} {
			env := maps.Clone(composeSecrets)
			what := "unset"
			if value == nil {
				delete(env, name)
			} else {
				env[name] = *value
				what = "empty"
			}
			t.Run(name+" "+what, func(t *testing.T) {
				_, err := loadCompose(t, env)
				if err == nil {
					t.Fatalf("docker-compose.yml loads with %s %s; it must refuse to, "+
						"with ${%s:?set %s}", name, what, name, name)
				}
				if !strings.Contains(err.Error(), name) {
					t.Errorf("with %s %s, the error does not name the variable: %v", name, what, err)
				}
			})
		}
	}
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q", name)
	}
	return s
}

// environment returns the variables a service's container gets: those with
// a value. A variable listed without one is passed through from the user's
// environment when set there, and is absent otherwise.
func environment(s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

func checkServices(t *testing.T, p *types.Project) {
	for _, name := range composeServices {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("docker-compose.yml has no service %q; it has %v", name, p.ServiceNames())
		}
	}
}

func checkRoleEnvironment(t *testing.T, p *types.Project, r role, userEnv map[string]string) {
	s := service(t, p, r.service)
	env := environment(s)
	reads := map[string]config.Var{}
	for _, v := range r.vars {
		reads[v.Name] = v
	}

	for _, name := range slices.Sorted(maps.Keys(s.Environment)) {
		if _, ok := reads[name]; !ok {
			t.Errorf("service %s sets %s, which its configuration does not read "+
				"(a typo, or a variable no longer used)", r.service, name)
		}
	}
	for _, v := range r.vars {
		if _, ok := s.Environment[v.Name]; !ok {
			t.Errorf("the %s reads %s, which docker-compose.yml does not list for it; "+
				"give it a value or list it without one to pass it through", r.service, v.Name)
		}
		val, ok := env[v.Name]
		if v.Required && strings.TrimSpace(val) == "" {
			t.Errorf("service %s does not set %s, which the %s requires", r.service, v.Name, r.service)
		}
		if _, isSecret := composeSecrets[v.Name]; isSecret && val != userEnv[v.Name] {
			t.Errorf("service %s sets %s to %q, not to the value from the environment; "+
				"secrets must not be written in docker-compose.yml", r.service, v.Name, val)
		}
		_, userSet := userEnv[v.Name]
		if ok && v.Default != "" && val != v.Default && !deliberateOverrides[v.Name] && !userSet {
			t.Errorf("service %s sets %s=%q by default, but the code's default is %q; "+
				"keep them equal or list it without a value", r.service, v.Name, val, v.Default)
		}
	}
	if err := r.load(env); err != nil {
		t.Errorf("the %s refuses the environment docker-compose.yml gives it: %v", r.service, err)
	}
}

func checkTemporalAddresses(t *testing.T, p *types.Project) {
	for _, name := range p.ServiceNames() {
		addr, ok := environment(p.Services[name])["TEMPORAL_ADDRESS"]
		if !ok {
			continue
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("service %s: TEMPORAL_ADDRESS %q is not host:port", name, addr)
			continue
		}
		target, ok := p.Services[host]
		if !ok {
			t.Errorf("service %s: TEMPORAL_ADDRESS %q names no service of docker-compose.yml",
				name, addr)
			continue
		}
		if port != "7233" || !serves(target, port) {
			t.Errorf("service %s: TEMPORAL_ADDRESS %q: Temporal's frontend port is 7233, "+
				"and service %s must expose it", name, addr, host)
		}
	}
	for _, name := range []string{"worker", "starter", "temporal-setup", "temporal-ui"} {
		if _, ok := environment(service(t, p, name))["TEMPORAL_ADDRESS"]; !ok {
			t.Errorf("service %s does not set TEMPORAL_ADDRESS", name)
		}
	}
}

// serves reports whether a service exposes a container port to the others.
func serves(s types.ServiceConfig, port string) bool {
	if slices.Contains(s.Expose, port) {
		return true
	}
	for _, pc := range s.Ports {
		if pc.Target != 0 && port == itoa(pc.Target) {
			return true
		}
	}
	return false
}

func itoa(n uint32) string {
	return strconv.FormatUint(uint64(n), 10)
}

func checkDatabase(t *testing.T, p *types.Project) {
	db := service(t, p, "postgresql")
	dbEnv := environment(db)
	temporal := environment(service(t, p, "temporal"))
	if host := temporal["POSTGRES_SEEDS"]; host != "postgresql" {
		t.Errorf("temporal: POSTGRES_SEEDS %q does not name the postgresql service", host)
	}
	if temporal["POSTGRES_USER"] != dbEnv["POSTGRES_USER"] ||
		temporal["POSTGRES_PWD"] != dbEnv["POSTGRES_PASSWORD"] {
		t.Errorf("temporal logs in to PostgreSQL with other credentials than postgresql creates")
	}
	if db.HealthCheck == nil || db.HealthCheck.Disable {
		t.Errorf("postgresql has no healthcheck for temporal to wait on")
	}
	dep, ok := service(t, p, "temporal").DependsOn["postgresql"]
	if !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("temporal must wait for postgresql to be healthy")
	}
}

func checkTemporalNames(t *testing.T, p *types.Project, userEnv map[string]string) {
	worker := environment(service(t, p, "worker"))
	starter := environment(service(t, p, "starter"))
	for _, name := range []string{"TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE"} {
		if worker[name] == "" || worker[name] != starter[name] {
			t.Errorf("%s differs: worker %q, starter %q; the starter would start "+
				"workflows no worker runs", name, worker[name], starter[name])
		}
		if want, ok := userEnv[name]; ok && worker[name] != want {
			t.Errorf("%s=%q in the environment, but the worker gets %q", name, want, worker[name])
		}
	}
	ns := worker["TEMPORAL_NAMESPACE"]
	if got := environment(service(t, p, "temporal-setup"))["TEMPORAL_NAMESPACE"]; got != ns {
		t.Errorf("temporal-setup prepares namespace %q, the worker uses %q", got, ns)
	}
	if got := environment(service(t, p, "temporal-ui"))["TEMPORAL_DEFAULT_NAMESPACE"]; got != ns {
		t.Errorf("temporal-ui opens namespace %q, the worker uses %q", got, ns)
	}
}

func checkDependencies(t *testing.T, p *types.Project) {
	for _, name := range p.ServiceNames() {
		for dep := range p.Services[name].DependsOn {
			if _, ok := p.Services[dep]; !ok {
				t.Errorf("service %s depends on %q, which does not exist", name, dep)
			}
		}
	}
	for _, name := range []string{"worker", "starter"} {
		dep, ok := service(t, p, name).DependsOn["temporal-setup"]
		if !ok || dep.Condition != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("service %s must wait for temporal-setup to complete successfully "+
				"(the namespace and search attributes must exist first)", name)
		}
	}
}

func checkStarterPort(t *testing.T, p *types.Project) {
	s := service(t, p, "starter")
	addr := environment(s)["HTTP_ADDR"]
	if addr == "" {
		addr = defaultOf(config.Vars(config.Starter{}), "HTTP_ADDR")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("starter: HTTP_ADDR %q is not host:port", addr)
	}
	for _, pc := range s.Ports {
		if itoa(pc.Target) == port && pc.Published != "" {
			return
		}
	}
	t.Errorf("starter listens on port %s (HTTP_ADDR %q) but publishes %v; Extole could not reach it",
		port, addr, s.Ports)
}

func defaultOf(vars []config.Var, name string) string {
	for _, v := range vars {
		if v.Name == name {
			return v.Default
		}
	}
	return ""
}

func checkBuild(t *testing.T, p *types.Project) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := filepath.Join(root, "Dockerfile")
	text, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatalf("the services build from the repository's Dockerfile: %v", err)
	}
	for _, name := range []string{"worker", "starter", "codec-server"} {
		s := service(t, p, name)
		if s.Build == nil {
			t.Errorf("service %s is not built from the repository (build: .)", name)
			continue
		}
		df := s.Build.Dockerfile
		if df == "" {
			df = "Dockerfile"
		}
		if !filepath.IsAbs(df) {
			df = filepath.Join(s.Build.Context, df)
		}
		if filepath.Clean(s.Build.Context) != root || filepath.Clean(df) != dockerfile {
			t.Errorf("service %s builds %s in %s; want %s in %s",
				name, df, s.Build.Context, dockerfile, root)
		}
		if !strings.Contains(string(text), "./cmd/"+name) {
			t.Errorf("the Dockerfile does not build ./cmd/%s", name)
		}
		bin := "/usr/local/bin/" + name
		if len(s.Command) == 0 || s.Command[0] != bin {
			t.Errorf("service %s runs %q, want %s", name, s.Command, bin)
		}
		if !strings.Contains(string(text), "/usr/local/bin/") {
			t.Errorf("the Dockerfile does not install the binaries in /usr/local/bin/")
		}
	}
}

func checkTemporalSetup(t *testing.T, p *types.Project) {
	s := service(t, p, "temporal-setup")
	script := strings.Join(append(slices.Clone(s.Entrypoint), s.Command...), " ")
	for _, sa := range searchAttributes {
		re := regexp.MustCompile(`--name\s+` + sa + `\s+--type\s+Keyword\b`)
		if !re.MatchString(script) {
			t.Errorf("temporal-setup does not register search attribute %s as Keyword", sa)
		}
	}
	retentions := regexp.MustCompile(`--retention\s+(\S+)`).FindAllStringSubmatch(script, -1)
	if len(retentions) == 0 {
		t.Errorf("temporal-setup does not set the namespace's retention")
	}
	for _, m := range retentions {
		d, err := time.ParseDuration(m[1])
		if err != nil || d < minRetention {
			t.Errorf("temporal-setup sets retention %s; want at least %s, or an Extole "+
				"redelivery starts a second sync", m[1], minRetention)
		}
	}
}

func checkStopGracePeriod(t *testing.T, p *types.Project) {
	s := service(t, p, "worker")
	w, err := config.LoadWorker(context.Background(), envconfig.MapLookuper(environment(s)))
	if err != nil {
		return // reported by checkRoleEnvironment
	}
	grace := 10 * time.Second // Docker's default
	if s.StopGracePeriod != nil {
		grace = time.Duration(*s.StopGracePeriod)
	}
	if grace <= w.StopTimeout {
		t.Errorf("worker: stop_grace_period %s is not longer than WORKER_STOP_TIMEOUT %s; "+
			"Docker would kill it while activities finish", grace, w.StopTimeout)
	}
}

// checkCodecServer checks that the UI decrypts through the codec server: the
// endpoint the browser is given reaches the port the codec server publishes,
// and the codec server lets the UI's origin call it.
func checkCodecServer(t *testing.T, p *types.Project) {
	ui := service(t, p, "temporal-ui")
	cs := service(t, p, "codec-server")
	endpoint, err := url.Parse(environment(ui)["TEMPORAL_CODEC_ENDPOINT"])
	if err != nil || endpoint.Host == "" {
		t.Fatalf("temporal-ui: TEMPORAL_CODEC_ENDPOINT %q is not a URL", environment(ui)["TEMPORAL_CODEC_ENDPOINT"])
	}
	_, listen, err := net.SplitHostPort(environment(cs)["CODEC_HTTP_ADDR"])
	if err != nil {
		t.Fatalf("codec-server: CODEC_HTTP_ADDR: %v", err)
	}
	if !publishes(cs, endpoint.Port(), listen) {
		t.Errorf("temporal-ui decodes through %s, but codec-server does not publish port %s "+
			"for its port %s", endpoint, endpoint.Port(), listen)
	}
	uiPort := ""
	for _, pc := range ui.Ports {
		if itoa(pc.Target) == "8080" {
			uiPort = pc.Published
		}
	}
	want := "http://" + endpoint.Hostname() + ":" + uiPort
	if got := environment(cs)["CODEC_ALLOW_ORIGIN"]; got != want {
		t.Errorf("codec-server allows origin %q; the UI's pages come from %q", got, want)
	}
	for _, s := range []types.ServiceConfig{ui, cs} {
		for _, pc := range s.Ports {
			if pc.HostIP != "127.0.0.1" {
				t.Errorf("service %s publishes port %s on %q; it shows personal data, keep it "+
					"on 127.0.0.1", s.Name, pc.Published, pc.HostIP)
			}
		}
	}
}

// publishes reports whether a service publishes the container port target
// on the host port published.
func publishes(s types.ServiceConfig, published, target string) bool {
	for _, pc := range s.Ports {
		if pc.Published == published && itoa(pc.Target) == target {
			return true
		}
	}
	return false
}
