// A Binance-shaped websocket server written with Node's `ws` package (an
// implementation nobody here wrote), driven by tickwire's tests through
// Subprocess. It serves real exchange messages read in place from the shared
// fixtures folder.
//
//   node ws_server.mjs --fixtures DIR [--cert PEM --key PEM] [--exit-on-stdin-close]
//                      SOURCE...
//
// A SOURCE is a fixture file (a path under DIR, e.g. binance/trade.docs.json)
// or `--raw TEXT`, one frame sent verbatim wherever it stands in the list (for
// malformed or control frames), or `--ping TEXT`, a ping with that payload;
// the frames after it wait for the client's pong. A fixture file is one JSON message per line
// (the Binance ones), one JSON array of messages, or one JSON message. Messages already
// wrapped as {"stream":..,"data":..} are unwrapped to their event, and every
// event gets its stream name ("<symbol>@trade", "<symbol>@bookTicker", ...).
//
// Listens on 127.0.0.1, port 0, plain or TLS (--cert/--key); prints the bound
// port as the first stdout line. On each connection it sends, in command-line
// order, the events whose stream the URL asks for and the --raw frames,
// wrapped as combined-stream messages for `/stream?streams=a/b` and raw for
// `/ws/<stream>[/<stream>...]` (any other path: every event, raw), then keeps
// the connection open. `/stream` or `/ws` without streams waits for
// {"method":"SUBSCRIBE","params":[..],"id":N}, answers {"result":null,"id":N}
// and then sends what that request subscribes. ws itself answers pings with
// the same payload.
//
// After the port, stdout carries one JSON line per event the tests can wait on:
//   {"event":"connection","path":P,"streams":[..]}
//   {"event":"subscribe","streams":[..]}         (a SUBSCRIBE message arrived)
//   {"event":"pong","data":TEXT}                 (the client answered a --ping)
//   {"event":"sent","frames":N,"skipped":M}      (all frames are written)
//   {"event":"tls_error","message":TEXT}          (a client failed the handshake)
//   {"event":"close","code":C,"reason":R}
// and stderr a human-readable log (every frame sent and received, pings, closes).
// Exits 0 on SIGTERM or SIGINT, and also when stdin closes with
// --exit-on-stdin-close; exits 2 with a reason on stderr for bad arguments or
// an unreadable fixture.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";
import { WebSocketServer } from "ws";

function fail(message) {
  process.stderr.write(`ws_server: ${message}\n`);
  process.exit(2);
}

