# zembed: text -> ids -> hidden states -> vectors, as separate processes over ZeroMQ.
#
#   make            build every executable into bin/ (release: -O3 -march=native)
#   make run        install what is missing, build, start the pipeline on the default model
#   make test       install what is missing, build, run every test suite (also under ASan/UBSan, valgrind)
#   make deps       install Debian packages (idempotent; apt-get as root, sudo otherwise)
#   make BUILD=asan / BUILD=debug   the same tree built with sanitizers / without optimisation
#   make BUILD=valgrind             the tree tests/run.sh runs under valgrind: -O3 like release but
#                                   -march=$(VALGRIND_MARCH) (x86-64-v3), since valgrind 3.19 cannot
#                                   decode the AVX-512 that -march=native emits on AVX-512 CPUs
#
# Layout: every .c in a module folder goes into build/$(BUILD)/libzembed.a, except
#   *_main.c  -> an executable named after the file (tokenizer_svc/tokenizer_svc_main.c -> bin/tokenizer_svc)
#   *_test.c  -> a test binary (build/$(BUILD)/tests/X_test), run by tests/run.sh
#   *_fuzz.c  -> a libFuzzer target (make fuzz)
# so adding a file never needs an edit here. File names are unique across modules (prefixes: tok_,
# enc_, pool_, wire_, zb_ ...), because objects share one folder.

MODULES  := common hub tokenizer_svc encoder_svc pooler_svc model gateway viz tools cli fuzz

# Layering, enforced by the include path each file is compiled with: a folder's files see their own
# headers, those of the folders on its USES_ row, and, for its programs (*_main.c, *_test.c,
# *_fuzz.c), those on its PROGS_USE_ row too. An #include across a line not drawn here fails to
# compile. A new folder = its name in MODULES + one USES_ row (+ a PROGS_USE_ row if its programs
# reach higher), and a line in docs/HACKING.md's layout table. Nothing of ours is below common/.
#   library folder     may include (library code)                          programs also
USES_common        :=
USES_hub           := common
USES_tokenizer_svc := common
USES_pooler_svc    := common
USES_encoder_svc   := common hub pooler_svc
PROGS_USE_encoder_svc   := model tools
PROGS_USE_tokenizer_svc := model
PROGS_USE_pooler_svc    := model
USES_model         := common tokenizer_svc encoder_svc pooler_svc
PROGS_USE_model         := tools
USES_gateway       := common
USES_viz           := common
USES_tools         := common encoder_svc
#   the top: the CLI and the programs-only folders
USES_cli           := common hub tokenizer_svc encoder_svc pooler_svc model viz tools
USES_fuzz          := common hub tokenizer_svc encoder_svc pooler_svc model viz
USES_bench         := common tokenizer_svc encoder_svc pooler_svc model

