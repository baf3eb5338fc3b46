#!/usr/bin/env node
// peer.js drives wechatpay-axios-plugin (the Node.js peer client) for the Go
// interop tests. It does one step per run and prints one JSON object on
// stdout; the Go test decides what the outcome means.
//
//   node node/peer.js STEP --flag=value ...
//
// Steps that call the server (through the plugin's chain, exactly as its users do):
//   points         POST v3/businesscircle/points/notify   --data=JSON
//   parking        POST v3/businesscircle/parkings        --data=JSON
//   authorization  GET  v3/businesscircle/user-authorizations/{openid}  --openid= --appid= [--sub-mchid=]
//     with --base-url, --mchid, --serial (merchant certificate serial),
//     --private-key=FILE and one --cert=SERIAL=FILE per WeChat Pay key
//     (platform certificate PEM or SPKI public key PEM), as the plugin's `certs`.
//
// Steps that use the plugin's primitives on captured messages:
//   notification   verify a captured notification with the plugin's own response
//                  verifier (Decorator.responseVerifier: the four headers, the
//                  ±300 s clock, the serial in `certs`, RSA-SHA256), then decrypt
//                  its resource with Aes.AesGcm.decrypt.  --in=FILE --apiv3-key= --cert=...
//   verify-requests  check captured requests' Authorization with Formatter.request
//                  and Rsa.verify against the merchant certificate.  --in=FILE --merchant-cert=FILE
//   cert-serial    the serial number of a certificate as Node.js reads it
//                  (crypto.X509Certificate), as the README tells users to.  --in=FILE
//   build-notification  sign and encrypt a notification with Formatter,
//                  Rsa.sign and Aes.AesGcm.encrypt.  --plaintext=JSON --event-type=
//                  --apiv3-key= --signing-key=FILE --serial-out=SERIAL
//
// --now=UNIX pins the plugin's clock (Date.now), for the exact 300 s boundary.
//
//   node node/peer.js serve
// reads one JSON request per line on stdin, {"step": "...", "flags": {...}}
// (flags without the leading dashes; "cert" an array), and writes one JSON
// line per request on stdout, {"result": ...} or {"error": "..."}. The Go
// tests use it to pay node's start-up once per test binary.
'use strict';

const fs = require('fs');
const {
  Wechatpay, Rsa, Aes, Formatter, Decorator,
} = require('wechatpay-axios-plugin');

function parseArgs(argv) {
  const [step, ...rest] = argv;
  const flags = { cert: [] };
  for (const arg of rest) {
    const m = /^--([^=]+)=([\s\S]*)$/.exec(arg);
    if (!m) throw new Error(`bad argument ${JSON.stringify(arg)}: want --name=value`);
    if (m[1] === 'cert') flags.cert.push(m[2]);
    else flags[m[1]] = m[2];
  }
  return { step, flags };
}

function need(flags, name) {
  if (flags[name] === undefined || flags[name] === '') throw new Error(`--${name} is required`);
  return flags[name];
}

// certs builds the plugin's `{serial: key}` map from --cert=SERIAL=FILE.
function certs(flags) {
  const out = {};
  for (const c of flags.cert) {
    const i = c.indexOf('=');
    if (i < 1) throw new Error(`--cert=${c}: want SERIAL=FILE`);
    out[c.slice(0, i)] = Rsa.from(`file://${c.slice(i + 1)}`, Rsa.KEY_TYPE_PUBLIC);
  }
  return out;
}

function client(flags) {
  return new Wechatpay({
    mchid: need(flags, 'mchid'),
    serial: need(flags, 'serial'),
    privateKey: `file://${need(flags, 'private-key')}`,
    certs: certs(flags),
    baseURL: need(flags, 'base-url'),
    timeout: 5000,
    proxy: false, // never send loopback traffic to a proxy from the environment
  });
}

// describe turns a plugin/axios error into plain JSON.
function describe(err) {
  const out = { name: err.name, code: err.code || '', message: err.message };
  if (err.response) {
    out.status = err.response.status;
    out.data = err.response.data;
  }
  return out;
}

async function call(flags, fn) {
  try {
    const res = await fn(client(flags));
    return {
      ok: true,
      status: res.status,
      data: res.data === '' ? null : res.data,
      serial: res.headers['wechatpay-serial'] || '',
    };
  } catch (err) {
    return { ok: false, error: describe(err) };
  }
}

