/**
 * `/save/TICKET/NAME` (for download managers) and `/media/TICKET/NAME` (for the page's media element) on Web
 * standards: a Request in, a Response out, so that any runtime's edge (Node here, Workers later) answers them
 * the same way. A request a foreign page started is refused first.
 */
import { TEXT_HEADERS, type DownloadReply } from './download-reply.js';
import type { Downloads } from './downloads.js';
import type { SitePolicy } from './site.js';
import type { TicketUse } from './ticket.js';

const PATHS: Record<TicketUse, string> = { save: '/save/', play: '/media/' };

/** Where a ticket of this use is fetched. */
export function pathOf(use: TicketUse): string {
  return PATHS[use];
}

/** The use of the ticket path a request names, or null when it names none. */
export function ticketPathUse(path: string): TicketUse | null {
  return path.startsWith(PATHS.save) ? 'save' : path.startsWith(PATHS.play) ? 'play' : null;
}

export async function serveTicket(request: Request, downloads: Downloads, site: SitePolicy): Promise<Response> {
  const header = (name: string): string | undefined => request.headers.get(name) ?? undefined;
  const refusal = site.downloadRefusal({ host: header('host'), origin: header('origin'), fetchSite: header('sec-fetch-site') });
  if (refusal) return new Response(`${refusal}\n`, { status: 403, headers: TEXT_HEADERS });
  const path = new URL(request.url).pathname;
  const use = ticketPathUse(path);
  if (!use) return new Response('not found\n', { status: 404, headers: TEXT_HEADERS });
  const ticket = path.slice(PATHS[use].length).split('/')[0] ?? '';
  return toResponse(await downloads.serve(ticket, use, request.headers.get('range'), request.method, request.signal));
}
/** The reply as a Response; its body pulls the upstream only as fast as the reader takes it. */
function toResponse(reply: DownloadReply): Response {
  if (!reply.body) return new Response(reply.text, { status: reply.status, headers: reply.headers });
  const chunks = reply.body[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      // The reader went away: the upstream is released at once.
      async cancel() {
        await chunks.return?.();
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: reply.status, headers: reply.headers });
}
