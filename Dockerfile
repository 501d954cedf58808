# The sdproxy image: the static binary that `make image` builds, copied
# into an empty (scratch) image, as goreleaser does. Nothing is pulled and
# nothing is compiled here; build with `make image` (the build context is
# bin/image/, which that target fills).
FROM scratch

ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="sdproxy" \
      org.opencontainers.image.description="Self-hosted Smart Data Proxy: encrypts and decrypts named JSON fields in front of your services" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/sdproxy/sdproxy" \
      org.opencontainers.image.url="https://github.com/sdproxy/sdproxy"

# The binary, CA roots (for https upstreams) and /etc/passwd, owned by root.
COPY rootfs/ /
# The directories the process writes, owned by its user: a named volume
# mounted there starts with this owner.
COPY --chown=65532:65532 writable/ /

USER 65532:65532
ENV SDPROXY_DATA_DIR=/data \
    SDPROXY_LISTEN=:8080 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
VOLUME ["/data"]
EXPOSE 8080 8081
HEALTHCHECK --interval=5s --timeout=6s --start-period=20s --retries=3 CMD ["/sdproxy", "healthcheck"]
ENTRYPOINT ["/sdproxy"]
CMD ["serve"]
