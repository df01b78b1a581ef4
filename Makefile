# vrwxctl — see README.md. `make demo` and `make test` are the two commands a newcomer needs.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG := github.com/vrwx/vrwxctl/pkg/buildinfo
LDFLAGS := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).Date=$(DATE)
export CGO_ENABLED ?= 0

.PHONY: all build tools tools-chain test vet tidy-check staticcheck lint demo devchain devchain-stop devapi devapi-stop bench contracts docs release-check clean

all: build

## build: compile bin/vrwxctl and bin/vrwxctl-litestream (the litestream engine it runs for replicas)
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/vrwxctl ./cmd/vrwxctl
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/vrwxctl-litestream ./cmd/vrwxctl-litestream

## tools: install what the tests use: the pinned anvil, cast, solc-js, OpenZeppelin, OP-stack
##   artifacts (tools/node_modules), staticcheck (tools/bin), and as root sqlite3 and prometheus
tools:
	@scripts/tools.sh

## tools-chain: install only what the demo and devchain use: the pinned anvil
tools-chain:
	@scripts/tools.sh chain

## vet: go vet
vet:
	$(GO) vet ./...

## tidy-check: fail when go.mod/go.sum are not what `go mod tidy` makes them
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy" >&2; exit 1; }

## staticcheck: the pinned staticcheck (installed by make tools), zero findings allowed
staticcheck: tools
	tools/bin/staticcheck ./...

## lint: go vet, tidy-check, staticcheck
lint: vet tidy-check staticcheck

## test: install test tools, lint (vet, tidy modules, staticcheck), and run every test (anvil tests included)
test: tools lint
	$(GO) test -count=1 ./...

## demo: install anvil (nothing else), start a local chain with the VRWX test contracts and the
##   API stand-in on free ports, run the tour (status, health, a key rotation), stop them
demo: tools-chain build
	@scripts/demo.sh

## devchain: leave a local chain running (127.0.0.1:$(PORT), default 8545) with the test contracts
##   deployed; its deployment lands in .devchain/deployment.json of this checkout, where the
##   local profile finds it (elsewhere: VRWXCTL_DEPLOYMENT, which it prints)
PORT ?= 8545
devchain: tools-chain
	$(GO) run ./scripts/devchain --port $(PORT)

## devchain-stop: stop the chain that `make devchain` started
devchain-stop:
	$(GO) run ./scripts/devchain --stop

## devapi: leave a stand-in for the VRWX API running (GET /health on 127.0.0.1:$(API_PORT), default
##   3000, the local profile's api_url), relaying with the key behind SIGNER (a signer reference,
##   default env://RELAYER_PRIVATE_KEY); run again to restart it, e.g. onto another SIGNER. Its pid
##   is in .devchain/devapi.pid: `kill -HUP PID` reloads the key, as a restart would. On another
##   API_PORT, vrwxctl finds it with `export VRWX_API_URL=http://127.0.0.1:PORT` (it prints the line)
SIGNER ?= env://RELAYER_PRIVATE_KEY
API_PORT ?= 3000
devapi:
	@scripts/devapi.sh start '$(SIGNER)' $(API_PORT)

## devapi-stop: stop the API stand-in that `make devapi` started
devapi-stop:
	@scripts/devapi.sh stop

## bench: benchmarks against cast and sqlite3, side by side, with ratios; package init and
##   start-up beside another build with BENCH_FLAGS='-ref REV' (a git revision or a binary)
BENCH_FLAGS ?=
bench: tools build
	@scripts/bench.sh $(BENCH_FLAGS)

## contracts: recompile the Solidity test doubles (artifacts are committed)
contracts: tools
	node scripts/compile-contracts.mjs

## docs: regenerate the command reference (docs/cli) and man pages (docs/man) from the command tree
docs:
	$(GO) run ./scripts/gendocs

## release-check: validate .goreleaser.yaml with the pinned goreleaser (built by `go run` from the
##   Go module proxy and cached, like the project's other Go tools: nothing on PATH is used)
GORELEASER_VERSION := v2.15.1
GORELEASER := $(GO) run github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)
release-check:
	$(GORELEASER) check

clean:
	rm -rf bin dist
