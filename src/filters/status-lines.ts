// cf. ngx_http_header_filter_module.c (ngx_http_status_lines) — reason phrases as nginx sends them.

/**
 * Reason phrases by status code, as nginx's header filter sends them (302 'Moved Temporarily',
 * 408 'Request Time-out', 503 'Service Temporarily Unavailable'). Where nginx sends no phrase
 * (203, 417, 422, 431, ...) the IANA phrase fills in; '' for codes no one names. Indexes
 * 0..599 are all set, so a lookup never meets a hole.
 */
export const STATUS_TEXT: string[] = new Array<string>(600).fill('');
{
  const nginx: [number, string][] = [
    // ngx_http_status_lines
    [200, 'OK'], [201, 'Created'], [202, 'Accepted'], [204, 'No Content'],
    [206, 'Partial Content'],
    [301, 'Moved Permanently'], [302, 'Moved Temporarily'], [303, 'See Other'],
    [304, 'Not Modified'], [307, 'Temporary Redirect'], [308, 'Permanent Redirect'],
    [400, 'Bad Request'], [401, 'Unauthorized'], [402, 'Payment Required'], [403, 'Forbidden'],
    [404, 'Not Found'], [405, 'Not Allowed'], [406, 'Not Acceptable'],
    [407, 'Proxy Authentication Required'], [408, 'Request Time-out'], [409, 'Conflict'],
    [410, 'Gone'], [411, 'Length Required'], [412, 'Precondition Failed'],
    [413, 'Request Entity Too Large'], [414, 'Request-URI Too Large'],
    [415, 'Unsupported Media Type'], [416, 'Requested Range Not Satisfiable'],
    [421, 'Misdirected Request'], [429, 'Too Many Requests'],
    [500, 'Internal Server Error'], [501, 'Not Implemented'], [502, 'Bad Gateway'],
    [503, 'Service Temporarily Unavailable'], [504, 'Gateway Time-out'],
    [505, 'HTTP Version Not Supported'], [507, 'Insufficient Storage'],
    // written elsewhere in nginx: "100 Continue" (request body), "101 Switching Protocols"
    // comes through from the upstream when proxying
    [100, 'Continue'], [101, 'Switching Protocols'],
  ];
  const iana: [number, string][] = [
    [102, 'Processing'], [103, 'Early Hints'],
    [203, 'Non-Authoritative Information'], [205, 'Reset Content'], [207, 'Multi-Status'],
    [208, 'Already Reported'], [226, 'IM Used'],
    [300, 'Multiple Choices'], [305, 'Use Proxy'],
    [417, 'Expectation Failed'], [422, 'Unprocessable Entity'], [423, 'Locked'],
    [424, 'Failed Dependency'], [425, 'Too Early'], [426, 'Upgrade Required'],
    [428, 'Precondition Required'], [431, 'Request Header Fields Too Large'],
    [451, 'Unavailable For Legal Reasons'],
    [506, 'Variant Also Negotiates'], [508, 'Loop Detected'], [510, 'Not Extended'],
    [511, 'Network Authentication Required'],
  ];
  for (const [code, text] of nginx) STATUS_TEXT[code] = text;
  for (const [code, text] of iana) STATUS_TEXT[code] = text;
}

const lines: string[] = [];
/** "HTTP/1.1 200 OK\r\n", made once per status. */
export function statusLine(status: number, reason: string | null): string {
  if (reason !== null) return `HTTP/1.1 ${status} ${reason}\r\n`;
  let l = lines[status];
  if (l === undefined) l = lines[status] = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}\r\n`;
  return l;
}
