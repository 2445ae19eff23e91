// 1. Bus hop: publish → handler start → ack, through the kit (Bus.publish + Bus.consume) against bare
// @nats-io/jetstream publish + consume() of the same envelope on the same nats-server, alternating.
//
// Closed loop: `inFlight` workers each publish one message, wait until its ack reaches the server, and
// publish the next. The ack is observed the same way for both sides: a core-NATS subscription on the
// stream's `$JS.ACK.>` subjects sees each ack as the server receives it (the stream sequence is in the
// subject). Handler start is recorded in-process.
import { headers as natsHeaders, connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import { HEADERS } from '@reelbus/contracts';
import { Bus, buildEnvelope, consumerConfig } from '@reelbus/kit';
import { randomNamespace, startNatsServer } from '@reelbus/kit/testing';
import { row, type Row } from './stats.ts';

/** Who publishes / who consumes: `kit` both, `bare` both, and the two mixes that show which side costs. */
type Variant = 'kit' | 'bare' | 'kitpub' | 'kitsub';
const PUB: Record<Variant, 'kit' | 'bare'> = { kit: 'kit', bare: 'bare', kitpub: 'kit', kitsub: 'bare' };
const SUB: Record<Variant, 'kit' | 'bare'> = { kit: 'kit', bare: 'bare', kitpub: 'bare', kitsub: 'kit' };

interface Waiter {
  t0: number;
  t1?: number;
  resolve: (t2: number) => void;
}

export async function benchBus(opts: {
  quick: boolean;
  log: (s: string) => void;
}): Promise<{ rows: Row[]; raw: unknown }> {
  const { quick, log } = opts;
  const levels = [1, 8, 64];
  const rounds = quick ? 2 : 4;
  const perRound = quick ? 250 : 1000;
  const warmup = 30;
  const nats = await startNatsServer();
  const namespace = randomNamespace('bench');
  const pubBus = await Bus.connect({ servers: nats.url, namespace, name: 'bench-kit-pub' });
  const subBus = await Bus.connect({ servers: nats.url, namespace, name: 'bench-kit-sub' });
  await pubBus.ensureStreams();
  const n = pubBus.names;
  const subject = n.eventSubject('job.progress');
  const barePub: NatsConnection = await connect({ servers: nats.url, name: 'bench-bare-pub' });
  const bareSub: NatsConnection = await connect({ servers: nats.url, name: 'bench-bare-sub' });
  const watcher: NatsConnection = await connect({ servers: nats.url, name: 'bench-ack-watch' });
  const bareJs = jetstream(barePub);
  const bareSubJs = jetstream(bareSub);
  const jsm = await jetstreamManager(barePub);

  // seq → waiter; both handlers and the ack watcher look messages up by stream sequence.
  const bySeq = new Map<number, Waiter>();
  const byId = new Map<string, Waiter>();
  const early = new Map<number, number>(); // seq → t1 (handler started before publish returned)
  const earlyAck = new Map<number, number>();
  const ackSub = watcher.subscribe(`$JS.ACK.${n.eventsStream}.>`, {
    callback: (_err, msg) => {
      const t2 = performance.now();
      if (!msg.data.length || new TextDecoder().decode(msg.data.subarray(0, 4)) !== '+ACK') return;
      const tok = msg.subject.split('.');
      const seq = Number(tok.length === 9 ? tok[5] : tok[7]);
      const w = bySeq.get(seq);
      if (w) {
        bySeq.delete(seq);
        w.resolve(t2);
      } else earlyAck.set(seq, t2);
    },
  });
  await watcher.flush();

  const onHandlerStart = (seq: number, id: string | undefined) => {
    const t1 = performance.now();
    const w = (id && byId.get(id)) || bySeq.get(seq);
    if (w) w.t1 = t1;
    else early.set(seq, t1);
    if (id) byId.delete(id);
  };

  const results: Record<string, { hopMs: number[]; ackMs: number[]; rate: number[] }> = {};
  const key = (v: Variant, k: number) => `${v}:${k}`;

  async function runRound(variant: Variant, k: number, round: number): Promise<void> {
    const service = `bench-${variant}-${k}-${round}`;
    // every round starts on an empty stream: new durable consumers deliver from its start
    await jsm.streams.purge(n.eventsStream);
    const cfg = consumerConfig({ names: n, service, type: 'job.progress' });
    let stopConsumer: () => Promise<void>;
    if (SUB[variant] === 'kit') {
      const c = await subBus.consume({
        service,
        concurrency: k,
        handlers: {
          'job.progress': {
            step: 'bench',
            handle: async (e) => {
              onHandlerStart(Number.NaN, e.id);
            },
          },
        },
      });
      stopConsumer = () => c.stop(0);
    } else {
      // the same durable consumer config the kit creates, then the idiomatic bare consume()
      await jsm.consumers.add(n.eventsStream, cfg as never);
      const consumer = await bareSubJs.consumers.get(n.eventsStream, cfg.durable_name);
      const iter: ConsumerMessages = await consumer.consume({ max_messages: k });
      const loop = (async () => {
        for await (const m of iter) {
          void (async () => {
            const e = m.json<{ id: string }>();
            onHandlerStart(m.seq, e.id);
            m.ack();
          })();
        }
      })();
      stopConsumer = async () => {
        await iter.close();
        await loop;
      };
    }
    const hop: number[] = [];
    const ack: number[] = [];
    let sent = 0;
    const total = perRound + warmup;
    const worker = async () => {
      while (sent < total) {
        const i = sent++;
        const jobId = `bench${round}x${i}`;
        const t0 = performance.now();
        let w!: Waiter;
        const done = new Promise<number>((resolve) => (w = { t0, resolve }));
        let seq: number;
        if (PUB[variant] === 'kit') {
          const id = `${service}:${i}`;
          byId.set(id, w);
          await pubBus.publish(
            'job.progress',
            jobId,
            { step: 'bench', status: 'running', percent: 50 },
            { id },
          );
          // the handler told us its seq (or will); find it
          seq = await seqOf(id);
        } else {
          const event = buildEnvelope({
            type: 'job.progress',
            jobId,
            data: { step: 'bench', status: 'running', percent: 50 },
          });
          byId.set(event.id, w);
          const h = natsHeaders();
          h.set(HEADERS.type, event.type);
          h.set(HEADERS.version, String(event.version));
          h.set(HEADERS.jobId, event.jobId);
          const pa = await bareJs.publish(subject, JSON.stringify(event), { msgID: event.id, headers: h });
          seq = pa.seq;
        }
        const e1 = early.get(seq);
        if (e1 !== undefined) {
          w.t1 = e1;
          early.delete(seq);
        }
        const a = earlyAck.get(seq);
        if (a !== undefined) {
          earlyAck.delete(seq);
          w.resolve(a);
        } else bySeq.set(seq, w);
        const t2 = await done;
        if (i >= warmup && w.t1 !== undefined) {
          hop.push(w.t1 - t0);
          ack.push(t2 - t0);
        }
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: k }, worker));
    const secs = (performance.now() - start) / 1000;
    await stopConsumer();
    await jsm.consumers.delete(n.eventsStream, cfg.durable_name).catch(() => undefined);
    const r = (results[key(variant, k)] ??= { hopMs: [], ackMs: [], rate: [] });
    r.hopMs.push(...hop);
    r.ackMs.push(...ack);
    r.rate.push(total / secs);
  }

  // Bus.publish returns the event, not its stream sequence: read the sequence from the publish ack by
  // wrapping the kit's js.publish (measurement only; it adds a map lookup to the kit's side).
  const seqById = new Map<string, number>();
  const seqWaiters = new Map<string, (s: number) => void>();
  const origPublish = pubBus.js.publish.bind(pubBus.js);
  (pubBus.js as { publish: typeof origPublish }).publish = async (subj, data, o) => {
    const pa = await origPublish(subj, data, o);
    const id = o?.msgID;
    if (id) {
      const wtr = seqWaiters.get(id);
      if (wtr) {
        seqWaiters.delete(id);
        wtr(pa.seq);
      } else seqById.set(id, pa.seq);
    }
    return pa;
  };
  function seqOf(id: string): Promise<number> {
    const s = seqById.get(id);
    if (s !== undefined) {
      seqById.delete(id);
      return Promise.resolve(s);
    }
    return new Promise((r) => seqWaiters.set(id, r));
  }

  try {
    for (const k of levels) {
      for (let round = 0; round < rounds; round++) {
        const order: Variant[] =
          round % 2 === 0 ? ['kit', 'bare', 'kitpub', 'kitsub'] : ['bare', 'kit', 'kitsub', 'kitpub'];
        for (const v of order) await runRound(v, k, round);
      }
      const kit = results[key('kit', k)]!;
      const bare = results[key('bare', k)]!;
      log(
        `bus: ${k} in flight: kit ${kit.rate.map((x) => x.toFixed(0)).join('/')} msg/s, bare ${bare.rate.map((x) => x.toFixed(0)).join('/')} msg/s`,
      );
    }
  } finally {
    ackSub.unsubscribe();
    await Promise.all([pubBus.close(), subBus.close(), barePub.close(), bareSub.close(), watcher.close()]);
    await nats.stop();
  }

  const rows: Row[] = [];
  for (const k of levels) {
    const kit = results[key('kit', k)]!;
    const bare = results[key('bare', k)]!;
    const hop = row({
      bench: 'bus',
      metric: `hop publish→handler, ${k} in flight`,
      unit: 'ms',
      subject: kit.hopMs,
      baseline: bare.hopMs,
      keepSamples: false,
    });
    hop.note = `p99 kit ${hop.subject.p99.toFixed(2)} / bare ${hop.baseline!.p99.toFixed(2)} ms`;
    rows.push(hop);
    const full = row({
      bench: 'bus',
      metric: `publish→ack at server, ${k} in flight`,
      unit: 'ms',
      subject: kit.ackMs,
      baseline: bare.ackMs,
      keepSamples: false,
    });
    full.note = `p99 kit ${full.subject.p99.toFixed(2)} / bare ${full.baseline!.p99.toFixed(2)} ms`;
    rows.push(full);
    rows.push(
      row({
        bench: 'bus',
        metric: `messages/s, ${k} in flight`,
        unit: 'msg/s',
        subject: kit.rate,
        baseline: bare.rate,
        note: 'per round; higher is better',
      }),
    );
    for (const v of ['kitpub', 'kitsub'] as const) {
      const m = results[key(v, k)]!;
      const r = row({
        bench: 'bus',
        metric: `hop publish→handler, ${k} in flight, ${v === 'kitpub' ? 'kit publish + bare consume' : 'bare publish + kit consume'}`,
        unit: 'ms',
        subject: m.hopMs,
        baseline: bare.hopMs,
        keepSamples: false,
      });
      r.note = `${(m.rate.reduce((a, b) => a + b, 0) / m.rate.length).toFixed(0)} msg/s`;
      rows.push(r);
    }
  }
  return { rows, raw: { rounds, perRound, warmup, levels } };
}
