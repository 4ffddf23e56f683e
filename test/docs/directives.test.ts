// docs/directives.md is generated from the modules: the committed file must be what the code makes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { directivesMarkdown } from '../../tools/docs/directives.js';
import { MODULES } from '../../src/modules.js';

test('docs/directives.md matches the modules (run npm run docs:directives after changing a directive)', () => {
  const committed = readFileSync(new URL('../../../docs/directives.md', import.meta.url), 'utf8');
  assert.fixture(committed, directivesMarkdown());
});

test('every directive of every module is in the table, once', () => {
  const md = directivesMarkdown();
  for (const m of MODULES) {
    for (const name of Object.keys(m.directives)) {
      assert.is(md.split(`\n| \`${name}\` | ${m.name} |`).length - 1, 1, name);
    }
  }
});

// the everyday directives of a site config (issue 11): each is built, none listed as not yet
const EVERYDAY = [
  'rewrite', 'set', 'if', 'break', 'return', 'rewrite_log', 'try_files', 'error_page', 'recursive_error_pages',
  'index', 'log_not_found', 'map', 'geo', 'allow', 'deny', 'satisfy', 'auth_basic', 'auth_basic_user_file',
  'set_real_ip_from', 'real_ip_header', 'real_ip_recursive', 'limit_req', 'limit_req_zone', 'limit_req_status',
  'limit_req_log_level', 'limit_req_dry_run', 'limit_conn', 'limit_conn_zone', 'limit_conn_status',
  'limit_conn_log_level', 'limit_conn_dry_run', 'sub_filter', 'sub_filter_once', 'sub_filter_types',
  'sub_filter_last_modified', 'proxy_intercept_errors', 'proxy_pass', 'proxy_redirect', 'keepalive_time',
  'keepalive_disable', 'expires', 'absolute_redirect', 'port_in_redirect', 'server_name_in_redirect',
];

test('the everyday directives are built, and none is listed as not yet', () => {
  const md = directivesMarkdown();
  const [table, later = ''] = md.split('## Not yet');
  for (const d of EVERYDAY) {
    assert.ok(new RegExp('\\| `[a-zA-Z]+` \\| [a-z_]+ \\| [^|]+ \\| [^|]+ \\| `([a-z_]+, )*' + d + '(, [a-z_]+)*` \\|').test(table), `${d} is in the table`);
    assert.not.ok(later.includes('| `' + d + '` |'), `${d} is not listed as not yet`);
  }
});

test.run();
