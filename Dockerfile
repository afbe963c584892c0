# tickwire image: a Debian 12 build stage that installs only what building
# `tickwire` needs (scripts/setup with TICKWIRE_SETUP_BUILD_ONLY=1: no tests,
# benchmarks, fuzzing or npm peers) and builds the release binary, then a slim
# runtime stage holding only the binary, its shared libraries and the configs.
#
#   podman build -t tickwire .            (or docker build with BuildKit)
#   podman run --rm -v tickwire-data:/data -p 127.0.0.1:9464:9464 tickwire
#   podman run --rm -v tickwire-data:/data tickwire verify /data
#
# The builder must skip the stages the target does not use (podman/buildah
# and BuildKit do): the legacy `docker build` builds `prebuilt` too, which
# needs a ./tickwire in the context (scripts/test-container supplies one).
#
# It runs as uid:gid 10001:10001 (numeric, for runAsNonRoot); a bind-mounted
# host directory for /data must be writable by that uid. docs/operations.md
# describes the image, its configuration and its health check.
#
# Base images are arguments so that a locally imported Debian image can stand in
# for the registry one (scripts/test-container does that; see
# ../shared/STACK.md, "Building and running the container here").
ARG BUILD_IMAGE=debian:bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# Runtime packages: the owner (dpkg -S) of every shared library `ldd tickwire`
# lists, libprotobuf-c1 coming in through libnats; plus ca-certificates, the
# system store that wss peers are verified against. The build stage fails if
# the binary needs a library from a package outside this list.
ARG RUNTIME_PACKAGES="libabsl20220623 libcapnp-0.9.2 libfmt9 libnats3.4 libprotobuf-c1 \
libsimdjson14 libspdlog1.10 libssl3 libtomlplusplus3 libstdc++6 libgcc-s1 ca-certificates"

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# The toolchain layer depends only on the setup script.
COPY scripts/setup scripts/setup
RUN TICKWIRE_SETUP_BUILD_ONLY=1 scripts/setup && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake cmake
COPY proto proto
COPY middleware middleware
COPY journal journal
COPY config config
COPY connector connector
RUN cmake --preset release -DTICKWIRE_BUILD_TESTS=OFF -DTICKWIRE_BUILD_BENCH=OFF -DTICKWIRE_BUILD_FUZZ=OFF \
 && cmake --build --preset release --target tickwire \
 && strip build/release/connector/tickwire
ARG RUNTIME_PACKAGES
# Every library the binary loads must come from a package installed below
# (libc6 is part of every Debian image).
RUN set -eu; \
    for lib in $(ldd build/release/connector/tickwire | awk '$2 == "=>" { print $3 }'); do \
      real=$(readlink -f "$lib"); \
      pkg=$( (dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}") | head -n1 | cut -d: -f1); \
      case " libc6 $RUNTIME_PACKAGES " in \
        *" $pkg "*) ;; \
        *) echo "tickwire needs $lib from package '$pkg': add it to RUNTIME_PACKAGES" >&2; exit 1 ;; \
      esac; \
    done

# The runtime image without the binary: shared by the two stages below.
FROM ${RUNTIME_IMAGE} AS runtime-base
ARG RUNTIME_PACKAGES
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/* /var/log/apt /var/log/dpkg.log
RUN groupadd --gid 10001 tickwire \
 && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin tickwire \
 && install -d -o 10001 -g 10001 -m 0750 /data
COPY config/*.toml /etc/tickwire/
WORKDIR /data
VOLUME ["/data"]
EXPOSE 9464
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["tickwire", "health", "http://127.0.0.1:9464/healthz"]
ENTRYPOINT ["tickwire"]
CMD ["run", "-c", "/etc/tickwire/container.toml"]

# prebuilt (`--target prebuilt`): the runtime image around a binary already
# built on a Debian 12 host from these sources, taken from the build context
# as ./tickwire. CI uses it (scripts/test-container) with the binary its own
# release build made and tested, so the image is checked without compiling
# everything a second time; the stage below is what `podman build .` makes.
FROM runtime-base AS prebuilt
COPY tickwire /usr/local/bin/tickwire
RUN if ldd /usr/local/bin/tickwire | grep 'not found'; then \
      echo "tickwire needs a library RUNTIME_PACKAGES does not install" >&2; exit 1; fi

FROM runtime-base AS runtime
COPY --from=build /src/build/release/connector/tickwire /usr/local/bin/tickwire
