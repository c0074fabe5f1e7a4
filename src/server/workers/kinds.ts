// The kinds of request one thread hands another (mesh.ts), one number each.

/** A BEP 15 datagram for the owner of its info hash(es): udp-forwarding.ts. */
export const KIND_UDP = 1;
/** An HTTP announce or scrape for the owner of its info hash(es): http-forwarding.ts. */
export const KIND_HTTP = 2;
/** A WebSocket (WebTorrent) announce or scrape for the owner of its info hash(es), or a closed connection's
 * peers leaving the owner's swarms: ws-forwarding.ts. */
export const KIND_WS = 3;
/** An offer or answer for a WebSocket connection of the receiving thread (one-way): ws-forwarding.ts. */
export const KIND_WS_DELIVER = 4;
