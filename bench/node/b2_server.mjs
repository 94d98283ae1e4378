// B2 (informational): a bare Node socket.io 4 server that re-broadcasts each event to a room.
// No auth, no database. Same events as bench/baseline_wsgi.py (B0): `join` (room) and
// `send` ({room, message}) -> `newMessage` {message} to the room; both acknowledged.
// Usage: node b2_server.mjs <port>   (binds 127.0.0.1 only; stopped by its parent with SIGTERM)
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2] || 0);
const http = createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end('{"status":"ok"}');
    return;
  }
  res.writeHead(404);
  res.end();
});
const io = new Server(http, { pingInterval: 25000, pingTimeout: 20000, maxHttpBufferSize: 1e6, cors: { origin: "*" } });

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(String(room));
    if (typeof ack === "function") ack("ok");
  });
  socket.on("send", (data, ack) => {
    io.to(String(data.room)).emit("newMessage", { message: data.message });
    if (typeof ack === "function") ack(data.message.id);
  });
});

http.listen(port, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ listening: http.address().port }) + "\n");
});
process.on("SIGTERM", () => process.exit(0));
