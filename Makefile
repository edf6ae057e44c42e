# The two commands of the README: `make run` and `make test`.
TEMPORAL_CLI_VERSION := v1.5.1
BIN := $(CURDIR)/bin
TEMPORAL := $(BIN)/temporal

FUZZTIME ?= 60s

.PHONY: run test build lint fuzz bench

# Runs Temporal (with its UI), the Braze emulator when no Braze key is set,
# the worker and the starter, until Ctrl-C.
run: $(TEMPORAL) build
	./scripts/run-dev

# Runs every check and test: formatting, vet, unit, workflow and integration
# tests (against a real Temporal dev server), with the race detector.
test: $(TEMPORAL) lint
	TEMPORAL_CLI=$(TEMPORAL) go test -race -count=1 -tags integration -timeout 30m ./...

lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet -tags integration ./...

build:
	GOBIN=$(BIN) go install ./cmd/...

# Measures the sync's throughput against the bare-Temporal ceiling, on one
# Temporal dev server in one run, and prints both; not part of `make test`.
bench: $(TEMPORAL)
	TEMPORAL_CLI=$(TEMPORAL) go test -tags integration -run '^$$' -bench Throughput \
	  -benchtime 1x -timeout 30m ./integration/

# Runs each fuzzer for FUZZTIME and prints how many inputs it tried; not part
# of `make test`. A failing input is written to testdata/fuzz/, to commit.
fuzz:
	go test ./extole -run '^$$' -fuzz '^FuzzParseAndMap$$' -fuzztime $(FUZZTIME)
	go test ./extole -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME)

# The Temporal CLI, which embeds the dev server and its UI, built once from
# the Go module proxy (a few minutes cold) and cached in bin/.
$(TEMPORAL):
	GOBIN=$(BIN) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)
