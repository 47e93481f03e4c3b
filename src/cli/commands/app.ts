import { GraftError } from '../../errors.js';
import { APP_SERVER_DEFAULTS, serveApp } from '../../app-server/serve.js';
import { defineCommand } from '../command.js';
import { printOut } from '../terminal-text.js';

export const appCommand = defineCommand({
  name: 'app',
  summary: 'Serve the transfer-learning web app on this machine and print its URL (training runs in the page).',
  usage: 'graft app [--port N] [--host ADDRESS]',
  options: {
    port: { type: 'string', value: 'N', default: String(APP_SERVER_DEFAULTS.port), description: 'TCP port; 0 picks a free one' },
    host: { type: 'string', value: 'ADDRESS', default: APP_SERVER_DEFAULTS.host, description: 'Address to listen on (127.0.0.1: this machine only)' },
  },
  epilog: [
    'The page trains in your browser: images and models never leave it; this server only sends the',
    "app's own files, and the built-in source's weights (MobileNetV2 α 0.35, ImageNet), which it fetches",
    "into graft's weight cache on first use (GRAFT_WEIGHTS_MIRROR=URL: a mirror holding Keras's files).",
    'Stop it with Ctrl-C.',
  ].join('\n'),
  async run({ values: v }) {
    const port = Number(v.port);
    if (v.port.trim() === '' || !Number.isInteger(port)) throw new GraftError('BAD_ARGUMENT', `--port needs a whole number from 0 to 65535; received ${JSON.stringify(v.port)}.`);
    const server = await serveApp({ port, host: v.host });
    printOut(`graft app: open ${server.url} (Ctrl-C stops the server)\n`);
    // Serve until interrupted; the CLI entry, not this command, ends the process.
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void server.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
});
