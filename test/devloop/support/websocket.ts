// Just enough of RFC 6455 for the server side of a Kubernetes port-forward: the handshake, binary
// frames both ways (client frames are masked), and close. The ws package is only a transitive
// dependency here, without types, so the fake API server speaks the protocol itself.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;

export interface ServerWebSocket {
  protocol: string;
  send(payload: Buffer): void;
  close(): void;
  onMessage(listener: (payload: Buffer) => void): void;
  onClose(listener: () => void): void;
}

/** Completes the upgrade, choosing the first subprotocol we support that the client offered. */
export function acceptWebSocket(request: IncomingMessage, socket: Duplex, supported: string[]): ServerWebSocket | undefined {
  const key = request.headers['sec-websocket-key'];
  const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((protocol) => protocol.trim());
  const protocol = offered.find((candidate) => supported.includes(candidate));
  if (typeof key !== 'string' || protocol === undefined) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    return undefined;
  }
  const accept = createHash('sha1').update(key + HANDSHAKE_GUID).digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
  );

  const messageListeners: ((payload: Buffer) => void)[] = [];
  const closeListeners: (() => void)[] = [];
  let closed = false;
  let pending = Buffer.alloc(0);

  const write = (opcode: number, payload: Buffer): void => {
    if (closed || socket.destroyed) return;
    const length = payload.length;
    const header = length < 126 ? Buffer.from([0x80 | opcode, length]) : length < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
    if (length >= 126 && length < 65_536) {
      header[0] = 0x80 | opcode;
      header[1] = 126;
      header.writeUInt16BE(length, 2);
    } else if (length >= 65_536) {
      header[0] = 0x80 | opcode;
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(length), 2);
    }
    socket.write(Buffer.concat([header, payload]));
  };

  const finish = (): void => {
    if (closed) return;
    write(OPCODE_CLOSE, Buffer.alloc(0));
    closed = true;
    socket.end();
    for (const listener of closeListeners) listener();
  };

  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      if (pending.length < 2) return;
      const opcode = pending[0]! & 0x0f;
      let length = pending[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (pending.length < 4) return;
        length = pending.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (pending.length < 10) return;
        length = Number(pending.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (pending[1]! & 0x80) !== 0;
      const maskOffset = offset;
      if (masked) offset += 4;
      if (pending.length < offset + length) return;
      const payload = Buffer.from(pending.subarray(offset, offset + length));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= pending[maskOffset + (i % 4)]!;
      pending = pending.subarray(offset + length);

      if (opcode === OPCODE_CLOSE) finish();
      else if (opcode === OPCODE_PING) write(OPCODE_PONG, payload);
      else if (opcode !== OPCODE_PONG) for (const listener of messageListeners) listener(payload);
    }
  });
  socket.on('close', () => {
    if (closed) return;
    closed = true;
    for (const listener of closeListeners) listener();
  });
  socket.on('error', () => socket.destroy());

  return {
    protocol,
    send: (payload) => write(OPCODE_BINARY, payload),
    close: finish,
    onMessage: (listener) => void messageListeners.push(listener),
    onClose: (listener) => void closeListeners.push(listener),
  };
}
