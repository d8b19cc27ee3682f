/**
 * PeerJS expects a browser: this gives Node the WebRTC classes (node-datachannel's polyfill)
 * and a WebSocket (ws). Import it before anything that imports peerjs.
 */
import polyfill from 'node-datachannel/polyfill';
import WebSocket from 'ws';

Object.assign(globalThis, polyfill, { WebSocket });
