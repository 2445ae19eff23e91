import { describe, expect, it } from 'vitest';
import { chooseNatsServer, jetStreamConfig, type NatsServerCandidate } from './stack.ts';

const installed29: NatsServerCandidate = {
  bin: '/usr/sbin/nats-server',
  source: 'installed',
  version: [2, 9, 10],
};
const fetched210: NatsServerCandidate = {
  bin: '/repo/.reelbus/bin/nats-server',
  source: 'fetched',
  version: [2, 10, 27],
};

describe('chooseNatsServer', () => {
  it('prefers the fetched 2.10 build over an installed 2.9', () => {
    expect(chooseNatsServer([installed29, fetched210])).toEqual({
      bin: '/repo/.reelbus/bin/nats-server',
      source: 'fetched',
      version: [2, 10, 27],
      syncAlways: true,
    });
  });

  it('takes an installed nats-server ≥ 2.10 first', () => {
    const installed211: NatsServerCandidate = { ...installed29, version: [2, 11, 0] };
    expect(chooseNatsServer([installed211, fetched210])).toMatchObject({
      source: 'installed',
      syncAlways: true,
    });
  });

  it('falls back to the installed 2.9 only when no 2.10 exists, and says why and what to run', () => {
    const choice = chooseNatsServer([installed29, { ...fetched210, version: undefined }]);
    expect(choice).toMatchObject({ source: 'installed', version: [2, 9, 10], syncAlways: false });
    expect(choice.fallback).toMatch(/\/repo\/\.reelbus\/bin\/nats-server is missing/);
    expect(choice.fallback).toMatch(/bash tools\/fetch-nats-server\.sh/);
  });

  it('honours NATS_SERVER_BIN even when it is old, saying so', () => {
    const explicit: NatsServerCandidate = {
      bin: '/opt/nats-2.9',
      source: 'NATS_SERVER_BIN',
      version: [2, 9, 25],
    };
    expect(chooseNatsServer([explicit, installed29, fetched210])).toMatchObject({
      bin: '/opt/nats-2.9',
      syncAlways: false,
      fallback: 'NATS_SERVER_BIN=/opt/nats-2.9 is older than 2.10',
    });
  });

  it('names what it tried when no nats-server runs', () => {
    expect(() =>
      chooseNatsServer([
        { ...installed29, version: undefined },
        { ...fetched210, version: undefined },
      ]),
    ).toThrow(/no nats-server found \(tried \/usr\/sbin\/nats-server, \/repo\/.reelbus\/bin\/nats-server\)/);
    expect(() => chooseNatsServer([{ bin: '/nope', source: 'NATS_SERVER_BIN', version: undefined }])).toThrow(
      /NATS_SERVER_BIN=\/nope is not a nats-server that runs/,
    );
  });
});

describe('jetStreamConfig', () => {
  it('fsyncs every write from 2.10 on, and cannot before', () => {
    expect(jetStreamConfig([2, 10, 0])).toEqual({
      config: 'jetstream { sync_interval: always }\n',
      syncAlways: true,
    });
    expect(jetStreamConfig([2, 9, 10])).toEqual({ config: '', syncAlways: false });
  });
});
