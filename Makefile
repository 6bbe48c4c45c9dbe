# The README's test command is `make test`; .ci/run calls exactly that.
GO       ?= go
FUZZTIME ?= 30s

SEEDS    ?= 1000
CHAOS    ?= 30m

.PHONY: test fmt vet lint-workflows fuzz bench swarm cross-arch chaos

## test: gofmt check, go vet, actionlint on the workflows, then every test of the module.
test: fmt vet lint-workflows
	$(GO) test ./...

## fmt: fail, listing the files, if gofmt would change any.
fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## lint-workflows: actionlint (pinned in tools/go.mod, a module of its own so the
## main module does not depend on it) on .github/workflows; it runs shellcheck on
## the run: blocks when shellcheck is installed and skips that when not.
lint-workflows:
	$(GO) tool -modfile=tools/go.mod actionlint -no-color $(wildcard .github/workflows/*.yml .github/workflows/*.yaml)

## fuzz: every fuzz target of the module for FUZZTIME each (make fuzz FUZZTIME=60s).
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

## bench: wire-format and checksum benchmarks, medians of 6 runs.
bench:
	scripts/bench.sh ./vsr 'Checksum' 6
	scripts/bench.sh ./vsr 'Encode|Decode|Copy' 6 Copy

## swarm: SEEDS seeds of the simulator, each with its own faults (make swarm SEEDS=5000).
swarm:
	SEEDS=$(SEEDS) scripts/swarm.sh

## cross-arch: a fixed set of seeds on amd64, arm64 and s390x (qemu-user); fails unless every digest is the same.
cross-arch:
	scripts/cross-arch.sh

## chaos: the real-process chaos test for CHAOS of faults, split between 3 and 5 replicas (make chaos CHAOS=2h).
chaos:
	$(GO) test ./chaos -run TestChaos -v -timeout 0 -chaos.duration $(CHAOS)
