# esim_exporter container image.
#
#   docker build -t esim_exporter .                  # the exporter (default target: runtime)
#   docker build -t esim_exporter:demo --target demo .   # adds the bundled fake eSIMfly API
#
# Run it with your config and the API secret key mounted read-only:
#
#   docker run -d -p 10417:10417 -v esim_state:/var/lib/esim_exporter \
#     -v "$PWD/config.yml:/etc/esim_exporter/config.yml:ro" \
#     -v "$PWD/esimfly_secret_key:/run/secrets/esimfly_secret_key:ro" \
#     esim_exporter
#
# The secret is read from /run/secrets/esimfly_secret_key, either named in config.yml as
# `api.secret_key_file: /run/secrets/esimfly_secret_key` or found there by itself (see
# CREDENTIALS_DIRECTORY below). The access code (not a secret on its own) goes into config.yml
# or `-e ESIMFLY_ACCESS_CODE=esf_...`; the baked-in example config (config/example.yml) has none. The process runs as uid 10001, so the mounted files must be
# readable by that uid: `chown 10001 esimfly_secret_key && chmod 0400 esimfly_secret_key` (or
# chmod 0444, which works but makes the exporter warn that the key is readable by others).
#
# Every package comes from Debian 12 (bookworm), the same ones a native build uses; nothing is
# downloaded from anywhere else (cpp-httplib is vendored in third_party/, part of the build
# context). Versions are not pinned on purpose: bookworm's security updates replace them, and a
# rebuild should pick those up.

ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
# build-deps: the toolchain and the -dev packages (see README.md, "Building"). cpp-httplib is not
# among them: the build uses the copy in third_party/cpp-httplib (header only, nothing at run time).
FROM ${DEBIAN_IMAGE} AS build-deps
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential \
      cmake \
      ninja-build \
      pkg-config \
      git \
      libssl-dev \
      libyaml-cpp-dev \
      nlohmann-json3-dev \
      prometheus-cpp-dev \
      zlib1g-dev \
      libisal-dev \
      libsystemd-dev \
      libcrypt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .dockerignore lets in only what the build needs (sources, tests, config, and .git so that
# esim_exporter_build_info carries the real revision).
COPY . /src

# ---------------------------------------------------------------------------------------------
# builder: the exporter, Release, without tests.
FROM build-deps AS builder
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DESIM_BUILD_TESTS=OFF \
 && cmake --build /build \
 && /build/esim_exporter --version

# ---------------------------------------------------------------------------------------------
# fake-api-builder: the bundled fake eSIMfly API, for the demo only. The test tree needs
# GoogleTest to configure; only the fake API's target is built.
FROM build-deps AS fake-api-builder
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgtest-dev libgmock-dev \
 && rm -rf /var/lib/apt/lists/*
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DESIM_BUILD_TESTS=ON \
 && cmake --build /build --target fake_esimfly_api

# ---------------------------------------------------------------------------------------------
# runtime-base: only the shared libraries the binary links against, CA certificates, and an
# unprivileged user.
FROM ${DEBIAN_IMAGE} AS runtime-base
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libyaml-cpp0.7 \
      libprometheus-cpp-core1.0 \
      libssl3 \
      zlib1g \
      libisal2 \
      libsystemd0 \
      libcrypt1 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 esim_exporter \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin esim_exporter \
 && mkdir -p /etc/esim_exporter \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/esim_exporter
COPY --from=builder /build/esim_exporter /usr/bin/esim_exporter
# The annotated example config; mount your own over it (a file or the whole directory).
COPY config/example.yml /etc/esim_exporter/config.yml
# The secret key: when the config gives none (no api.secret_key_file, no api.secret_key, no
# ESIMFLY_SECRET_KEY), the exporter reads $CREDENTIALS_DIRECTORY/esimfly_secret_key, the same
# lookup it does for systemd's LoadCredential=. Pointing it at /run/secrets makes a Docker/Compose
# secret named esimfly_secret_key work with any config, the example one included.
ENV CREDENTIALS_DIRECTORY=/run/secrets
USER 10001:10001
WORKDIR /
# Durable state (--storage.path): each eSIM's last observations, the poll schedule and the
# request-budget ledger, so a restarted container serves everything at once and a crash loop
# cannot overspend the API key. Owned by the image user; mount a named volume here to keep it
# across container re-creation (docker run -v esim_state:/var/lib/esim_exporter ...).
VOLUME /var/lib/esim_exporter
EXPOSE 10417
# Health: GET /-/healthy over loopback, with nothing but bash (Essential in every Debian image, so
# no curl or wget is added to the image for this alone). The request is HTTP/1.0, so the server
# closes the connection after answering; the status line decides, the rest is read and dropped
# (so the server never writes into a closed socket). Override
# ESIM_HEALTHCHECK_PORT when you change --web.listen-address. With TLS or basic auth on the
# exporter's endpoints (--web.config.file) this plain-HTTP probe cannot pass: disable it there
# (`docker run --no-healthcheck`, or `healthcheck: {disable: true}` in Compose).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>\"/dev/tcp/127.0.0.1/${ESIM_HEALTHCHECK_PORT:-10417}\" && printf 'GET /-/healthy HTTP/1.0\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 4 status <&3; while read -r -t 4 _; do :; done <&3; case $status in 'HTTP/1.'?' 200'*) exit 0;; *) exit 1;; esac"]
ENTRYPOINT ["/usr/bin/esim_exporter", "--config.file=/etc/esim_exporter/config.yml", "--storage.path=/var/lib/esim_exporter"]

# ---------------------------------------------------------------------------------------------
# demo: the runtime image plus the fake eSIMfly API (deploy/compose, profile `demo`). Its
# entrypoint is the fake API; the exporter binary is there too.
FROM runtime-base AS demo
COPY --from=fake-api-builder /build/tests/fake_esimfly_api /usr/bin/fake_esimfly_api
EXPOSE 18080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/18080"]
ENTRYPOINT ["/usr/bin/fake_esimfly_api"]
CMD ["--listen=0.0.0.0:18080"]

# ---------------------------------------------------------------------------------------------
# runtime: the default target (last stage), the exporter alone.
FROM runtime-base AS runtime
LABEL org.opencontainers.image.title="esim_exporter" \
      org.opencontainers.image.description="Prometheus exporter for eSIM fleets (eSIMfly API): data usage, status, expiry, network"
