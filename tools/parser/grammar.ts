// The HTTP/1.1 message grammar (RFC 9112), built with llparse into generated/parser.c.
// One graph for requests and responses: the root dispatches on the `mode` property. Decisions
// that need the whole head (framing, keep-alive, Host) are taken by c/http.c at its end.

import { LLParse, source } from 'llparse';
import {
  E_INTERNAL, E_INVALID_METHOD, E_UNKNOWN_METHOD, E_INVALID_URL, E_INVALID_VERSION,
  E_INVALID_HEADER_TOKEN, E_INVALID_HEADER_VALUE, E_INVALID_CONTENT_LENGTH,
  E_INVALID_TRANSFER_ENCODING, E_INVALID_CHUNK_SIZE, E_INVALID_CONSTANT, E_INVALID_STATUS,
  E_DUPLICATE_HOST, E_OBS_FOLD, E_LF_EXPECTED, E_INVALID_CHUNK_EXT, E_UPGRADE, E_CLOSED,
  E_PAUSED, E_UNSUPPORTED_TE, METHODS, KNOWN_HEADER_NAMES, H_CONTENT_LENGTH, H_TRANSFER_ENCODING, H_CONNECTION,
  H_HOST, H_EXPECT, H_UPGRADE, F_CONTENT_LENGTH, F_CONN_CLOSE, F_CONN_KEEP_ALIVE,
  F_CONN_UPGRADE, F_UPGRADE, F_EXPECT_CONTINUE, F_EXPECT_OTHER, F_HAS_HOST,
} from '../../src/http/parser/types.js';
import {
  MODE_REQUEST, MODE_RESPONSE, MODE_CLOSED, BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_EOF,
  BODY_UPGRADE, T_PRESENT, T_LAST_CHUNKED, T_CODED, P_FULL, P_HEAD, ERR_C, MAX_CONTENT_LENGTH,
} from '../../src/http/parser/constants.js';

type Node = source.node.Node;
type Match = source.node.Match;
type Span = source.Span;

/* character classes, as byte values */
const range = (from: number, to: number): number[] => {
  const r: number[] = [];
  for (let c = from; c <= to; c++) r.push(c);
  return r;
};
const chars = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

const DIGIT = chars('0123456789');
const ALPHA = [...range(0x41, 0x5a), ...range(0x61, 0x7a)];
const TOKEN = [...ALPHA, ...DIGIT, ...chars("!#$%&'*+-.^_`|~")];
const VCHAR = range(0x21, 0x7e);
const OBS_TEXT = range(0x80, 0xff);
const WS = chars(' \t');
const CR = 0x0d, COMMA = 0x2c;
/** field-vchar, SP, HTAB: no CTL, no DEL. Three ranges, none across 0x7f/0x80 (wasm SIMD compares signed). */
const FIELD_CHAR = [0x09, ...range(0x20, 0x7e), ...OBS_TEXT];
/** Request target: visible ASCII (RFC 3986 plus what browsers leave unescaped: " < > \ ^ ` { | }). */
const URL_CHAR = VCHAR;
/** Host: reg-name / IP-literal / ":" port / pct-encoded. No "/", no "\", no "@", no controls. */
const HOST_CHAR = [...ALPHA, ...DIGIT, ...chars("-._~!$&'()*+,;=:[]%")];
/** qdtext of a quoted chunk-ext value. */
const QDTEXT = [0x09, 0x20, 0x21, ...range(0x23, 0x5b), ...range(0x5d, 0x7e), ...OBS_TEXT];

const values = (n: number, radix: number, upper: boolean): Record<string, number> => {
  const m: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    m[i.toString(radix)] = i;
    if (upper) m[i.toString(radix).toUpperCase()] = i;
  }
  return m;
};
const DECIMAL = values(10, 10, false);
const HEX = values(16, 16, true);
/** 'GET ': 1, ...: with the space in the key no method is a prefix of another. */
const METHOD_KEYS: Record<string, number> = Object.fromEntries(METHODS.map((m, i) => [`${m} `, i]));
const HEADER_KEYS: Record<string, number> = Object.fromEntries(
  KNOWN_HEADER_NAMES.map((h, i) => [h, i] as const).filter(([h]) => h !== ''));
