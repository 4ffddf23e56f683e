// A WebSocket echo server on sluice: `npx sluice -c examples/websocket/echo.ts`, then connect a
// WebSocket client to ws://127.0.0.1:8082/echo. Every message comes back as it was sent (text as
// text, binary as binary); the reader pauses while the client is slow to take the echoes.
import { defineConfig, type Request, type SluiceConfig } from 'sluice';
import { acceptWebSocket } from './websocket.js';

/** The location's content handler: the handshake, then echo. */
export function echoHandler(r: Request): void {
  acceptWebSocket(r, {
    onMessage(ws, data, binary) {
      if (!ws.send(data, binary)) {
        // backpressure: read no more until the client has taken what we sent
        ws.stream.pause();
        ws.stream.once('drain', () => ws.stream.resume());
      }
    },
  });
}

/** The server: /echo speaks WebSocket, / says what this is. */
export function echoConfig(port: number, host = '127.0.0.1'): SluiceConfig {
  return defineConfig({
    servers: [{
      listen: `${host}:${port}`,
      locations: {
        '= /echo': { content: echoHandler },
        '/': { return: [200, 'a WebSocket echo: connect to /echo\n'] },
      },
    }],
  });
}

export default echoConfig(8082);