function parse_args(argv) {
  const out = { sources: [], exitOnStdinClose: false };
  for (let i = 2; i < argv.length; ++i) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg}: missing value`);
      return argv[++i];
    };
    if (arg === "--fixtures") out.fixtures = value();
    else if (arg === "--cert") out.cert = value();
    else if (arg === "--key") out.key = value();
    else if (arg === "--raw") out.sources.push({ raw: value() });
    else if (arg === "--ping") out.sources.push({ ping: value() });
    else if (arg === "--exit-on-stdin-close") out.exitOnStdinClose = true;
    else if (arg.startsWith("--")) fail(`unknown option ${arg}`);
    else out.sources.push({ file: arg });
  }
  if (!out.fixtures) fail("usage: ws_server.mjs --fixtures DIR [--cert PEM --key PEM] SOURCE...");
  if (!out.cert !== !out.key) fail("--cert and --key go together");
  return out;
}

// stream_of: the Binance stream an unwrapped event belongs to, or null for a
// message that is not a stream event (a control reply, a REST body).
function stream_of(event) {
  if (event === null || typeof event !== "object" || Array.isArray(event)) return null;
  const symbol = typeof event.s === "string" ? event.s.toLowerCase() : null;
  if (symbol === null) return null;
  switch (event.e) {
    case "trade": return `${symbol}@trade`;
    case "aggTrade": return `${symbol}@aggTrade`;
    case "depthUpdate": return `${symbol}@depth`;
    case "kline": return `${symbol}@kline_${event.k?.i}`;
    case undefined:
      // bookTicker events carry no "e": they are recognised by their fields.
      return "u" in event && "b" in event && "a" in event ? `${symbol}@bookTicker` : null;
    default: return `${symbol}@${event.e}`;
  }
}

// unwrap: {stream, text} for one message; `text` is the event's own bytes
// when the wrapper has the usual key order, so number text stays as recorded.
function unwrap(text, where) {
  let message;
  try {
    message = JSON.parse(text);
  } catch (e) {
    fail(`${where}: not JSON: ${e.message}`);
  }
  if (message && typeof message.stream === "string" && typeof message.data === "object") {
    const prefix = `{"stream":${JSON.stringify(message.stream)},"data":`;
    const inner = text.startsWith(prefix) && text.endsWith("}")
      ? text.slice(prefix.length, -1)
      : JSON.stringify(message.data);
    return { stream: message.stream, text: inner };
  }
  return { stream: stream_of(message), text };
}

// load: the messages of one fixture file, in file order.
function load(dir, file) {
  const path = join(dir, file);
  let content;
  try {
    content = readFileSync(path, "utf8");
  } catch (e) {
    fail(`${path}: ${e.message}`);
  }
  // One JSON document (an array of messages, or one message, possibly
  // pretty-printed), else one message per line.
  const trimmed = content.trim();
  let whole;
  try {
    whole = JSON.parse(trimmed);
  } catch {
    whole = undefined;
  }
  if (Array.isArray(whole)) return whole.map((m, i) => unwrap(JSON.stringify(m), `${path}[${i}]`));
  if (whole !== undefined) return [unwrap(trimmed.includes("\n") ? JSON.stringify(whole) : trimmed, path)];
  return content.split("\n").map((line, i) => [line.trim(), i]).filter(([line]) => line !== "")
    .map(([line, i]) => unwrap(line, `${path}:${i + 1}`));
}

// requested: the streams a request path asks for; null means "everything".
function requested(url) {
  const parsed = new URL(url, "ws://localhost");
  if (parsed.pathname === "/stream") {
    const streams = parsed.searchParams.get("streams");
    return streams ? streams.split("/").filter((s) => s !== "") : [];
  }
  if (parsed.pathname === "/ws" || parsed.pathname.startsWith("/ws/")) {
    return parsed.pathname.slice(4).split("/").filter((s) => s !== "");
  }
  return null;
}

// wanted: whether an event on `stream` goes to a client that asked for
// `streams`; "<sym>@depth" also matches a request for "<sym>@depth@100ms".
function wanted(stream, streams) {
  if (streams === null || (stream !== null && stream.startsWith("!"))) return true;
  if (stream === null) return false;
  return streams.some((s) => s === stream || s.startsWith(`${stream}@`));
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function log(line) {
  process.stderr.write(`ws_server: ${line}\n`);
}

const opts = parse_args(process.argv);
const sources = opts.sources.map((s) => (s.file === undefined ? [s] : load(opts.fixtures, s.file)));
const messages = sources.flat();

const https = opts.cert ? createServer({ cert: readFileSync(opts.cert), key: readFileSync(opts.key) }) : null;
const wss = https ? new WebSocketServer({ server: https }) : new WebSocketServer({ host: "127.0.0.1", port: 0 });

if (https) {
  https.on("tlsClientError", (err) => {
    log(`tls client error: ${err.message}`);
    emit({ event: "tls_error", message: err.message });
  });
}

// frames_for: the frames for a client subscribed to `streams` (null: all),
// in source order, with the --raw frames and --ping requests if `with_raw`.
function frames_for(streams, combined, with_raw) {
  const frames = [];
  let skipped = 0;
  for (const m of messages) {
    if (m.raw !== undefined || m.ping !== undefined) {
      if (with_raw) frames.push(m.raw ?? { ping: m.ping });
    } else if (!wanted(m.stream, streams)) {
      ++skipped;
    } else {
      frames.push(combined && m.stream !== null ? `{"stream":${JSON.stringify(m.stream)},"data":${m.text}}` : m.text);
    }
  }
  return { frames, skipped };
}

// send_all: writes the frames one after the other (a {ping} waits for the
// client's pong before the next frame), then reports "sent".
async function send_all(ws, { frames, skipped }) {
  let sent = 0;
  for (const frame of frames) {
    if (typeof frame === "object") {
      const pong = new Promise((resolve) => ws.once("pong", resolve));
      log(`ping: ${frame.ping}`);
      ws.ping(frame.ping);
      emit({ event: "pong", data: (await pong).toString() });
      continue;
    }
    log(`send: ${frame}`);
    await new Promise((resolve) => ws.send(frame, resolve));
    ++sent;
  }
  emit({ event: "sent", frames: sent, skipped });
}

wss.on("connection", (ws, req) => {
  const url_streams = requested(req.url);
  const combined = new URL(req.url, "ws://localhost").pathname === "/stream";
  log(`connection from ${req.socket.remoteAddress}: ${req.url}`);
  emit({ event: "connection", path: req.url, streams: url_streams ?? [] });
  // The --raw frames go with the first batch of frames the connection gets.
  let raw_sent = false;
  ws.on("message", (data) => {
    const text = data.toString();
    log(`received: ${text}`);
    let request = null;
    try {
      request = JSON.parse(text);
    } catch {
      return;
    }
    if (request?.method !== "SUBSCRIBE" || !Array.isArray(request.params)) return;
    emit({ event: "subscribe", streams: request.params });
    ws.send(JSON.stringify({ result: null, id: request.id ?? null }));
    send_all(ws, frames_for(request.params, combined, !raw_sent));
    raw_sent = true;
  });
  ws.on("ping", (data) => log(`ping (${data.length} bytes); ws answers with a pong`));
  ws.on("pong", (data) => log(`pong (${data.length} bytes)`));
  ws.on("close", (code, reason) => {
    log(`close: code ${code} reason '${reason}'`);
    emit({ event: "close", code, reason: reason.toString() });
  });
  ws.on("error", (err) => log(`socket error: ${err.message}`));

  // A URL without streams waits for SUBSCRIBE messages.
  if (url_streams === null || url_streams.length > 0) {
    send_all(ws, frames_for(url_streams, combined, true));
    raw_sent = true;
  }
});

function stop(why) {
  log(`stopping: ${why}`);
  for (const client of wss.clients) client.terminate();
  wss.close();
  if (https) https.close();
  process.exit(0);
}

process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
if (opts.exitOnStdinClose) {
  process.stdin.on("end", () => stop("stdin closed"));
  process.stdin.resume();
}

const listening = https ?? wss;
listening.on("listening", () => {
  process.stdout.write(`${listening.address().port}\n`);
  log(`listening on 127.0.0.1:${listening.address().port} (${https ? "TLS" : "plain"}), ` +
      `${messages.length} messages from ${opts.sources.length} sources`);
});
if (https) https.listen(0, "127.0.0.1");
