// Node's WebRTC and WebSocket for PeerJS (src/net/node-webrtc.ts): import before anything that imports peerjs.
import '../src/net/node-webrtc';
