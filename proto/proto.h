/*
 * The rmon wire protocol, shared by rmond and rmonctl (docs/protocol.md).
 *
 * A frame is a 4-byte big-endian payload length followed by one msgpack
 * map.  Requests {id, op, args}; replies {id, ok, result} or
 * {id, ok:false, error:{code, msg}}; stream events {id, ev, data}.
 */
#ifndef RMON_PROTO_H
#define RMON_PROTO_H

#define PROTO_VERSION 1          /* major: a client newer than this is refused */
#define PROTO_VERSION_MINOR 1    /* additions that old clients may ignore (docs/protocol.md, Versions) */
#define PROTO_FRAME_MAX (1u << 20) /* default cap on a frame's payload */
#define PROTO_HDR_LEN 4

/* Operations.  OP(ID, "name", "one-line help") */
#define PROTO_OPS(OP)                                                      \
	OP(HELLO, "hello", "handshake: protocol version, server version, capabilities") \
	OP(STATUS, "status", "daemon health, ring, capabilities and the latest sample of every kind") \
	OP(GET, "get", "latest value of each metric a selector matches")      \
	OP(QUERY, "query", "history from the ring, raw or aggregated per step (streamed)") \
	OP(SCHEMA, "schema", "every record kind and field, with type, unit and help") \
	OP(CANCEL, "cancel", "end a stream early")                            \
	OP(WATCH, "watch", "follow processes (and their threads, children) live (streamed)") \
	OP(TOP, "top", "the process table, sorted by CPU, memory or I/O")     \
	OP(MARK, "mark", "write an annotation into the mark lane")          \
	OP(METRICS, "metrics", "the Prometheus text exposition of the newest records") \
	OP(CONFIG, "config", "the effective config (show), or re-read the config file (reload, admins)") \
	OP(SHUTDOWN, "shutdown", "stop rmond cleanly, as SIGTERM does (admins)")

enum proto_op {
#define PROTO_OP_ENUM(ID, name, help) PROTO_OP_##ID,
	PROTO_OPS(PROTO_OP_ENUM)
#undef PROTO_OP_ENUM
	PROTO_OP__COUNT
};

/* Error codes, sent as their string names. */
#define PROTO_ERRS(E)                                                      \
	E(BAD_FRAME, "bad_frame", "the frame is not one msgpack map")       \
	E(TOO_LARGE, "too_large", "the frame is longer than the server accepts") \
	E(BAD_REQUEST, "bad_request", "the map lacks a valid id or op, or hello was not first") \
	E(UNKNOWN_OP, "unknown_op", "no such operation")                     \
	E(BAD_ARGS, "bad_args", "an argument is missing, of the wrong type or out of range") \
	E(NOT_FOUND, "not_found", "nothing matches (metric, instance or stream)") \
	E(DENIED, "permission_denied", "the peer may not do this (the message says why)") \
	E(VERSION, "version", "the client speaks a newer major protocol version") \
	E(BUSY, "busy", "too many streams or sessions")                      \
	E(INTERNAL, "internal", "the server failed; see its log")

enum proto_err {
	PROTO_OK = 0,
#define PROTO_ERR_ENUM(ID, name, help) PROTO_ERR_##ID,
	PROTO_ERRS(PROTO_ERR_ENUM)
#undef PROTO_ERR_ENUM
	PROTO_ERR__COUNT
};

/* Names: NULL for a value out of range; proto_err_name(PROTO_OK) is "ok",
 * which is not a wire code (proto_err_find never returns PROTO_OK).  The
 * find functions match (name, len) exactly; name need not be
 * NUL-terminated. */
const char *proto_op_name(enum proto_op op);
int proto_op_find(const char *name, unsigned len);   /* enum value or -1 */
const char *proto_err_name(enum proto_err e);
int proto_err_find(const char *name, unsigned len);  /* enum value or -1 */

#endif
