/**
 * The demo Steam for `steam-key redeem --demo`: the same simulated Steam as
 * `serve --demo`, and, since a QR code or demo-approve's sign-in waits for
 * the demo's Steam app, that app's page (lib/app/demo-app.ts) on a small
 * HTTP server of its own, on 127.0.0.1 and a free port: open the QR code's
 * link in a browser on this machine to approve it.
 */
import { createServer } from 'node:http';
import { demoAppHandler } from '../app/demo-app.js';
import { DemoSteamApp } from '../steam/demo-app.js';
import { demoPortFactory } from '../steam/demo-port.js';
import type { SteamPortFactory } from '../steam/port.js';
import { listen } from './listen.js';

export interface DemoSteam {
  factory: SteamPortFactory;
  /** The demo's Steam app page. */
  appUrl: string;
  close(): Promise<void>;
}

export async function startDemoSteam(): Promise<DemoSteam> {
  const app = new DemoSteamApp();
  const page = demoAppHandler(app);
  const server = createServer((req, res) => {
    if (page(req, res)) return;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
  });
  app.baseUrl = `http://${await listen(server, 0, '127.0.0.1')}/`;
  server.unref(); // the run's end, not this page, decides when the process exits
  return {
    factory: demoPortFactory({ app }),
    appUrl: app.homeUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
