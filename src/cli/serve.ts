import { existsSync } from 'node:fs';
import { parseServeArgs, SERVE_HELP } from '../relay/node/config.js';
import { serveFile } from './demo-origin.js';
import { createRelay } from '../relay/node/server.js';

export async function runServe(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const config = parseServeArgs(argv, env);
  if (config === 'help') {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  let demoUrl: string | undefined;
  if (config.demo) {
    if (existsSync(config.demo)) {
      const demo = await serveFile(config.demo);
      config.allowHosts.push({ host: '127.0.0.1', port: demo.port });
      demoUrl = demo.url;
    } else {
      process.stderr.write(`no demo video at ${config.demo}; the page opens empty\n`);
    }
  }
  const relay = createRelay({ config, ...(demoUrl && { demoUrl }) });
  await relay.listen();
  process.stderr.write(`ferry relay on http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${relay.port}/\n`);
  const stop = (): void => void relay.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise(() => {});
}