const VERSIONS = { '1.1': 11, '1.0': 10 };

/** The two field sections. */
const HEAD = 0, TRAILERS = 1;

/**
 * Builds the graph. The constructor creates every node; `build()` compiles it to C.
 * Node names are prefixed h_ (head fields) and t_ (trailer fields) where both exist.
 */
export class HttpGrammar {
  readonly p = new LLParse('sluice_ll');
  readonly root: Node;
  private readonly errors = new Map<string, Node>();
  private readonly spans: Record<'url' | 'reason' | 'name' | 'value' | 'tname' | 'tvalue' | 'body', Span>;
  /** A C callback stored its own code and reason; the glue puts them in place (ERR_C). */
  private readonly cError: Node;

  constructor() {
    const p = this.p;
    p.property('i8', 'mode');
    p.property('i8', 'method');
    p.property('i8', 'version');
    p.property('i8', 'header_id');
    p.property('i16', 'status');
    p.property('i32', 'flags');
    p.property('i64', 'content_length');
    p.property('i64', 'chunk_size');

    const span = (name: string): Span => p.span(p.code.span(`sluice_on_${name}`));
    this.spans = {
      url: span('url'), reason: span('reason'), name: span('name'), value: span('value'),
      tname: span('tname'), tvalue: span('tvalue'), body: span('body'),
    };
    this.cError = p.error(ERR_C, 'set by the glue');

    const request = p.node('request');
    const response = p.node('response');
    const closed = p.node('closed');
    this.root = p.invoke(p.code.load('mode'), {
      [MODE_REQUEST]: request,
      [MODE_RESPONSE]: response,
      [MODE_CLOSED]: closed,
    }, this.err(E_INTERNAL, 'bad parser mode'));
    // after a message that ends the connection, any further byte stops the parser
    closed.peek(range(0, 255), this.err(E_CLOSED, 'data after the last message of the connection'))
      .otherwise(this.unreachable);

    const done = this.messageDone();
    const trailers = this.fields(TRAILERS, this.call('sluice_on_trailers_done', done));
    const body = this.body(done, trailers);
    const head = this.fields(HEAD, this.call('sluice_on_head', body, { [P_HEAD]: 'response head' }));
    this.requestLine(request, head);
    this.statusLine(response, head);
  }

  build(): { c: string; header: string } {
    return this.p.build(this.root, { c: { header: 'parser' }, headerGuard: 'SLUICE_PARSER_H' });
  }

  /* ---------------------------------------------------------------- helpers */

  private get unreachable(): Node {
    return this.err(E_INTERNAL, 'unreachable');
  }

  /** One error node per (code, reason). */
  private err(code: number, reason: string): Node {
    const key = `${code}:${reason}`;
    let e = this.errors.get(key);
    if (e === undefined) this.errors.set(key, e = this.p.error(code, reason));
    return e;
  }

  /** Calls a C callback returning 0, ERR_C, P_FULL or another listed pause, after which it goes on. */
  private call(name: string, next: Node, pauses: Record<number, string> = {}): Node {
    const p = this.p;
    const map: Record<number, Node> = { 0: next, [ERR_C]: this.cError };
    for (const [code, reason] of Object.entries({ [P_FULL]: 'span table full', ...pauses })) {
      map[Number(code)] = p.pause(Number(code), reason).otherwise(next);
    }
    return p.invoke(p.code.match(name), map, this.err(E_INTERNAL, `unexpected result from ${name}`));
  }

  private setFlag(flag: number, next: Node): Node {
    return this.p.invoke(this.p.code.or('flags', flag), next);
  }

  private clearFlag(flag: number, next: Node): Node {
    return this.p.invoke(this.p.code.and('flags', ~flag), next);
  }

  /** flags & flag ? yes : no */
  private ifFlag(flag: number, yes: Node, no: Node): Node {
    return this.p.invoke(this.p.code.test('flags', flag), { 1: yes }, no);
  }

