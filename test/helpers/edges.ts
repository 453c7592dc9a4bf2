/**
 * The relay on each of its edges, started the same way for the suites that must pass on both: the Node relay
 * (as `ferry serve` runs it) and the Workers build (dist/worker/worker.js with the page as its static
 * assets) in workerd, run by Miniflare.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { buildPage } from './browser.js';
import { startRelay } from './relay.js';

export interface EdgeRelay {
  /** ws://…/ws */
  url: string;
  port: number;
  /** http://127.0.0.1:port */
  base: string;
  close(): Promise<void>;
}

export interface EdgeSettings {
  /** host:port the guard lets through (the test origin on loopback). */
  allow: string[];
  /** null: none at all (a Worker then refuses to run). */
  ticketSecret?: string | null;
  password?: string;
  /** Ms an upstream may say nothing. */
  idleMs?: number;
}

export type EdgeName = 'node' | 'workers';

/** The shipped Workers settings (deploy/workers/wrangler.json): the tests run the Worker as deployed. */
export const WRANGLER = JSON.parse(readFileSync(join(process.cwd(), 'deploy/workers/wrangler.json'), 'utf8')) as {
  main: string;
  compatibility_date: string;
  assets: { directory: string };
  vars: Record<string, string>;
};

async function nodeEdge(s: EdgeSettings): Promise<EdgeRelay> {
  const relay = await startRelay({ allow: s.allow, ...(s.ticketSecret && { ticketSecret: s.ticketSecret }), ...(s.password && { password: s.password }), ...(s.idleMs && { limits: { idleMs: s.idleMs } }) });
  return { url: relay.url, port: relay.port, base: `http://127.0.0.1:${relay.port}`, close: () => relay.close() };
}

async function workersEdge(s: EdgeSettings): Promise<EdgeRelay> {
  buildPage();
  execFileSync(process.execPath, ['scripts/build-worker.mjs'], { stdio: 'inherit' });
  const bindings: Record<string, string> = {
    FERRY_ALLOW_HOSTS: s.allow.join(','),
    ...(s.ticketSecret !== null && { FERRY_TICKET_SECRET: s.ticketSecret ?? 'a ticket secret of the Workers edge under test' }),
    FERRY_LOG_LEVEL: 'silent',
    ...(s.password ? { FERRY_PASSWORD: s.password } : { FERRY_NO_AUTH: '1' }),
    ...(s.idleMs && { FERRY_IDLE_MS: String(s.idleMs) }),
  };
  const mf = new Miniflare({
    scriptPath: join(process.cwd(), 'dist/worker/worker.js'),
    modules: true,
    compatibilityDate: WRANGLER.compatibility_date,
    bindings,
    // What wrangler's [assets] does: the page's files first, the Worker for every other path.
    assets: { directory: join(process.cwd(), 'dist/app'), routerConfig: { has_user_worker: true } },
    host: '127.0.0.1',
  });
  const url = await mf.ready;
  return { url: `ws://${url.host}/ws`, port: Number(url.port), base: url.origin, close: () => mf.dispose() };
}

export const EDGES: Record<EdgeName, (settings: EdgeSettings) => Promise<EdgeRelay>> = { node: nodeEdge, workers: workersEdge };
