/**
 * A TEST DOUBLE that speaks the MongoDB wire protocol — not a database.
 *
 * No MongoDB server can run on the build machine, so tests point the real `mongodb` driver at this
 * in-memory server instead (and at a real server when MONGODB_URI is set). It parses the message
 * header, OP_MSG (kind-0 body, kind-1 document sequences) and the legacy OP_QUERY handshake, and
 * answers with OP_MSG / OP_REPLY built with the driver's own BSON.
 *
 * It implements only what the kit's MongoJobStore (and its tests) send: the handshake (hello /
 * isMaster, a standalone at wire version 21 with sessions), ping, buildInfo, endSessions, insert,
 * find (filter, sort, skip, limit, projection; everything in the first batch, cursor id 0), update
 * (replacement, upsert, multi), delete, createIndexes (unique and partial-unique
 * indexes are enforced with the real E11000 error), listIndexes, drop, dropDatabase, killCursors.
 * Filters: equality (dotted paths, array membership), $eq $ne $in $nin $exists $gt $gte $lt $lte,
 * $and $or $nor. Anything else answers the real `{ ok: 0, errmsg, code, codeName }` error, so a new
 * driver call shows up as a failing test rather than a silent wrong answer. Each command runs to
 * completion before the next, which makes every single-document write atomic, as in MongoDB.
 */
import { createServer, type Socket } from 'node:net';
import { BSON } from 'mongodb';
import { freePort } from './nats.ts';

// `bson` is the driver's own copy (re-exported by `mongodb`), so encoding matches it exactly and the kit
// needs no extra dependency.
const { EJSON, Long, ObjectId } = BSON;

type Doc = Record<string, unknown>;
interface IndexSpec {
  v: number;
  key: Doc;
  name: string;
  unique?: boolean;
  partialFilterExpression?: Doc;
}
interface Collection {
  docs: Doc[];
  indexes: IndexSpec[];
}

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const MSG_CHECKSUM_PRESENT = 1;
const MSG_MORE_TO_COME = 2;

/** A command failure in the server's own shape (`{ ok: 0, errmsg, code, codeName }`). */
class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
    readonly extra: Doc = {},
  ) {
    super(message);
  }
  toDoc(): Doc {
    return { errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
  }
}

const isPlainObject = (v: unknown): v is Doc =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !('_bsontype' in v);

/** Canonical text of a value: equal values (same BSON type and content) give equal text. */
const valueKey = (v: unknown): string =>
  EJSON.stringify({ v: v === undefined ? null : v }, { relaxed: false });

function getPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (!isPlainObject(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Doc)[part];
  }
  return cur;
}

/** Sort order: missing/null first, then numbers, strings, dates, then anything else by its canonical text. */
function compareValues(a: unknown, b: unknown): number {
  const rank = (v: unknown) =>
    v == null ? 0 : typeof v === 'number' ? 1 : typeof v === 'string' ? 2 : v instanceof Date ? 3 : 4;
  const [ra, rb] = [rank(a), rank(b)];
  if (ra !== rb || ra === 0) return ra - rb;
  if (ra === 1 || ra === 3) return Number(a) - Number(b);
  const [ka, kb] = ra === 2 ? [a as string, b as string] : [valueKey(a), valueKey(b)];
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Query equality: a null query matches a missing field; an array field matches any of its elements. */
function equalsQuery(value: unknown, q: unknown): boolean {
  if (q === null && value === undefined) return true;
  if (Array.isArray(value) && !Array.isArray(q) && value.some((el) => valueKey(el) === valueKey(q)))
    return true;
  return valueKey(value) === valueKey(q);
}

function applyOperator(op: string, value: unknown, arg: unknown): boolean {
  const ordered = (test: (c: number) => boolean) => {
    const candidates = Array.isArray(value) ? value : [value];
    return candidates.some((v) => v != null && typeof v === typeof arg && test(compareValues(v, arg)));
  };
  switch (op) {
    case '$eq':
      return equalsQuery(value, arg);
    case '$ne':
      return !equalsQuery(value, arg);
    case '$in':
    case '$nin': {
      if (!Array.isArray(arg)) throw new CommandError(2, 'BadValue', `${op} needs an array`);
      const hit = arg.some((x) => equalsQuery(value, x));
      return op === '$in' ? hit : !hit;
    }
    case '$exists':
      return (value !== undefined) === Boolean(arg);
    case '$gt':
      return ordered((c) => c > 0);
    case '$gte':
      return ordered((c) => c >= 0);
    case '$lt':
      return ordered((c) => c < 0);
    case '$lte':
      return ordered((c) => c <= 0);
    default:
      throw new CommandError(2, 'BadValue', `unknown operator: ${op}`);
  }
}

const isOperatorDoc = (q: unknown): q is Doc =>
  isPlainObject(q) && Object.keys(q).length > 0 && Object.keys(q).every((k) => k.startsWith('$'));

/** Whether `doc` matches the query `filter`. */
export function matchesFilter(doc: Doc, filter: Doc = {}): boolean {
  return Object.entries(filter).every(([key, cond]) => {
    if (key === '$and' || key === '$or' || key === '$nor') {
      if (!Array.isArray(cond)) throw new CommandError(2, 'BadValue', `${key} must be an array`);
      if (key === '$and') return cond.every((f) => matchesFilter(doc, f));
      const any = cond.some((f) => matchesFilter(doc, f));
      return key === '$or' ? any : !any;
    }
    if (key.startsWith('$')) throw new CommandError(2, 'BadValue', `unknown top level operator: ${key}`);
    const value = getPath(doc, key);
    if (isOperatorDoc(cond)) return Object.entries(cond).every(([op, arg]) => applyOperator(op, value, arg));
    return equalsQuery(value, cond);
  });
}

function sortDocs(docs: Doc[], sort: Doc | undefined): Doc[] {
  if (!sort || Object.keys(sort).length === 0) return docs;
  const keys = Object.entries(sort).map(([k, dir]) => [k, Number(dir) < 0 ? -1 : 1] as const);
  return [...docs].sort((a, b) => {
    for (const [k, dir] of keys) {
      const c = compareValues(getPath(a, k), getPath(b, k));
      if (c !== 0) return c * dir;
    }
    return 0;
  });
}

/** A replacement document (what `replaceOne` sends) keeps the `_id`; update operators are not implemented. */
function replaceDoc(old: Doc, u: Doc): Doc {
  if (Array.isArray(u) || Object.keys(u).some((k) => k.startsWith('$'))) {
    throw new CommandError(9, 'FailedToParse', 'mongo-wire test server: only replacement updates exist');
  }
  return { ...u, _id: old._id ?? u._id };
}

const ID_INDEX: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };

