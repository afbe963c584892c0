// A NATS subscriber written with Node's `nats` package (a client nobody here
// wrote), driven by tickwire's tests through Subprocess.
//
//   node nats_sub.mjs --server nats://127.0.0.1:PORT --subject PATTERN --count N
//                     [--stream NAME] [--timeout-ms MS] [--user U --pass P]
//
// --count 0 runs until killed (no timeout). Each line also carries "tseq",
// the publisher's Tickwire-Seq header (the Envelope's sequence), when sent.
// Without --stream: a core subscription; prints {"ready":true} once the server
// has registered it, then one {"subject","data"} JSON line per message (data is
// base64), and exits 0 after N messages. With --stream: replays the JetStream
// stream NAME from its first message through an ordered consumer filtered on
// PATTERN, and also prints "seq" (the stream sequence). Exits 1 with a reason
// on stderr if N messages do not arrive within the timeout (default 30 s).
import { connect } from "nats";

function args(argv) {
  const out = { timeoutMs: 30000 };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i], value = argv[i + 1];
    if (value === undefined) throw new Error(`${key}: missing value`);
    if (key === "--server") out.server = value;
    else if (key === "--subject") out.subject = value;
    else if (key === "--count") out.count = Number(value);
    else if (key === "--stream") out.stream = value;
    else if (key === "--timeout-ms") out.timeoutMs = Number(value);
    else if (key === "--user") out.user = value;
    else if (key === "--pass") out.pass = value;
    else throw new Error(`unknown option ${key}`);
  }
  if (!out.server || !out.subject || !(out.count >= 0)) {
    throw new Error("usage: nats_sub.mjs --server URL --subject PATTERN --count N [--stream NAME] [--timeout-ms MS]");
  }
  return out;
}

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const opts = args(process.argv);
const nc = await connect({ servers: opts.server, name: "tickwire-test-node-sub", user: opts.user, pass: opts.pass });
let received = 0;
const timer = opts.count === 0 ? undefined : setTimeout(() => {
  process.stderr.write(`nats_sub: ${received} of ${opts.count} messages on '${opts.subject}' within ${opts.timeoutMs} ms\n`);
  process.exit(1);
}, opts.timeoutMs);

if (opts.stream) {
  const js = nc.jetstream();
  // One filter subject as a string: nats-server 2.9 has no multi-subject filters.
  const consumer = await js.consumers.get(opts.stream, { filterSubjects: opts.subject });
  const messages = await consumer.consume();
  print({ ready: true });
  for await (const m of messages) {
    print({ subject: m.subject, seq: m.seq, data: Buffer.from(m.data).toString("base64") });
    if (++received === opts.count) break;
  }
} else {
  const sub = nc.subscribe(opts.subject, opts.count > 0 ? { max: opts.count } : {});
  await nc.flush();
  print({ ready: true });
  for await (const m of sub) {
    print({ subject: m.subject, tseq: m.headers?.get("Tickwire-Seq") ?? "", data: Buffer.from(m.data).toString("base64") });
    ++received;
  }
}
if (timer) clearTimeout(timer);
await nc.close();
process.exit(received === opts.count ? 0 : 1);
