# syntax=docker/dockerfile:1
# Jeto: build the wheel and GraphiQL's assets, then run them as a non-root user.

FROM node:20-bookworm-slim AS assets
WORKDIR /assets
COPY jeto/graphiql/package.json jeto/graphiql/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
RUN python -m venv /opt/jeto
COPY pyproject.toml README.md ./
COPY domain domain
COPY schema schema
COPY resolvers resolvers
COPY marketo marketo
COPY jeto jeto
COPY migrations migrations
COPY schema.graphql schema.graphql
RUN /opt/jeto/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 jeto && mkdir -p /data && chown jeto /data
COPY --from=build /opt/jeto /opt/jeto
COPY --from=assets /assets/node_modules /opt/graphiql/node_modules
ENV PATH=/opt/jeto/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    JETO_GRAPHIQL_ASSETS=/opt/graphiql/node_modules \
    JETO_DATABASE_URL=sqlite:///data/jeto.sqlite3
USER jeto
WORKDIR /home/jeto
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
ENTRYPOINT ["jeto"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