$(foreach m,$(MODULES) bench,$(if $(filter undefined,$(origin USES_$(m))),\
    $(error $(m)/ has no USES_$(m) row in the Makefile's layering table)))
src_dir   = $(patsubst %/,%,$(dir $1))
is_prog   = $(filter %_main.c %_test.c %_fuzz.c bench/%,$1)
# -I flags for one source file: its folder, its row, and the programs' row when it is a program
includes_for = $(addprefix -I,$(call src_dir,$1) $(USES_$(call src_dir,$1)) \
                 $(if $(call is_prog,$1),$(PROGS_USE_$(call src_dir,$1))))
BUILD    ?= release
CC       ?= cc

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
ifeq ($(CI),true)
WARN     += -Werror
endif
DEPFLAGS  = -MMD -MP

ifeq ($(BUILD),asan)
OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDOPT    := -fsanitize=address,undefined
BINDIR   := build/asan/bin
else ifeq ($(BUILD),debug)
OPT      := -O0 -g
LDOPT    :=
BINDIR   := build/debug/bin
else ifeq ($(BUILD),release)
OPT      := -O3 -g -march=native
LDOPT    :=
BINDIR   := bin
else ifeq ($(BUILD),valgrind)
VALGRIND_MARCH ?= x86-64-v3
OPT      := -O3 -g -march=$(VALGRIND_MARCH)
LDOPT    :=
BINDIR   := build/valgrind-$(VALGRIND_MARCH)/bin
else
$(error BUILD must be release, debug, asan or valgrind)
endif

CFLAGS   += -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(OPT) $(DEPFLAGS)
LDLIBS   := -lzmq -lmsgpackc -lopenblas -ldnnl -lgomp -lutf8proc -ljansson -lonig -lpcre2-8 -lcurl -lcrypto -lstemmer -lmicrohttpd -lm -lpthread
LDFLAGS  += -pthread $(LDOPT)

# the valgrind tree is one per -march (make does not track flags: a new -march must not reuse objects)
OUT      := build/$(BUILD)$(if $(filter valgrind,$(BUILD)),-$(VALGRIND_MARCH))
OBJDIR   := $(OUT)/obj
TESTDIR  := $(OUT)/tests

ALL_SRC  := $(foreach m,$(MODULES),$(wildcard $(m)/*.c))
MAIN_SRC := $(filter %_main.c,$(ALL_SRC))
TEST_SRC := $(filter %_test.c,$(ALL_SRC))
FUZZ_SRC := $(filter %_fuzz.c,$(ALL_SRC))
LIB_SRC  := $(filter-out $(MAIN_SRC) $(TEST_SRC) $(FUZZ_SRC),$(ALL_SRC))

DUPS := $(sort $(foreach f,$(notdir $(ALL_SRC)),$(if $(filter-out 1,$(words $(filter %/$(f),$(ALL_SRC)))),$(f))))
ifneq ($(DUPS),)
$(error source file names must be unique across modules: $(DUPS))
endif


obj       = $(addprefix $(OBJDIR)/,$(notdir $(1:.c=.o)))
LIB      := $(OUT)/libzembed.a
BINS     := $(addprefix $(BINDIR)/,$(notdir $(MAIN_SRC:_main.c=)))
TESTS    := $(addprefix $(TESTDIR)/,$(notdir $(TEST_SRC:.c=)))
BENCH_SRC:= $(wildcard bench/*.c)
BENCHES  := $(addprefix $(OUT)/bench/,$(notdir $(BENCH_SRC:.c=)))
FUZZ_CC  ?= clang
FUZZERS  := $(addprefix build/fuzz/,$(notdir $(FUZZ_SRC:.c=)))

.PHONY: all tests deps test-deps test run bench benches fuzz clean
.SECONDARY:
.DEFAULT_GOAL := all

all: $(BINS) tests
tests: $(TESTS)

# One explicit rule per source (not vpath: a stale dependency file naming a source's old folder
# would make vpath pick that path).
define compile_rule
$(OBJDIR)/$(notdir $(1:.c=.o)): $(1) | $(OBJDIR)
	$$(CC) $$(CFLAGS) $(call includes_for,$(1)) -c $$< -o $$@
endef
$(foreach s,$(ALL_SRC),$(eval $(call compile_rule,$(s))))

$(LIB): $(call obj,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/%: $(OBJDIR)/%_main.o $(LIB) | $(BINDIR)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(TESTDIR)/%_test: $(OBJDIR)/%_test.o $(LIB) | $(TESTDIR)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# The probe tests/run.sh runs under valgrind before the valgrind pass (see tests/valgrind_probe.c).
$(OUT)/valgrind_probe: tests/valgrind_probe.c | $(OUT)
	$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@

# Benchmarks (bench/*.c): built on demand by `make benches`, never by `make` or tests.
$(OUT)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call includes_for,$<) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# libFuzzer targets: every *_fuzz.c linked with the library, all built by clang with coverage
# instrumentation and ASan+UBSan. Objects are compiled once for all targets (build/fuzz/obj) and
# rebuilt when a header they include changes.
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined
FUZZ_OBJ   := build/fuzz/obj

define fuzz_compile_rule
$(FUZZ_OBJ)/$(notdir $(1:.c=.o)): $(1)
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_FLAGS) $(call includes_for,$(1)) -fsanitize=fuzzer-no-link -MMD -MP -c $$< -o $$@
endef
$(foreach s,$(LIB_SRC) $(FUZZ_SRC),$(eval $(call fuzz_compile_rule,$(s))))

build/fuzz/libzembed.a: $(addprefix $(FUZZ_OBJ)/,$(notdir $(LIB_SRC:.c=.o)))
	@rm -f $@
	ar rcs $@ $^

build/fuzz/%_fuzz: $(FUZZ_OBJ)/%_fuzz.o build/fuzz/libzembed.a
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $< build/fuzz/libzembed.a $(LDLIBS) -o $@

$(OUT) $(OBJDIR) $(BINDIR) $(TESTDIR):
	@mkdir -p $@

deps:
	@deploy/install-deps.sh

test-deps: deps
	@deploy/install-deps.sh --test-peers

test: test-deps
	@tests/run.sh

run: deps all
	@deploy/zembed-up

benches: $(BENCHES)

bench: all benches
	@bench/run.sh

fuzz: $(FUZZERS)

clean:
	rm -rf build bin

# A source that moved to another folder is still named by old dependency files: a missing .c is
# then no error, and the object is rebuilt from the file's new place (its rule's first source).
%.c: ;

-include $(wildcard $(OBJDIR)/*.d)
-include $(wildcard $(FUZZ_OBJ)/*.d)

# The pages' scripts and stylesheet are compiled into viz_assets.o with .incbin (viz/viz_assets.c).
$(OBJDIR)/viz_assets.o $(FUZZ_OBJ)/viz_assets.o: $(wildcard viz/*.js viz/*.css)

# The walk-through pages (ids, tokenization, heatmaps, vocabulary map) in build/demo/.
.PHONY: demo
demo: all
	@deploy/make-demo build/demo