  /** After a consumed CR: LF, or E_LF_EXPECTED. */
  private lf(name: string, next: Node): Node {
    return this.p.node(name).match('\n', next).otherwise(this.err(E_LF_EXPECTED, 'expected LF after CR'));
  }

  /** A node that reports a bad byte in a field value. */
  private badValue(name: string): Node {
    return this.p.node(name)
      .peek('\n', this.err(E_LF_EXPECTED, 'bare LF in field value'))
      .otherwise(this.err(E_INVALID_HEADER_VALUE, 'invalid character in field value'));
  }

  /* ---------------------------------------------------------------- start lines */

  /** request-line = method SP request-target SP HTTP-version CRLF */
  private requestLine(start: Match, fields: Node): void {
    const p = this.p;
    const method = p.node('method');
    const unknown = p.node('method_unknown');
    const url = p.node('url_start');
    const urlLoop = p.node('url');
    const urlAfter = p.node('url_after');
    const version = p.node('req_version');
    const versionNumber = p.node('req_version_number');
    const lineEnd = p.node('req_line_end');
    const bareLf = this.err(E_LF_EXPECTED, 'bare LF');
    const http09 = this.err(E_INVALID_VERSION, 'HTTP/0.9 is not supported');
    const badUrl = this.err(E_INVALID_URL, 'invalid character in target');

    // RFC 9112 2.2: empty lines (CRLF) before the request line are ignored
    start
      .match('\r', this.lf('request_lf', start))
      .peek('\n', bareLf)
      .otherwise(this.call('sluice_on_begin', method));

    method.select(METHOD_KEYS, p.invoke(p.code.store('method'), url)).otherwise(unknown);
    // what matched so far was token characters: finish the token to tell 501 from 400
    unknown
      .match(TOKEN, unknown)
      .peek(' ', this.err(E_UNKNOWN_METHOD, 'unknown method'))
      .otherwise(this.err(E_INVALID_METHOD, 'invalid character in method'));

    url.peek(URL_CHAR, this.spans.url.start(urlLoop)).peek('\r', http09).otherwise(badUrl);
    urlLoop.match(URL_CHAR, urlLoop).otherwise(urlAfter);
    urlAfter
      .peek(' ', this.spans.url.end(p.node('url_sp').match(' ', version).otherwise(this.unreachable)))
      .peek('\r', http09)
      .otherwise(badUrl);

    version
      .match('HTTP/', versionNumber)
      .match(['RTSP/', 'ICE/'], this.err(E_INVALID_VERSION, 'not an HTTP request'))
      .otherwise(this.err(E_INVALID_CONSTANT, 'expected HTTP/'));
    versionNumber
      .select(VERSIONS, p.invoke(p.code.store('version'), lineEnd))
      .otherwise(this.err(E_INVALID_VERSION, 'unsupported HTTP version'));
    lineEnd
      .match('\r', this.lf('req_line_lf', fields))
      .peek('\n', bareLf)
      .otherwise(this.err(E_INVALID_VERSION, 'expected CRLF after the version'));
  }

