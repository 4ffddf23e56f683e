// cf. ngx_http_header_filter_module.c (ngx_http_status_lines) — reason phrases as nginx sends them.

export const STATUS_TEXT: string[] = [];
const table: [number, string][] = [
  [100, 'Continue'], [101, 'Switching Protocols'], [102, 'Processing'], [103, 'Early Hints'],
  [200, 'OK'], [201, 'Created'], [202, 'Accepted'], [203, 'Non-Authoritative Information'],
  [204, 'No Content'], [205, 'Reset Content'], [206, 'Partial Content'], [207, 'Multi-Status'],
  [300, 'Multiple Choices'], [301, 'Moved Permanently'], [302, 'Moved Temporarily'],
  [303, 'See Other'], [304, 'Not Modified'], [307, 'Temporary Redirect'], [308, 'Permanent Redirect'],
  [400, 'Bad Request'], [401, 'Unauthorized'], [402, 'Payment Required'], [403, 'Forbidden'],
  [404, 'Not Found'], [405, 'Not Allowed'], [406, 'Not Acceptable'], [407, 'Proxy Authentication Required'],
  [408, 'Request Time-out'], [409, 'Conflict'], [410, 'Gone'], [411, 'Length Required'],
  [412, 'Precondition Failed'], [413, 'Request Entity Too Large'], [414, 'Request-URI Too Large'],
  [415, 'Unsupported Media Type'], [416, 'Requested Range Not Satisfiable'], [417, 'Expectation Failed'],
  [421, 'Misdirected Request'], [422, 'Unprocessable Entity'], [423, 'Locked'], [424, 'Failed Dependency'],
  [425, 'Too Early'], [426, 'Upgrade Required'], [428, 'Precondition Required'], [429, 'Too Many Requests'],
  [431, 'Request Header Fields Too Large'], [451, 'Unavailable For Legal Reasons'],
  [500, 'Internal Server Error'], [501, 'Not Implemented'], [502, 'Bad Gateway'],
  [503, 'Service Temporarily Unavailable'], [504, 'Gateway Time-out'], [505, 'HTTP Version Not Supported'],
  [507, 'Insufficient Storage'],
];
for (const [code, text] of table) STATUS_TEXT[code] = text;

const lines: string[] = [];
/** "HTTP/1.1 200 OK\r\n", made once per status. */
export function statusLine(status: number, reason: string | null): string {
  if (reason !== null) return `HTTP/1.1 ${status} ${reason}\r\n`;
  let l = lines[status];
  if (l === undefined) l = lines[status] = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}\r\n`;
  return l;
}
