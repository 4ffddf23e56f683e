// examples/site-nginx/api.config.ts — a stand-in for the site's API: two servers (the upstream's
// 127.0.0.1:9001 and 127.0.0.1:9002) answering JSON that names the server and what it was sent,
// so round robin shows in the answers.
//
//   npx sluice -c examples/site-nginx/api.config.ts
//
// SLUICE_API_PORTS ("9001,9002") changes the ports, as for sluice.config.ts.

import { defineConfig } from 'sluice';

const ports = (process.env.SLUICE_API_PORTS ?? '9001,9002').split(',').map(Number);

export default defineConfig({
  accessLog: false,
  servers: ports.map((port, i) => ({
    listen: `127.0.0.1:${port}`,
    defaultType: 'application/json',
    locations: {
      '/': { return: [200, `{"server":"api-${i + 1}","uri":"$request_uri","client":"$http_x_real_ip","host":"$host"}\n`] },
    },
  })),
});