/** The in-memory data of one server: database → collection → documents and indexes. */
class Store {
  private readonly dbs = new Map<string, Map<string, Collection>>();

  get(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }
  ensure(db: string, name: string): { col: Collection; created: boolean } {
    let colls = this.dbs.get(db);
    if (!colls) this.dbs.set(db, (colls = new Map()));
    const existing = colls.get(name);
    if (existing) return { col: existing, created: false };
    const col: Collection = { docs: [], indexes: [ID_INDEX] };
    colls.set(name, col);
    return { col, created: true };
  }
  drop(db: string, name?: string): boolean {
    return name === undefined ? this.dbs.delete(db) : (this.dbs.get(db)?.delete(name) ?? false);
  }
}

/** Throws the server's E11000 error when `doc` would duplicate a unique key (`replacing` is skipped). */
function checkUnique(ns: string, col: Collection, doc: Doc, replacing?: Doc): void {
  for (const idx of col.indexes) {
    if (idx.name !== '_id_' && !idx.unique) continue;
    if (idx.partialFilterExpression && !matchesFilter(doc, idx.partialFilterExpression)) continue;
    const fields = Object.keys(idx.key);
    const keyOf = (d: Doc) => valueKey(fields.map((f) => getPath(d, f) ?? null));
    const key = keyOf(doc);
    const clash = col.docs.some(
      (other) =>
        other !== replacing &&
        (!idx.partialFilterExpression || matchesFilter(other, idx.partialFilterExpression)) &&
        keyOf(other) === key,
    );
    if (!clash) continue;
    const keyValue = Object.fromEntries(fields.map((f) => [f, getPath(doc, f) ?? null]));
    const shown = fields.map((f) => `${f}: ${EJSON.stringify(keyValue[f])}`).join(', ');
    const errmsg = `E11000 duplicate key error collection: ${ns} index: ${idx.name} dup key: { ${shown} }`;
    throw new CommandError(11000, 'DuplicateKey', errmsg, { keyPattern: idx.key, keyValue });
  }
}

/** Runs a write per item; ordered writes stop at the first error, which becomes a `writeErrors` entry. */
function eachWrite<T>(items: T[], run: (item: T, index: number) => void): Doc[] {
  const writeErrors: Doc[] = [];
  for (const [index, item] of items.entries()) {
    try {
      run(item, index);
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      writeErrors.push({ index, ...err.toDoc() });
      break;
    }
  }
  return writeErrors;
}

const withErrors = (reply: Doc, writeErrors: Doc[]): Doc =>
  writeErrors.length ? { ...reply, writeErrors } : reply;

