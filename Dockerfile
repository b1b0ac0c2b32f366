# guichet: one static-ish binary and the knowledge base, run as a non-root user.
#
#   docker build -t guichet .
#   docker run -d --name guichet -v guichet-data:/data --env-file guichet.env guichet
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
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
 && cp target/release/guichet /usr/local/bin/guichet

# Stage 2: a slim runtime with CA certificates (the homeserver and Discord are HTTPS).
FROM debian:stable-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin guichet \
 && mkdir -p /data /app \
 && chown guichet:guichet /data \
 && chmod 700 /data
COPY --from=builder /usr/local/bin/guichet /usr/local/bin/guichet
# The knowledge base guichet ships; mount your own over /app/content to replace it.
COPY content /app/content
COPY config.example.toml /app/config.example.toml
WORKDIR /app
ENV GUICHET_CONTENT=/app/content \
    GUICHET_STATE_DIR=/data \
    GUICHET_ADMIN_LISTEN=0.0.0.0:9100
USER guichet
VOLUME ["/data"]
EXPOSE 9100
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["guichet", "health", "--address", "127.0.0.1:9100"]
ENTRYPOINT ["guichet", "serve"]
