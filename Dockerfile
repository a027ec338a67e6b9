# syntax=docker/dockerfile:1
# Jeto: build the wheel and GraphiQL's assets, then run them as a non-root user.
# tests/test_dockerfile.py checks this file against pyproject.toml and the CLI.

FROM node:20-bookworm-slim AS assets
WORKDIR /assets
COPY jeto/graphiql/package.json jeto/graphiql/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
RUN python -m venv /opt/jeto
# Exactly what the wheel is built from: pyproject.toml and its packages (migrations and GraphiQL's files among them).
COPY pyproject.toml ./
COPY domain domain
COPY schema schema
COPY resolvers resolvers
COPY marketo marketo
COPY jeto jeto
COPY migrations migrations
RUN /opt/jeto/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 jeto && mkdir -p /data && chown jeto /data
COPY --from=build /opt/jeto /opt/jeto
COPY --from=assets /assets/node_modules /opt/graphiql/node_modules
ENV PATH=/opt/jeto/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    JETO_GRAPHIQL_ASSETS=/opt/graphiql/node_modules \
    JETO_DATABASE_URL=sqlite:///data/jeto.sqlite3 \
    JETO_HEALTH_FILE=/tmp/jeto-health
USER jeto
WORKDIR /home/jeto
# The SQLite database of the default JETO_DATABASE_URL: a volume, so it outlives the container.
VOLUME ["/data"]
# 8000: `serve` (the API); 8001: `worker` (its /healthz, /readyz and /metrics, JETO_WORKER_METRICS_PORT).
EXPOSE 8000 8001
# `serve` and `worker` write their /healthz address to JETO_HEALTH_FILE, whatever their port: one check fits both.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["jeto", "healthcheck"]
ENTRYPOINT ["jeto"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
