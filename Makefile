# Data Pipeline Orchestrator — build, run and test.
#
#   make run     install what is missing, build, run the service with its defaults (port 8000)
#   make test    install what is missing, build, run every test (unit, black-box, then black-box on ASan+UBSan)
#
# Variants: `make` (release, build/), `make asan` (ASan+UBSan, build-asan/), `make debug` (build-debug/).

comma    := ,
CC       ?= gcc
PYTHON   := /usr/bin/python3
BUILD    ?= build
MODE     ?= release

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Werror
VERSION  := $(shell cat VERSION)
CPPFLAGS := -Isrc -D_GNU_SOURCE -MMD -MP
CFLAGS_release := -O2 -g
CFLAGS_debug   := -O0 -g3
CFLAGS_asan    := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
CFLAGS   := -std=gnu11 $(WARN) $(CFLAGS_$(MODE)) $(EXTRA_CFLAGS)
LDFLAGS  := $(if $(filter asan,$(MODE)),-fsanitize=address$(comma)undefined)

SERVICE_LIBS := -lh2o -luv -lwslay -lssl -lcrypto -lhiredis -lcurl -lyaml -ljansson -lm
TASK_LIBS    := -ljansson -lm
# pipeline-task runs once per task (25 times in a 12-batch run) for about a millisecond of work: linked statically
# (libc.a from libc6-dev, libjansson.a from libjansson-dev), it starts without the dynamic loader's relocations
# and lookups, a third of its time; static-pie keeps address randomisation. Sanitizer and debug builds stay dynamic
# (ASan and valgrind need a dynamic C library).
TASK_LDFLAGS := $(if $(filter release,$(MODE)),-static-pie)

