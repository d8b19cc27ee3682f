/**
 * PeerJS expects a browser: this gives Node the WebRTC classes (node-datachannel's polyfill)
 * and a WebSocket (ws). Import it before anything that imports peerjs.
 */
import polyfill from 'node-datachannel/polyfill';
import WebSocket from 'ws';

/**
 * ws throws an unhandled 'error' event when a connection is refused (the signaling server is
 * down), where a browser's WebSocket just closes. PeerJS listens for the close, so errors are
 * given a listener here and the close does the rest.
 */
class BrowserLikeWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    this.on('error', () => undefined);
  }
}

Object.assign(globalThis, polyfill, { WebSocket: BrowserLikeWebSocket });
