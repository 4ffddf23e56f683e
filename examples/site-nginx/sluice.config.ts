// examples/site-nginx/sluice.config.ts — the site of nginx.conf beside it, line for line (each
// line's nginx counterpart at its right; README.md explains each translation).
//
//   npx sluice -c examples/site-nginx/api.config.ts &     # the API's two servers
//   npx sluice -c examples/site-nginx/sluice.config.ts    # the site on http://127.0.0.1:8080/
//
// SLUICE_PORT, SLUICE_API_PORTS ("9001,9002") change the ports. Paths are from this folder
// (nginx's prefix, -p), whatever the working directory.

import { fileURLToPath } from 'node:url';
import { defineConfig, type SluiceConfig } from 'sluice';

export interface SiteOptions {
  /** The site's port (nginx.conf: 8080). */
  port?: number;
  /** The API servers' ports (nginx.conf: 9001, 9002). */
  api?: readonly [number, number];
  /** The folder holding public/ and htpasswd (default: this file's folder). */
  dir?: string;
}

export function siteConfig({ port = 8080, api = [9001, 9002], dir = fileURLToPath(new URL('.', import.meta.url)) }: SiteOptions = {}): SluiceConfig {
  const listen = `127.0.0.1:${port}`;
  return defineConfig({
    // daemon off; worker_processes 1;                            (sluice: one process, in the foreground)
    errorLog: 'stderr',                                           // error_log stderr;
    workerConnections: 512,                                       // events { worker_connections 512; }
                                                                  // include mime.types; (sluice's types are built in)
    defaultType: 'application/octet-stream',                      // default_type application/octet-stream;
    accessLog: 'stdout',                                          // access_log /dev/stdout;

    setRealIpFrom: '127.0.0.1',                                   // set_real_ip_from 127.0.0.1;
    realIpHeader: 'X-Real-IP',                                    // real_ip_header X-Real-IP;

    limitReqZone: '$binary_remote_addr zone=login:1m rate=1r/m',  // limit_req_zone $binary_remote_addr zone=login:1m rate=1r/m;

    map: {
      '$sent_http_content_type $expires': {                       // map $sent_http_content_type $expires {
        default: 'off',                                           //     default    off;
        'text/html': 'epoch',                                     //     text/html  epoch;
      },                                                          // }
    },

    upstreams: {
      api: {                                                      // upstream api {
        servers: [`127.0.0.1:${api[0]}`, `127.0.0.1:${api[1]}`],  //     server 127.0.0.1:9001; server 127.0.0.1:9002;
      },                                                          // }
    },

    servers: [
      {                                                           // server {
        listen,                                                   //     listen 127.0.0.1:8080;
        serverName: 'www.example.com',                            //     server_name www.example.com;
        return: [301, 'http://example.com$request_uri'],          //     return 301 http://example.com$request_uri;
      },                                                          // }
      {                                                           // server {
        listen: `${listen} default_server`,                       //     listen 127.0.0.1:8080 default_server;
        serverName: 'example.com',                                //     server_name example.com;
        root: `${dir}public`,                                     //     root public;
        expires: '$expires',                                      //     expires $expires;
        errorPage: '502 503 504 /50x.html',                       //     error_page 502 503 504 /50x.html;
        proxyHttpVersion: '1.1',                                  //     proxy_http_version 1.1;
        proxySetHeader: {
          Host: '$host',                                          //     proxy_set_header Host $host;
          'X-Real-IP': '$remote_addr',                            //     proxy_set_header X-Real-IP $remote_addr;
          'X-Forwarded-For': '$proxy_add_x_forwarded_for',        //     proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        },
        locations: {
          '/': {                                                  //     location / {
            tryFiles: '$uri $uri/ /index.html',                   //         try_files $uri $uri/ /index.html;
          },                                                      //     }
          '/assets/': {                                           //     location /assets/ {
            expires: '1y',                                        //         expires 1y;
            addHeader: [['Cache-Control', 'public']],             //         add_header Cache-Control "public";
          },                                                      //     }
          '/api/': {                                              //     location /api/ {
            proxyPass: 'http://api',                              //         proxy_pass http://api;
          },                                                      //     }
          '= /api/login': {                                       //     location = /api/login {
            limitReq: 'zone=login burst=2 nodelay',               //         limit_req zone=login burst=2 nodelay;
            limitReqStatus: 429,                                  //         limit_req_status 429;
            proxyPass: 'http://api',                              //         proxy_pass http://api;
          },                                                      //     }
          '= /api/password-reset': {                              //     location = /api/password-reset {
            limitReq: 'zone=login',                               //         limit_req zone=login;
            proxyPass: 'http://api',                              //         proxy_pass http://api;
          },                                                      //     }
          '= /health': {                                          //     location = /health {
            accessLog: false,                                     //         access_log off;
            defaultType: 'text/plain',                            //         default_type text/plain;
            return: [200, 'ok\n'],                                //         return 200 "ok\n";
          },                                                      //     }
          '/admin/': {                                            //     location /admin/ {
            accessRules: ['allow 10.0.0.0/8', 'deny all'],        //         allow 10.0.0.0/8; deny all;
            authBasic: 'Admin',                                   //         auth_basic "Admin";
            authBasicUserFile: `${dir}htpasswd`,                  //         auth_basic_user_file htpasswd;
          },                                                      //     }
        },
      },                                                          // }
    ],
  });
}

const apiPorts = (process.env.SLUICE_API_PORTS ?? '9001,9002').split(',').map(Number) as [number, number];
export default siteConfig({ port: Number(process.env.SLUICE_PORT ?? 8080), api: apiPorts });
