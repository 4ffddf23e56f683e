// Location selection over real sockets: the example of nginx's `location` documentation plus
// the rules around it (exact first, longest prefix, ^~ stops the regexes, regexes in the order
// written, case), each case a request on the wire and the letter of the location that answered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listen, raw, timed, get } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';

let s: SluiceServer;

test.before(async () => {
  s = await listen({
    // nginx docs: location = / {A}  location / {B}  location /documents/ {C}
    //             location ^~ /images/ {D}  location ~* \.(gif|jpg|jpeg)$ {E}
    '= /': { return: [200, 'A'] },
    '/': { return: [200, 'B'] },
    '/documents/': { return: [200, 'C'] },
    '^~ /images/': { return: [200, 'D'] },
    '~* \\.(gif|jpg|jpeg)$': { return: [200, 'E'] },
    // more rules
    '/a/': { return: [200, 'F'] },
    '/a/b/': { return: [200, 'G'] },
    '~ ^/a/b/c': { return: [200, 'H'] },
    '~ ^/a/b': { return: [200, 'I'] },
    '= /a/b/exact': { return: [200, 'J'] },
    '~ \\.PNG$': { return: [200, 'K'] },
    '^~ /static/': { return: [200, 'L'] },
    '~ ^/static/x': { return: [200, 'M'] },
  });
});
test.after(async () => { await s.close(); });

const CASES: [string, string][] = [
  ['/', 'A'],
  ['/index.html', 'B'],
  ['/documents/document.html', 'C'],
  ['/images/1.gif', 'D'],
  ['/documents/1.jpg', 'E'],
  ['/documents/1.JPG', 'E'],          // ~* is case-insensitive
  ['/a/', 'F'],
  ['/a/x', 'F'],
  ['/a/b/', 'I'],                     // a matching regex beats the longest prefix
  ['/a/b/c/d', 'H'],                  // regexes are tried in the order written
  ['/a/b/exact', 'J'],                // exact match wins over everything
  ['/a/b/exact/', 'I'],
  ['/x.PNG', 'K'],
  ['/x.png', 'B'],                    // ~ is case-sensitive
  ['/static/x.gif', 'L'],             // ^~ stops the regex search
  ['/static/xyz', 'L'],
  ['/images/a/b.jpeg', 'D'],
];

test('nginx\'s location algorithm, case by case', timed(30000, async () => {
  const reqs = CASES.map(([uri]) => get(uri)).join('');
  // all of them pipelined on one connection, answered in order
  const res = await raw(s.port, reqs, { responses: CASES.length });
  assert.is(res.responses.length, CASES.length);
  CASES.forEach(([uri, want], i) => {
    assert.is(res.responses[i].body.toString(), want, `${uri} → ${want}`);
  });
}));

test.run();
