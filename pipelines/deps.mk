# System packages the build and the tests need (Debian names). 'make deps' installs the
# missing ones as root and prints the exact apt-get line otherwise. One dpkg-query per run.
DEPS_BUILD := gcc make libopenblas-dev libpng-dev libmsgpack-dev
DEPS_TEST  := bats time python3 python3-numpy python3-msgpack dcmtk gnuplot-nox
DEPS       := $(DEPS_BUILD) $(DEPS_TEST) $(DEPS_EXTRA)

deps:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  line="apt-get install -y --no-install-recommends $$(echo $$missing)"; \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing $$(echo $$missing)" >&2; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$line) >&2 || { echo "deps: failed: $$line" >&2; exit 1; }; \
	  else \
	    echo "deps: missing Debian packages; as root run: apt-get update && $$line" >&2; exit 1; \
	  fi; \
	fi