  /** status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF */
  private statusLine(start: Match, fields: Node): void {
    const p = this.p;
    const proto = p.node('resp_proto');
    const version = p.node('resp_version');
    const sp = p.node('resp_sp');
    const digits = [p.node('status_1'), p.node('status_2'), p.node('status_3')];
    const after = p.node('status_after');
    const reason = p.node('reason');
    const reasonAfter = p.node('reason_after');
    const badStatus = this.err(E_INVALID_STATUS, 'invalid status code');
    const noHttp = this.err(E_INVALID_CONSTANT, 'expected HTTP/');

    start.peek('H', this.call('sluice_on_begin', proto)).otherwise(noHttp);
    proto.match('HTTP/', version).otherwise(noHttp);
    version
      .select(VERSIONS, p.invoke(p.code.store('version'), sp))
      .otherwise(this.err(E_INVALID_VERSION, 'unsupported HTTP version'));
    sp.match(' ', digits[0]).otherwise(badStatus);
    digits.forEach((d, i) => {
      const add = p.invoke(p.code.mulAdd('status', { base: 10 }), { 1: badStatus }, digits[i + 1] ?? after);
      d.select(DECIMAL, add).otherwise(badStatus);
    });
    // the reason may be empty; "HTTP/1.1 200\r\n" (no SP) is common enough to accept
    const reasonStart = this.spans.reason.start(reason);
    after.match(' ', reasonStart).peek('\r', reasonStart).otherwise(badStatus);
    reason.match(FIELD_CHAR, reason).otherwise(reasonAfter);
    reasonAfter
      .peek('\r', this.spans.reason.end(p.node('status_cr').match('\r', this.lf('status_lf', fields)).otherwise(this.unreachable)))
      .peek('\n', this.err(E_LF_EXPECTED, 'bare LF'))
      .otherwise(this.err(E_INVALID_STATUS, 'invalid character in reason phrase'));
  }

  /* ---------------------------------------------------------------- field lines */

  /**
   * The field lines of a head or a trailer section, through the empty line, then `end`.
   * Returns the node for the line after the start line (whitespace there is no fold, but refused too).
   */
  private fields(section: number, end: Node): Node {
    const p = this.p;
    const t = section === HEAD ? 'h' : 't';
    const nameSpan = section === HEAD ? this.spans.name : this.spans.tname;
    const valueSpan = section === HEAD ? this.spans.value : this.spans.tvalue;
    const first = p.node(`${t}_first_field`);
    const next = p.node(`${t}_field`);
    const known = p.node(`${t}_name_known`);
    const knownEnd = p.node(`${t}_name_known_end`);
    const name = p.node(`${t}_name`);
    const colon = p.node(`${t}_colon`);
    const ows = p.node(`${t}_ows`);
    const value = p.node(`${t}_value`);
    const valueAfter = p.node(`${t}_value_after`);
    const badName = this.err(E_INVALID_HEADER_TOKEN, 'invalid character in field name');

    const lineStart = this.call('sluice_on_field_start', nameSpan.start(known));
    const startOf = (n: Match, ws: Node): void => {
      n.match('\r', this.lf(`${t}_end_lf`, end))
        .peek('\n', this.err(E_LF_EXPECTED, 'bare LF'))
        .peek(WS, ws)
        .peek(TOKEN, lineStart)
        .otherwise(badName);
    };
    startOf(first, this.err(E_INVALID_HEADER_TOKEN, 'whitespace after the start line'));
    startOf(next, this.err(E_OBS_FOLD, 'obsolete line folding'));

    // known names are recognised here, case-insensitively; any other token goes on in `name`
    const clearId = p.invoke(p.code.update('header_id', 0), name);
    known.transform(p.transform.toLower())
      .select(HEADER_KEYS, p.invoke(p.code.store('header_id'), knownEnd))
      .otherwise(clearId);
    knownEnd.peek(':', nameSpan.end(colon)).otherwise(clearId);
    name.match(TOKEN, name).peek(':', nameSpan.end(colon)).otherwise(badName);
    colon.match(':', ows).otherwise(this.unreachable);

    // OWS is left out of the value span; trailing OWS is trimmed by the C callback
    const valueEnd = valueSpan.end(p.node(`${t}_cr`).match('\r', this.lf(`${t}_lf`, next)).otherwise(this.unreachable));
    const valueStart = valueSpan.start(section === HEAD ? this.special(value, valueEnd) : value);
    if (section === HEAD) {
      // as nginx, only SP comes before a request's Transfer-Encoding value: a tab is part of it (501)
      const owsTab = p.node('h_ows_tab').match('\t', ows).otherwise(this.unreachable);
      const tab = p.invoke(p.code.isEqual('header_id', H_TRANSFER_ENCODING), {
        1: p.invoke(p.code.isEqual('mode', MODE_REQUEST), { 1: valueStart }, owsTab),
      }, owsTab);
      ows.match(' ', ows).peek('\t', tab).otherwise(valueStart);
    } else {
      ows.match(WS, ows).otherwise(valueStart);
    }
    value.match(FIELD_CHAR, value).otherwise(valueAfter);
    valueAfter.peek('\r', valueEnd).otherwise(this.badValue(`${t}_bad_value`));
    return first;
  }

