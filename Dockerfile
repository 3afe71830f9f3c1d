# gslb: authoritative DNS global server load balancer.
#   docker build -t gslb .
#   docker run --rm -p 127.0.0.1:8053:8053/udp -p 127.0.0.1:8053:8053/tcp -p 127.0.0.1:8080:8080 gslb
FROM node:24-bookworm-slim AS build
WORKDIR /app
# A C toolchain for the batched UDP I/O module (native/); only the built .node file reaches the final image.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++ >/dev/null && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
# Scripts are skipped here because `prepare` compiles, and the sources are not copied yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY native ./native
RUN node native/build.mjs
COPY src ./src
RUN npx tsc -p tsconfig.json

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` needs the TypeScript compiler, which a production install does not have.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Copying fails the image build when the module did not build: an image should not quietly run dgram.
COPY --from=build /app/native/build/Release/udp_batch.node ./native/build/Release/udp_batch.node
COPY zones ./zones
COPY geoip ./geoip
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
USER node
EXPOSE 8053/udp 8053/tcp 8080/tcp
# The API listens on 8080 inside the container (see CMD); /healthz is liveness.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve", "--dns", "0.0.0.0:8053", "--api", "0.0.0.0:8080", "--data", "/app/data"]
