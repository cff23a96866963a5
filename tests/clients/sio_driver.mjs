// Drives the official Socket.IO client (socket.io-client, as browsers and Node apps use it) for the
// Python tests: reads one JSON scenario on stdin, prints one JSON line per thing that happened.
//
// Scenario: {
//   url, path?, namespace? ("/" default), transports? (["polling", "websocket"]: the client's own
//   default, polling then upgrade), upgrade? (true), cookie? (sent as the Cookie header), auth?,
//   listen?: [event names to record], ack_timeout_ms? (5000),
//   batches: [[{event, args: [...]}, ...], ...]
// }
// Each batch is emitted in one tick (so on long-polling it leaves as one HTTP payload), each emit
// asking for an ack; the next batch goes once every ack of this one is in or has timed out.
// An argument {"$binary": "<base64>"} (at any depth) is sent as a Buffer: a binary attachment.
//
// Lines: {"type":"connect","transport"} | {"type":"connect_error","message","data"} |
// {"type":"ack","batch","index","event","args"} | {"type":"no_ack","batch","index","event"} |
// {"type":"event","event","args"} | {"type":"done","transport"}

import { io } from "socket.io-client";

function readStdin() {
  return new Promise((resolve, reject) => {
    let text = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => (text += chunk));
    process.stdin.on("end", () => resolve(text));
    process.stdin.on("error", reject);
  });
}

function out(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

function withBinary(value) {
  if (Array.isArray(value)) return value.map(withBinary);
  if (value !== null && typeof value === "object") {
    if (typeof value.$binary === "string" && Object.keys(value).length === 1) {
      return Buffer.from(value.$binary, "base64");
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withBinary(v)]));
  }
  return value;
}

function printable(value) {
  // Buffers in what comes back are shown, not lost, so a test can see them.
  if (Buffer.isBuffer(value)) return { $binary: value.toString("base64") };
  if (Array.isArray(value)) return value.map(printable);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, printable(v)]));
  }
  return value;
}

const scenario = JSON.parse(await readStdin());
const namespace = scenario.namespace ?? "/";
const options = {
  path: scenario.path ?? "/socket.io/",
  transports: scenario.transports ?? ["polling", "websocket"],
  upgrade: scenario.upgrade ?? true,
  reconnection: false,
  timeout: 10000,
  auth: scenario.auth ?? {},
};
if (scenario.cookie) options.extraHeaders = { Cookie: scenario.cookie };
const socket = io(new URL(namespace, scenario.url).href, options);
for (const name of scenario.listen ?? []) {
  socket.on(name, (...args) => out({ type: "event", event: name, args: printable(args) }));
}

const transport = () => socket.io.engine?.transport?.name ?? null;

const connected = await new Promise((resolve) => {
  socket.once("connect", () => {
    out({ type: "connect", transport: transport() });
    resolve(true);
  });
  socket.once("connect_error", (err) => {
    out({ type: "connect_error", message: err.message, data: err.data ?? null });
    resolve(false);
  });
});

if (connected) {
  const ackTimeout = scenario.ack_timeout_ms ?? 5000;
  for (const [b, batch] of (scenario.batches ?? []).entries()) {
    const acks = batch.map(
      ({ event, args }, index) =>
        new Promise((resolve) => {
          socket.timeout(ackTimeout).emit(event, ...withBinary(args ?? []), (err, ...reply) => {
            if (err) out({ type: "no_ack", batch: b, index, event });
            else out({ type: "ack", batch: b, index, event, args: printable(reply) });
            resolve();
          });
        }),
    );
    await Promise.all(acks);
  }
}
out({ type: "done", transport: transport() });
socket.disconnect();
// A long-poll request still open when the client closes is answered only at the server's ping
// timeout (python-engineio does not release it on a close packet); a browser just drops it.
process.stdout.write("", () => process.exit(0));