  /** Values the grammar reads itself; others go to `generic`. Returns the dispatch on header_id. */
  private special(generic: Node, valueEnd: Node): Node {
    const p = this.p;
    const lower = p.transform.toLower();
    const bareLf = this.err(E_LF_EXPECTED, 'bare LF in field value');
    const cr = (n: Match): Match => n.peek('\r', valueEnd).peek('\n', bareLf);

    // Content-Length = 1*DIGIT, at most 2^53 - 1; a second one is refused even if equal
    const cl = p.node('cl');
    const clDigits = p.node('cl_digits');
    const clOws = p.node('cl_ows');
    const badCl = this.err(E_INVALID_CONTENT_LENGTH, 'invalid Content-Length');
    const clAdd = p.invoke(p.code.mulAdd('content_length', { base: 10, max: MAX_CONTENT_LENGTH }),
      { 1: this.err(E_INVALID_CONTENT_LENGTH, 'Content-Length too large') }, clDigits);
    cl.select(DECIMAL, clAdd).otherwise(badCl);
    cr(clDigits.select(DECIMAL, clAdd).match(WS, clOws)).otherwise(badCl);
    cr(clOws.match(WS, clOws)).otherwise(badCl);

    // Transfer-Encoding in a response = #transfer-coding: is the last coding (over all lines) chunked?
    const te = p.node('te');
    const teChunked = p.node('te_chunked');
    const teOther = p.node('te_other');
    const teEnd = p.node('te_end');
    const badTe = this.err(E_INVALID_TRANSFER_ENCODING, 'invalid Transfer-Encoding');
    const other = this.clearFlag(T_LAST_CHUNKED, this.setFlag(T_CODED, teOther));
    cr(te.match([...WS, COMMA], te)).transform(lower).match('chunked', teChunked).otherwise(other);
    teChunked.peek([...WS, COMMA, CR], this.setFlag(T_LAST_CHUNKED, teEnd)).otherwise(other);
    // a coding and its parameters: tokens, ';', '=', whitespace; quoted strings are refused
    cr(teOther.match([...TOKEN, ...WS, 0x3b, 0x3d], teOther).match(',', te)).otherwise(badTe);
    cr(teEnd.match(WS, teEnd).match(',', te)).otherwise(badTe);
    // in a request, as nginx 1.22: one line, and its value "chunked" (any case, SP after it);
    // any other value is read through and refused at the head's end (E_UNSUPPORTED_TE, 501)
    const reqTe = p.node('req_te');
    const reqTeChunked = p.node('req_te_chunked');
    const reqTeOther = p.node('req_te_other');
    reqTe.transform(lower).match('chunked', reqTeChunked).otherwise(reqTeOther);
    reqTeChunked.match(' ', reqTeChunked).peek('\r', this.setFlag(T_LAST_CHUNKED, valueEnd)).peek('\n', bareLf)
      .otherwise(reqTeOther);
    cr(reqTeOther.match(FIELD_CHAR, reqTeOther)).otherwise(this.badValue('req_te_bad_value'));
    // a second line is nginx's "duplicate header line" (400), unless the first one already named
    // a coding we do not implement: that is 501 (RFC 9112 6.1), whatever follows
    const requestTe = this.ifFlag(T_PRESENT,
      this.ifFlag(T_LAST_CHUNKED, this.err(E_INVALID_TRANSFER_ENCODING, 'duplicate Transfer-Encoding'),
        this.err(E_UNSUPPORTED_TE, 'Transfer-Encoding other than chunked')),
      this.setFlag(T_PRESENT, reqTe));

    // Connection = #token: close, keep-alive and upgrade set flags
    const conn = p.node('conn');
    const connSkip = p.node('conn_skip');
    const token = (name: string, flag: number): Node => p.node(`conn_${name}`)
      .peek([...WS, COMMA, CR], this.setFlag(flag, connSkip))
      .otherwise(connSkip);
    cr(conn.match([...WS, COMMA], conn)).transform(lower)
      .match('close', token('close', F_CONN_CLOSE))
      .match('keep-alive', token('keep_alive', F_CONN_KEEP_ALIVE))
      .match('upgrade', token('upgrade', F_CONN_UPGRADE))
      .otherwise(connSkip);
    cr(connSkip.match(FIELD_CHAR.filter((c) => c !== COMMA), connSkip).match(',', conn))
      .otherwise(this.badValue('conn_bad_value'));

    // Host: its value names servers and files, so only authority characters pass
    const host = p.node('host');
    const hostOws = p.node('host_ows');
    const badHost = this.err(E_INVALID_HEADER_VALUE, 'invalid character in Host');
    cr(host.match(HOST_CHAR, host).match(WS, hostOws)).otherwise(badHost);
    cr(hostOws.match(WS, hostOws)).otherwise(badHost);
    const requestHost = this.ifFlag(F_HAS_HOST, this.err(E_DUPLICATE_HOST, 'duplicate Host'),
      this.setFlag(F_HAS_HOST, host));

    // Expect: 100-continue, or something else (417)
    const expect = p.node('expect');
    const expectOws = p.node('expect_ows');
    const expectOther = this.setFlag(F_EXPECT_OTHER, generic);
    cr(expect).transform(lower).match('100-continue', expectOws).otherwise(expectOther);
    expectOws.match(WS, expectOws).peek('\r', this.setFlag(F_EXPECT_CONTINUE, valueEnd)).otherwise(expectOther);

    return p.invoke(p.code.load('header_id'), {
      [H_CONTENT_LENGTH]: this.ifFlag(F_CONTENT_LENGTH, this.err(E_INVALID_CONTENT_LENGTH,
        'duplicate Content-Length'), this.setFlag(F_CONTENT_LENGTH, cl)),
      [H_TRANSFER_ENCODING]: p.invoke(p.code.isEqual('mode', MODE_RESPONSE), { 1: this.setFlag(T_PRESENT, te) },
        requestTe),
      [H_CONNECTION]: conn,
      [H_HOST]: p.invoke(p.code.isEqual('mode', MODE_RESPONSE), { 1: generic }, requestHost),
      [H_EXPECT]: expect,
      [H_UPGRADE]: this.setFlag(F_UPGRADE, generic),
    }, generic);
  }