UTIL_SRC    := $(wildcard src/util/*.c)
SERVICE_SRC := $(filter-out src/task/%,$(wildcard src/*.c src/*/*.c)) $(BUILD)/web_assets.c
TASK_SRC    := $(wildcard src/task/*.c) $(UTIL_SRC)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(patsubst $(BUILD)/%,%,$(1)))

SERVICE_OBJ := $(call obj,$(SERVICE_SRC)) $(BUILD)/obj/web_assets_data.o
TASK_OBJ    := $(call obj,$(TASK_SRC))

.PHONY: all image test-image test-tools asan debug deps deps-test run test unit e2e e2e-asan clean bench node-tools fuzz fuzz-build
.DEFAULT_GOAL := all

all: $(BUILD)/pipeline-orchestrator $(BUILD)/pipeline-task

# programs the black-box tests drive (not part of what `make run` builds)
test-tools: $(BUILD)/tests/kube_probe

asan:
	@$(MAKE) --no-print-directory MODE=asan BUILD=build-asan all
debug:
	@$(MAKE) --no-print-directory MODE=debug BUILD=build-debug all

# V=1 shows whole command lines
Q := $(if $(V),,@)

$(BUILD)/pipeline-orchestrator: $(SERVICE_OBJ)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(SERVICE_LIBS)

$(BUILD)/pipeline-task: $(TASK_OBJ)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(TASK_LDFLAGS) -o $@ $^ $(TASK_LIBS)

# the version is compiled into main.c (--version): a new one rebuilds nothing else but
# and into config.c, whose default APP_IMAGE is pipeline-orchestrator:<VERSION> (the tag `make image` gives)
$(BUILD)/obj/src/main.o $(BUILD)/obj/src/config.o: VERSION
$(BUILD)/obj/src/main.o $(BUILD)/obj/src/config.o: CPPFLAGS += -DPIPELINE_VERSION='"$(VERSION)"'

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# ---- the web assets ---------------------------------------------------------------------------------------------
# The dashboard, the API document and the /docs renderer (swagger-ui-dist from the npm registry, pinned by
# web/vendor/package-lock.json) are compiled into the binary: nothing to ship beside it, nothing from a CDN.
NPM_WEB      := build/npm-web
SWAGGER_DIR  := $(NPM_WEB)/node_modules/swagger-ui-dist
VENDOR_FILES := $(SWAGGER_DIR)/swagger-ui-bundle.js $(SWAGGER_DIR)/swagger-ui.css
WEB_FILES    := $(sort $(wildcard web/*.html web/*.js web/*.css web/*.json web/*.svg))
EMBED_PAIRS  := $(foreach f,$(WEB_FILES),/$(notdir $(f))=$(f)) \
                /vendor/swagger-ui-bundle.js=$(SWAGGER_DIR)/swagger-ui-bundle.js \
                /vendor/swagger-ui.css=$(SWAGGER_DIR)/swagger-ui.css

$(VENDOR_FILES) &: web/vendor/package.json web/vendor/package-lock.json
	@mkdir -p $(NPM_WEB)
	@echo "  NPM     swagger-ui-dist"
	$(Q)cp web/vendor/package.json web/vendor/package-lock.json $(NPM_WEB)/ && \
	    cd $(NPM_WEB) && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	$(Q)touch $(VENDOR_FILES)

$(BUILD)/web_assets.c $(BUILD)/web_assets.S &: scripts/embed.sh $(WEB_FILES) $(VENDOR_FILES)
	@mkdir -p $(BUILD)
	@echo "  EMBED   $(words $(EMBED_PAIRS)) files"
	$(Q)sh scripts/embed.sh $(BUILD)/web_assets $(EMBED_PAIRS)

$(BUILD)/obj/web_assets.o: $(BUILD)/web_assets.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/web_assets_data.o: $(BUILD)/web_assets.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) -c -o $@ $<

# ---- the container image ------------------------------------------------------------------------------------------
# `make image` builds deploy/Dockerfile as $(IMAGE) with docker when its daemon answers, else with podman (runc and
# the ulimits of tests/kube/containers.conf: see there). Base images that no registry gives are made locally
# (scripts/base_images.sh, mmdebstrap). The host's CA bundle goes to the npm step as the build secret `ca` (a
# network whose TLS is intercepted by an authority only the host trusts); the layer cache makes a rebuild of
# unchanged sources take seconds.
# tagged with the VERSION file's number: the tag deploy/k8s/base/kustomization.yaml and APP_IMAGE's default name
IMAGE        ?= pipeline-orchestrator:$(VERSION)
HOST_CA      := $(firstword $(wildcard /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt))
export CONTAINERS_CONF ?= $(CURDIR)/tests/kube/containers.conf
ENGINE       ?= $(shell docker info >/dev/null 2>&1 && echo docker || echo podman)

image:
	@command -v $(ENGINE) >/dev/null || { echo "make image needs podman or docker (apt-get install podman runc)"; exit 1; }
	@sh scripts/base_images.sh $(ENGINE)
	@echo "  IMAGE   $(IMAGE) ($(ENGINE))"
	@mkdir -p $(BUILD)
	$(Q)$(ENGINE) build $(if $(filter podman,$(ENGINE)),--network host --pull=never --layers) \
	    $(if $(HOST_CA),--secret id=ca$(comma)src=$(HOST_CA)) -f deploy/Dockerfile -t $(IMAGE) . \
	    >$(BUILD)/image-build.log 2>&1 || { tail -40 $(BUILD)/image-build.log; exit 1; }

# The image tests/e2e/test_containers.py runs its pods from; without podman or docker those tests skip themselves.
test-image:
	@if command -v podman >/dev/null 2>&1 || docker info >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory image; \
	else echo "  IMAGE   skipped: no podman or docker (tests/e2e/test_containers.py will be skipped)"; fi

# ---- set-up -------------------------------------------------------------------------------------------------
# `make run` installs only what building and running need; `make test` adds the test tools.
BUILD_PACKAGES := gcc libc6-dev make pkg-config libuv1-dev libh2o-dev libwslay-dev libjansson-dev libhiredis-dev \
                  libcurl4-openssl-dev libyaml-dev libssl-dev
TEST_PACKAGES  := libcmocka-dev redis-server valgrind python3-pytest python3-pytest-xdist python3-requests \
                  python3-websockets python3-redis python3-yaml chromium prometheus openssl clang libclang-rt-14-dev \
                  podman runc mmdebstrap

deps:
	@sh scripts/deps.sh $(BUILD_PACKAGES)
	@command -v npm >/dev/null || sh scripts/deps.sh nodejs npm

deps-test: deps
	@sh scripts/deps.sh $(TEST_PACKAGES)
	@command -v kubectl >/dev/null || sh scripts/deps.sh kubernetes-client

run: deps
	@$(MAKE) --no-print-directory all
	./$(BUILD)/pipeline-orchestrator

# ---- tests --------------------------------------------------------------------------------------------------
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
UNIT_LIB_OBJ := $(filter-out $(BUILD)/obj/src/main.o,$(SERVICE_OBJ))

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_LIB_OBJ) $(SERVICE_LIBS) -lcmocka

# The Kubernetes client's test driver (tests/e2e/test_kube_client.py runs it against tests/kube/kube_server.py).
$(BUILD)/tests/kube_probe: tests/kube/kube_probe.c $(UNIT_LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_LIB_OBJ) $(SERVICE_LIBS)

unit: $(UNIT_TESTS)
	@failed=0; for t in $(UNIT_TESTS); do ./$$t || failed=$$((failed + 1)); done; \
	if [ $$failed -ne 0 ]; then echo "$$failed unit test program(s) failed"; exit 1; fi

# Node.js tools of the tests (Playwright, the OpenAPI validator), pinned by tests/node/package-lock.json.
NPM_TESTS := build/npm-tests
$(NPM_TESTS)/node_modules/.installed: tests/node/package.json tests/node/package-lock.json
	@mkdir -p $(NPM_TESTS)
	@echo "  NPM     test tools"
	$(Q)cp tests/node/package.json tests/node/package-lock.json $(NPM_TESTS)/ && \
	    cd $(NPM_TESTS) && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	$(Q)touch $@

node-tools: $(NPM_TESTS)/node_modules/.installed

# The black-box files run E2E_JOBS at a time (pytest-xdist; one file stays in one worker, with its fixtures):
# most of a test is waiting for the service, so 3 fit 2 cores. E2E_JOBS=0 runs them one after another.
E2E_JOBS ?= 3
E2E_PARALLEL = $(if $(filter 0,$(E2E_JOBS)),,-n $(E2E_JOBS) --dist loadfile)

e2e: all test-tools node-tools test-image
	PIPELINE_BUILD=$(BUILD) $(PYTHON) -m pytest -q $(E2E_PARALLEL) tests/e2e $(PYTEST_ARGS)

e2e-asan: node-tools test-image
	@$(MAKE) --no-print-directory MODE=asan BUILD=build-asan all test-tools
	PIPELINE_BUILD=build-asan $(PYTHON) -m pytest -q $(E2E_PARALLEL) tests/e2e $(PYTEST_ARGS)

test: deps-test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory e2e-asan

# libFuzzer targets (tests/fuzz/fuzz_*.c, clang) under ASan+UBSan, each from its seed corpus in
# tests/fuzz/corpus/<name>/ for FUZZ_SECONDS; new inputs go to build-fuzz/corpus/, crashes to build-fuzz/.
# fuzz_task_* link pipeline-task's code, the others the service's.
FUZZ_CC      := clang
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 12
FUZZ_CFLAGS  := -std=gnu11 $(WARN) -Wno-format-nonliteral -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=undefined
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz_obj      = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(1))

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/libservice.a: $(call fuzz_obj,$(filter-out src/main.c src/task/%,$(wildcard src/*.c src/*/*.c)))
	$(Q)rm -f $@ && ar rcs $@ $^
