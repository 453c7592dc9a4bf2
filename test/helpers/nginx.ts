/** Debian's nginx as a load balancer in front of relays, on loopback, run by the test itself with the shipped configuration. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  await new Promise((done) => server.close(done));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

export interface Balancer {
  port: number;
  /** nginx's master process (its worker is its child). */
  pid: number;
  stop(): Promise<void>;
}

/**
 * deploy/nginx/ferry.conf, as shipped, with the test's relays in its upstream and its own port to listen on:
 * the file people deploy is the one the tests run.
 */
export function renderFerryConf(upstreamPorts: number[], port: number): string {
  const shipped = readFileSync(join(process.cwd(), 'deploy/nginx/ferry.conf'), 'utf8');
  const servers = /^ *server relay:8080 .*;$/m;
  const listen = /^ *listen 8080;$/m;
  if (!servers.test(shipped) || !listen.test(shipped)) throw new Error('deploy/nginx/ferry.conf no longer has the lines this helper replaces');
  return shipped
    .replace(servers, upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=30s;`).join('\n'))
    .replace(listen, `    listen 127.0.0.1:${port};`);
}

export function startNginx(upstreamPorts: number[]): Promise<Balancer> {
  return runNginx((port) => renderFerryConf(upstreamPorts, port));
}

/** nginx with one worker and `servers` (what goes inside `http { }`, given the port to listen on). */
export async function runNginx(servers: (port: number) => string): Promise<Balancer> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-nginx-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
${servers(port)}
}
`,
  );
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // Ready once it accepts connections.
  for (let i = 0; !(await accepts(port)); i++) {
    if (i > 50 || child.exitCode !== null) throw new Error(`nginx did not start: ${stderr}`);
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    port,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGQUIT');
      await new Promise((done) => child.once('exit', done));
    },
  };
}
