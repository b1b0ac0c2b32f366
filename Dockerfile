# guichet: one binary and the knowledge base, run as a non-root user (uid 10001, gid 10001).
#
#   DOCKER_BUILDKIT=1 docker build -t guichet .      # BuildKit: RUN --mount=type=cache
#   docker run -d --name guichet --stop-timeout 30 -v guichet-data:/data \
#     -e GUICHET_MATRIX_ACCESS_TOKEN_FILE=/run/secrets/matrix_access_token … guichet
#
# The builder and the runtime are the same pinned Debian release (bookworm), so the binary
# finds the C library it was linked against. Change both lines together.
#
# Stage 1: build with cargo's registry and target directory cached between builds.
FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The workspace's test-only crate (the fake Discord): cargo needs its manifest to resolve.
COPY crates ./crates
COPY benches ./benches
COPY examples ./examples
COPY data ./data
# The release profile strips the binary (Cargo.toml: strip = true).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
 && cp target/release/guichet /usr/local/bin/guichet

# Stage 2: a slim runtime with CA certificates (the homeserver and Discord are HTTPS).
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 guichet \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin guichet \
 && mkdir -p /data /app \
 && chown guichet:guichet /data \
 && chmod 700 /data
COPY --from=builder /usr/local/bin/guichet /usr/local/bin/guichet
# The knowledge base guichet ships; mount your own over /app/content to replace it.
COPY content /app/content
COPY config.example.toml /app/config.example.toml
WORKDIR /app
# The admin endpoint (/healthz, /metrics) keeps its default, 127.0.0.1:9100: the container's
# own loopback, where the health check asks it, and nowhere else (not even with
# --network host). To scrape /metrics from outside, set GUICHET_ADMIN_LISTEN=0.0.0.0:9100
# and publish the port on the host's loopback: -p 127.0.0.1:9100:9100.
ENV GUICHET_CONTENT=/app/content \
    GUICHET_STATE_DIR=/data
USER guichet
VOLUME ["/data"]
# On SIGTERM guichet lets replies in flight finish (10 s at most) and flushes its state: give
# it longer than that to stop (docker run --stop-timeout 30, compose stop_grace_period: 30s).
STOPSIGNAL SIGTERM
# `guichet health` reads the admin address as `serve` does (GUICHET_ADMIN_LISTEN,
# /app/config.toml), so the check follows a moved address.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["guichet", "health"]
ENTRYPOINT ["guichet", "serve"]