$(FUZZ_BUILD)/libtask.a: $(call fuzz_obj,$(filter-out src/task/main.c,$(wildcard src/task/*.c)) $(UTIL_SRC))
	$(Q)rm -f $@ && ar rcs $@ $^
$(FUZZ_BUILD)/fuzz_task_%: tests/fuzz/fuzz_task_%.c $(FUZZ_BUILD)/libtask.a
	@echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.a,$^) $(TASK_LIBS)
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libservice.a
	@echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.a,$^) $(SERVICE_LIBS)

fuzz-build: $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_NAMES))

fuzz: fuzz-build
	@for t in $(FUZZ_NAMES); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/crashes; echo "  FUZZ    $$t ($(FUZZ_SECONDS) s)"; \
	    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./$(FUZZ_BUILD)/fuzz_$$t \
	        -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=0 \
	        -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t \
	        >$(FUZZ_BUILD)/$$t.log 2>&1 || { tail -60 $(FUZZ_BUILD)/$$t.log; exit 1; }; \
	    grep -h "^#.*DONE" $(FUZZ_BUILD)/$$t.log | tail -1; \
	done

# Performance, compared with a peer in the same run (prints figures, asserts nothing).
# One script per area, each starting this service and its peers, pinned (server CPU 0, load CPU 1), every figure
# the median of at least 3 runs with its range and a ratio; then the plots of docs/PERFORMANCE.md (docs/perf/).
# About 10 minutes. The transcript goes to build/bench/results/bench.txt. bench/run_ws_fanout.sh (the stream
# against FastAPI up to 5,000 clients) is separate: it takes longer.
BENCH_PACKAGES := wrk nginx-light gnuplot-nox python3-fastapi python3-uvicorn python3-uvloop python3-httptools \
                  python3-websockets snakemake strace curl time
bench: all
	@sh scripts/deps.sh $(BENCH_PACKAGES)
	bash bench/run_all.sh

clean:
	rm -rf build build-asan build-debug build-fuzz

-include $(SERVICE_OBJ:.o=.d) $(TASK_OBJ:.o=.d)
-include $(UNIT_TESTS:=.d) $(BUILD)/tests/kube_probe.d
-include $(wildcard $(FUZZ_BUILD)/obj/src/*.d $(FUZZ_BUILD)/obj/src/*/*.d $(FUZZ_BUILD)/*.d)