  /* ---------------------------------------------------------------- bodies */

  /**
   * Marks the consume() of body bytes, so that JS can hand out the body without copying it. Inside
   * the span start, which waits for a byte: when marked, the parser is in consume() itself.
   */
  private bodyStart(next: Node): Node {
    return this.p.invoke(this.p.code.match('sluice_on_body_start'), { 0: next }, this.err(E_INTERNAL, 'body start'));
  }

  private bodyEnd(next: Node): Node {
    return this.p.invoke(this.p.code.match('sluice_on_body_end'), { 0: next }, this.err(E_INTERNAL, 'body end'));
  }

  /** After the head: sluice_body (c/http.c) picks the framing. */
  private body(done: Node, trailers: Node): Node {
    const p = this.p;
    const body = this.spans.body;

    // Content-Length: consume() counts the property down across calls (JS may count for it)
    const length = body.start(this.bodyStart(p.consume('content_length').otherwise(body.end(this.bodyEnd(done)))));

    // close-delimited (responses): everything until finish()
    const eof = p.consume('content_length');
    const refill = p.invoke(p.code.update('content_length', 0x7fffffff), eof);
    eof.otherwise(refill);

    // CONNECT, 101: the head is the whole message, and what follows is not HTTP
    const upgrade = p.invoke(p.code.match('sluice_on_done'), this.err(E_UPGRADE, 'protocol switch'));

    return p.invoke(p.code.match('sluice_body'), {
      [BODY_NONE]: done,
      [BODY_LENGTH]: length,
      [BODY_CHUNKED]: this.chunked(trailers),
      [BODY_EOF]: body.start(this.bodyStart(refill)),
      [BODY_UPGRADE]: upgrade,
    }, this.err(E_INTERNAL, 'unexpected body kind'));
  }

