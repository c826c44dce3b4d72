# syntax=docker/dockerfile:1
# Static driftcar binary on distroless, non-root. Build: make image
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/driftcar/driftcar/internal/buildinfo.Version=${VERSION}" \
      -o /out/driftcar ./cmd/driftcar

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/driftcar /driftcar
USER nonroot:nonroot
# 8080: inference traffic; 9901: admin (/metrics, /healthz, /readyz)
EXPOSE 8080 9901
ENTRYPOINT ["/driftcar"]
CMD ["run", "--config", "/etc/driftcar/driftcar.yaml"]
