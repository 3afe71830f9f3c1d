/** Loopback HTTP backends for health-check tests: `/health` answers 200 while `healthy`, else 503. */
import { createServer, type Server } from 'node:http';

export interface Backend {
  server: Server;
  healthy: boolean;
  /** Requests received, of any path. */
  hits: number;
}

/** Listen on `host:port` (a 127.x.y.z address the test chose). */
export async function backend(host: string, port: number, healthy = true): Promise<Backend> {
  const b: Backend = { server: createServer(), healthy, hits: 0 };
  b.server.on('request', (req, res) => {
    b.hits++;
    res.statusCode = req.url === '/health' && b.healthy ? 200 : 503;
    res.end(b.healthy ? 'ok' : 'failing');
  });
  await new Promise<void>((resolve, reject) => {
    b.server.once('error', reject);
    b.server.listen(port, host, () => resolve());
  });
  return b;
}

export function closeBackend(b: Backend | undefined): Promise<void> {
  if (!b) return Promise.resolve();
  b.server.closeAllConnections();
  return new Promise((resolve) => b.server.close(() => resolve()));
}
