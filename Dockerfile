# syntax=docker/dockerfile:1

# One image holds the processes of extole-braze: /usr/local/bin/starter
# (receives Extole webhooks over HTTP), /usr/local/bin/worker (runs the syncs
# to Braze) and /usr/local/bin/codec-server (decrypts payloads for the
# Temporal UI). Choose one with the container's command, as
# docker-compose.yml does.

FROM golang:1.26-bookworm AS build
WORKDIR /src

# Dependencies change less often than the code: download them in their own
# layer so that a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# Static binaries (no cgo) run on the distroless image below, which has no C
# library.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/starter ./cmd/starter && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/worker ./cmd/worker && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/codec-server ./cmd/codec-server

# distroless/static carries CA certificates (for Braze over HTTPS) and time
# zone data, no shell, and runs as the unprivileged user nonroot.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/starter /out/worker /out/codec-server /usr/local/bin/
USER nonroot:nonroot
EXPOSE 8080
CMD ["/usr/local/bin/starter"]
