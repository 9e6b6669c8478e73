/* The catalog: the one file that knows every handle type, for the two
 * public functions that take a type rather than a handle. It sits above
 * every area, so the core and the areas stay ignorant of each other; a new
 * handle type adds its table here and nowhere else outside its area. */
#include "internal.h"
#include "net/stream.h"

ART__DECLARE_HANDLE_OPS(timer);
ART__DECLARE_HANDLE_OPS(idle);
ART__DECLARE_HANDLE_OPS(prepare);
ART__DECLARE_HANDLE_OPS(check);
ART__DECLARE_HANDLE_OPS(poll);
ART__DECLARE_HANDLE_OPS(async);
ART__DECLARE_HANDLE_OPS(udp);
ART__DECLARE_HANDLE_OPS(signal);
ART__DECLARE_HANDLE_OPS(process);
ART__DECLARE_HANDLE_OPS(fs_event);
ART__DECLARE_HANDLE_OPS(fs_poll);
ART__DECLARE_HANDLE_OPS(port);

static const art__handle_ops_t *const types[] = {
    &art__timer_ops,      &art__idle_ops,        &art__prepare_ops,
    &art__check_ops,      &art__poll_ops,        &art__async_ops,
    &art__tcp_ops.handle, &art__pipe_ops.handle, &art__tty_ops.handle,
    &art__udp_ops,        &art__signal_ops,      &art__process_ops,
    &art__fs_event_ops,   &art__fs_poll_ops,     &art__port_ops};

static const art__handle_ops_t *ops_of(art_handle_type type) {
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
    if (types[i]->type == type)
      return types[i];
  return NULL;
}

const char *art_handle_type_name(art_handle_type type) {
  const art__handle_ops_t *ops = ops_of(type);
  if (ops != NULL)
    return ops->name;
  switch (type) { /* the values that name no concrete type */
  case ART_HANDLE:
    return "handle";
  case ART_STREAM:
    return "stream";
  case ART_FILE:
    return "file";
  default:
    return "unknown";
  }
}

size_t art_handle_size(art_handle_type type) {
  const art__handle_ops_t *ops = ops_of(type);
  return ops != NULL ? ops->size : 0;
}

const char *art_req_type_name(art_req_type type) {
  static const char *const names[ART_REQ_TYPE_MAX] = {
      [ART_REQ] = "req",
      [ART_CONNECT] = "connect",
      [ART_WRITE] = "write",
      [ART_SHUTDOWN] = "shutdown",
      [ART_UDP_SEND] = "udp_send",
      [ART_FS] = "fs",
      [ART_WORK] = "work",
      [ART_GETADDRINFO] = "getaddrinfo",
      [ART_GETNAMEINFO] = "getnameinfo",
      [ART_IMMEDIATE] = "immediate"};
  if ((unsigned)type >= ART_REQ_TYPE_MAX || names[type] == NULL)
    return "unknown";
  return names[type];
}
