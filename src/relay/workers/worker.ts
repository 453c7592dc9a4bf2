/**
 * The relay on Cloudflare Workers: the runtime-neutral core behind a `fetch` handler. The page is the
 * Workers static assets (dist/app); this answers `/ws` (a WebSocketPair), `/save/` and `/media/` (the core's
 * own Responses), `/healthz` and `/config.json`. Settings come from the Worker's variables and secrets, with
 * the Node relay's names (docs/deploy.md).
 */
import { serveTicket, ticketPathUse } from '../core/save-endpoint.js';
import { SitePolicy } from '../core/site.js';
import { isolateContext, type FerryEnv } from './context.js';
import { acceptSocket, text, WS_PATH } from './socket.js';

export default {
  async fetch(request: Request, env: FerryEnv): Promise<Response> {
    const isolate = isolateContext(env);
    if ('refusal' in isolate) return text(500, isolate.refusal);
    const { ctx, allowOrigins } = isolate;
    const url = new URL(request.url);
    // Requests reach a Worker only by the names it is routed on, so no page can rebind one to a private
    // address: its own name is the name it answers to, and the Origin check is what keeps other sites out.
    const site = new SitePolicy(url.hostname, allowOrigins);
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return text(400, 'the path is not valid percent-encoding');
    }
    if (path === '/healthz') return Response.json({ ok: true }, { headers: { 'cache-control': 'no-store' } });
    if (path === WS_PATH) return acceptSocket(request, ctx, site);
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'only GET and HEAD');
    if (path === '/config.json') return Response.json({ demoUrl: null });
    if (ticketPathUse(path)) return serveTicket(request, ctx.downloads, site);
    return text(404, path === '/metrics' ? 'the edge build keeps no metrics: see the Workers dashboard' : 'not found');
  },
};
