# fuzz.mk - the libFuzzer harnesses, built with clang whatever CC the tree
# was configured with.  Run through `make fuzz`, which passes the library's
# sources and the flags configure found; the objects go to $(out), apart
# from the tree's own build.  GNU make.
#
#   make fuzz                   build every target into fuzz/build/
#   make fuzz FUZZ_CC=clang-14  another clang
FUZZ_CC ?= clang
srcdir ?= .
builddir ?= .
out ?= $(builddir)/fuzz/build
TARGETS ?= folded pprof pyframes pylines cfi symtab procfs demangle perfring

SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
CPPFLAGS_F := -I$(srcdir) -I$(builddir) -D_GNU_SOURCE
CFLAGS_F := -std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter -pthread $(SAN) $(DEP_CFLAGS)
LIB_OBJS := $(patsubst %.c,$(out)/obj/%.o,$(filter %.c,$(LIB_SOURCES)))

all: $(TARGETS:%=$(out)/fuzz_%)

$(out)/obj/%.o: $(srcdir)/%.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC   $*.c"
	@$(FUZZ_CC) $(CPPFLAGS_F) $(CFLAGS_F) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(out)/libpertop-fuzz.a: $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

# the harnesses themselves: -Werror, they are ours alone
$(out)/fuzz_%: $(srcdir)/fuzz/fuzz_%.c $(out)/libpertop-fuzz.a
	@echo "  FUZZLD   fuzz_$*"
	@$(FUZZ_CC) $(CPPFLAGS_F) $(CFLAGS_F) -Werror -fsanitize=fuzzer -o $@ $< \
		$(out)/libpertop-fuzz.a $(DEP_LIBS) -lm

.PHONY: all
-include $(LIB_OBJS:.o=.d)
