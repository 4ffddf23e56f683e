// The llhttp request corpus and the robustness corpus (test/fixtures/conformance), through both
// bindings, fed whole and split in two at every byte offset, with and without a sink that pauses
// after every message. Every way of feeding must give the same trace.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  E_OK, E_CLOSED, E_UPGRADE, E_INVALID_VERSION, E_UNKNOWN_METHOD, E_UNSUPPORTED_TE, E_INVALID_TRANSFER_ENCODING,
} from '../../../src/http/parser/index.js';
import { BINDINGS, decode, feed, splitAt } from './helpers.js';
import type { Outcome } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const DIR = path.join(ROOT, 'test/fixtures/conformance');

interface Case {
  id: string;
  skip?: boolean;
  expect: 'valid' | 'invalid' | 'incomplete' | 'any';
  messages?: number;
  expectRfc?: string;
  messagesRfc?: number;
  method?: string;
  url?: string;
  headers?: number;
  pipeline?: { method: string; url: string }[];
  encoding: string;
  raw: string;
  rawWithHost?: string;
  segments?: { raw: string; encoding?: string }[];
  halfClose?: boolean;
}

/**
 * Where our verdict is not llhttp's. Each is one of the strictness choices in docs/parser.md; the
 * server answers them with 505 / 501, which the probe counts as a (soft) pass.
 */
const DEVIATIONS: Record<string, { expect: Case['expect']; messages: number; rc: number; why: string }> = {
  'request/method.md:372 SOURCE request with ICE': {
    expect: 'invalid', messages: 0, rc: E_INVALID_VERSION, why: 'ICE/1.0 is not HTTP (expectRfc)',
  },
  'request/method.md:400 OPTIONS request with RTSP': {
    expect: 'invalid', messages: 0, rc: E_INVALID_VERSION, why: 'RTSP/1.0 is not HTTP (expectRfc)',
  },
  'request/method.md:430 ANNOUNCE request with RTSP': {
    expect: 'invalid', messages: 0, rc: E_UNKNOWN_METHOD, why: 'ANNOUNCE is not an HTTP method (expectRfc)',
  },
  'request/sample.md:314 No HTTP version': {
    expect: 'invalid', messages: 0, rc: E_INVALID_VERSION, why: 'HTTP/0.9 is not supported (expectRfc: any)',
  },
  // Transfer-Encoding in a request as nginx 1.22 takes it: one line, exactly "chunked" (501 / 400)
  'request/transfer-encoding.md:751 POST with `chunked` as last transfer-encoding': {
    expect: 'invalid', messages: 0, rc: E_UNSUPPORTED_TE, why: 'nginx: unknown Transfer-Encoding (expectRfc: any)',
  },
  'request/transfer-encoding.md:793 POST with `chunked` as last transfer-encoding (multiple headers)': {
    expect: 'invalid', messages: 0, rc: E_UNSUPPORTED_TE, why: 'a second line after deflate: 501, the coding is not ours (nginx: 400 duplicate header line; expectRfc: any)',
  },
  'smuggle/Transfer-Encoding value preceded by HTAB': {
    expect: 'invalid', messages: 0, rc: E_UNSUPPORTED_TE, why: 'nginx skips only SP before a value: 501',
  },
  'slow/slowloris: one header line per second for 12 s': {
    expect: 'valid', messages: 1, rc: E_OK, why: 'the header timeout is the server\'s; the bytes are valid',
  },
};

function load(file: string): Case[] {
  return JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as Case[];
}

function bytesOf(c: Case): Buffer {
  if (c.segments) return Buffer.concat(c.segments.map((s) => decode(s.raw, s.encoding ?? c.encoding)));
  return decode(c.rawWithHost ?? c.raw, c.encoding);
}

/** rawWithHost added a Host line to the first request. */
function hostAdded(c: Case): number {
  if (c.rawWithHost === undefined) return 0;
  const a = decode(c.raw, c.encoding).toString('latin1');
  const b = decode(c.rawWithHost, c.encoding).toString('latin1');
  const end = (s: string): number => {
    const i = s.search(/\r?\n\r?\n/);
    return i < 0 ? s.length : i;
  };
  return a.slice(0, end(a)) === b.slice(0, end(b)) ? 0 : 1;
}

