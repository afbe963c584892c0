// An independent check of tickwire's Coinbase JWTs: the signature is verified
// with Node's own crypto (crypto.verify: ES256 as IEEE P1363 r || s with a
// P-256 public key, EdDSA with an Ed25519 one, as the header's "alg" names and
// the key's type must match), the header and payload decoded with Node's
// base64url; the tests judge the claims.
//
//   node coinbase_jwt.mjs verify --public-key PEM TOKEN...
//     one JSON line per TOKEN: {"ok":B,"why":W,"header":{..},"payload":{..}}
//   node coinbase_jwt.mjs serve --public-key PEM
//     a Coinbase-shaped websocket server (Node's `ws`) on 127.0.0.1, port 0,
//     printed as the first stdout line. Every {"type":"subscribe"|"unsubscribe"}
//     it receives is answered with a "subscriptions" message (sequence_num
//     counting from 0 on each connection) and reported as one stdout line
//     {"event":"subscribe","type":T,"channel":C,"product_ids":[..],"jwt":VERDICT|null}.
//     Exits 0 on SIGTERM or SIGINT.
//
// ok is true only if the token has three canonical base64url parts, the
// header and payload are JSON objects, the header's alg is the key's (ES256
// for an EC key, EdDSA for an Ed25519 key) and the 64-byte signature verifies.
import { createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";

function fail(message) {
  process.stderr.write(`coinbase_jwt: ${message}\n`);
  process.exit(2);
}

function decode_part(part, what) {
  const bytes = Buffer.from(part, "base64url");
  if (bytes.toString("base64url") !== part) throw new Error(`${what} is not canonical base64url without padding`);
  return bytes;
}

function check(token, key) {
  const verdict = { ok: false, why: "", header: null, payload: null };
  try {
    const parts = token.split(".");
    if (parts.length !== 3) throw new Error(`expected 3 dot-separated parts, got ${parts.length}`);
    verdict.header = JSON.parse(decode_part(parts[0], "header").toString("utf8"));
    verdict.payload = JSON.parse(decode_part(parts[1], "payload").toString("utf8"));
    const signature = decode_part(parts[2], "signature");
    if (signature.length !== 64) throw new Error(`expected a 64-byte signature, got ${signature.length} bytes`);
    const data = Buffer.from(`${parts[0]}.${parts[1]}`, "ascii");
    const alg = verdict.header?.alg;
    if (alg === "ES256" && key.asymmetricKeyType === "ec") {
      verdict.ok = verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature);
    } else if (alg === "EdDSA" && key.asymmetricKeyType === "ed25519") {
      verdict.ok = verify(null, data, key, signature);
    } else {
      throw new Error(`header alg ${JSON.stringify(alg)} does not match the ${key.asymmetricKeyType} public key`);
    }
    if (!verdict.ok) verdict.why = "the signature does not verify";
  } catch (e) {
    verdict.why = e.message;
  }
  return verdict;
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const [mode, flag, keyFile, ...tokens] = process.argv.slice(2);
if ((mode !== "verify" && mode !== "serve") || flag !== "--public-key" || !keyFile) {
  fail("usage: coinbase_jwt.mjs verify --public-key PEM TOKEN... | serve --public-key PEM");
}
let key;
try {
  key = createPublicKey(readFileSync(keyFile));
} catch (e) {
  fail(`${keyFile}: ${e.message}`);
}

if (mode === "verify") {
  for (const token of tokens) emit(check(token, key));
} else {
  const { WebSocketServer } = await import("ws");
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (ws) => {
    let sequence = 0;
    ws.on("message", (data) => {
      let request;
      try {
        request = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (request?.type !== "subscribe" && request?.type !== "unsubscribe") return;
      emit({
        event: "subscribe",
        type: request.type,
        channel: request.channel ?? null,
        product_ids: request.product_ids ?? [],
        jwt: typeof request.jwt === "string" ? check(request.jwt, key) : null,
      });
      ws.send(JSON.stringify({
        channel: "subscriptions",
        client_id: "",
        timestamp: new Date().toISOString(),
        sequence_num: sequence++,
        events: [{ subscriptions: {} }],
      }));
    });
  });
  wss.on("listening", () => process.stdout.write(`${wss.address().port}\n`));
  const stop = () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
