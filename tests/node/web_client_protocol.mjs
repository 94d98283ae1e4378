// The Kraken web client's exact socket protocol (socket.io-client 4, websocket transport,
// auth.token = "Bearer <jwt>", cross-origin): a sender and a receiver join a community, the
// sender sends with an ack, the receiver gets `newMessage`. Prints one JSON line; exit 0 on success.
import { io } from "socket.io-client";

const { KRAKEN_URL, SENDER_TOKEN, RECEIVER_TOKEN, COMMUNITY_ID, CHANNEL_ID } = process.env;
const timeout = setTimeout(() => finish(false, "timed out"), 10000);

function connect(token) {
  return io(KRAKEN_URL, {
    transports: ["websocket"],
    auth: { token: "Bearer " + token },
    extraHeaders: { Origin: "http://localhost:5173" },
    reconnection: false,
  });
}

const result = { connected: 0 };
const sender = connect(SENDER_TOKEN);
const receiver = connect(RECEIVER_TOKEN);
const refused = io(KRAKEN_URL, { transports: ["websocket"], auth: { token: "Bearer nope" }, reconnection: false });

function finish(ok, error) {
  clearTimeout(timeout);
  for (const s of [sender, receiver, refused]) s.close();
  console.log(JSON.stringify({ ok, error, ...result }));
  process.exit(ok ? 0 : 1);
}

refused.on("connect_error", (err) => { result.refusedWith = err.message; });
sender.on("exception", (e) => finish(false, "exception: " + JSON.stringify(e)));

receiver.on("newMessage", ({ message }) => {
  if (message.id !== result.ackId && result.ackId !== undefined) return;
  result.received = message;
  if (result.ackId && result.refusedWith) finish(true);
});

let ready = 0;
for (const s of [sender, receiver]) {
  s.on("connect", () => {
    result.connected += 1;
    s.emit("joinAll", COMMUNITY_ID);
    if (++ready === 2) setTimeout(send, 300);
  });
  s.on("connect_error", (err) => finish(false, "connect_error: " + err.message));
}

function send() {
  sender.emit("sendMessage", {
    channelId: CHANNEL_ID,
    authorId: "ignored",
    spans: [{ type: "PLAINTEXT", text: "hello from node" }],
    attachments: [],
    reactions: [],
    sentAt: new Date().toISOString(),
  }, (ackId) => {
    result.ackId = ackId;
    if (result.received && result.received.id === ackId && result.refusedWith) finish(true);
  });
}
