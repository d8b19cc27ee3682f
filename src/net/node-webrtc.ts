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

/**
 * The polyfill hands libdatachannel each TURN server as `turn:USER:PASS@host`, which
 * libdatachannel URL-decodes: a TURN REST username (`<expiry>:<id>`, a colon) or a base64
 * credential (`/`, `+`, `=`) must go URL-encoded, or it is cut at the wrong place.
 */
class EncodedCredentialsPeerConnection extends polyfill.RTCPeerConnection {
  constructor(config?: RTCConfiguration) {
    super(
      config && {
        ...config,
        iceServers: config.iceServers?.map((s) => ({
          ...s,
          ...(s.username === undefined ? {} : { username: encodeURIComponent(s.username) }),
          ...(s.credential === undefined ? {} : { credential: encodeURIComponent(s.credential) }),
        })),
      },
    );
  }
}

Object.assign(globalThis, polyfill, { WebSocket: BrowserLikeWebSocket, RTCPeerConnection: EncodedCredentialsPeerConnection });
