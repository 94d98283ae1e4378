// Bench load generator: thousands of socket.io-client 4 sockets in one Node process, driven by
// one JSON command per line on stdin; one JSON reply per command on stdout ({"reply": cmd, ...}).
//
// Protocols: "kraken" (auth token, `joinAll` communityId, `sendMessage` {channelId, spans}) and
// "bare" (B0/B2: `join` room, `send` {room, message}). Receivers get `newMessage` {message}; the
// message text carries "<tag>|<run>|<seq>|<performance.now() at send>", so latency is measured
// with one clock (this process's). Commands: connect, fanout, saturate, persist, recover, probe,
// stats, close. Every loop is bounded in count and time; `close` (or stdin's end) exits the process.
import { io } from "socket.io-client";
import { createInterface } from "node:readline";
import { performance, monitorEventLoopDelay } from "node:perf_hooks";

const receivers = []; // {sock, discAt, conAt, probeAt, seenW}
const senders = []; // {sock, protocol, target, discAt, conAt}
const otherEvents = {}; // events other than newMessage (userOnline, userOffline, exception, ...), by name
const track = { run: 0, tag: "", lat: [], counts: new Map(), expected: 0, deliveries: 0, onComplete: null,
  winStart: 0, winEnd: 0, winDeliveries: 0, dups: 0, probed: 0, recovering: false };
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const SEND_EVENT = { kraken: "sendMessage", bare: "send" };

function pct(values, p) {
  if (!values.length) return null;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))];
}
const r2 = (x) => (x === null ? null : Math.round(x * 100) / 100);
function summary(values) {
  return { p50_ms: r2(pct(values, 50)), p90_ms: r2(pct(values, 90)), p99_ms: r2(pct(values, 99)),
    max_ms: r2(values.length ? values.reduce((a, b) => (b > a ? b : a), -Infinity) : null), samples: values.length };
}

function payload(sender, text, seq) {
  if (sender.protocol === "kraken") return { channelId: sender.target, spans: [{ type: "PLAINTEXT", text }] };
  // shaped like Kraken's message_out(), so the bare servers broadcast a comparable payload
  const id = (Date.now().toString(16) + seq.toString(16).padStart(12, "0")).slice(-24).padStart(24, "0");
  return { room: sender.target, message: { id, channelId: sender.target, directMessageGroupId: null,
    authorId: "0".repeat(24), spans: [{ type: "PLAINTEXT", text, userId: null, specialKind: null, channelId: null,
      communityId: null, aliasId: null }], attachments: [], reactions: [], sentAt: new Date().toISOString(),
    editedAt: null, deletedAt: null } };
}

function sendFrom(sender, text, seq, timeoutMs = 10000) {
  return sender.sock.timeout(timeoutMs).emitWithAck(SEND_EVENT[sender.protocol], payload(sender, text, seq));
}

function onMessage(receiver, data) {
  const now = performance.now();
  const text = data && data.message && data.message.spans && data.message.spans[0] && data.message.spans[0].text;
  if (typeof text !== "string") return;
  const [tag, run, seqText, sentText] = text.split("|");
  if (Number(run) !== track.run || tag !== track.tag) return;
  const seq = Number(seqText);
  if (tag === "p") {
    if (receiver.discAt && !receiver.probeAt) { // only a delivery after this socket's reconnection counts
      receiver.probeAt = Date.now();
      track.probed += 1;
    }
    return;
  }
  if (tag === "w") {
    if (receiver.seenW.has(seq)) track.dups += 1;
    receiver.seenW.add(seq);
    return;
  }
  const latency = now - Number(sentText);
  track.deliveries += 1;
  if (tag === "f") track.lat.push(latency);
  if (now >= track.winStart && now <= track.winEnd) track.winDeliveries += 1;
  const count = (track.counts.get(seq) || 0) + 1;
  track.counts.set(seq, count);
  if (count === track.expected && track.onComplete) track.onComplete(seq, latency);
}

function joinRoom(sock, protocol, target) {
  return sock.timeout(20000).emitWithAck(protocol === "kraken" ? "joinAll" : "join", target);
}

function connectOne({ url, protocol, token, target, role, reconnection }) {
  const opts = { transports: ["websocket"], forceNew: true, reconnection: Boolean(reconnection), timeout: 20000,
    reconnectionDelay: 1000, reconnectionDelayMax: 5000 };
  if (protocol === "kraken") opts.auth = { token: `Bearer ${token}` };
  const sock = io(url, opts);
  const entry = { sock, protocol, target, discAt: 0, conAt: 0, probeAt: 0, seenW: new Set(),
    spec: { url, protocol, token, target, role } };
  sock.on("disconnect", () => { if (track.recovering && !entry.discAt) entry.discAt = Date.now(); });
  if (role === "receiver") sock.on("newMessage", (data) => onMessage(entry, data));
  sock.onAny((event) => { if (event !== "newMessage") otherEvents[event] = (otherEvents[event] || 0) + 1; });
  return new Promise((resolve, reject) => {
    let first = true;
    const timer = setTimeout(() => { sock.close(); reject(new Error("connect timeout")); }, 30000);
    sock.on("connect", async () => {
      if (track.recovering && entry.discAt && !entry.conAt) entry.conAt = Date.now();
      try {
        if (role === "receiver") await joinRoom(sock, protocol, target);
        if (first) { first = false; clearTimeout(timer); resolve(entry); }
      } catch (err) {
        if (first) { first = false; clearTimeout(timer); sock.close(); reject(err); }
      }
    });
    sock.on("connect_error", (err) => {
      if (!reconnection && first) { first = false; clearTimeout(timer); sock.close(); reject(err); }
    });
  });
}

