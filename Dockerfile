# tickwire image: a Debian 12 build stage that installs the toolchain with
# scripts/setup and builds the release `tickwire`, then a slim runtime stage
# holding only the binary, its shared libraries and the shipped configs.
#
#   docker build -t tickwire .
#   docker run --rm -v tickwire-data:/data tickwire                 # simulator feed
#   docker run --rm -v tickwire-data:/data tickwire run -c /etc/tickwire/binance.toml
#
# Base images are arguments so that a locally imported Debian image can stand in
# for the registry one (see ../shared/STACK.md, "Building and running the container").
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
# The toolchain layer depends only on the setup script (npm test peers are not
# needed to build the image).
COPY scripts/setup scripts/setup
RUN TICKWIRE_SETUP_SKIP_NPM=1 scripts/setup && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake --preset release \
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

FROM ${RUNTIME_IMAGE} AS runtime
ARG RUNTIME_PACKAGES
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --uid 10001 --user-group --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin tickwire \
 && install -d -o tickwire -g tickwire -m 0750 /data
COPY --from=build /src/build/release/connector/tickwire /usr/local/bin/tickwire
COPY config/*.toml /etc/tickwire/
# The shipped configs journal to "./data"; from / that is the /data volume.
WORKDIR /
VOLUME ["/data"]
USER tickwire
ENTRYPOINT ["tickwire"]
CMD ["run", "-c", "/etc/tickwire/default.toml"]
