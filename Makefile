# auditgraph: make run (try it), make test (every test), make build.
GO ?= go
FUZZTIME ?= 50000x

.PHONY: build run test fuzz bench generate check-generated deps

build:
	$(GO) build -o bin/auditgraph ./cmd/auditgraph

# Serves on 127.0.0.1:8080. With no DATABASE_URL it starts a private
# PostgreSQL cluster, with a demo user and sample records.
run: deps build
	./bin/auditgraph dev

# Every test, against a real PostgreSQL the tests start themselves (or the
# one DATABASE_URL names), then each fuzz target briefly.
test: deps
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(MAKE) --no-print-directory fuzz

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParseBatch$$' -fuzztime=$(FUZZTIME) ./record
	$(GO) test -run='^$$' -fuzz='^FuzzParseSame$$' -fuzztime=$(FUZZTIME) ./record
	$(GO) test -run='^$$' -fuzz='^FuzzParseRange$$' -fuzztime=$(FUZZTIME) ./graph
	$(GO) test -run='^$$' -fuzz='^FuzzTokenForm$$' -fuzztime=$(FUZZTIME) ./auth
	$(GO) test -run='^$$' -fuzz='^FuzzSplitPath$$' -fuzztime=$(FUZZTIME) ./logfile

# The benchmark suite against a server and PostgreSQL it starts itself;
# writes bench/RESULTS.md (or OUT). SCALE sets the records stored for the
# scale figures (make bench SCALE=10000000 OUT=bench/RESULTS-10M.md).
SCALE ?= 200000
OUT ?= bench/RESULTS.md
bench: deps build
	$(GO) run ./bench -scale=$(SCALE) -out=$(OUT)

generate:
	$(GO) tool gqlgen generate

# Fails when the committed gqlgen code is not what gqlgen generates.
check-generated: generate
	@git diff --exit-code -- graph gqlgen.yml >/dev/null && test -z "$$(git status --porcelain -- graph)" \
		|| { git status --short -- graph; echo "graph/: the committed gqlgen code differs from what 'go tool gqlgen generate' produces; run make generate and commit it"; exit 1; }

# PostgreSQL's server binaries (and curl, which the end-to-end test drives
# as the seed's users do): installed with apt-get when missing and
# possible, else a one-line message says what to install.
deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing$$missing with apt-get"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "missing:$$missing; install it (Debian/Ubuntu: sudo apt-get install$$missing) and run make again"; exit 1; \
		fi; \
	fi