async function pool(count, concurrency, fn) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await fn(next++);
  });
  await Promise.all(lanes);
}

async function connect(cmd) {
  const started = performance.now();
  const tokens = cmd.tokens || [null];
  let failed = 0;
  let firstError = null;
  await pool(cmd.count, cmd.concurrency || 50, async (i) => {
    try {
      const entry = await connectOne({ ...cmd, token: tokens[i % tokens.length] });
      (cmd.role === "sender" ? senders : receivers).push(entry);
    } catch (err) {
      failed += 1;
      firstError = firstError || String(err && err.message);
    }
  });
  return { receivers: receivers.length, senders: senders.length, failed, first_error: firstError,
    seconds: r2((performance.now() - started) / 1000) };
}

function reset(tag, expected) {
  Object.assign(track, { run: track.run + 1, tag, lat: [], counts: new Map(), expected, deliveries: 0,
    onComplete: null, winStart: 0, winEnd: Infinity, winDeliveries: 0, dups: 0, probed: 0 });
  loopDelay.reset();
}

async function fanout({ messages, rate, drain_ms = 5000 }) {
  const sender = senders[0];
  reset("f", receivers.length);
  const interval = 1000 / rate;
  const acks = [];
  let sendErrors = 0;
  const started = performance.now();
  for (let i = 0; i < messages; i++) {
    const wait = started + i * interval - performance.now();
    if (wait > 0) await sleep(wait);
    const t = performance.now();
    sendFrom(sender, `f|${track.run}|${i}|${t}`, i).then(() => acks.push(performance.now() - t), () => { sendErrors += 1; });
  }
  const expected = messages * receivers.length;
  const deadline = performance.now() + drain_ms;
  while (track.deliveries < expected && performance.now() < deadline) await sleep(20);
  return { receivers: receivers.length, messages, rate, deliveries: track.deliveries, expected,
    send_errors: sendErrors, ...summary(track.lat), ack_p50_ms: r2(pct(acks, 50)), ack_p99_ms: r2(pct(acks, 99)),
    loadgen_loop_delay_p99_ms: r2(loopDelay.percentile(99) / 1e6),
    seconds: r2((performance.now() - started) / 1000) };
}

async function saturate({ seconds, window = 8, warmup_s = 2, timeout_ms = 10000 }) {
  reset("s", receivers.length);
  const inflight = new Map();
  const completion = [];
  let seq = 0;
  let sendErrors = 0;
  let timedOut = 0;
  const started = performance.now();
  track.winStart = started + warmup_s * 1000;
  track.winEnd = track.winStart + seconds * 1000;
  const launch = () => {
    const k = seq++;
    const t = performance.now();
    inflight.set(k, t);
    sendFrom(senders[k % senders.length], `s|${track.run}|${k}|${t}`, k).catch(() => { sendErrors += 1; });
  };
  track.onComplete = (k, latency) => {
    if (!inflight.delete(k)) return;
    const now = performance.now();
    if (now <= track.winEnd) {
      if (now >= track.winStart) completion.push(latency);
      launch();
    }
  };
  for (let i = 0; i < window; i++) launch();
  while (performance.now() < track.winEnd) {
    await sleep(200);
    const now = performance.now();
    for (const [k, t] of inflight) {
      if (now - t > timeout_ms) { inflight.delete(k); timedOut += 1; launch(); }
    }
  }
  const drainUntil = performance.now() + 5000;
  while (inflight.size && performance.now() < drainUntil) await sleep(20);
  const messagesDone = completion.length;
  return { receivers: receivers.length, senders: senders.length, window, seconds,
    deliveries_per_s: r2(track.winDeliveries / seconds), messages_per_s: r2(messagesDone / seconds),
    send_errors: sendErrors, timed_out: timedOut, complete_p50_ms: r2(pct(completion, 50)),
    complete_p99_ms: r2(pct(completion, 99)), loadgen_loop_delay_p99_ms: r2(loopDelay.percentile(99) / 1e6) };
}

