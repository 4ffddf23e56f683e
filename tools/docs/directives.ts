// Writes docs/directives.md from the module list (src/modules.ts): every directive with the
// blocks that take it, its default, nginx's name and whether it behaves as nginx's does. A test
// (test/docs/directives.test.ts) checks that the committed file is what this makes.
//
//   npm run docs:directives

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nginxName, type Block, type HttpModule } from '../../src/http/conf/module.js';
import { MODULES } from '../../src/modules.js';

/** nginx modules not here yet at all, with the directives they would bring. */
const PLANNED: readonly [string, readonly string[]][] = [
  ['ngx_http_ssl_module', ['ssl_certificate', 'ssl_certificate_key', 'ssl_protocols', 'ssl_ciphers', 'ssl_prefer_server_ciphers', 'ssl_session_cache', 'ssl_session_timeout', 'ssl_session_tickets', 'ssl_client_certificate', 'ssl_verify_client', 'ssl_password_file', 'ssl_stapling']],
];

const BLOCKS: readonly Block[] = ['http', 'server', 'location'];

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function directivesMarkdown(modules: readonly HttpModule[] = MODULES): string {
  const out: string[] = [];
  out.push('# Directives');
  out.push('');
  out.push('Generated from the modules (src/modules.ts) by `npm run docs:directives`; a test checks it');
  out.push('matches the code. Names are nginx\'s in camelCase; sizes and times take nginx\'s notation.');
  out.push('"Blocks" are where the directive is accepted (and takes effect); a value set in an inner');
  out.push('block wins, else the enclosing block\'s, else the default — unless the row says it is not');
  out.push('inherited.');
  out.push('');
  out.push('A whole site written both ways, each nginx line beside its translation:');
  out.push('[examples/site-nginx](../examples/site-nginx/README.md).');
  out.push('');
  out.push('| directive | module | blocks | default | nginx | status |');
  out.push('| --- | --- | --- | --- | --- | --- |');
  for (const m of modules) {
    for (const [key, c] of Object.entries(m.directives)) {
      const blocks = BLOCKS.filter((b) => (c.blocks as readonly Block[]).includes(b)).join(', ');
      const ng = nginxName(key, c);
      const def = c.written === '' ? '—' : '`' + c.written + '`';
      const status = ng === null ? 'sluice\'s own' + (c.differs !== null ? ': ' + c.differs : '')
        : c.differs !== null ? 'differs: ' + c.differs : 'same';
      out.push(`| \`${key}\` | ${m.name} | ${blocks}${c.inherit ? '' : ' (not inherited)'} | ${cell(def)} | ${ng === null ? '—' : '`' + ng + '`'} | ${cell(status)} |`);
    }
  }
  // a directive some module provides is never listed as not yet (whatever a list says)
  const built = new Set<string>();
  for (const m of modules) for (const [key, c] of Object.entries(m.directives)) for (const n of (nginxName(key, c) ?? '').split(', ')) built.add(n);
  const later: [string, string][] = [];
  for (const m of modules) for (const d of m.notYet ?? []) if (!built.has(d)) later.push([d, m.nginx ?? m.name]);
  for (const [mod, list] of PLANNED) for (const d of list) if (!built.has(d)) later.push([d, mod]);
  if (later.length > 0) {
    out.push('');
    out.push('## Not yet');
    out.push('');
    out.push('| nginx directive | nginx module | status |');
    out.push('| --- | --- | --- |');
    for (const [d, mod] of later) out.push(`| \`${d}\` | ${mod} | not yet |`);
  }
  out.push('');
  return out.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = fileURLToPath(new URL('../../../docs/directives.md', import.meta.url));
  writeFileSync(file, directivesMarkdown());
  console.log(`wrote ${file}`);
}
