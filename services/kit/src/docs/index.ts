export type {
  DocumentMeta,
  DocumentPage,
  DocumentStore,
  DocumentStoreOptions,
  ListOptions,
  Mutation,
  StoredDocument,
  UpdateOptions,
} from './types.ts';
export {
  DocumentExistsError,
  DocumentNotFoundError,
  InvalidDocumentError,
  InvalidListOptionsError,
  RevisionConflictError,
  isDocumentExists,
  isDocumentNotFound,
  isInvalidDocument,
  isInvalidListOptions,
  isRevisionConflict,
  type DocumentIssue,
} from './errors.ts';
export { DOCUMENT_ID_RE, isDocumentId } from './shared.ts';
export { KvDocumentStore, type KvDocumentStoreOptions } from './kv.ts';
export { MongoDocumentStore, type MongoDocumentStoreOptions } from './mongo.ts';
export { documentStores, openDocumentStore, type DocumentBackend, type DocumentStores } from './open.ts';