function runCommand(store: Store, body: Doc, connectionId: number): Doc {
  const name = Object.keys(body)[0] ?? '';
  const db = String(body.$db ?? 'admin');
  const collName = String(body[name]);
  const ns = `${db}.${collName}`;
  switch (name) {
    case 'hello':
    case 'isMaster':
    case 'ismaster':
      return {
        helloOk: true,
        ismaster: true,
        isWritablePrimary: true,
        maxBsonObjectSize: 16 * 1024 * 1024,
        maxMessageSizeBytes: 48_000_000,
        maxWriteBatchSize: 100_000,
        localTime: new Date(),
        logicalSessionTimeoutMinutes: 30,
        connectionId,
        minWireVersion: 0,
        maxWireVersion: 21,
        readOnly: false,
      };
    case 'ping':
    case 'endSessions':
      return {};
    case 'buildInfo':
    case 'buildinfo':
      return { version: '7.0.0', versionArray: [7, 0, 0, 0], maxBsonObjectSize: 16 * 1024 * 1024, bits: 64 };
    case 'insert': {
      const { col } = store.ensure(db, collName);
      const docs = (body.documents as Doc[]) ?? [];
      let n = 0;
      const writeErrors = eachWrite(docs, (doc) => {
        const stored = doc._id === undefined ? { _id: new ObjectId(), ...doc } : doc;
        checkUnique(ns, col, stored);
        col.docs.push(stored);
        n++;
      });
      return withErrors({ n }, writeErrors);
    }
    case 'find': {
      const col = store.get(db, collName);
      const matched = sortDocs(
        (col?.docs ?? []).filter((d) => matchesFilter(d, body.filter as Doc)),
        body.sort as Doc,
      );
      const skip = Number(body.skip ?? 0);
      const limit = Math.abs(Number(body.limit ?? 0));
      const page = matched.slice(skip, limit ? skip + limit : undefined);
      return { cursor: { firstBatch: page, id: Long.ZERO, ns } };
    }
    case 'update': {
      const updates = (body.updates as Doc[]) ?? [];
      let n = 0;
      let nModified = 0;
      const upserted: Doc[] = [];
      const writeErrors = eachWrite(updates, (spec, index) => {
        const hits = (store.get(db, collName)?.docs ?? []).filter((d) => matchesFilter(d, spec.q as Doc));
        const targets = spec.multi ? hits : hits.slice(0, 1);
        const col = targets.length || spec.upsert ? store.ensure(db, collName).col : undefined;
        if (!col) return;
        if (targets.length === 0) {
          const base = Object.fromEntries(
            Object.entries((spec.q as Doc) ?? {}).filter(([k, v]) => !k.startsWith('$') && !isOperatorDoc(v)),
          );
          const made = replaceDoc(base, spec.u as Doc);
          if (made._id === undefined) made._id = new ObjectId();
          checkUnique(ns, col, made);
          col.docs.push(made);
          upserted.push({ index, _id: made._id });
          n++;
          return;
        }
        for (const old of targets) {
          const next = replaceDoc(old, spec.u as Doc);
          checkUnique(ns, col, next, old);
          n++;
          if (valueKey(next) !== valueKey(old)) {
            col.docs[col.docs.indexOf(old)] = next;
            nModified++;
          }
        }
      });
      return withErrors(upserted.length ? { n, nModified, upserted } : { n, nModified }, writeErrors);
    }
    case 'delete': {
      const col = store.get(db, collName);
      let n = 0;
      for (const spec of (body.deletes as Doc[]) ?? []) {
        if (!col) break;
        const hits = col.docs.filter((d) => matchesFilter(d, spec.q as Doc));
        const gone = new Set(Number(spec.limit) === 1 ? hits.slice(0, 1) : hits);
        col.docs = col.docs.filter((d) => !gone.has(d));
        n += gone.size;
      }
      return { n };
    }
    case 'createIndexes': {
      const { col, created } = store.ensure(db, collName);
      const before = col.indexes.length;
      for (const { key, name, ...rest } of (body.indexes as Omit<IndexSpec, 'v'>[]) ?? []) {
        const spec = { v: 2, key, name, ...rest };
        const same = col.indexes.find((i) => i.name === spec.name);
        if (same && valueKey(same.key) !== valueKey(spec.key)) {
          throw new CommandError(
            86,
            'IndexKeySpecsConflict',
            `An existing index has the same name as the requested index: ${spec.name}`,
          );
        }
        if (!same) col.indexes.push(spec);
      }
      return {
        createdCollectionAutomatically: created,
        numIndexesBefore: before,
        numIndexesAfter: col.indexes.length,
      };
    }
    case 'listIndexes': {
      const col = store.get(db, collName);
      if (!col) throw new CommandError(26, 'NamespaceNotFound', `ns does not exist: ${ns}`);
      return { cursor: { firstBatch: col.indexes, id: Long.ZERO, ns: `${db}.$cmd.listIndexes.${collName}` } };
    }
    case 'drop':
      if (!store.drop(db, collName)) throw new CommandError(26, 'NamespaceNotFound', 'ns not found');
      return { ns, nIndexesWas: 1 };
    case 'dropDatabase':
      store.drop(db);
      return { dropped: db };
    default:
      throw new CommandError(59, 'CommandNotFound', `no such command: '${name}'`);
  }
}

