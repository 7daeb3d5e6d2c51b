// The bench's counting proxy, in a process of its own (started by bench/awsProxy.ts).
// Every request is forwarded unchanged to the upstream and recorded with the time it
// arrived here. A process of its own because the bench runs the Lambda bundles in its
// own process: an arrival stamped there waits for that process's event loop, and a
// stall would bunch the stamps up (the per-second peaks would measure the bench).
// Control: PUT /__bench/upstream (body: URL), POST /__bench/reset, GET /__bench/calls.
import http from 'node:http';

let upstream = '';
let calls = [];

const server = http.createServer((req, res) => {
  const at = Date.now();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    const url = req.url ?? '/';
    if (url.startsWith('/__bench/')) {
      if (url === '/__bench/upstream') upstream = text.trim();
      if (url === '/__bench/reset') calls = [];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(url === '/__bench/calls' ? JSON.stringify(calls) : '{}');
      return;
    }
    const call = {
      at,
      method: req.method ?? 'GET',
      url,
      authorization: String(req.headers.authorization ?? ''),
      target: typeof req.headers['x-amz-target'] === 'string' ? req.headers['x-amz-target'] : undefined,
      action: /(?:^|&)Action=([^&]+)/.exec(text)?.[1],
      changes: (text.match(/<Change>/g) ?? []).length,
      resourceRecords: (text.match(/<ResourceRecord>/g) ?? []).length + (text.match(/<AliasTarget>/g) ?? []).length,
      status: 0,
    };
    calls.push(call);
    const target = new URL(url, upstream);
    const up = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (upRes) => {
      call.status = upRes.statusCode ?? 0;
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', (err) => {
      call.status = 502;
      res.writeHead(502).end(String(err));
    });
    up.end(text.length > 0 ? Buffer.concat(chunks) : undefined);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('disconnect', () => process.exit(0));
