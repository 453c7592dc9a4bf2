import { parseServeArgs, SERVE_HELP } from '../relay/config.js';
import { createRelay } from '../relay/server.js';

export async function runServe(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const config = parseServeArgs(argv, env);
  if (config === 'help') {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const relay = createRelay({ config });
  await relay.listen();
  process.stderr.write(`ferry relay on http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${relay.port}/\n`);
  const stop = (): void => void relay.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise(() => {});
}