  /** chunked-body = *chunk last-chunk trailer-section CRLF */
  private chunked(trailers: Node): Node {
    const p = this.p;
    const body = this.spans.body;
    const size = p.node('chunk_size');
    const digits = p.node('chunk_size_digits');
    const bws = p.node('chunk_bws');
    const ext = p.node('chunk_ext');
    const extName = p.node('chunk_ext_name');
    const extNameWs = p.node('chunk_ext_name_ws');
    const extValue = p.node('chunk_ext_value');
    const extToken = p.node('chunk_ext_token');
    const extQuoted = p.node('chunk_ext_quoted');
    const extEscape = p.node('chunk_ext_escape');
    const extQuotedEnd = p.node('chunk_ext_quoted_end');
    const extValueWs = p.node('chunk_ext_value_ws');
    const dataEnd = p.node('chunk_data_end');
    const badSize = this.err(E_INVALID_CHUNK_SIZE, 'invalid chunk size');
    const badExt = this.err(E_INVALID_CHUNK_EXT, 'invalid chunk extension');

    const start = p.invoke(p.code.update('chunk_size', 0), size);
    const add = p.invoke(p.code.mulAdd('chunk_size', { base: 16 }),
      { 1: this.err(E_INVALID_CHUNK_SIZE, 'chunk size too large') }, digits);
    const data = body.start(this.bodyStart(p.consume('chunk_size').otherwise(body.end(this.bodyEnd(dataEnd)))));
    const sizeLf = this.lf('chunk_size_lf', p.invoke(p.code.isEqual('chunk_size', 0), {
      1: this.call('sluice_on_trailers_begin', trailers),
    }, data));

    size.select(HEX, add).otherwise(badSize);
    digits.select(HEX, add).match(WS, bws).match(';', ext).match('\r', sizeLf).otherwise(badSize);
    // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): checked, then dropped
    bws.match(WS, bws).match(';', ext).otherwise(badSize);
    ext.match(WS, ext).match(TOKEN, extName).otherwise(badExt);
    extName.match(TOKEN, extName).match(WS, extNameWs).match('=', extValue)
      .match(';', ext).match('\r', sizeLf).otherwise(badExt);
    extNameWs.match(WS, extNameWs).match('=', extValue).match(';', ext).otherwise(badExt);
    extValue.match(WS, extValue).match(TOKEN, extToken).match('"', extQuoted).otherwise(badExt);
    extToken.match(TOKEN, extToken).match(WS, extValueWs).match(';', ext)
      .match('\r', sizeLf).otherwise(badExt);
    extQuoted.match(QDTEXT, extQuoted).match('\\', extEscape).match('"', extQuotedEnd).otherwise(badExt);
    extEscape.match([0x09, 0x20, ...VCHAR, ...OBS_TEXT], extQuoted).otherwise(badExt);
    extQuotedEnd.match(WS, extValueWs).match(';', ext).match('\r', sizeLf).otherwise(badExt);
    extValueWs.match(WS, extValueWs).match(';', ext).otherwise(badExt);

    dataEnd
      .match('\r', this.lf('chunk_data_lf', start))
      .peek('\n', this.err(E_LF_EXPECTED, 'bare LF after chunk data'))
      .otherwise(this.err(E_INVALID_CONSTANT, 'expected CRLF after chunk data'));
    return start;
  }

  /** The message ended: C records it, and may stop here (sink pause) or close the stream. */
  private messageDone(): Node {
    const p = this.p;
    return p.invoke(p.code.match('sluice_on_done'), {
      0: this.root,
      [E_PAUSED]: p.pause(E_PAUSED, 'paused by the sink').otherwise(this.root),
    }, this.err(E_INTERNAL, 'unexpected result from sluice_on_done'));
  }
}