let lastRequestId = 0;

/** A reply message: the 16-byte header (length, requestID, responseTo, opCode) and `payload`. */
function frame(opCode: number, responseTo: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + payload.length, 0);
  header.writeInt32LE((lastRequestId = (lastRequestId + 1) | 0), 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, payload]);
}

/** Parses an OP_MSG: the kind-0 body with each kind-1 document sequence added as an array field. */
function parseOpMsg(msg: Buffer): { body: Doc; moreToCome: boolean } {
  const flags = msg.readUInt32LE(16);
  const end = flags & MSG_CHECKSUM_PRESENT ? msg.length - 4 : msg.length;
  let body: Doc | undefined;
  const sequences: Doc = {};
  for (let off = 20; off < end;) {
    const kind = msg[off++];
    const size = msg.readInt32LE(off);
    if (kind === 0) {
      body = BSON.deserialize(msg.subarray(off, off + size));
    } else if (kind === 1) {
      const nul = msg.indexOf(0, off + 4);
      const docs: Doc[] = [];
      for (let p = nul + 1; p < off + size; p += msg.readInt32LE(p))
        docs.push(BSON.deserialize(msg.subarray(p, p + msg.readInt32LE(p))));
      sequences[msg.toString('utf8', off + 4, nul)] = docs;
    } else {
      throw new Error(`OP_MSG section kind ${kind} is not supported`);
    }
    off += size;
  }
  if (!body) throw new Error('OP_MSG without a body section');
  return { body: { ...body, ...sequences }, moreToCome: Boolean(flags & MSG_MORE_TO_COME) };
}

/** Parses an OP_QUERY on `<db>.$cmd` (the driver's legacy handshake). */
function parseOpQuery(msg: Buffer): Doc {
  const nul = msg.indexOf(0, 20);
  const fullName = msg.toString('utf8', 20, nul);
  const docStart = nul + 1 + 8; // numberToSkip, numberToReturn
  const query = BSON.deserialize(msg.subarray(docStart, docStart + msg.readInt32LE(docStart)));
  const cmd = isPlainObject(query.$query) ? query.$query : query;
  return { ...cmd, $db: fullName.split('.')[0] };
}

export interface MongoWireServer {
  /** `mongodb://127.0.0.1:<port>/?directConnection=true` */
  uri: string;
  port: number;
  /** Closes every connection and stops listening. */
  close(): Promise<void>;
}

/** Starts the in-memory wire-protocol test double on 127.0.0.1 (a free port unless `port` is given). */
export async function startMongoWireServer(opts: { port?: number } = {}): Promise<MongoWireServer> {
  const port = opts.port ?? (await freePort());
  const store = new Store();
  const sockets = new Set<Socket>();
  let nextConnectionId = 1;

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const connectionId = nextConnectionId++;
    let pending = Buffer.alloc(0);

    const reply = (body: Doc): Doc => {
      try {
        return { ...runCommand(store, body, connectionId), ok: 1 };
      } catch (err) {
        if (err instanceof CommandError) return { ok: 0, ...err.toDoc() };
        return { ok: 0, errmsg: `mongo-wire: ${(err as Error).message}`, code: 1, codeName: 'InternalError' };
      }
    };

    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 16 && pending.length >= pending.readInt32LE(0)) {
        const msg = pending.subarray(0, pending.readInt32LE(0));
        pending = pending.subarray(msg.length);
        const requestId = msg.readInt32LE(4);
        const opCode = msg.readInt32LE(12);
        try {
          if (opCode === OP_MSG) {
            const { body, moreToCome } = parseOpMsg(msg);
            const doc = BSON.serialize(reply(body), { ignoreUndefined: true });
            // flagBits (uint32) and section kind 0, then the body
            if (!moreToCome) socket.write(frame(OP_MSG, requestId, Buffer.concat([Buffer.alloc(5), doc])));
          } else if (opCode === OP_QUERY) {
            const doc = BSON.serialize(reply(parseOpQuery(msg)), { ignoreUndefined: true });
            const head = Buffer.alloc(20); // responseFlags, cursorID (int64), startingFrom, numberReturned
            head.writeInt32LE(1, 16);
            socket.write(frame(OP_REPLY, requestId, Buffer.concat([head, doc])));
          } else {
            throw new Error(`opCode ${opCode} is not supported`);
          }
        } catch {
          socket.destroy(); // a malformed or unsupported message: drop the connection, as the server does
          return;
        }
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    uri: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