const steps = {
  points: (f) => call(f, (wx) => wx.v3.businesscircle.points.notify.post(JSON.parse(need(f, 'data')))),

  parking: (f) => call(f, (wx) => wx.v3.businesscircle.parkings.post(JSON.parse(need(f, 'data')))),

  authorization: (f) => call(f, (wx) => {
    const params = { appid: need(f, 'appid') };
    if (f['sub-mchid']) params.sub_mchid = f['sub-mchid'];
    return wx.v3.businesscircle.userAuthorizations.$openid$.get({ params, openid: need(f, 'openid') });
  }),

  // The plugin has no notification handler; a notification is verified like an
  // answer, so its own answer verifier is the closest thing to "its own code".
  notification: async (f) => {
    const captured = JSON.parse(fs.readFileSync(need(f, 'in'), 'utf8'));
    const verify = Decorator.responseVerifier(certs(f));
    const checked = verify.call({ url: '/notify' }, captured.body, captured.headers);
    if (checked instanceof Error) {
      return { ok: false, error: { name: checked.name, code: checked.code, message: checked.message } };
    }
    const envelope = JSON.parse(checked);
    const r = envelope.resource;
    try {
      const plaintext = Aes.AesGcm.decrypt(r.ciphertext, need(f, 'apiv3-key'), r.nonce, r.associated_data);
      return {
        ok: true, id: envelope.id, event_type: envelope.event_type, resource: JSON.parse(plaintext),
      };
    } catch (err) {
      return { ok: false, error: { name: err.name, code: err.code || 'DECRYPT', message: err.message } };
    }
  },

  'verify-requests': async (f) => {
    const cert = Rsa.from(`file://${need(f, 'merchant-cert')}`, Rsa.KEY_TYPE_PUBLIC);
    const requests = JSON.parse(fs.readFileSync(need(f, 'in'), 'utf8'));
    const results = requests.map((r) => {
      const m = /^WECHATPAY2-SHA256-RSA2048 (.*)$/.exec(r.authorization || '');
      if (!m) return { ok: false, reason: 'scheme' };
      const fields = {};
      for (const pair of m[1].split(',')) {
        const kv = /^\s*([a-z_]+)="([^"]*)"$/.exec(pair);
        if (!kv) return { ok: false, reason: `pair ${pair}` };
        fields[kv[1]] = kv[2];
      }
      const message = Formatter.request(r.method, r.target, fields.timestamp, fields.nonce_str, r.body);
      return {
        ok: Rsa.verify(message, fields.signature, cert),
        mchid: fields.mchid,
        serial_no: fields.serial_no,
      };
    });
    return { ok: results.every((r) => r.ok), results };
  },

  'cert-serial': async (f) => ({
    ok: true,
    serial: new (require('crypto').X509Certificate)(fs.readFileSync(need(f, 'in'))).serialNumber,
  }),

  'build-notification': async (f) => {
    const plaintext = need(f, 'plaintext');
    const nonce = Formatter.nonce(12);
    const aad = f['associated-data'] || 'mall_transaction';
    const body = JSON.stringify({
      id: `EV-${Formatter.nonce(16)}`,
      create_time: new Date().toISOString().replace(/\.\d+Z$/, '+00:00'),
      event_type: need(f, 'event-type'),
      resource_type: 'encrypt-resource',
      summary: '支付成功',
      resource: {
        original_type: aad,
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext: Aes.AesGcm.encrypt(plaintext, need(f, 'apiv3-key'), nonce, aad),
        associated_data: aad,
        nonce,
      },
    });
    const timestamp = `${Formatter.timestamp()}`;
    const headerNonce = Formatter.nonce();
    const key = Rsa.from(`file://${need(f, 'signing-key')}`, Rsa.KEY_TYPE_PRIVATE);
    return {
      ok: true,
      headers: {
        'Content-Type': 'application/json',
        'Request-ID': `node-${headerNonce.slice(0, 8)}`,
        'Wechatpay-Timestamp': timestamp,
        'Wechatpay-Nonce': headerNonce,
        'Wechatpay-Serial': need(f, 'serial-out'),
        'Wechatpay-Signature': Rsa.sign(Formatter.response(timestamp, headerNonce, body), key),
        'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
      },
      body,
    };
  },
};

const realNow = Date.now;

async function runStep(step, flags) {
  if (!Object.prototype.hasOwnProperty.call(steps, step)) {
    throw new Error(`unknown step ${JSON.stringify(step)}; steps: ${Object.keys(steps).join(', ')}`);
  }
  if (!Array.isArray(flags.cert)) flags.cert = flags.cert ? [flags.cert] : [];
  if (flags.now) {
    const pinned = Number(flags.now) * 1000;
    Date.now = () => pinned;
  }
  try {
    return await steps[step](flags);
  } finally {
    Date.now = realNow;
  }
}

// serve answers requests one at a time, in order, until stdin closes.
async function serve() {
  const lines = require('readline').createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let reply;
    try {
      const { step, flags } = JSON.parse(line);
      reply = { result: await runStep(step, { ...flags }) };
    } catch (err) {
      reply = { error: String(err && err.stack ? err.stack : err) };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
}

async function main() {
  if (process.argv[2] === 'serve') {
    await serve();
    return;
  }
  const { step, flags } = parseArgs(process.argv.slice(2));
  process.stdout.write(`${JSON.stringify(await runStep(step, flags))}\n`);
}

main().catch((err) => {
  process.stderr.write(`peer.js: ${err.stack || err}\n`);
  process.exit(2);
});
