export { classifyAddress, isNonPublicAddress, parseIPv6, type AddressClass } from './address.ts';
export { safeFetch, redactUrl, type SafeFetchOptions, type SafeResponse } from './safe-fetch.ts';