async function persist({ seconds, window = 4, drain_ms = 10000 }) {
  reset("w", receivers.length);
  for (const r of receivers) r.seenW = new Set();
  const ids = [];
  const seqs = [];
  let errors = 0;
  let seq = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const lane = async (sender) => {
    while (performance.now() < end) {
      const k = seq++;
      try {
        ids.push(await sendFrom(sender, `w|${track.run}|${k}|${performance.now()}`, k));
        seqs.push(k);
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(senders.flatMap((s) => Array.from({ length: window }, () => lane(s))));
  const elapsed = (performance.now() - started) / 1000;
  const missingOf = () => receivers.reduce((sum, r) => sum + seqs.filter((k) => !r.seenW.has(k)).length, 0);
  const drainUntil = performance.now() + drain_ms;
  while (missingOf() && performance.now() < drainUntil) await sleep(200);
  return { senders: senders.length, window, receivers: receivers.length, acked: ids.length, send_errors: errors,
    seconds: r2(elapsed), persisted_per_s: r2(ids.length / elapsed), missing_deliveries: missingOf(),
    duplicate_deliveries: track.dups, ids };
}

async function recover({ timeout_s = 60, probe_ms = 250 }) {
  // The old server is about to be stopped: receivers reconnect by themselves; probes come from a
  // fresh sender socket (retried every second, so it does not wait out a reconnection backoff).
  reset("p", receivers.length);
  for (const e of receivers) Object.assign(e, { discAt: 0, conAt: 0, probeAt: 0 });
  const spec = senders[0].spec;
  senders[0].sock.close();
  track.recovering = true;
  const t0 = Date.now();
  emit({ event: "armed", t0 });
  const deadline = t0 + timeout_s * 1000;
  let sender = null;
  let connecting = false;
  let lastTry = 0;
  let probes = 0;
  let senderAt = 0;
  while (Date.now() < deadline && track.probed < receivers.length) {
    if (!sender && !connecting && Date.now() - lastTry >= 1000) {
      connecting = true;
      lastTry = Date.now();
      connectOne({ ...spec, reconnection: false }).then((e) => {
        sender = e;
        senderAt = senderAt || Date.now();
        e.sock.on("disconnect", () => { if (sender === e) sender = null; });
      }, () => {}).finally(() => { connecting = false; });
    }
    if (sender && sender.sock.connected) {
      sendFrom(sender, `p|${track.run}|${probes}|${performance.now()}`, probes).catch(() => {});
      probes += 1;
    }
    await sleep(probe_ms);
  }
  track.recovering = false;
  if (sender) senders[0] = sender;
  const times = (key) => receivers.filter((r) => r[key]).map((r) => r[key]);
  const stat = (key) => {
    const v = times(key);
    return { count: v.length, first: v.length ? Math.min(...v) : null, p50: pct(v, 50), p90: pct(v, 90),
      last: v.length ? v.reduce((a, b) => (b > a ? b : a), 0) : null };
  };
  return { t0, receivers: receivers.length, probes, first_sender_connected_at: senderAt || null,
    disconnected: stat("discAt"), reconnected: stat("conAt"), receiving: stat("probeAt") };
}

// One timed connection (the `scale` workload): connect with the token, then `subscribeAll` once or
// `joinAll` for each community (sent together, as the a169fe1 client does), each acknowledged; the
// socket is closed before the reply. Times in ms from io() to "connect" and from there to the last ack.
async function probe({ url, token, mode = "subscribeAll", communities = [], timeout_ms = 20000 }) {
  const started = performance.now();
  const sock = io(url, { transports: ["websocket"], forceNew: true, reconnection: false, timeout: timeout_ms,
    auth: { token: `Bearer ${token}` } });
  const exceptions = [];
  sock.on("exception", (data) => exceptions.push(data));
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("connect timeout")), timeout_ms);
      sock.once("connect", () => { clearTimeout(timer); resolve(); });
      sock.once("connect_error", (err) => { clearTimeout(timer); reject(err); });
    });
    const connected = performance.now();
    if (mode === "subscribeAll") await sock.timeout(timeout_ms).emitWithAck("subscribeAll");
    else await Promise.all(communities.map((c) => sock.timeout(timeout_ms).emitWithAck("joinAll", c)));
    const done = performance.now();
    return { connect_ms: r2(connected - started), join_ms: r2(done - connected), total_ms: r2(done - started),
      exceptions: exceptions.length };
  } catch (err) {
    throw new Error(`${String((err && err.message) || err)}; exceptions ${JSON.stringify(exceptions).slice(0, 300)}`);
  } finally {
    sock.close();
  }
}

const COMMANDS = { connect, fanout, saturate, persist, recover, probe,
  stats: async () => ({ receivers: receivers.length, senders: senders.length,
    connected: receivers.filter((r) => r.sock.connected).length, other_events: otherEvents, rss_kb: Math.round(process.memoryUsage().rss / 1024) }),
  close: async () => {
    for (const e of [...receivers, ...senders]) e.sock.close();
    setTimeout(() => process.exit(0), 200);
    return {};
  } };

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    let cmd;
    try {
      cmd = JSON.parse(line);
      emit({ reply: cmd.cmd, ...(await COMMANDS[cmd.cmd](cmd)) });
    } catch (err) {
      emit({ reply: cmd && cmd.cmd, error: String((err && err.stack) || err) });
    }
  });
}).on("close", () => queue.then(() => COMMANDS.close()));
