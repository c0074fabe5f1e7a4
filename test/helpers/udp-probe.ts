// Run inside a network namespace by udp-reply-source.test.ts: sends a BEP 15 connect to PORT at each ADDRESS
// and prints {address: source address of the reply} as JSON.
import { connectPacket } from "./udp-client.ts";

const [port, ...addresses] = process.argv.slice(2);
const result: Record<string, string> = {};
for (const address of addresses) {
  const { promise, resolve } = Promise.withResolvers<string>();
  const socket = await Bun.udpSocket({
    // Send from loopback, not from the target address itself, so a reply from the wrong source shows.
    hostname: address.includes(":") ? "::1" : "127.0.0.1",
    socket: { data: (_s, _d, _p, from) => resolve(from), error() {} },
  });
  socket.send(connectPacket(1), Number(port), address);
  const timer = setTimeout(() => resolve("no reply"), 3000);
  result[address] = await promise;
  clearTimeout(timer);
  socket.close();
}
console.log(JSON.stringify(result));
