import { startNatsCluster, startNatsServer, recentNatsServerBinary } from '@reelbus/kit/testing';
const a = await startNatsCluster({ size: 3, name: 'reelbus' });
const cfgText = await (await fetch(`${a.servers[0]!.monitorUrl}/varz`)).json() as { cluster: { port: number } };
const x = cfgText.cluster.port;
await a.servers[0]!.kill();
const m = 18299;
const b = await startNatsServer({ bin: recentNatsServerBinary(), name: 'n9', config: `http: 127.0.0.1:${m}\ncluster {\n name: ${process.argv[2] ?? 'reelbus'}\n listen: 127.0.0.1:${x}\n}\n` });
const t0 = Date.now();
let routes = 0;
while (Date.now() - t0 < 8000) { const r = await (await fetch(`http://127.0.0.1:${m}/routez`)).json() as { num_routes: number }; routes = r.num_routes; if (routes) break; await new Promise((r) => setTimeout(r, 250)); }
console.log(`cluster name ${process.argv[2] ?? 'reelbus'}: routes from the old cluster into the new server after ${Date.now() - t0} ms: ${routes}`);
await b.stop(); await a.stop();
