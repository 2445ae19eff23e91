import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.ts';
import { startHealthServer } from './server.ts';

describe('health server', () => {
  it('is live always, ready only when every check passes, and names each check', async () => {
    let ok = true;
    const metrics = new Metrics();
    metrics.add('reelbus_messages_handled_total', { service: 's', type: 'a.b' }, 2, 'counter', 'handled');
    const srv = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      metrics,
      checks: {
        nats: () => ok,
        slow: async () => true,
        broken: () => (ok ? true : Promise.reject(new Error('db down'))),
      },
    });
    try {
      const base = `http://127.0.0.1:${srv.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      ok = false;
      const res = await fetch(`${base}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        status: 'not ready',
        checks: { nats: { ok: false }, slow: { ok: true }, broken: { ok: false, error: 'db down' } },
      });
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toBe(
        '# HELP reelbus_messages_handled_total handled\n# TYPE reelbus_messages_handled_total counter\nreelbus_messages_handled_total{service="s",type="a.b"} 2\n',
      );
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await srv.close();
    }
  });
});