const stopped = (rc: number): boolean => rc !== E_OK;
const show = (o: Outcome): string => `rc=${o.rc} (${o.reason}) messages=${o.messages} inProgress=${o.inProgress}`;

function verdict(c: Case, o: Outcome): void {
  const dev = DEVIATIONS[c.id];
  const expect = dev?.expect ?? c.expect;
  const k = dev?.messages ?? c.messages ?? 0;
  if (dev !== undefined) assert.is(o.rc, dev.rc, `${dev.why}: ${show(o)}`);
  switch (expect) {
    case 'valid':
      assert.ok(o.messages >= k, `valid: ${k} complete message(s) expected, ${show(o)}`);
      break;
    case 'invalid':
      assert.ok(stopped(o.rc), `invalid: an error or a stop expected, ${show(o)}`);
      assert.is(o.messages, k, `invalid: ${k} message(s) before the error, ${show(o)}`);
      break;
    case 'incomplete':
      assert.is(o.rc, E_OK, `incomplete: no error, ${show(o)}`);
      assert.ok(o.inProgress, `incomplete: a message in progress, ${show(o)}`);
      assert.is(o.messages, k, `incomplete: ${k} complete message(s), ${show(o)}`);
      break;
    case 'any':
      break;
  }
  // stops (E_CLOSED, E_UPGRADE) are not errors: nothing is in progress
  if (o.rc === E_CLOSED || o.rc === E_UPGRADE) assert.not.ok(o.inProgress, 'nothing in progress after a stop');
  const first = o.sink.heads[0];
  if (first !== undefined && expect !== 'invalid') {
    if (c.method !== undefined) assert.is(first.method, c.method, 'method');
    if (c.url !== undefined && !c.url.includes('...')) assert.is(first.url, c.url, 'url');
    // llhttp counts trailer fields with the header fields
    if (c.headers !== undefined) assert.is(first.headers + first.trailers, c.headers + hostAdded(c), 'field lines');
    c.pipeline?.slice(0, o.messages).forEach((m, i) => {
      assert.is(o.sink.heads[i]?.method, m.method, `pipeline[${i}].method`);
      assert.is(o.sink.heads[i]?.url, m.url, `pipeline[${i}].url`);
    });
  }
}

/** Every offset for small inputs; large ones (the limits cases) every offset near the ends. */
function offsets(n: number): number[] {
  const r: number[] = [];
  for (let i = 1; i < n; i++) if (n <= 4096 || i < 1024 || i > n - 1024 || i % 61 === 0) r.push(i);
  return r;
}

for (const file of ['llhttp-requests.json', 'robustness.json']) {
  for (const c of load(file)) {
    if (c.skip) continue;
    test(`${file} ${c.id}`, () => {
      const bytes = bytesOf(c);
      const finish = c.halfClose === true;
      const whole = feed(BINDINGS[0][1], [bytes], { finish });
      verdict(c, whole);
      const want = JSON.stringify([whole.rc, whole.messages, whole.inProgress, whole.trace]);
      for (const [name, P] of BINDINGS) {
        for (const pause of [false, true]) {
          const o = feed(P, [bytes], { finish, pause });
          const got = JSON.stringify([o.rc, o.messages, o.inProgress, o.trace.filter((t) => t !== '(paused)')]);
          assert.is(got, want, `${name} binding, whole, pause=${pause}`);
          for (const i of offsets(bytes.length)) {
            const s = feed(P, splitAt(bytes, i), { finish, pause });
            const gs = JSON.stringify([s.rc, s.messages, s.inProgress, s.trace.filter((t) => t !== '(paused)')]);
            if (gs !== want) assert.is(gs, want, `${name} binding, split at ${i}, pause=${pause}`);
          }
        }
      }
    });
  }
}

test.run();
