import { defineConfig } from 'vite';

// The studio is a static single-page app that ingest serves at `/` (services/ingest/src/studio.ts).
// No inline scripts or styles and no data: URIs, so it runs under ingest's strict
// Content-Security-Policy. `npm run dev -w @reelbus/studio` serves it with live reload and
// proxies /v1 to a running stack (REELBUS_URL, default http://127.0.0.1:8080).
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    target: ['es2022', 'safari15'],
    sourcemap: true,
  },
  server: {
    proxy: {
      // eslint-disable-next-line no-restricted-properties -- a dev-server setting, not a library
      '/v1': { target: process.env.REELBUS_URL ?? 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
});
