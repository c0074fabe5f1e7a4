// The trivial responder on Bun's own sockets (Bun.udpSocket + Bun.serve): the same fixed replies as
// trivial.c. Not the generator ceiling (trivial.c is faster); it is the ceiling of the Bun runtime itself,
// i.e. what a tracker in Bun could reach if its request handling cost nothing (§6's Bun.serve calibration).

import type { udp } from "bun";

const PEERS = 21;

export async function runBunTrivial(host: string, port: number): Promise<{ close(): void }> {
  const connect = new Uint8Array(16);
  const announce = new Uint8Array(20 + 6 * PEERS);
  const scrape = new Uint8Array(8 + 12 * 74);
  const cv = new DataView(connect.buffer);
  const av = new DataView(announce.buffer);
  const sv = new DataView(scrape.buffer);
  cv.setUint32(8, 0x12345678);
  av.setUint32(0, 1);
  av.setUint32(8, 1800);
  av.setUint32(12, 10);
  av.setUint32(16, 20);
  for (let i = 0; i < PEERS; i++) announce.set([10, 0, 0, i, 0x1a, 0xe1], 20 + 6 * i);
  sv.setUint32(0, 2);
  for (let i = 0; i < 74; i++) sv.setUint32(8 + 12 * i, 20);

  const socket: udp.Socket<"uint8array"> = await Bun.udpSocket({
    hostname: host,
    port,
    binaryType: "uint8array",
    socket: {
      data(s, buf, rport, raddr) {
        if (buf.length < 16) return;
        const action = buf[11];
        const reply = action === 0 ? connect : action === 1 ? announce : action === 2 ? scrape : null;
        if (reply === null) return;
        reply[4] = buf[12], reply[5] = buf[13], reply[6] = buf[14], reply[7] = buf[15];
        const len = action === 2 ? 8 + 12 * Math.min(74, Math.floor((buf.length - 16) / 20)) : reply.length;
        s.send(len === reply.length ? reply : reply.subarray(0, len), rport, raddr);
      },
      error() {},
    },
  });
  const body = Buffer.concat([
    Buffer.from(`d8:completei20e10:downloadedi5e10:incompletei10e8:intervali1800e12:min intervali900e5:peers${6 * PEERS}:`),
    announce.subarray(20),
    Buffer.from("e"),
  ]);
  const server = Bun.serve({
    hostname: host,
    port,
    fetch: () => new Response(body, { headers: { "Content-Type": "text/plain" } }),
  });
  return {
    close() {
      socket.close();
      void server.stop(true);
    },
  };
}
