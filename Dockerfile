# tp-cloud-connector: production image. Multi-stage: production dependencies only, non-root, health check.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    WEBHOOK_PORT=8088 \
    ADMIN_PORT=9464
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json form_voucher.json ./
COPY bin ./bin
COPY src ./src
COPY connectors ./connectors
USER node
# 8088 public webhooks, 8501 plugin API of the first connector, 9464 admin (metrics, probes, status)
EXPOSE 8088 8501 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.ADMIN_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "bin/tp-connector.mjs", "start"]
