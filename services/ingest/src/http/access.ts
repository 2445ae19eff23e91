import type { Principal } from '@reelbus/contracts';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { bearerToken, KeyRing, principalOf } from '../api-keys.ts';
import { HttpError } from '../errors.ts';
import { verifyLink } from '../links.ts';

/**
 * Who may call a route, declared per route as `config: { access }`:
 * - `public`: anyone (the Twilio webhook checks its own signature; the API description);
 * - `user`: any valid API key;
 * - `operator`: an API key with the `operator` role (others get 403);
 * - `user-or-signed-link`: an API key, or a signed, unexpired link for this exact path (video).
 */
export type Access = 'public' | 'user' | 'operator' | 'user-or-signed-link';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route; every `/v1` route must say (see http/access.ts). */
    access?: Access;
  }
  interface FastifyRequest {
    /** The API key the request came with (name and role), once the access check has passed. */
    principal: Principal | undefined;
  }
}

const unauthorized = (message: string) =>
  new HttpError({
    statusCode: 401,
    code: 'unauthorized',
    message,
    headers: { 'www-authenticate': 'Bearer realm="reelbus"' },
  });

/** The onRequest hook that enforces each route's `config.access`. */
export function accessHook({ keys, linkSecret }: { keys: KeyRing; linkSecret: string }) {
  const requireKey = (req: FastifyRequest) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw unauthorized('send an API key: "Authorization: Bearer <key>"');
    const key = keys.find(token);
    if (!key) throw unauthorized('the API key is not valid');
    req.principal = principalOf(key);
    return key;
  };

  const requireSignedLink = (req: FastifyRequest) => {
    const q = req.query as Record<string, string | undefined>;
    const path = req.url.split('?')[0] ?? req.url;
    const check = verifyLink({ path, expires: q.expires, signature: q.signature, secret: linkSecret });
    if (check.ok) return;
    const hint = 'ask for a fresh one with POST /v1/jobs/:id/links';
    throw new HttpError({
      statusCode: 403,
      code: check.reason === 'expired' ? 'link_expired' : 'link_invalid',
      message:
        check.reason === 'expired'
          ? `this video link expired at ${new Date(Number(q.expires) * 1000).toISOString()}; ${hint}`
          : `this video link is not valid for ${path}; ${hint}`,
    });
  };

  return async function checkAccess(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    if (req.is404) return;
    const access = req.routeOptions.config.access;
    switch (access) {
      case 'public':
        return;
      case 'user':
        requireKey(req);
        return;
      case 'operator': {
        const key = requireKey(req);
        if (key.role !== 'operator') {
          throw new HttpError({
            statusCode: 403,
            code: 'forbidden',
            message: `${req.method} ${req.routeOptions.url} needs an operator key; the key "${key.name}" has the role "${key.role}"`,
          });
        }
        return;
      }
      case 'user-or-signed-link': {
        const q = req.query as Record<string, string | undefined>;
        if (req.headers.authorization || (q.signature === undefined && q.expires === undefined)) {
          requireKey(req);
          return;
        }
        requireSignedLink(req);
        return;
      }
      default:
        // Routes outside /v1 (none today) and plugin routes without a declaration are refused at
        // registration by `checkRouteDeclaration`; reaching this is a bug, so fail closed.
        throw unauthorized('this route declares no access rule');
    }
  };
}

/**
 * onRoute check: a `/v1` route that says nothing about access would be open or closed by accident,
 * so registering one fails at start with the route's name.
 */
export function checkRouteDeclaration(route: RouteOptions): void {
  const access = route.config?.access;
  if (access === undefined) {
    throw new Error(
      `${String(route.method)} ${route.url}: declare who may call it with config: { access: 'public' | 'user' | 'operator' | 'user-or-signed-link' }`,
    );
  }
}
