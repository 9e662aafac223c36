// The clients' workload (clients/README.md) for Node's memjs (binary protocol).
//
// usage: node workload.js SERVERS binary workload|place N
// memjs is found through NODE_PATH (the test sets it; .ci/run installs memjs
// under /opt/moxi-clients/node). Prints one line per operation,
// `op key -> result`. memjs has no multi-get, cas or quiet commands.
'use strict';
const crypto = require('crypto');
const memjs = require('memjs');

const SIZES = [0, 1, 100, 1000, 10000, 100000];
const SPREAD = 40;

function value(size, salt = 0) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = 97 + ((i * 7 + size + salt) % 26);
  return b;
}

function show(r) {
  const v = r && r.value;
  if (v === null || v === undefined) return 'MISS';
  const md5 = crypto.createHash('md5').update(v).digest('hex').slice(0, 12);
  return `len=${v.length} md5=${md5} flags=${r.flags ? r.flags.toString('hex') : '-'}`;
}

async function step(op, key, fn, fmt = JSON.stringify) {
  let out;
  try {
    out = fmt(await fn());
  } catch (e) {
    out = `ERR ${e.message.replace(/127\.0\.0\.1:\d+/g, 'ADDR')}`;
  }
  process.stdout.write(`${op} ${key} -> ${out}\n`);
}

const allTrue = (r) => Object.values(r).every((x) => x === true);

async function workload(c) {
  await step('flush_all', '-', () => c.flush(), allTrue);
  await step('get', 'w:none', () => c.get('w:none'), show);
  for (const size of SIZES) {
    const k = `w:v${size}`;
    await step('set', k, () => c.set(k, value(size), {}));
    await step('get', k, () => c.get(k), show);
  }
  for (let i = 0; i < SPREAD; i++) {
    const k = `w:s${i}`;
    await step('set', k, () => c.set(k, value((i * 37) % 3000, i), {}));
    await step('get', k, () => c.get(k), show);
  }
  await step('add', 'w:v1', () => c.add('w:v1', 'x', {}));
  await step('add', 'w:new', () => c.add('w:new', 'new', {}));
  await step('get', 'w:new', () => c.get('w:new'), show);
  await step('replace', 'w:none', () => c.replace('w:none', 'x', {}));
  await step('replace', 'w:new', () => c.replace('w:new', 'renewed', {}));
  await step('get', 'w:new', () => c.get('w:new'), show);
  await step('set', 'w:ap', () => c.set('w:ap', 'base', {}));
  await step('append', 'w:ap', () => c.append('w:ap', '>tail'));
  await step('prepend', 'w:ap', () => c.prepend('w:ap', 'head<'));
  await step('get', 'w:ap', () => c.get('w:ap'), show);
  await step('append', 'w:none', () => c.append('w:none', 'x'));
  await step('prepend', 'w:none', () => c.prepend('w:none', 'x'));
  await step('set', 'w:n', () => c.set('w:n', '10', {}));
  await step('incr', 'w:n', () => c.increment('w:n', 5, {}));
  await step('decr', 'w:n', () => c.decrement('w:n', 3, {}));
  await step('decr', 'w:n', () => c.decrement('w:n', 100, {}));
  await step('incr', 'w:n', () => c.increment('w:n', 1000000, {}));
  await step('get', 'w:n', () => c.get('w:n'), show);
  await step('set', 'w:text', () => c.set('w:text', 'abc', {}));
  await step('incr', 'w:text', () => c.increment('w:text', 1, {}));
  // memjs always sends an initial value: a missing counter is created.
  await step('incr', 'w:init', () => c.increment('w:init', 1, { initial: 7 }));
  await step('incr', 'w:init', () => c.increment('w:init', 1, { initial: 7 }));
  await step('decr', 'w:init2', () => c.decrement('w:init2', 1, { initial: 3 }));
  await step('get', 'w:init2', () => c.get('w:init2'), show);
  await step('delete', 'w:new', () => c.delete('w:new'));
  await step('delete', 'w:new', () => c.delete('w:new'));
  await step('get', 'w:new', () => c.get('w:new'), show);
  await step('touch', 'w:v100', () => c.touch('w:v100', 3600));
  await step('touch', 'w:none', () => c.touch('w:none', 3600));
  await step('get', 'w:v100', () => c.get('w:v100'), show);
  await step('set', 'w:ttl', () => c.set('w:ttl', 't', { expires: 3600 }));
  await step('get', 'w:ttl', () => c.get('w:ttl'), show);
  // Binary keys may hold spaces and control bytes; ascii's may not.
  for (const k of ['w:sp ace', 'w:ctl\x01']) {
    await step('set', JSON.stringify(k), () => c.set(k, 'b', {}));
    await step('get', JSON.stringify(k), () => c.get(k), show);
  }
  await step('flush_all', '-', () => c.flush(), allTrue);
  await step('get', 'w:v100', () => c.get('w:v100'), show);
}

async function place(c, n) {
  let stored = 0;
  for (let i = 0; i < n; i++) {
    if (await c.set(`place:${i}`, String(i), {})) stored++;
  }
  process.stdout.write(`stored ${stored}\n`);
}

async function main() {
  const [servers, protocol, mode, n] = process.argv.slice(2);
  if (!servers || protocol !== 'binary' || !['workload', 'place'].includes(mode)) {
    process.stderr.write('usage: node workload.js SERVERS binary workload|place N\n');
    process.exit(2);
  }
  const c = memjs.Client.create(servers, {
    retries: 0,
    timeout: 10,
    logger: { log() {} },
  });
  if (mode === 'place') await place(c, Number(n));
  else await workload(c);
  c.close();
}

main();
