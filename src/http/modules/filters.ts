// The filter modules that own no directive of their own, one declaration each: what they
// contribute is a filter (their directives, where nginx has any, are core's: chunked_transfer_encoding,
// max_ranges, if_modified_since). cf. ngx_http_write_filter_module.c, ngx_http_header_filter_module.c,
// ngx_http_chunked_filter_module.c, ngx_http_range_filter_module.c (header and body),
// ngx_http_postpone_filter_module.c, ngx_http_copy_filter_module.c, ngx_http_not_modified_filter_module.c.

import { ChunkedBodyFilter, ChunkedHeaderFilter } from '../../filters/chunked.js';
import { CopyFilter } from '../../filters/copy.js';
import { HeaderWriteFilter } from '../../filters/header.js';
import { NotModifiedFilter } from '../../filters/not-modified.js';
import { PostponeFilter } from '../../filters/postpone.js';
import { RangeBodyFilter, RangeHeaderFilter } from '../../filters/range.js';
import { WriteFilter } from '../../filters/write.js';
import { defineModule } from '../conf/module.js';

export const writeModule = defineModule({
  name: 'write', nginx: 'ngx_http_write_filter_module', directives: {},
  about: 'the last body filter: holds small output (postpone_output), writes to the socket with backpressure',
  bodyFilter: () => new WriteFilter(),
});

export const headerModule = defineModule({
  name: 'header', nginx: 'ngx_http_header_filter_module', directives: {},
  about: 'the last header filter: checks and serialises the status line and the head',
  headerFilter: () => new HeaderWriteFilter(),
});

export const chunkedModule = defineModule({
  name: 'chunked', nginx: 'ngx_http_chunked_filter_module', directives: {},
  about: 'Transfer-Encoding: chunked when the length is unknown (HTTP/1.1), else close-delimited',
  headerFilter: () => new ChunkedHeaderFilter(),
  bodyFilter: () => new ChunkedBodyFilter(),
});

export const rangeHeaderModule = defineModule({
  name: 'range', nginx: 'ngx_http_range_header_filter_module', directives: {},
  about: 'Range requests: 206 with one part or multipart/byteranges, 416, If-Range',
  headerFilter: () => new RangeHeaderFilter(),
});

export const postponeModule = defineModule({
  name: 'postpone', nginx: 'ngx_http_postpone_filter_module', directives: {},
  about: 'puts the output of subrequests and their parent in document order',
  bodyFilter: () => new PostponeFilter(),
});

export const copyModule = defineModule({
  name: 'copy', nginx: 'ngx_http_copy_filter_module', directives: {},
  about: 'reads file bufs into memory when a filter below needs bytes',
  bodyFilter: () => new CopyFilter(),
});

export const rangeBodyModule = defineModule({
  name: 'range', nginx: 'ngx_http_range_body_filter_module', directives: {},
  about: 'cuts the body to the requested ranges (file bufs as windows, before any byte is read)',
  bodyFilter: () => new RangeBodyFilter(),
});

export const notModifiedModule = defineModule({
  name: 'not_modified', nginx: 'ngx_http_not_modified_filter_module', directives: {},
  about: '304 and 412 from If-Modified-Since, If-None-Match, If-Match, If-Unmodified-Since',
  headerFilter: () => new NotModifiedFilter(),
});
