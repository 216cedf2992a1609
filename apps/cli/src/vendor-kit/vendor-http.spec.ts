import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_BODY_BYTES, send } from './vendor-http';

describe('send', () => {
  let server: Server;
  let url: string;

  beforeEach(async () => {
    server = createServer((req, res) => {
      if (req.url === '/endless') {
        // Writes until the client goes away.
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
        return;
      }
      if (req.url === '/silent') return;
      res.writeHead(201, { 'Content-Type': 'application/json' }).end('{"id":"r-1"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads an answer as text and JSON', async () => {
    const outcome = await send({ method: 'GET', url: `${url}/ok`, timeoutMs: 5000 });
    expect(outcome).toMatchObject({ kind: 'response', status: 201, text: '{"id":"r-1"}', json: { id: 'r-1' }, isJson: true });
  });

  it('stops reading a body at MAX_BODY_BYTES instead of holding all a vendor sends', async () => {
    const outcome = await send({ method: 'GET', url: `${url}/endless`, timeoutMs: 20_000 });
    expect(outcome.kind).toBe('response');
    if (outcome.kind !== 'response') return;
    expect({ status: outcome.status, length: outcome.text.length, isJson: outcome.isJson }).toEqual({ status: 200, length: MAX_BODY_BYTES, isJson: false });
  });

  it('turns a timeout and a refused connection into outcomes with reasons', async () => {
    expect(await send({ method: 'POST', url: `${url}/silent`, timeoutMs: 200 })).toEqual({ kind: 'error', reason: `no answer to POST ${url}/silent within 200 ms` });
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const goneUrl = `http://127.0.0.1:${(gone.address() as AddressInfo).port}/heroku/resources`;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    expect(await send({ method: 'GET', url: goneUrl, timeoutMs: 1000 })).toEqual({ kind: 'error', reason: `could not reach GET ${goneUrl}: ECONNREFUSED` });
  });
});
